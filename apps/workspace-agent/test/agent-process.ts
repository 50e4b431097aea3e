import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/**
 * The runtime as hosts run it: a separate `node` process, configured only through its config file
 * and environment. By default ts-node runs the TypeScript source, so no build is needed first;
 * `compiled` runs the output of `tsc -p tsconfig.build.json` with plain node instead.
 */

export const REPO = resolve(__dirname, '../../..');
const SOURCE_MAIN = 'apps/workspace-agent/src/main.ts';
const COMPILED_MAIN = 'dist/apps/workspace-agent/src/main.js';

export interface AgentProcess {
  child: ChildProcess;
  /** When spawn was called (Date.now()). */
  startedAt: number;
  exited: Promise<number | null>;
  exitCode: () => number | null | undefined;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout JSON line whose msg matches, failing if the process exits. */
  waitForLog: (msg: string, timeoutMs?: number) => Promise<Record<string, unknown>>;
}

export function startAgent(
  env: Record<string, string>,
  options: { compiled?: boolean } = {},
): AgentProcess {
  const args = options.compiled
    ? [COMPILED_MAIN]
    : ['-r', 'ts-node/register/transpile-only', SOURCE_MAIN];
  // Only what the runtime needs: nothing leaks in from the test's own environment.
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { TS_NODE_PROJECT: 'tsconfig.json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const startedAt = Date.now();
  let stdout = '';
  let stderr = '';
  let code: number | null | undefined;
  const waiters: (() => void)[] = [];
  const notify = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    notify();
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (exitCode) => {
      code = exitCode;
      notify();
      done(exitCode);
    }),
  );

  const findLog = (msg: string): Record<string, unknown> | undefined => {
    // Complete lines only: a chunk may end in the middle of one.
    for (const line of stdout.split('\n').slice(0, -1)) {
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg === msg) return parsed;
    }
    return undefined;
  };

  return {
    child,
    startedAt,
    exited,
    exitCode: () => code,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitForLog(msg, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = findLog(msg);
        if (found !== undefined) return found;
        if (code !== undefined) {
          throw new Error(`the agent exited with ${code} before logging "${msg}": ${stderr}`);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`the agent did not log "${msg}" in time: ${stderr}`);
        await new Promise<void>((done) => {
          const timer = setTimeout(done, left);
          waiters.push(() => {
            clearTimeout(timer);
            done();
          });
        });
      }
    },
  };
}

/** Kills the process if it still runs and waits for it to be gone. */
export async function killAgent(agent: AgentProcess | undefined): Promise<void> {
  if (agent === undefined) return;
  if (agent.exitCode() === undefined) agent.child.kill('SIGKILL');
  await agent.exited;
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}
