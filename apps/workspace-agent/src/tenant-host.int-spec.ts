import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../test/agent-process';

/**
 * The runtime as hosts run it: a separate `node` process, configured only through its config file
 * and environment. ts-node runs the TypeScript source, so no build is needed first.
 */

const REPO = resolve(__dirname, '../../..');
const MAIN = 'apps/workspace-agent/src/main.ts';
const BOOT_DEADLINE_MS = 15_000;

interface Agent {
  child: ChildProcess;
  exited: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
}

function startAgent(env: Record<string, string>): Agent {
  // Only what the runtime needs: nothing leaks in from the test's own environment.
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', MAIN], {
    cwd: REPO,
    env: { TS_NODE_PROJECT: 'tsconfig.json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Polls health until it answers 200; fails as soon as the process exits or the deadline passes. */
async function waitHealthy(agent: Agent, base: string): Promise<number> {
  const started = Date.now();
  let exitCode: number | null | undefined;
  void agent.exited.then((code) => (exitCode = code));
  while (Date.now() - started < BOOT_DEADLINE_MS) {
    if (exitCode !== undefined) {
      throw new Error(`the agent exited with ${exitCode}: ${agent.stderr()}`);
    }
    try {
      const response = await fetch(`${base}/health`);
      if (response.status === 200) return Date.now() - started;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 25));
  }
  throw new Error(`the agent did not answer /health within ${BOOT_DEADLINE_MS} ms`);
}

let dir: string;
let configPath: string;
let token: string;
let base: string;
let agent: Agent;
/** Every body the agent sent, checked at the end for the token. */
const bodies: string[] = [];

async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const response = await fetch(`${base}${path}`, { method, headers });
  const body = await response.text();
  bodies.push(body);
  return { status: response.status, headers: response.headers, body };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'molecule-agent-'));
  configPath = join(dir, 'config.yaml');
  await writeFile(
    configPath,
    JSON.stringify({
      role: 'tenant',
      orgId: 'org-test-1',
      orgSlug: 'acme',
      orgName: 'Acme <script>alert(1)</script> & "Co"',
      healthPath: '/health',
    }),
  );
  token = `mol_ta_${randomBytes(32).toString('base64url')}`;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  agent = startAgent({
    MOLECULE_CONFIG: configPath,
    TENANT_ADMIN_TOKEN: token,
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  await waitHealthy(agent, base);
});

afterAll(async () => {
  if (agent?.child.exitCode === null) {
    agent.child.kill('SIGKILL');
    await agent.exited;
  }
  await rm(dir, { recursive: true, force: true });
});

describe('tenant host', () => {
  it('answers health without credentials', async () => {
    const response = await get('/health');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: 'ok', role: 'tenant', org: 'acme' });
  });

  // Functions, because the token exists only once beforeAll has run.
  it.each<[string, () => Record<string, string>]>([
    ['no credentials', () => ({})],
    [
      'a wrong token',
      () => ({ authorization: `Bearer mol_ta_${randomBytes(32).toString('base64url')}` }),
    ],
    ['the token under another scheme', () => ({ authorization: `Basic ${token}` })],
    ['a prefix of the token', () => ({ authorization: `Bearer ${token.slice(0, -1)}` })],
    ['the token with a suffix', () => ({ authorization: `Bearer ${token}x` })],
  ])('refuses the landing page with %s', async (_what, headersOf) => {
    const headers = headersOf();
    const response = await get('/', headers);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(JSON.parse(response.body)).toEqual({
      error: { status: 401, code: 'unauthorized', message: expect.any(String) },
    });
  });

  it('serves the landing page with the token, the org name escaped', async () => {
    const response = await get('/', { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.body).toContain(
      'Acme &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;',
    );
    expect(response.body).not.toContain('<script>');
  });

  it('echoes the forwarded headers on /whoami', async () => {
    const response = await get('/whoami', {
      authorization: `Bearer ${token}`,
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-host': 'acme.example.com',
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      org: 'acme',
      forwardedFor: '203.0.113.7',
      host: 'acme.example.com',
    });
  });

  it('refuses /whoami and unknown paths without the token, so they cannot be told apart', async () => {
    expect((await get('/whoami')).status).toBe(401);
    expect((await get('/no-such-page')).status).toBe(401);
    expect((await get('/health', {}, 'POST')).status).toBe(401);
  });

  it('answers 404 for an unknown path and 405 for another method, with the token', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const missing = await get('/no-such-page', auth);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({
      error: { status: 404, code: 'not_found', message: 'Not found' },
    });
    expect((await get('//whoami', auth)).status).toBe(404);
    expect((await get('/', auth, 'DELETE')).status).toBe(405);
  });

  it('never sends or logs the token', () => {
    expect(bodies.length).toBeGreaterThan(5);
    for (const body of bodies) expect(body).not.toContain(token);
    expect(agent.stdout()).not.toContain(token);
    expect(agent.stderr()).not.toContain(token);
    expect(agent.stdout()).toContain('"msg":"listening"');
  });

  it('exits 0 on SIGTERM', async () => {
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(agent.stdout()).not.toContain(token);
  });
});

describe('tenant host settings', () => {
  async function exitOf(
    env: Record<string, string>,
  ): Promise<{ code: number | null; stderr: string }> {
    const failing = startAgent(env);
    const code = await failing.exited;
    return { code, stderr: failing.stderr() };
  }

  it('exits non-zero naming TENANT_ADMIN_TOKEN when it is missing', async () => {
    const result = await exitOf({ MOLECULE_CONFIG: configPath, PORT: '1', HOST: '127.0.0.1' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('TENANT_ADMIN_TOKEN');
  });

  it('names a malformed token without printing it', async () => {
    const short = `short-${randomBytes(4).toString('hex')}`;
    const result = await exitOf({
      MOLECULE_CONFIG: configPath,
      PORT: '1',
      TENANT_ADMIN_TOKEN: short,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('TENANT_ADMIN_TOKEN');
    expect(result.stderr).not.toContain(short);
  });

  it('exits non-zero naming PORT and MOLECULE_CONFIG when they are wrong', async () => {
    const badPort = await exitOf({
      MOLECULE_CONFIG: configPath,
      PORT: 'http',
      TENANT_ADMIN_TOKEN: token,
    });
    expect(badPort.code).not.toBe(0);
    expect(badPort.stderr).toContain('PORT');
    expect(badPort.stderr).not.toContain(token);

    const noConfig = await exitOf({
      MOLECULE_CONFIG: join(dir, 'missing.json'),
      PORT: '1',
      TENANT_ADMIN_TOKEN: token,
    });
    expect(noConfig.code).not.toBe(0);
    expect(noConfig.stderr).toContain('MOLECULE_CONFIG');
  });
});
