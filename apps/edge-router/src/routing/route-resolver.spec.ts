import { afterEach, describe, expect, it } from '@jest/globals';
import type { RouteEntry } from '@molecule/routes';
import { Registry } from 'prom-client';
import { defaultEdgeOptions } from '../../test/default-options';
import { EdgeMetrics } from '../metrics/edge-metrics';
import { UpstreamPools } from '../proxy/upstream-pools';
import { RouteResolver, type RouteLookup } from './route-resolver';

function entry(generation: number, fields: Partial<RouteEntry> = {}): RouteEntry {
  return {
    slug: 'acme',
    orgId: 'org-1',
    status: 'running',
    address: '127.0.0.1',
    port: 9000 + generation,
    protocol: 'http',
    generation,
    credential: `sealed-${generation}`,
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...fields,
  };
}

/** A route table whose answers the test sets, counting lookups. */
class FakeSource {
  calls = 0;
  answer: RouteEntry | undefined | Error = undefined;
  gate: Promise<void> | undefined;

  async get(): Promise<RouteEntry | undefined> {
    this.calls++;
    const answer = this.answer;
    if (this.gate) await this.gate;
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

const pools: UpstreamPools[] = [];

function resolver(
  source: FakeSource,
  overrides: { negativeTtlMs?: number; positiveTtlMs?: number } = {},
  deps: { provisioning?: boolean; decrypt?: () => Promise<string> } = {},
) {
  const registry = new Registry();
  const upstreams = new UpstreamPools(defaultEdgeOptions().upstream);
  pools.push(upstreams);
  const routes = new RouteResolver(
    {
      source,
      decryptCredential: deps.decrypt ?? (async (_org, sealed) => `token-of-${sealed}`),
      orgProvisioning: async () => deps.provisioning ?? false,
      pools: upstreams,
      metrics: new EdgeMetrics(registry),
    },
    { ...defaultEdgeOptions().routeCache, ...overrides },
  );
  return { routes, registry };
}

async function lookup(routes: RouteResolver, slug = 'acme'): Promise<RouteLookup> {
  return routes.resolve(slug);
}

function portOf(found: RouteLookup): number | string {
  return found.kind === 'running' ? found.target.port : found.kind;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close(0)));
});

describe('RouteResolver', () => {
  it('answers a cached route synchronously, without asking the store again', async () => {
    const source = new FakeSource();
    source.answer = entry(1);
    const { routes } = resolver(source);
    const found = await lookup(routes);
    expect(found).toMatchObject({ kind: 'running', authorization: 'Bearer token-of-sealed-1' });
    const again = routes.resolve('acme');
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toBe(found);
    expect(source.calls).toBe(1);
  });

  it('remembers a missing slug only for the negative TTL', async () => {
    const source = new FakeSource();
    const { routes } = resolver(source, { negativeTtlMs: 30 });
    expect((await lookup(routes)).kind).toBe('missing');
    expect((await lookup(routes)).kind).toBe('missing');
    expect(source.calls).toBe(1);
    source.answer = entry(1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect((await lookup(routes)).kind).toBe('running');
  });

  it('shows the splash for an org being created that has no route yet', async () => {
    const { routes } = resolver(new FakeSource(), {}, { provisioning: true });
    expect((await lookup(routes)).kind).toBe('provisioning');
  });

  it('asks again after an invalidation', async () => {
    const source = new FakeSource();
    source.answer = entry(1);
    const { routes } = resolver(source);
    expect(portOf(await lookup(routes))).toBe(9001);
    source.answer = entry(2);
    routes.invalidate('acme', 2);
    expect(portOf(await lookup(routes))).toBe(9002);
  });

  it('never uses an entry older than a generation already announced', async () => {
    const source = new FakeSource();
    source.answer = entry(1);
    const { routes } = resolver(source);
    await lookup(routes);
    routes.invalidate('acme', 3);
    // A lagging store still answers with generation 1.
    expect(await lookup(routes)).toMatchObject({ kind: 'unavailable', status: 503 });
    // ... and not from the stale cache either when the store then fails.
    source.answer = new Error('down');
    expect(await lookup(routes)).toMatchObject({ kind: 'unavailable', status: 503 });
  });

  it('does not cache an answer that an invalidation overtook', async () => {
    const source = new FakeSource();
    source.answer = entry(1);
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    const { routes } = resolver(source);
    const pending = lookup(routes);
    routes.invalidate('acme', 1);
    open();
    source.gate = undefined;
    expect(portOf(await pending)).toBe(9001);
    source.answer = entry(1, { port: 7777 });
    expect(portOf(await lookup(routes))).toBe(7777);
    expect(source.calls).toBe(2);
  });

  it('serves a known route stale while the store fails, and counts it', async () => {
    const source = new FakeSource();
    source.answer = entry(1);
    const { routes, registry } = resolver(source, { positiveTtlMs: 10 });
    await lookup(routes);
    source.answer = new Error('ECONNREFUSED');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(portOf(await lookup(routes))).toBe(9001);
    // While the store is known to fail, requests do not wait for it.
    const next = routes.resolve('acme');
    expect(next).not.toBeInstanceOf(Promise);
    expect(await lookup(routes, 'unknown')).toMatchObject({ kind: 'unavailable', status: 503 });
    const metrics = await registry.getMetricsAsJSON();
    const cache = metrics.find((m) => m.name === 'edge_route_cache_total')!;
    expect(cache.values).toContainEqual(
      expect.objectContaining({ labels: { tenant: 'acme', result: 'stale' } }),
    );
    // Back to fresh answers once the store answers again.
    source.answer = entry(1, { port: 8888 });
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await lookup(routes);
    await new Promise((resolve) => setImmediate(resolve));
    expect(portOf(await lookup(routes))).toBe(8888);
  });

  it('serves an invalidated entry of the same generation stale when the store fails', async () => {
    const source = new FakeSource();
    source.answer = entry(4);
    const { routes } = resolver(source);
    await lookup(routes);
    routes.invalidateAll();
    source.answer = new Error('down');
    expect(portOf(await lookup(routes))).toBe(9004);
  });

  it('answers 502 for an entry whose credential cannot be decrypted', async () => {
    const source = new FakeSource();
    source.answer = entry(1);
    const { routes } = resolver(source, {}, { decrypt: () => Promise.reject(new Error('bad')) });
    expect(await lookup(routes)).toMatchObject({ kind: 'unavailable', status: 502 });
  });
});
