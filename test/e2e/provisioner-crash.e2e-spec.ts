import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testInfrastructure } from '@molecule/config';
import {
  createDataSource,
  dropDatabase,
  Org,
  runMigrations,
  TenantInstance,
} from '@molecule/database';
import { createTestRedisPrefix, uniqueTag } from '@molecule/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { build, freePort, isAlive, REPO, waitFor } from './helpers';

interface InstanceRecord {
  instanceId: string;
  pid?: number;
  state: string;
}

/** SIGKILL the provisioner right after it launched a tenant host; a new one must finish the job. */
describe('provisioner crash during provisioning', () => {
  const database = new URL(testInfrastructure().databaseUrl);
  database.pathname = `/molecule_crash_${uniqueTag()}`;
  const redis = createTestRedisPrefix();
  const instancesDir = mkdtempSync(join(tmpdir(), 'molecule-crash-instances-'));
  const adminToken = `crash-admin-${randomBytes(24).toString('hex')}`;
  const children: ChildProcess[] = [];
  let env: NodeJS.ProcessEnv;
  let dataSource: DataSource;
  let apiPort: number;
  let output = '';

  const start = (service: string): ChildProcess => {
    const child = spawn(
      process.execPath,
      ['-r', './scripts/paths.cjs', join('dist', 'apps', service, 'src', 'main.js')],
      { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    children.push(child);
    return child;
  };
  const instances = (): InstanceRecord[] =>
    readdirSync(instancesDir)
      .filter((dir) => existsSync(join(instancesDir, dir, 'instance.json')))
      .map(
        (dir) =>
          JSON.parse(
            readFileSync(join(instancesDir, dir, 'instance.json'), 'utf8'),
          ) as InstanceRecord,
      );
  const orgStatus = async () =>
    (await dataSource.getRepository(Org).findOneBy({ slug: 'crashy' }))?.status;

  beforeAll(async () => {
    build();
    await runMigrations(database.toString());
    dataSource = createDataSource({ url: database.toString(), poolSize: 2 });
    await dataSource.initialize();
    apiPort = await freePort();
    env = {
      PATH: process.env.PATH,
      DATABASE_URL: database.toString(),
      REDIS_URL: testInfrastructure().redisUrl,
      REDIS_PREFIX: redis.prefix,
      MASTER_KEY: randomBytes(32).toString('base64'),
      PLATFORM_ADMIN_TOKEN: adminToken,
      API_PORT: String(apiPort),
      PROVISIONER_PORT: String(await freePort()),
      LOCAL_INSTANCES_DIR: instancesDir,
      LOCAL_AGENT_COMMAND: JSON.stringify([
        process.execPath,
        join(__dirname, '..', 'fixtures', 'slow-tenant.cjs'),
      ]),
      RECONCILE_INTERVAL_SECONDS: '3600',
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const instance of instances())
      if (instance.pid && isAlive(instance.pid)) process.kill(-instance.pid, 'SIGKILL');
    await dataSource?.destroy();
    rmSync(instancesDir, { recursive: true, force: true });
    await dropDatabase(database.toString());
    await redis.clear();
  });

  it('resumes to running with exactly one tenant instance', async () => {
    start('api');
    const first = start('provisioner');
    await waitFor(
      `the api\n${output}`,
      async () => ((await fetch(`http://127.0.0.1:${apiPort}/readyz`)).ok ? true : undefined),
      20_000,
    );

    const created = await fetch(`http://127.0.0.1:${apiPort}/v1/orgs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'crashy', name: 'Crashy' }),
    });
    expect(created.status).toBe(202);

    // The host is launched (it takes 4 s to get healthy): kill the provisioner now.
    await waitFor(
      `a launched instance\n${output}`,
      async () => (instances().some((i) => i.pid) ? true : undefined),
      20_000,
    );
    first.kill('SIGKILL');
    await waitFor(
      'the provisioner to die',
      async () => (first.exitCode !== null || first.signalCode !== null ? true : undefined),
      5_000,
    );
    expect(await orgStatus()).toBe('provisioning');

    start('provisioner');
    await waitFor(
      `crashy to be running\n${output}`,
      async () => ((await orgStatus()) === 'running' ? true : undefined),
      60_000,
    );

    const launched = instances();
    expect(launched).toHaveLength(1);
    expect(isAlive(launched[0].pid!)).toBe(true);
    const org = await dataSource.getRepository(Org).findOneByOrFail({ slug: 'crashy' });
    const hosts = await dataSource.getRepository(TenantInstance).findBy({ orgId: org.id });
    expect(hosts.map((h) => [h.providerInstanceId, h.status])).toEqual([
      [launched[0].instanceId, 'running'],
    ]);
  });
});
