import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testInfrastructure } from '@molecule/config';
import { dropDatabase } from '@molecule/database';
import { createTestRedisPrefix, uniqueTag } from '@molecule/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { build, freePort, isAlive, REPO, waitFor } from './helpers';

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
  const instancesDir = mkdtempSync(join(tmpdir(), 'molecule-e2e-instances-'));

  beforeAll(async () => {
    // npm start compiles first; compiling here keeps the 30 s readiness clock about the services
    // (a first start on a slow machine also spends ~10–20 s in tsc).
    build();
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
        LOCAL_INSTANCES_DIR: instancesDir,
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
    rmSync(instancesDir, { recursive: true, force: true });
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

  describe('an org, as a user drives it', () => {
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${ports.api}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${adminToken}`,
          'content-type': 'application/json',
          ...init.headers,
        },
      });

    it('reaches running in under 5 s, with every step timed', async () => {
      const started = Date.now();
      const created = await api('/v1/orgs', {
        method: 'POST',
        body: JSON.stringify({ slug: 'e2e-first', name: 'First' }),
      });
      expect(created.status).toBe(202);
      await waitFor(
        'e2e-first to be running',
        async () =>
          ((await (await api('/v1/orgs/e2e-first')).json()) as { org: { status: string } }).org
            .status === 'running'
            ? true
            : undefined,
        5_000,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      const progress = (await (await api('/v1/orgs/e2e-first/provisioning')).json()) as {
        percent: number;
        etaSeconds: number;
        steps: { state: string; durationMs: number }[];
      };
      expect(progress.percent).toBe(100);
      expect(progress.etaSeconds).toBe(0);
      expect(progress.steps.every((s) => s.state === 'done' && s.durationMs >= 0)).toBe(true);
    });

    it('shows the status page progress bar reaching 100% in a real browser', async () => {
      const created = await api('/v1/orgs', {
        method: 'POST',
        body: JSON.stringify({ slug: 'e2e-browser', name: 'Browser' }),
      });
      const { links } = (await created.json()) as { links: { statusPage: string } };
      // The ETA comes from the durations of the first org's steps.
      const progress = (await (await api('/v1/orgs/e2e-browser/provisioning')).json()) as {
        etaSeconds: number | null;
      };
      expect(progress.etaSeconds).not.toBeNull();
      const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      });
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${ports.api}${links.statusPage}`);
        await page.waitForFunction(
          () =>
            (
              globalThis as unknown as {
                document: {
                  getElementById(id: string): { getAttribute(name: string): string | null } | null;
                };
              }
            ).document
              .getElementById('bar')
              ?.getAttribute('aria-valuenow') === '100',
          undefined,
          { timeout: 10_000 },
        );
        expect(await page.textContent('#percent')).toBe('100%');
        expect(await page.textContent('#eta')).toBe('Ready');
        await page.screenshot({ path: join(tmpdir(), 'molecule-status-page.png') });
      } finally {
        await browser.close();
      }
    });

    it('deploys a workspace to online in under 3 s, with its agent card', async () => {
      const started = Date.now();
      const created = await api('/v1/orgs/e2e-first/workspaces', {
        method: 'POST',
        body: JSON.stringify({ name: 'echo', runtime: 'reference' }),
      });
      expect(created.status).toBe(202);
      const { workspace } = (await created.json()) as { workspace: { id: string } };
      const online = await waitFor(
        'the workspace to be online',
        async () => {
          const body = (await (
            await api(`/v1/orgs/e2e-first/workspaces/${workspace.id}`)
          ).json()) as {
            workspace: { status: string; agentCard: { name?: string } | null };
          };
          return body.workspace.status === 'online' ? body.workspace : undefined;
        },
        3_000,
      );
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(online.agentCard).not.toBeNull();
    });

    it('deletes an org: its tenant process ends and the receipt lists it', async () => {
      const accepted = await api('/v1/orgs/e2e-first', {
        method: 'DELETE',
        body: JSON.stringify({ confirm: 'e2e-first' }),
      });
      expect(accepted.status).toBe(202);
      const receipt = await waitFor(
        'the deletion receipt',
        async () => {
          const body = (await (await api('/v1/orgs/e2e-first/deletion')).json()) as {
            receipt: { removed: Record<string, { instanceIds?: string[] }> } | null;
          };
          return body.receipt ?? undefined;
        },
        15_000,
      );
      expect(receipt.removed['terminate-hosts'].instanceIds).toHaveLength(1);
      expect(receipt.removed['delete-workspaces'].instanceIds).toHaveLength(1);
      await api('/v1/orgs/e2e-browser', {
        method: 'DELETE',
        body: JSON.stringify({ confirm: 'e2e-browser' }),
      });
      await waitFor(
        'e2e-browser to be deleted',
        async () => {
          const body = (await (await api('/v1/orgs/e2e-browser/deletion')).json()) as {
            receipt?: unknown;
          };
          return body.receipt ? true : undefined;
        },
        15_000,
      );
    });
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
    // The orgs were deleted, so no tenant host or workspace process of this run is left either.
    const tenants = readdirSync(instancesDir).map(
      (dir) =>
        JSON.parse(readFileSync(join(instancesDir, dir, 'instance.json'), 'utf8')) as {
          pid?: number;
        },
    );
    expect(tenants).toHaveLength(3);
    for (const tenant of tenants)
      expect(tenant.pid !== undefined && isAlive(tenant.pid)).toBe(false);
  });
});
