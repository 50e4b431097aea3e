import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Role } from '@a2a-js/sdk';
import type { AgentCard, SendMessageRequest } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { freePort, killAgent, startAgent } from '../test/agent-process';
import type { AgentProcess } from '../test/agent-process';
import { FakeRegistry } from '../test/fake-registry';
import type { RecordedCall } from '../test/fake-registry';

/**
 * Workspace mode end to end: the runtime as a real process against an in-memory registry that
 * implements the registry contract. Covers SPEC §6: register with the bootstrap token, keep the
 * session token 0600, heartbeat, serve A2A (v1.0 and v0.3), re-register after a restart, and
 * report the stage reached when boot fails.
 */

let registry: FakeRegistry;
let registryUrl: string;
let dir: string;
const agents: AgentProcess[] = [];

interface Workspace {
  id: string;
  port: number;
  base: string;
  stateDir: string;
  configPath: string;
}

async function workspace(config: Record<string, unknown> = {}): Promise<Workspace> {
  const id = randomUUID();
  const port = await freePort();
  const stateDir = join(dir, id);
  await mkdir(stateDir, { mode: 0o700 });
  const configPath = join(stateDir, 'config.yaml');
  await writeFile(
    configPath,
    JSON.stringify({
      role: 'workspace',
      launchId: `launch-${id}`,
      workspaceId: id,
      orgId: randomUUID(),
      name: 'Echo test',
      runtime: 'reference',
      registryUrl,
      port,
      healthPath: '/health',
      ...config,
    }),
  );
  return { id, port, base: `http://127.0.0.1:${port}`, stateDir, configPath };
}

function start(ws: Workspace, env: Record<string, string> = {}): AgentProcess {
  const agent = startAgent({
    MOLECULE_CONFIG: ws.configPath,
    PORT: String(ws.port),
    HOST: '127.0.0.1',
    // A user secret, as the env file carries them: it must never be logged either.
    OPENAI_API_KEY: 'sk-test-user-secret-never-logged',
    ...env,
  });
  agents.push(agent);
  return agent;
}

function textMessage(text: string): SendMessageRequest {
  return {
    tenant: '',
    metadata: {},
    message: {
      messageId: randomUUID(),
      role: Role.ROLE_USER,
      parts: [
        {
          content: { $case: 'text', value: text },
          metadata: undefined,
          filename: '',
          mediaType: 'text/plain',
        },
      ],
      taskId: '',
      contextId: '',
      extensions: [],
      metadata: {},
      referenceTaskIds: [],
    },
    configuration: undefined,
  };
}

/** The text parts of whatever a send returned (a message here; a task would carry them too). */
function replyText(reply: unknown): string {
  const parts = (reply as { parts?: { content?: { $case: string; value: unknown } }[] }).parts;
  return (parts ?? [])
    .map((part) => (part.content?.$case === 'text' ? String(part.content.value) : ''))
    .join('');
}

async function rpc(base: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/a2a/jsonrpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    text: await response.text(),
  };
}

function forWorkspace(ws: Workspace, path: string): (call: RecordedCall) => boolean {
  return (call) =>
    call.path === path &&
    (path === '/registry/register'
      ? (call.body as { workspaceId?: string }).workspaceId === ws.id
      : true);
}

beforeAll(async () => {
  registry = new FakeRegistry();
  registryUrl = await registry.start();
  dir = await mkdtemp(join(tmpdir(), 'molecule-workspace-agent-'));
});

