import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { InstanceInfo, LaunchRequest } from '../compute-driver';
import { describeComputeDriverContract } from '../compute-driver.contract';
import { LocalComputeDriver, type LocalComputeDriverOptions } from './local.driver';

const agent = {
  command: process.execPath,
  args: [resolve(__dirname, '../../test-fixtures/health-agent.cjs')],
};

async function tempInstancesDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'molecule-local-driver-'));
}

/** Terminates whatever a test left running, through a fresh driver, then removes the directory. */
async function cleanupDir(dir: string): Promise<void> {
  const driver = new LocalComputeDriver({ instancesDir: dir, agent, terminateGraceMs: 500 });
  for (const info of await driver.listManaged()) await driver.terminate(info.instanceId);
  await rm(dir, { recursive: true, force: true });
}

async function writeForeignInstance(dir: string): Promise<string> {
  const instanceId = `local-${randomBytes(6).toString('hex')}`;
  await mkdir(join(dir, instanceId), { recursive: true });
  await writeFile(
    join(dir, instanceId, 'instance.json'),
    JSON.stringify({
      instanceId,
      operationId: 'someone-else',
      tags: { owner: 'another-tool' },
      port: 1,
      launchedAt: new Date().toISOString(),
      state: 'running',
    }),
  );
  return instanceId;
}

describeComputeDriverContract('local', async () => {
  const dir = await tempInstancesDir();
  const open = () => new LocalComputeDriver({ instancesDir: dir, agent, terminateGraceMs: 1_000 });
  return {
    driver: open(),
    reopen: async () => open(),
    addForeignInstance: () => writeForeignInstance(dir),
    cleanup: () => cleanupDir(dir),
  };
});

