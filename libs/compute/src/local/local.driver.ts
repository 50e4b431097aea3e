import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { renderLocalProcess, writeLocalFiles, type LocalProcessSpec } from '@molecule/boot';
import type {
  ComputeDriver,
  InstanceInfo,
  InstanceState,
  InstanceTags,
  LaunchRequest,
} from '../compute-driver';
import { assertLaunchRequest } from '../launch-request';
import { groupExists, processStartTime, processStatus, signalGroup } from './process-probe';

export interface LocalComputeDriverOptions {
  /** One sub-directory per instance; survives restarts of the control plane. */
  instancesDir: string;
  /** What to run: the workspace agent or tenant host runtime. */
  agent: { command: string; args: string[] };
  /** The address the hosts bind to and are reached at. */
  host?: string;
  /**
   * The only variables of the control plane's own environment a host inherits. Defaults to
   * this process's PATH and NODE_OPTIONS (when set).
   */
  inheritEnv?: { PATH?: string; NODE_OPTIONS?: string };
  /** How long a host gets to exit after SIGTERM before its group is killed. */
  terminateGraceMs?: number;
}

/** `instance.json`: everything a later driver (after a restart) needs to find the host again. */
interface InstanceRecord {
  instanceId: string;
  operationId: string;
  tags: InstanceTags;
  port: number;
  /** Absent until the process is spawned. */
  pid?: number;
  /** `/proc/<pid>/stat` field 22, to tell our process from a later one that got its pid. */
  pidStartTime?: string;
  launchedAt: string;
  state: 'pending' | 'running' | 'terminated';
  terminatedAt?: string;
  /** Names of the owner-only files (the env file with the secrets), removed on terminate. */
  secretFiles?: string[];
}

const RECORD_FILE = 'instance.json';
/** Written by `@molecule/boot`; always removed on terminate, whatever the record says. */
const ENV_FILE = 'molecule.env';
const INSTANCE_ID = /^local-[0-9a-f]{12}$/;
const POLL_MS = 50;
/** After SIGKILL, how long to wait for the group to vanish before recording it terminated. */
const KILL_WAIT_MS = 2_000;

/**
 * Serializes launches and terminations of one operation across every driver object in this
 * process, so two concurrent launches cannot both spawn a host. It does not reach
 * across processes: the local driver serves one control plane on one machine.
 */
const locks = new Map<string, Promise<void>>();

async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const run = previous.then(fn);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  locks.set(key, settled);
  try {
    return await run;
  } finally {
    if (locks.get(key) === settled) locks.delete(key);
  }
}

/**
 * The compute port as child processes on this machine (SPEC §2): the default driver, so the
 * whole system runs without a cloud account.
 *
 * Each host gets `<instancesDir>/<instanceId>/` with `instance.json`, the config and 0600 env
 * files from `@molecule/boot`, and its stdout/stderr logs. The host runs detached in its own
 * process group, so it outlives a control plane restart and terminate reaches its children too.
 * All state lives in the directory, so a new driver over the same directory lists, finds and
 * terminates what an earlier one launched.
 */
export class LocalComputeDriver implements ComputeDriver {
  readonly provider = 'local' as const;
  private readonly dir: string;
  private readonly host: string;
  private readonly inheritEnv: Record<string, string>;
  private readonly graceMs: number;

