import type { Server } from 'node:http';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentCard } from '@a2a-js/sdk';
import { DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { createA2aHttp } from './a2a-http';
import type { AgentEnv, LoadedConfig } from './agent-settings';
import { nonEmpty } from './agent-settings';
import { EchoAgentExecutor, TaskStats, buildAgentCard } from './echo-agent';
import {
  RegistryClient,
  RegistryHttpError,
  RegistryProtocolError,
  RegistryUnreachableError,
  isTransient,
} from './registry-client';
import type { HeartbeatRequest, RegisterRequest } from './registry-client';
import { bootRetryDelay, nextHeartbeatDelay } from './retry-policy';
import { closeServer, listen, logError, logLine } from './server-lifecycle';
import { readSessionToken, sessionTokenPath, writeSessionToken } from './session-token-store';
import { createWorkspaceHost } from './workspace-host';
import { isBearerToken, readRegistryUrl } from './workspace-settings';
import type { WorkspaceSettings } from './workspace-settings';

/**
 * Workspace mode (SPEC §6): read settings → serve → register → online (heartbeats). The stage
 * reached is what health shows and what a boot report names when the runtime cannot come up.
 * Exit codes: 0 after SIGTERM/SIGINT, 1 when a stage fails (the host restarts the process).
 */

export type BootStage = 'config' | 'serve' | 'register' | 'online';

/** Sent to the registry with every registration, and the agent card's version. */
export const RUNTIME_VERSION = '0.1.0';

/** One call to the registry; boot retries run under their own, longer deadline. */
const REQUEST_TIMEOUT_MS = 10_000;
/** The shortest timeout a boot attempt gets, however close the deadline. */
const MIN_ATTEMPT_MS = 1_000;
/** A boot report is best effort: the runtime is about to exit and must not hang on it. */
const BOOT_REPORT_TIMEOUT_MS = 5_000;
/** A registry asking for faster beats than this (a bug, a typo) is not obeyed. */
const MIN_HEARTBEAT_INTERVAL_MS = 100;
/** A heartbeat window where at least this share of tasks failed is reported as degraded. */
const DEGRADED_ERROR_RATE = 0.5;

/** A stage failed in a way a retry inside this process cannot fix. */
export class BootFailure extends Error {
  override readonly name = 'BootFailure';
  constructor(
    readonly stage: BootStage,
    message: string,
  ) {
    super(message);
  }
}

export class WorkspaceRuntime {
  private stageReached: BootStage = 'config';
  private readonly stopping = new AbortController();
  private readonly registry: RegistryClient;
  private readonly stats = new TaskStats();
  private readonly card: AgentCard;
  private readonly server: Server;
  private storedToken: string | undefined;
  private sessionToken: string | undefined;

  constructor(
    private readonly settings: WorkspaceSettings,
    private readonly random: () => number = Math.random,
  ) {
    this.registry = new RegistryClient(settings.registryUrl);
    this.card = buildAgentCard({
      workspaceId: settings.workspaceId,
      name: settings.name,
      runtime: settings.runtime,
      publicUrl: settings.publicUrl,
      version: RUNTIME_VERSION,
    });
    const requestHandler = new DefaultRequestHandler(
      this.card,
      new InMemoryTaskStore(),
      new EchoAgentExecutor(this.stats),
    );
    this.server = createWorkspaceHost({
      healthPath: settings.healthPath,
      workspaceId: settings.workspaceId,
      stage: () => this.stageReached,
      a2a: createA2aHttp(requestHandler),
    });
  }

  /** Runs until a signal (resolves 0) or a failure it cannot recover from (resolves 1). */
  async run(): Promise<number> {
    const onSignal = (signal: NodeJS.Signals): void => {
      logLine('shutting down', { signal, stage: this.stageReached });
      this.stopping.abort();
    };
    // `once`: a second signal gets node's default handling, which ends the process at once.
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    try {
      this.stageReached = 'serve';
      await this.serve();
      this.stageReached = 'register';
      const intervalMs = await this.register();
      this.stageReached = 'online';
      await this.heartbeat(intervalMs);
      return 0;
    } catch (error) {
      if (this.stopping.signal.aborted) {
        await closeServer(this.server);
        logLine('stopped', { stage: this.stageReached });
        return 0;
      }
      const stage = error instanceof BootFailure ? error.stage : this.stageReached;
      const message = describe(error);
      const reported = await this.report(stage, message);
      // The one line a person reads in the host's log to learn why the workspace is not online.
      logError('workspace agent failed', { stage, error: message, reported });
      await closeServer(this.server);
      return 1;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  }

  private async serve(): Promise<void> {
    const { host, port, workspaceId, publicUrl } = this.settings;
    try {
      const address = await listen(this.server, host, port);
      logLine('listening', {
        role: 'workspace',
        workspaceId,
        host: address.address,
        port: address.port,
        publicUrl,
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? describe(error);
      throw new BootFailure('serve', `cannot listen on ${host}:${port} (${code})`);
    }
  }

  /**
   * Registers with the stored session token (a restart) or else the bootstrap token (first boot),
   * falling back to the bootstrap token when the stored one is refused. Returns the heartbeat
   * interval in ms.
   */
  private async register(): Promise<number> {
    const { stateDir, bootstrapToken, registryTimeoutSeconds, workspaceId } = this.settings;
    try {
      this.storedToken = await readSessionToken(stateDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new BootFailure('register', `cannot read ${sessionTokenPath(stateDir)} (${code})`);
    }
    const candidates: { kind: 'session' | 'bootstrap'; token: string }[] = [];
    if (this.storedToken !== undefined) {
      candidates.push({ kind: 'session', token: this.storedToken });
    }
    if (bootstrapToken !== undefined && bootstrapToken !== this.storedToken) {
      candidates.push({ kind: 'bootstrap', token: bootstrapToken });
    }
    if (candidates.length === 0) {
      throw new BootFailure(
        'register',
        `no credential: WORKSPACE_BOOTSTRAP_TOKEN is not set and ${sessionTokenPath(stateDir)} ` +
          'holds no session token',
      );
    }

    const deadline = Date.now() + registryTimeoutSeconds * 1000;
    for (const [index, candidate] of candidates.entries()) {
      try {
        const reply = await this.retrying(deadline, (signal) =>
          this.registry.register(candidate.token, this.registration(), signal),
        );
        const session =
          reply.sessionToken ?? (candidate.kind === 'session' ? candidate.token : undefined);
        if (session === undefined) {
          throw new BootFailure(
            'register',
            'the registry accepted the bootstrap token but returned no session token',
          );
        }
        this.sessionToken = session;
        if (session !== this.storedToken) await this.storeSessionToken(session);
        const intervalMs = this.intervalMs(reply.heartbeatIntervalSeconds);
        logLine('registered', {
          workspaceId,
          credential: candidate.kind,
          heartbeatIntervalSeconds: intervalMs / 1000,
          // Since the process started, for boot-time measurements.
          uptimeMs: Math.round(performance.now()),
        });
        return intervalMs;
      } catch (error) {
        if (error instanceof BootFailure || this.stopping.signal.aborted) throw error;
        if (error instanceof RegistryHttpError && error.status === 401) {
          if (index < candidates.length - 1) {
            logLine('stored session token refused; exchanging the bootstrap token', {
              level: 'warn',
            });
            continue;
          }
          throw new BootFailure(
            'register',
            `the registry refused the ${candidate.kind} token (401${error.code ? ` ${error.code}` : ''})`,
          );
        }
        throw new BootFailure('register', describe(error));
      }
    }
    // Unreachable: the loop returns or throws on its last candidate.
    throw new BootFailure('register', 'no credential was accepted');
  }

  /** Heartbeats until stopped; throws a BootFailure when the session is gone for good. */
  private async heartbeat(initialIntervalMs: number): Promise<void> {
    let intervalMs = initialIntervalMs;
    let failures = 0;
    logLine('online', { workspaceId: this.settings.workspaceId });
    for (;;) {
      await sleep(nextHeartbeatDelay(intervalMs, failures, this.random), undefined, {
        signal: this.stopping.signal,
      });
      let lastError: unknown;
      try {
        const body = this.heartbeatBody();
        const reply = await this.registry.heartbeat(
          this.session(),
          body.request,
          this.signal(REQUEST_TIMEOUT_MS),
        );
        body.acknowledge();
        intervalMs = this.intervalMs(reply.nextIntervalSeconds, intervalMs);
        if (failures > 0) logLine('heartbeat recovered', { failures });
        failures = 0;
        continue;
      } catch (error) {
        if (this.stopping.signal.aborted) throw error;
        lastError = error;
      }

      // 401: the session was revoked or the registry lost it. One re-register decides which.
      if (lastError instanceof RegistryHttpError && lastError.status === 401) {
        logLine('heartbeat refused (401); re-registering with the session token', {
          level: 'warn',
        });
        try {
          const reply = await this.registry.register(
            this.session(),
            this.registration(),
            this.signal(REQUEST_TIMEOUT_MS),
          );
          if (reply.sessionToken !== undefined && reply.sessionToken !== this.sessionToken) {
            this.sessionToken = reply.sessionToken;
            await this.storeSessionToken(reply.sessionToken);
          }
          intervalMs = this.intervalMs(reply.heartbeatIntervalSeconds, intervalMs);
          failures = 0;
          logLine('re-registered', { workspaceId: this.settings.workspaceId });
          continue;
        } catch (error) {
          if (this.stopping.signal.aborted || error instanceof BootFailure) throw error;
          if (!isTransient(error)) {
            throw new BootFailure(
              'online',
              `the registry refused the session token on heartbeat (401) and on re-register (${describe(error)})`,
            );
          }
          lastError = error;
        }
      }

      failures += 1;
      // At a 15 s interval every failure is worth a line; at sub-second test intervals only the
      // first and then each doubling are, so an outage does not flood the log.
      if ((failures & (failures - 1)) === 0) {
        logLine('heartbeat failed', { level: 'warn', failures, error: describe(lastError) });
      }
    }
  }

  /** Retries transient failures (unreachable, 5xx, 429) with backoff until `deadline`. */
  private async retrying<T>(
    deadline: number,
    call: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      // The last attempt still gets a real chance (and a real error, not a timeout of a few ms),
      // at the cost of overrunning the deadline by up to MIN_ATTEMPT_MS.
      const remaining = Math.max(MIN_ATTEMPT_MS, deadline - Date.now());
      try {
        return await call(this.signal(Math.min(REQUEST_TIMEOUT_MS, remaining)));
      } catch (error) {
        if (this.stopping.signal.aborted || !isTransient(error)) throw error;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new BootFailure(
            this.stageReached,
            `the registry at ${this.settings.registryUrl} was not available for ` +
              `${this.settings.registryTimeoutSeconds} s (last: ${describe(error)})`,
          );
        }
        if (attempt === 1) {
          logLine('registry not reachable yet; retrying', {
            level: 'warn',
            error: describe(error),
          });
        }
        await sleep(bootRetryDelay(attempt, left, this.random), undefined, {
          signal: this.stopping.signal,
        });
      }
    }
  }

  /**
   * Tells the registry why this workspace is not coming up, with whichever credential it still
   * accepts. Bounded: the process exits right after, reachable registry or not.
   */
  private async report(stage: BootStage, message: string): Promise<boolean> {
    const tokens = [this.sessionToken, this.storedToken, this.settings.bootstrapToken].filter(
      (token, index, all): token is string => token !== undefined && all.indexOf(token) === index,
    );
    return sendBootReport(this.registry, tokens, stage, message, this.stopping.signal);
  }

  private async storeSessionToken(token: string): Promise<void> {
    try {
      await writeSessionToken(this.settings.stateDir, token);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'write failed';
      throw new BootFailure(
        this.stageReached,
        `cannot store the session token in ${this.settings.stateDir} (${code})`,
      );
    }
  }

  private registration(): RegisterRequest {
    return {
      workspaceId: this.settings.workspaceId,
      agentCard: this.card,
      endpoint: this.settings.publicUrl,
      version: RUNTIME_VERSION,
    };
  }

  /** The beat's body; `acknowledge` closes its error-rate window once the registry has it. */
  private heartbeatBody(): { request: HeartbeatRequest; acknowledge: () => void } {
    const snapshot = this.stats.snapshot();
    const cpu = process.cpuUsage();
    return {
      request: {
        status: snapshot.errorRate >= DEGRADED_ERROR_RATE ? 'degraded' : 'ok',
        activeTasks: snapshot.activeTasks,
        errorRate: snapshot.errorRate,
        usage: {
          tasksTotal: snapshot.tasksTotal,
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
          rssBytes: process.memoryUsage.rss(),
        },
      },
      acknowledge: () => this.stats.acknowledge(snapshot),
    };
  }

  /** What the registry asked for, else `fallbackMs`, else the configured initial interval. */
  private intervalMs(seconds: number | undefined, fallbackMs?: number): number {
    if (seconds === undefined) {
      return fallbackMs ?? this.settings.heartbeatIntervalSeconds * 1000;
    }
    return Math.max(MIN_HEARTBEAT_INTERVAL_MS, seconds * 1000);
  }

  private session(): string {
    if (this.sessionToken === undefined) throw new Error('not registered');
    return this.sessionToken;
  }

  /** Aborts on shutdown or after `ms`, whichever comes first. */
  private signal(ms: number): AbortSignal {
    return AbortSignal.any([this.stopping.signal, AbortSignal.timeout(ms)]);
  }
}

/**
 * Best effort for a config that did not validate: when the registry URL and a credential can
 * still be read, the registry learns why this workspace will not come up (stage `config`).
 */
export async function reportConfigFailure(
  env: AgentEnv,
  loaded: LoadedConfig,
  message: string,
): Promise<boolean> {
  const registryUrl = readRegistryUrl(loaded);
  if (registryUrl === undefined) return false;
  const tokens: string[] = [];
  const configDir = dirname(resolve(loaded.path));
  const stateDir =
    typeof loaded.config.stateDir === 'string' && loaded.config.stateDir.trim() !== ''
      ? resolve(configDir, loaded.config.stateDir)
      : configDir;
  const stored = await readSessionToken(stateDir).catch(() => undefined);
  if (stored !== undefined) tokens.push(stored);
  const bootstrap = nonEmpty(env.WORKSPACE_BOOTSTRAP_TOKEN);
  if (bootstrap !== undefined && isBearerToken(bootstrap) && bootstrap !== stored) {
    tokens.push(bootstrap);
  }
  return sendBootReport(new RegistryClient(registryUrl), tokens, 'config', message);
}

/** Tries each token until one is accepted; gives up on anything but a 401, or at the deadline. */
async function sendBootReport(
  registry: RegistryClient,
  tokens: string[],
  stage: BootStage,
  message: string,
  stopping?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + BOOT_REPORT_TIMEOUT_MS;
  for (const token of tokens) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    const timeout = AbortSignal.timeout(left);
    const signal = stopping ? AbortSignal.any([stopping, timeout]) : timeout;
    try {
      await registry.bootReport(token, { stage, error: message }, signal);
      return true;
    } catch (error) {
      // Another credential may still be accepted; an unreachable registry will not get better.
      if (!(error instanceof RegistryHttpError && error.status === 401)) return false;
    }
  }
  return false;
}

/** A one-line reason for logs and boot reports. Nothing here can hold a token. */
function describe(error: unknown): string {
  if (
    error instanceof BootFailure ||
    error instanceof RegistryHttpError ||
    error instanceof RegistryUnreachableError ||
    error instanceof RegistryProtocolError
  ) {
    return error.message;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
}