function request(overrides: { secrets?: Record<string, string> } = {}): LaunchRequest {
  const operationId = `op-${randomUUID()}`;
  return {
    operationId,
    tier: 'small',
    tags: {
      'molecule:managed': 'true',
      'molecule:org': 'org-local',
      'molecule:resource-type': 'workspace',
      'molecule:resource': `ws-${randomUUID()}`,
      'molecule:operation': operationId,
    },
    boot: {
      role: 'workspace',
      launchId: operationId,
      config: { WORKSPACE_ID: 'ws-local' },
      secrets: { WORKSPACE_TOKEN: 'local-test-token-not-real', ...overrides.secrets },
      // A hint only: the driver picks a free port of its own.
      port: 1,
      healthPath: '/health',
      image: 'registry.example.invalid/agent:1',
    },
  };
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function health(info: InstanceInfo): Promise<number | undefined> {
  try {
    const response = await fetch(`http://${info.address}:${info.port}/health`);
    return response.status;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

interface StoredRecord {
  pid?: number;
  pidStartTime?: string;
  state: string;
}

async function readRecord(dir: string, instanceId: string): Promise<StoredRecord> {
  return JSON.parse(await readFile(join(dir, instanceId, 'instance.json'), 'utf8')) as StoredRecord;
}

describe('LocalComputeDriver', () => {
  let dir: string;
  let driver: LocalComputeDriver;
  const make = (options: Partial<LocalComputeDriverOptions> = {}) =>
    new LocalComputeDriver({ instancesDir: dir, agent, terminateGraceMs: 1_000, ...options });

  beforeAll(() => {
    // Something only the control plane's environment holds; a host must never inherit it.

    process.env.MOLECULE_TEST_CANARY = 'canary-value';
  });
  afterAll(() => {
    delete process.env.MOLECULE_TEST_CANARY;
  });

  afterEach(async () => {
    await cleanupDir(dir);
  });

  const setUp = async (options: Partial<LocalComputeDriverOptions> = {}) => {
    dir = await tempInstancesDir();
    driver = make(options);
  };

  it('runs a host that answers its health check, and stops its whole group on terminate', async () => {
    await setUp();
    const launched = await driver.launch(request());
    expect(launched).toMatchObject({ state: 'running', address: '127.0.0.1' });

    expect(await waitFor('health', () => health(launched))).toBe(200);
    const { pid } = await readRecord(dir, launched.instanceId);
    const grandchild = Number(
      await waitFor('grandchild pid', async () => {
        const path = join(dir, launched.instanceId, 'grandchild.pid');
        return existsSync(path) ? readFile(path, 'utf8') : undefined;
      }),
    );
    expect(pid).toEqual(expect.any(Number));
    expect(isAlive(grandchild)).toBe(true);

    await driver.terminate(launched.instanceId);

    expect(await health(launched)).toBeUndefined();
    expect(groupExists(pid ?? 0)).toBe(false);
    expect(isAlive(grandchild)).toBe(false);
    expect(await readRecord(dir, launched.instanceId)).toMatchObject({ state: 'terminated' });
  });

  it('writes the env file 0600 and removes it on terminate, keeping the directory', async () => {
    await setUp();
    const launched = await driver.launch(request());
    const instanceDir = join(dir, launched.instanceId);
    const envFile = join(instanceDir, 'molecule.env');

    expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    expect((await stat(instanceDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(instanceDir, 'stdout.log'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(instanceDir, 'stderr.log'))).mode & 0o777).toBe(0o600);

    await driver.terminate(launched.instanceId);

    expect(existsSync(envFile)).toBe(false);
    expect(existsSync(join(instanceDir, 'instance.json'))).toBe(true);
    expect(existsSync(join(instanceDir, 'stdout.log'))).toBe(true);
  });

  it("does not hand the control plane's environment to a host", async () => {
    await setUp();
    const launched = await driver.launch(request());
    const keys = await waitFor('env-keys.json', async () => {
      const path = join(dir, launched.instanceId, 'env-keys.json');
      return existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as string[]) : undefined;
    });

    expect(keys).not.toContain('MOLECULE_TEST_CANARY');
    expect(keys).toEqual(expect.arrayContaining(['PORT', 'HOST', 'PATH', 'WORKSPACE_TOKEN']));
    const allowed = new Set([
      'PATH',
      'NODE_OPTIONS',
      'HOST',
      'PORT',
      'MOLECULE_ROLE',
      'MOLECULE_CONFIG',
      'MOLECULE_ENV_FILE',
      'WORKSPACE_TOKEN',
    ]);
    // Exactly the boot contract's variables plus PATH/NODE_OPTIONS: nothing else of the parent.
    expect(keys.filter((key) => !allowed.has(key))).toEqual([]);
  });

  it('lets a new driver over the same directory list and terminate a running host', async () => {
    await setUp();
    const req = request();
    const launched = await driver.launch(req);
    await waitFor('health', () => health(launched));

    // The first driver object is dropped, as on a control plane restart.
    driver = make();

    expect((await driver.listManaged()).map((i) => i.instanceId)).toEqual([launched.instanceId]);
    expect((await driver.findByOperation(req.operationId))?.state).toBe('running');
    await driver.terminate(launched.instanceId);
    expect(await health(launched)).toBeUndefined();
    expect(await driver.listManaged()).toEqual([]);
  });

  it('kills a host that ignores SIGTERM once the grace period is over', async () => {
    await setUp({ terminateGraceMs: 300 });
    const launched = await driver.launch(request({ secrets: { FIXTURE_IGNORE_SIGTERM: '1' } }));
    await waitFor('health', () => health(launched));
    const { pid } = await readRecord(dir, launched.instanceId);

    await driver.terminate(launched.instanceId);

    expect(groupExists(pid ?? 0)).toBe(false);
    expect(await health(launched)).toBeUndefined();
  });

  it('reports a host that died on its own as stopped, still managed', async () => {
    await setUp();
    const req = request();
    const launched = await driver.launch(req);
    const { pid } = await readRecord(dir, launched.instanceId);
    process.kill(-(pid ?? 0), 'SIGKILL');

    await waitFor('stopped', async () =>
      (await driver.describe(launched.instanceId))?.state === 'stopped' ? true : undefined,
    );
    expect((await driver.listManaged()).map((i) => i.state)).toEqual(['stopped']);
    // Like EC2, launching the operation again returns the existing instance.
    expect((await driver.launch(req)).instanceId).toBe(launched.instanceId);
    await driver.terminate(launched.instanceId);
    expect((await driver.describe(launched.instanceId))?.state).toBe('terminated');
  });

  it('finishes a launch that crashed between writing its record and spawning', async () => {
    await setUp();
    const req = request();
    const instanceId = `local-${randomBytes(6).toString('hex')}`;
    await mkdir(join(dir, instanceId), { recursive: true, mode: 0o700 });
    await writeFile(
      join(dir, instanceId, 'instance.json'),
      JSON.stringify({
        instanceId,
        operationId: req.operationId,
        tags: req.tags,
        port: 1,
        launchedAt: new Date().toISOString(),
        state: 'pending',
      }),
    );
    expect((await driver.findByOperation(req.operationId))?.state).toBe('pending');

    const launched = await driver.launch(req);

    expect(launched).toMatchObject({ instanceId, state: 'running' });
    expect(await waitFor('health', () => health(launched))).toBe(200);
  });

  it('does not take a reused pid for its host, nor signal it', async () => {
    if (!existsSync('/proc/self/stat')) return;
    await setUp();
    const launched = await driver.launch(request());
    await driver.terminate(launched.instanceId);
    // An unrelated process (own group) now holds the pid the record names.
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      detached: true,
      stdio: 'ignore',
    });
    try {
      const strangerPid = stranger.pid ?? 0;
      const path = join(dir, launched.instanceId, 'instance.json');
      const record = JSON.parse(await readFile(path, 'utf8')) as StoredRecord;
      await writeFile(
        path,
        JSON.stringify({ ...record, state: 'running', pid: strangerPid, pidStartTime: '1' }),
      );

      expect((await driver.describe(launched.instanceId))?.state).toBe('stopped');
      await driver.terminate(launched.instanceId);
      expect(isAlive(strangerPid)).toBe(true);
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('refuses unknown and path-like ids without touching the file system', async () => {
    await setUp();
    expect(await driver.describe('local-000000000000')).toBeUndefined();
    expect(await driver.describe('../../etc')).toBeUndefined();
    await expect(driver.terminate('../../etc')).resolves.toBeUndefined();
  });

  it('refuses an invalid boot spec before writing anything, without echoing the secret', async () => {
    await setUp();
    const req = request({ secrets: { WORKSPACE_TOKEN: 'first-line\nsecond-line-secret' } });

    await expect(driver.launch(req)).rejects.toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('second-line-secret') }),
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('marks a launch whose command cannot start as terminated and says why', async () => {
    await setUp({ agent: { command: join(tmpdir(), `no-such-agent-${randomUUID()}`), args: [] } });
    const req = request();

    await expect(driver.launch(req)).rejects.toThrow(/could not start .* \(ENOENT\)/);

    expect(await driver.findByOperation(req.operationId)).toBeUndefined();
    expect(await driver.listManaged()).toEqual([]);
  });

  it('launches one host for concurrent launches from two driver objects', async () => {
    await setUp();
    const req = request();
    const [a, b] = await Promise.all([driver.launch(req), make().launch(req)]);
    expect(b.instanceId).toBe(a.instanceId);
    expect(await driver.listManaged()).toHaveLength(1);
  });
});