afterAll(async () => {
  for (const agent of agents) await killAgent(agent);
  await registry.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('workspace agent', () => {
  let ws: Workspace;
  let bootstrapToken: string;
  let agent: AgentProcess;
  let sessionToken: string;
  let spawnToRegisteredMs: number;

  beforeAll(async () => {
    ws = await workspace();
    bootstrapToken = registry.issueBootstrapToken(ws.id);
    agent = start(ws, { WORKSPACE_BOOTSTRAP_TOKEN: bootstrapToken });
    await agent.waitForLog('registered');
    spawnToRegisteredMs = Date.now() - agent.startedAt;
  });

  it('exchanges the bootstrap token and keeps the session token in a 0600 file', async () => {
    const register = registry.callsTo('/registry/register')[0];
    expect(register.token).toBe(bootstrapToken);
    expect(register.status).toBe(200);
    const body = register.body as Record<string, unknown>;
    expect(body).toEqual({
      workspaceId: ws.id,
      agentCard: expect.objectContaining({ name: 'Echo test' }),
      endpoint: ws.base,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    const card = body.agentCard as AgentCard;
    expect(card.supportedInterfaces).toContainEqual(
      expect.objectContaining({ url: `${ws.base}/a2a/jsonrpc`, protocolVersion: '1.0' }),
    );

    [sessionToken] = registry.sessionTokens();
    expect(sessionToken).toMatch(/^mol_ws_/);
    const file = join(ws.stateDir, 'session-token');
    expect((await readFile(file, 'utf8')).trim()).toBe(sessionToken);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // ts-node compiles the sources on the way; the compiled agent is much faster (see report).
    expect(spawnToRegisteredMs).toBeLessThan(10_000);
  });

  it('heartbeats with the session token, the contract body, at about the returned interval', async () => {
    await registry.waitForCall(() => registry.callsTo('/registry/heartbeat').length >= 6);
    const beats = registry.callsTo('/registry/heartbeat');
    for (const beat of beats) {
      expect(beat.token).toBe(sessionToken);
      expect(beat.status).toBe(200);
      expect(beat.body).toEqual({
        status: 'ok',
        activeTasks: expect.any(Number),
        errorRate: expect.any(Number),
        usage: {
          tasksTotal: expect.any(Number),
          cpuSeconds: expect.any(Number),
          rssBytes: expect.any(Number),
        },
      });
      const { errorRate, activeTasks } = beat.body as { errorRate: number; activeTasks: number };
      expect(errorRate).toBeGreaterThanOrEqual(0);
      expect(errorRate).toBeLessThanOrEqual(1);
      expect(Number.isInteger(activeTasks) && activeTasks >= 0).toBe(true);
    }
    // 0.2 s ± 10 % jitter; a loaded CI box adds latency, never removes it.
    const gaps = beats.slice(1).map((beat, index) => beat.at - beats[index].at);
    const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
    expect(mean).toBeGreaterThanOrEqual(170);
    expect(mean).toBeLessThan(400);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(150);
  });

  it('answers health with its workspace and stage', async () => {
    const response = await fetch(`${ws.base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ok',
      role: 'workspace',
      workspaceId: ws.id,
      stage: 'online',
    });
    expect((await fetch(`${ws.base}/nope`)).status).toBe(404);
    expect((await fetch(`${ws.base}/a2a/jsonrpc`)).status).toBe(405);
  });

  it('serves the v1.0 agent card to v1.0 clients and the v0.3 shape without A2A-Version', async () => {
    const v1 = await fetch(`${ws.base}/.well-known/agent-card.json`, {
      headers: { 'A2A-Version': '1.0' },
    });
    expect(v1.status).toBe(200);
    expect(v1.headers.get('vary')).toMatch(/A2A-Version/i);
    const card = (await v1.json()) as AgentCard;
    expect(card.skills.map((skill) => skill.id)).toEqual(['echo']);
    expect(card.capabilities?.streaming).toBe(true);
    expect(card.supportedInterfaces.map((entry) => entry.protocolVersion).sort()).toEqual([
      '0.3',
      '1.0',
    ]);

    const legacy = await fetch(`${ws.base}/.well-known/agent-card.json`);
    expect(await legacy.json()).toMatchObject({
      protocolVersion: '0.3',
      url: `${ws.base}/a2a/jsonrpc`,
      preferredTransport: 'JSONRPC',
      capabilities: { streaming: true },
    });
  });

  it('echoes through the SDK client: sendMessage and streaming send (protocol v1.0)', async () => {
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory()],
      }),
    );
    const client = await factory.createFromUrl(ws.base);
    expect(client.protocolVersion).toBe('1.0');

    expect(replyText(await client.sendMessage(textMessage('hello')))).toBe('echo: hello');

    const streamed: string[] = [];
    for await (const event of client.sendMessageStream(textMessage('hello'))) {
      if (event.payload?.$case === 'message') streamed.push(replyText(event.payload.value));
    }
    expect(streamed).toEqual(['echo: hello']);
  });

  it('echoes raw v0.3 message/send and message/stream, and v1.0 SendMessage by name', async () => {
    const message = (id: string) => ({
      kind: 'message',
      messageId: id,
      role: 'user',
      parts: [{ kind: 'text', text: 'hello' }],
    });
    const send = await rpc(ws.base, {
      jsonrpc: '2.0',
      id: 1,
      method: 'message/send',
      params: { message: message('m-1') },
    });
    expect(send.status).toBe(200);
    expect(JSON.parse(send.text)).toMatchObject({
      jsonrpc: '2.0',
      id: 1,
      result: { kind: 'message', role: 'agent', parts: [{ kind: 'text', text: 'echo: hello' }] },
    });

    const stream = await rpc(ws.base, {
      jsonrpc: '2.0',
      id: 2,
      method: 'message/stream',
      params: { message: message('m-2') },
    });
    expect(stream.type).toMatch(/^text\/event-stream/);
    const events = stream.text
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { id: number; result: unknown });
    expect(events).toEqual([
      expect.objectContaining({
        id: 2,
        result: expect.objectContaining({ parts: [{ kind: 'text', text: 'echo: hello' }] }),
      }),
    ]);

    // v1.0 wire shape by hand, with the header the SDK sends.
    const v1 = await rpc(
      ws.base,
      {
        jsonrpc: '2.0',
        id: 3,
        method: 'SendMessage',
        params: {
          message: {
            messageId: 'm-3',
            role: 'ROLE_USER',
            parts: [{ text: 'hello' }],
          },
        },
      },
      { 'A2A-Version': '1.0' },
    );
    expect(JSON.parse(v1.text)).toMatchObject({
      id: 3,
      result: { message: { role: 'ROLE_AGENT', parts: [{ text: 'echo: hello' }] } },
    });
  });

  it('answers malformed JSON-RPC with JSON-RPC errors, and an oversized body with 413', async () => {
    const garbage = await fetch(`${ws.base}/a2a/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(await garbage.json()).toMatchObject({ id: null, error: { code: -32700 } });
    const unknown = await rpc(ws.base, { jsonrpc: '2.0', id: 4, method: 'no/such', params: {} });
    expect(JSON.parse(unknown.text)).toMatchObject({ id: 4, error: { code: -32601 } });
    const huge = await fetch(`${ws.base}/a2a/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(huge.status).toBe(413);
  });

  it('counts the echo tasks in its heartbeats', async () => {
    const before = registry.callsTo('/registry/heartbeat').length;
    await registry.waitForCall(() => registry.callsTo('/registry/heartbeat').length > before + 1);
    const last = registry.callsTo('/registry/heartbeat').at(-1);
    // sendMessage, the stream, message/send, message/stream and SendMessage above.
    expect((last?.body as { usage: { tasksTotal: number } }).usage.tasksTotal).toBe(5);
  });

  it('re-registers with the stored session token after SIGKILL and a restart without the bootstrap token', async () => {
    agent.child.kill('SIGKILL');
    await agent.exited;
    const registersBefore = registry.callsTo('/registry/register').length;

    agent = start(ws);
    const registered = await agent.waitForLog('registered');
    expect(registered).toMatchObject({ credential: 'session' });
    const again = registry.callsTo('/registry/register').slice(registersBefore);
    expect(again).toHaveLength(1);
    expect(again[0].token).toBe(sessionToken);
    expect(again[0].token).toMatch(/^mol_ws_/);
    expect(again[0].status).toBe(200);
    // No new session: the stored one stays, unchanged.
    expect(registry.sessionTokens()).toEqual([sessionToken]);
    expect((await readFile(join(ws.stateDir, 'session-token'), 'utf8')).trim()).toBe(sessionToken);
    const beatsBefore = registry.callsTo('/registry/heartbeat').length;
    await registry.waitForCall(() => registry.callsTo('/registry/heartbeat').length > beatsBefore);
  });

  it('backs off while the registry fails heartbeats, then recovers', async () => {
    const before = registry.callsTo('/registry/heartbeat').length;
    registry.failHeartbeats = { status: 503, count: 3 };
    await agent.waitForLog('heartbeat recovered');
    const beats = registry.callsTo('/registry/heartbeat').slice(before);
    const firstFailure = beats.findIndex((beat) => beat.status === 503);
    const window = beats.slice(firstFailure, firstFailure + 4);
    expect(window.map((beat) => beat.status)).toEqual([503, 503, 503, 200]);
    // Waits after each failure: 0.2, 0.4 and 0.8 s (±10 %), doubling from the interval.
    const gaps = window.slice(1).map((beat, index) => beat.at - window[index].at);
    expect(gaps[0]).toBeGreaterThanOrEqual(170);
    expect(gaps[1]).toBeGreaterThanOrEqual(350);
    expect(gaps[2]).toBeGreaterThanOrEqual(700);
    expect(gaps[2]).toBeLessThan(1_500);
  });

  it('re-registers with the session token when a heartbeat is refused (401), and goes on', async () => {
    const registersBefore = registry.callsTo('/registry/register').length;
    registry.failHeartbeats = { status: 401, count: 1 };
    await agent.waitForLog('re-registered');
    const registers = registry.callsTo('/registry/register').slice(registersBefore);
    expect(registers).toHaveLength(1);
    expect(registers[0]).toMatchObject({ token: sessionToken, status: 200 });
    const beatsBefore = registry.callsTo('/registry/heartbeat').length;
    await registry.waitForCall(() =>
      registry
        .callsTo('/registry/heartbeat')
        .slice(beatsBefore)
        .some((beat) => beat.status === 200),
    );
    expect(agent.exitCode()).toBeUndefined();
  });

  it('stops heartbeating and exits 0 on SIGTERM', async () => {
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    const beats = registry.callsTo('/registry/heartbeat').length;
    await new Promise((done) => setTimeout(done, 600));
    expect(registry.callsTo('/registry/heartbeat').length).toBe(beats);
    await expect(fetch(`${ws.base}/health`)).rejects.toThrow();
  });

  it('exits non-zero, with a boot report, when its session is revoked', async () => {
    agent = start(ws);
    await agent.waitForLog('online');
    const registersBefore = registry.callsTo('/registry/register').length;
    const reportsBefore = registry.callsTo('/registry/boot-report').length;

    registry.revokeSessions(ws.id);
    expect(await agent.exited).not.toBe(0);

    const registers = registry.callsTo('/registry/register').slice(registersBefore);
    expect(registers).toHaveLength(1);
    expect(registers[0]).toMatchObject({ token: sessionToken, status: 401 });
    const reports = registry.callsTo('/registry/boot-report').slice(reportsBefore);
    expect(reports.length).toBeGreaterThanOrEqual(1);
    expect(reports[0].body).toMatchObject({ stage: 'online' });
    expect(agent.stderr()).toContain('"stage":"online"');
  });

  it('never writes a token or a user secret to its output', () => {
    expect(agents.length).toBeGreaterThanOrEqual(3);
    for (const each of agents) {
      for (const output of [each.stdout(), each.stderr()]) {
        expect(output).not.toContain(bootstrapToken);
        expect(output).not.toContain(sessionToken);
        expect(output).not.toContain('mol_wb_');
        expect(output).not.toContain('mol_ws_');
        expect(output).not.toContain('sk-test-user-secret-never-logged');
      }
    }
  });
});

describe('workspace agent boot failures', () => {
  it('reports stage register and exits non-zero when the registry refuses the token (401)', async () => {
    const ws = await workspace();
    const token = registry.issueBootstrapToken(ws.id);
    registry.refuseRegister = true;
    try {
      const agent = start(ws, { WORKSPACE_BOOTSTRAP_TOKEN: token });
      expect(await agent.exited).not.toBe(0);
      const report = await registry.waitForCall(
        (call) => call.path === '/registry/boot-report' && call.token === token,
      );
      expect(report.status).toBe(204);
      const body = report.body as { stage: string; error: string };
      expect(body.stage).toBe('register');
      expect(body.error).toMatch(/401/);
      expect(body.error).not.toContain(token);
      expect(agent.stderr()).toContain('"stage":"register"');
      expect(agent.stderr()).toContain('"reported":true');
      expect(agent.stdout() + agent.stderr()).not.toContain(token);
    } finally {
      registry.refuseRegister = false;
    }
  });

  it('gives up on an unreachable registry after registryTimeoutSeconds and exits non-zero', async () => {
    const closedPort = await freePort();
    const ws = await workspace({
      registryUrl: `http://127.0.0.1:${closedPort}`,
      registryTimeoutSeconds: 2,
    });
    const agent = start(ws, { WORKSPACE_BOOTSTRAP_TOKEN: registry.issueBootstrapToken(ws.id) });
    await agent.waitForLog('listening');
    const listeningAt = Date.now();
    expect(await agent.exited).not.toBe(0);
    // 2 s of retries, then one bounded boot-report attempt that is refused at once.
    expect(Date.now() - listeningAt).toBeLessThan(6_000);
    expect(agent.stderr()).toContain('"stage":"register"');
    expect(agent.stderr()).toContain('ECONNREFUSED');
    expect(agent.stderr()).toContain('"reported":false');
  });

  it('reports stage config with the bootstrap token when the config is incomplete', async () => {
    const ws = await workspace({ runtime: '', heartbeatIntervalSeconds: -1 });
    const token = registry.issueBootstrapToken(ws.id);
    const agent = start(ws, { WORKSPACE_BOOTSTRAP_TOKEN: token });
    expect(await agent.exited).toBe(1);
    const report = await registry.waitForCall(
      (call) => call.path === '/registry/boot-report' && call.token === token,
    );
    expect(report.body).toEqual({
      stage: 'config',
      error: expect.stringMatching(/"runtime".*"heartbeatIntervalSeconds"/),
    });
    // The workspace never registered: the bootstrap token is still unused.
    expect(registry.calls.some(forWorkspace(ws, '/registry/register'))).toBe(false);
  });

  it('exits non-zero, naming the missing credential, with neither token nor session file', async () => {
    const ws = await workspace();
    const agent = start(ws);
    expect(await agent.exited).toBe(1);
    expect(agent.stderr()).toContain('WORKSPACE_BOOTSTRAP_TOKEN is not set');
    expect(registry.calls.some(forWorkspace(ws, '/registry/register'))).toBe(false);
  });
});