  constructor(private readonly options: LocalComputeDriverOptions) {
    this.dir = resolve(options.instancesDir);
    this.host = options.host ?? '127.0.0.1';
    this.graceMs = options.terminateGraceMs ?? 3_000;
    const inherited = options.inheritEnv ?? {
      // Reads two process-level variables to pass through, not configuration: a host needs a
      // PATH to find its tools, and NODE_OPTIONS carries runtime flags. Nothing else of this
      // process's environment (which holds MASTER_KEY) may reach a host.
      // eslint-disable-next-line no-restricted-properties
      PATH: process.env.PATH,
      // eslint-disable-next-line no-restricted-properties
      NODE_OPTIONS: process.env.NODE_OPTIONS,
    };
    this.inheritEnv = Object.fromEntries(
      Object.entries(inherited).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '',
      ),
    );
  }

  async launch(request: LaunchRequest): Promise<InstanceInfo> {
    assertLaunchRequest(request);
    return withLock(this.lockKey(request.operationId), async () => {
      const existing = await this.findRecord(request.operationId);
      // A record without a pid is a launch that stopped between writing it and spawning (the
      // control plane crashed): finish that launch instead of starting another instance.
      if (existing?.pid !== undefined) return this.toInfo(existing);

      const record: InstanceRecord = existing ?? {
        instanceId: `local-${randomBytes(6).toString('hex')}`,
        operationId: request.operationId,
        tags: { ...request.tags },
        port: 0,
        launchedAt: new Date().toISOString(),
        state: 'pending',
      };
      // The boot spec's port is only a hint: every local host needs a port of its own.
      record.port = await freePort(this.host);
      const dir = this.instanceDir(record.instanceId);
      // Rendered (and so validated) first: an invalid boot spec leaves nothing behind.
      const spec = renderLocalProcess(
        { ...request.boot, port: record.port },
        dir,
        this.options.agent,
      );
      record.secretFiles = spec.files
        .filter((file) => (file.mode & 0o077) === 0)
        .map((file) => basename(file.path));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // Written before spawning, with the operation id, so that a crash in between leaves a
      // record the next launch (or the orphan reconciler) finds.
      await this.writeRecord(record);
      return this.start(record, spec);
    });
  }

  async describe(instanceId: string): Promise<InstanceInfo | undefined> {
    const record = await this.readRecord(instanceId);
    return record ? this.toInfo(record) : undefined;
  }

  async findByOperation(operationId: string): Promise<InstanceInfo | undefined> {
    const record = await this.findRecord(operationId);
    return record ? this.toInfo(record) : undefined;
  }

  async listManaged(): Promise<InstanceInfo[]> {
    const infos = await Promise.all((await this.readAllRecords()).map((r) => this.toInfo(r)));
    return infos.filter(
      (info) => info.tags['molecule:managed'] === 'true' && info.state !== 'terminated',
    );
  }

  async terminate(instanceId: string): Promise<void> {
    const found = await this.readRecord(instanceId);
    if (!found) return;
    // The operation's lock, so a launch of the same operation that is still spawning cannot
    // record the host as running after it was terminated.
    await withLock(this.lockKey(found.operationId), async () => {
      const record = await this.readRecord(instanceId);
      if (!record) return;
      if (record.tags['molecule:managed'] !== 'true') {
        throw new Error(
          `local: refusing to terminate ${instanceId}: it is not managed by Molecule`,
        );
      }
      // Repeated even for a terminated record: a crash after the kill but before the secrets
      // were removed is finished by the next call.
      if (record.pid !== undefined && (await this.ownsGroup(record))) {
        await this.stopGroup(record.pid);
      }
      const dir = this.instanceDir(instanceId);
      for (const name of new Set([ENV_FILE, ...(record.secretFiles ?? [])])) {
        await rm(join(dir, name), { force: true });
      }
      if (record.state !== 'terminated') {
        record.state = 'terminated';
        record.terminatedAt = new Date().toISOString();
        // The directory stays (logs, config) for forensics; only the secrets are gone.
        await this.writeRecord(record);
      }
    });
  }

  private async start(record: InstanceRecord, spec: LocalProcessSpec): Promise<InstanceInfo> {
    const dir = this.instanceDir(record.instanceId);
    await writeLocalFiles(spec);

    const stdout = openSync(join(dir, 'stdout.log'), 'a', 0o600);
    const stderr = openSync(join(dir, 'stderr.log'), 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        // Only what the boot contract renders, plus PATH/NODE_OPTIONS and the bind address.
        env: { ...this.inheritEnv, ...spec.env, HOST: this.host },
        // Its own process group: it survives the control plane, and terminate signals the group.
        detached: true,
        stdio: ['ignore', stdout, stderr],
      });
    } finally {
      // The child holds its own copies of the descriptors from here on.
      closeSync(stdout);
      closeSync(stderr);
    }
    try {
      await new Promise<void>((resolveSpawn, rejectSpawn) => {
        child.once('spawn', resolveSpawn);
        child.once('error', rejectSpawn);
      });
    } catch (error) {
      record.state = 'terminated';
      record.terminatedAt = new Date().toISOString();
      await this.writeRecord(record);
      await rm(join(dir, ENV_FILE), { force: true });
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new Error(`local: could not start ${spec.command} (${code})`, { cause: error });
    }
    // The control plane must be able to exit (or restart) while its hosts keep running.
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`local: ${spec.command} started without a pid`);
    record.pid = pid;
    record.pidStartTime = await processStartTime(pid);
    record.state = 'running';
    await this.writeRecord(record);
    return this.toInfo(record);
  }

  /**
   * Whether `-pid` is still the group we started. Alive leader with the recorded start time:
   * yes. Leader gone: Linux does not hand out a pid that is still some group's id, so if the pid
   * now runs an unrelated process our group is gone too; if nothing runs under it, any
   * remaining group with that id is made of our host's leftover children.
   */
  private async ownsGroup(record: InstanceRecord): Promise<boolean> {
    if (record.pid === undefined) return false;
    const status = await processStatus(record.pid, record.pidStartTime);
    if (status === 'alive') return true;
    if (status === 'reused') return false;
    return groupExists(record.pid);
  }

  private async stopGroup(pgid: number): Promise<void> {
    signalGroup(pgid, 'SIGTERM');
    if (await waitUntil(() => !groupExists(pgid), this.graceMs)) return;
    signalGroup(pgid, 'SIGKILL');
    // Unkillable only as zombies waiting for a parent to reap them: they hold no port or file.
    await waitUntil(() => !groupExists(pgid), KILL_WAIT_MS);
  }

  private async toInfo(record: InstanceRecord): Promise<InstanceInfo> {
    return {
      instanceId: record.instanceId,
      state: await this.stateOf(record),
      address: this.host,
      port: record.port,
      tags: { ...record.tags },
      launchedAt: new Date(record.launchedAt),
    };
  }

  private async stateOf(record: InstanceRecord): Promise<InstanceState> {
    if (record.state === 'terminated') return 'terminated';
    if (record.pid === undefined) return 'pending';
    const status = await processStatus(record.pid, record.pidStartTime);
    // Died on its own (or its pid went to another process): stopped until terminated, as an
    // EC2 instance that shut itself down.
    return status === 'alive' ? 'running' : 'stopped';
  }

  private async findRecord(operationId: string): Promise<InstanceRecord | undefined> {
    const live = (await this.readAllRecords()).filter(
      (r) => r.operationId === operationId && r.state !== 'terminated',
    );
    // At most one by construction; a started one wins over a stale pending one.
    return live.find((r) => r.pid !== undefined) ?? live[0];
  }

  private async readAllRecords(): Promise<InstanceRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const records = await Promise.all(names.map((name) => this.readRecord(name)));
    return records.filter((r): r is InstanceRecord => r !== undefined);
  }

  private async readRecord(instanceId: string): Promise<InstanceRecord | undefined> {
    // Also keeps a caller-supplied id from naming a path outside the instances directory.
    if (!INSTANCE_ID.test(instanceId)) return undefined;
    let text: string;
    try {
      text = await readFile(join(this.instanceDir(instanceId), RECORD_FILE), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw error;
    }
    try {
      const record = JSON.parse(text) as InstanceRecord;
      return record.instanceId === instanceId ? record : undefined;
    } catch {
      // Not ours or damaged; writes are atomic, so never a half-written record of ours.
      return undefined;
    }
  }

  private async writeRecord(record: InstanceRecord): Promise<void> {
    const path = join(this.instanceDir(record.instanceId), RECORD_FILE);
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    // A rename replaces the record atomically: a crash never leaves half of one.
    await rename(temporary, path);
  }

  private lockKey(operationId: string): string {
    return `${this.dir}\0${operationId}`;
  }

  private instanceDir(instanceId: string): string {
    return join(this.dir, instanceId);
  }
}

/**
 * A port nothing listens on right now. Another process could take it before the host binds it;
 * the host then fails to start and shows up as stopped, which the provisioner already handles.
 */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(0, host, resolveListen);
  });
  const address = server.address();
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  if (address === null || typeof address === 'string') {
    throw new Error('local: could not allocate a port');
  }
  return address.port;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolveTimer) => setTimeout(resolveTimer, POLL_MS));
  }
  return true;
}
