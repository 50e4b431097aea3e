import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testInfrastructure } from '@molecule/config';
import { dropDatabase } from '@molecule/database';
import { createTestRedisPrefix, uniqueTag } from '@molecule/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort, isAlive, REPO, waitFor } from './helpers';

/** `npm start` as a user runs it, on ports and a database of its own. */
describe('npm start', () => {
  const database = new URL(testInfrastructure().databaseUrl);
  database.pathname = `/molecule_e2e_${uniqueTag()}`;
  const redis = createTestRedisPrefix();
  const adminToken = `e2e-admin-${randomBytes(24).toString('hex')}`;
  let ports: Record<string, number>;
  let npm: ChildProcess;
  let output = '';
  let startedAt: number;

  beforeAll(async () => {
    ports = {
      api: await freePort(),
      registry: await freePort(),
      provisioner: await freePort(),
      'edge-router': await freePort(),
    };
    startedAt = Date.now();
    npm = spawn('npm', ['start'], {
      cwd: REPO,
      // Its own process group, like a terminal's foreground job: Ctrl-C signals the group.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DATABASE_URL: database.toString(),
        REDIS_URL: testInfrastructure().redisUrl,
        REDIS_PREFIX: redis.prefix,
        MASTER_KEY: randomBytes(32).toString('base64'),
        PLATFORM_ADMIN_TOKEN: adminToken,
        API_PORT: String(ports.api),
        REGISTRY_PORT: String(ports.registry),
        PROVISIONER_PORT: String(ports.provisioner),
        EDGE_ROUTER_PORT: String(ports['edge-router']),
        LOG_PRETTY: 'false',
      },
    });
    npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  });

  afterAll(async () => {
    if (npm.exitCode === null && npm.signalCode === null && npm.pid) {
      try {
        process.kill(-npm.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    }
    await dropDatabase(database.toString());
    await redis.clear();
  });

  it('brings every service to healthy and ready within 30 s', async () => {
    for (const [service, port] of Object.entries(ports)) {
      for (const probe of ['/healthz', '/readyz']) {
        const remaining = 30_000 - (Date.now() - startedAt);
        await waitFor(
          `${service} ${probe}\n${output}`,
          async () =>
            (await fetch(`http://127.0.0.1:${port}${probe}`)).status === 200 ? true : undefined,
          Math.max(remaining, 0),
        );
      }
    }
    expect(Date.now() - startedAt).toBeLessThan(30_000);
  });

  it('prints the URLs', async () => {
    await waitFor(
      'the banner',
      async () => (output.includes('all services are ready') ? true : undefined),
      5_000,
    );
    expect(output).toContain(`http://127.0.0.1:${ports.api}/docs`);
    expect(output).toContain(`http://127.0.0.1:${ports.api}/admin/queues`);
    expect(output).not.toContain(adminToken);
  });

  it('serves the queue dashboard to the platform admin only', async () => {
    const url = `http://127.0.0.1:${ports.api}/admin/queues/api/queues`;
    expect((await fetch(url)).status).toBe(401);
    const response = await fetch(url, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(response.status).toBe(200);
  });

  it('stops every process on Ctrl-C', async () => {
    const pids = [...output.matchAll(/started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(4);
    const exited = new Promise<number | null>((resolve) =>
      npm.once('exit', (code) => resolve(code)),
    );
    process.kill(-npm.pid!, 'SIGINT');
    await exited;
    await waitFor(
      'every service to exit',
      async () => (pids.some(isAlive) ? undefined : true),
      15_000,
    );
    for (const port of Object.values(ports)) {
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    }
  });
});
