import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createOrg, createOrgKey } from '@molecule/testing';
import { Readable } from 'node:stream';
import { request } from 'undici';
import {
  encodeFrame,
  get,
  openWebSocket,
  publishRoute,
  readFrames,
  scrape,
  selfSignedCertificate,
  startFakeTenantHost,
  startRouter,
  tenantToken,
  type FakeTenantHost,
  type TestRouter,
} from '../../test/edge-test-kit';

/**
 * What the proxy core carries besides plain requests: WebSocket tunnels, event streams without
 * buffering, bodies within limits, and HTTPS upstreams pinned by certificate fingerprint.
 */

const MAX_BODY = 64 * 1024;
let router: TestRouter;
let plain: FakeTenantHost;
let org: { id: string; slug: string };
let key: string;

beforeAll(async () => {
  router = await startRouter({ limits: { maxRequestBodyBytes: MAX_BODY } });
  org = await createOrg(router.service.db.dataSource);
  key = (await createOrgKey(router.service.db.dataSource, org.id, 'member')).token;
  plain = await startFakeTenantHost('plain', tenantToken());
  await publishRoute(router, { slug: org.slug, orgId: org.id, port: plain.port }, plain.token);
});

afterAll(async () => {
  await router?.close();
  await plain?.close();
});

const host = (slug: string) => `${slug}.localhost:${router.port}`;

describe('WebSocket', () => {
  it('echoes through the router, with the tenant credential injected', async () => {
    const ws = await openWebSocket(router.port, host(org.slug), { 'x-api-key': key });
    try {
      expect(ws.status).toBe(101);
      expect(ws.head).toMatch(/\r\nsec-websocket-accept: /i);
      expect(ws.head).not.toContain(plain.token);
      const upgrade = plain.requests.findLast((r) => r.path === '/ws');
      expect(upgrade?.headers.authorization).toBe(`Bearer ${plain.token}`);
      expect(upgrade?.headers['x-api-key']).toBeUndefined();
      const echoed = new Promise<string>((resolve) => readFrames(ws.socket, resolve));
      ws.socket.write(encodeFrame('hello', true));
      expect(await echoed).toBe('plain:hello');
    } finally {
      ws.socket.destroy();
    }
  });

  it('refuses an upgrade without credential before reaching the upstream', async () => {
    const before = plain.requests.length;
    const ws = await openWebSocket(router.port, host(org.slug), {});
    ws.socket.destroy();
    expect(ws.status).toBe(401);
    expect(plain.requests.length).toBe(before);
  });

  it('refuses an upgrade with two Host lines with 400 before reaching the upstream', async () => {
    const before = plain.requests.length;
    const ws = await openWebSocket(router.port, host(org.slug), {
      'x-api-key': key,
      host: host(org.slug),
    });
    ws.socket.destroy();
    expect(ws.status).toBe(400);
    expect(plain.requests.length).toBe(before);
  });

  it('answers an upgrade for an unknown slug with 404', async () => {
    const ws = await openWebSocket(router.port, host('nobody-here'), { 'x-api-key': key });
    ws.socket.destroy();
    expect(ws.status).toBe(404);
  });
});

describe('streaming', () => {
  it('delivers the first server-sent event before the upstream ends the stream', async () => {
    const response = await request(`http://127.0.0.1:${router.port}/sse`, {
      headers: { host: host(org.slug), 'x-api-key': key },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    const reader = response.body[Symbol.asyncIterator]();
    const first = await reader.next();
    expect(String(first.value)).toBe('data: first\n\n');
    expect(plain.streamEnded).toBe(false);
    plain.releaseStreams();
    let rest = '';
    for (let next = await reader.next(); !next.done; next = await reader.next()) {
      rest += String(next.value);
    }
    expect(rest).toBe('data: last\n\n');
    expect(plain.streamEnded).toBe(true);
  });

  it('streams a chunked request body to the upstream', async () => {
    const chunks = [Buffer.alloc(10_000, 1), Buffer.alloc(20_000, 2)];
    const response = await request(`http://127.0.0.1:${router.port}/upload`, {
      method: 'POST',
      headers: { host: host(org.slug), 'x-api-key': key },
      body: Readable.from(chunks),
    });
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toEqual({ bytes: 30_000 });
  });

  it('refuses a declared body over the limit with 413, without calling the upstream', async () => {
    const before = plain.requests.length;
    const response = await get(
      router.port,
      host(org.slug),
      '/upload',
      { 'x-api-key': key },
      'POST',
      Buffer.alloc(MAX_BODY + 1),
    );
    expect(response.status).toBe(413);
    expect(plain.requests.length).toBe(before);
  });

  it('cuts a chunked body that grows over the limit with 413', async () => {
    const response = await request(`http://127.0.0.1:${router.port}/upload`, {
      method: 'POST',
      headers: { host: host(org.slug), 'x-api-key': key },
      body: Readable.from(Array.from({ length: 10 }, () => Buffer.alloc(16 * 1024))),
    });
    expect(response.statusCode).toBe(413);
    await response.body.dump();
  });
});

describe('HTTPS upstreams', () => {
  let tls: FakeTenantHost;
  let tlsOrg: { id: string; slug: string };
  let tlsKey: string;
  let fingerprint: string;

  beforeAll(async () => {
    const certificate = selfSignedCertificate('tenant.internal');
    fingerprint = certificate.fingerprint256;
    tls = await startFakeTenantHost('tls', tenantToken(), certificate);
    tlsOrg = await createOrg(router.service.db.dataSource);
    tlsKey = (await createOrgKey(router.service.db.dataSource, tlsOrg.id, 'viewer')).token;
  });

  afterAll(async () => {
    await tls?.close();
  });

  it('proxies to an upstream whose certificate matches the pinned fingerprint', async () => {
    await publishRoute(
      router,
      {
        slug: tlsOrg.slug,
        orgId: tlsOrg.id,
        port: tls.port,
        protocol: 'https',
        tlsFingerprint: fingerprint,
        generation: 1,
      },
      tls.token,
    );
    const response = await get(router.port, host(tlsOrg.slug), '/whoami', { 'x-api-key': tlsKey });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ name: 'tls' });
  });

  it('refuses with 502 an upstream that presents another certificate', async () => {
    const other = selfSignedCertificate('tenant.internal').fingerprint256;
    const before = tls.requests.length;
    await publishRoute(
      router,
      {
        slug: tlsOrg.slug,
        orgId: tlsOrg.id,
        port: tls.port,
        protocol: 'https',
        // Plain lower-case hex is accepted too.
        tlsFingerprint: other.replace(/:/g, '').toLowerCase(),
        generation: 2,
      },
      tls.token,
    );
    // The change reaches the router over Redis pub/sub (bound: 100 ms); give it that time, or
    // the request could still be served from the generation-1 entry with the old fingerprint.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const response = await get(router.port, host(tlsOrg.slug), '/whoami', { 'x-api-key': tlsKey });
    expect(response.status).toBe(502);
    expect(response.headers['retry-after']).toBeDefined();
    // The request was never sent: the check runs before a byte of it is written.
    expect(tls.requests.length).toBe(before);
  });

  it('refuses with 502 an HTTPS route without a fingerprint', async () => {
    await publishRoute(
      router,
      { slug: tlsOrg.slug, orgId: tlsOrg.id, port: tls.port, protocol: 'https', generation: 3 },
      tls.token,
    );
    const response = await get(router.port, host(tlsOrg.slug), '/', { 'x-api-key': tlsKey });
    expect(response.status).toBe(502);
  });
});

describe('upstream time limits', () => {
  let strict: TestRouter;
  let slow: FakeTenantHost;
  let slowOrg: { id: string; slug: string };
  let slowKey: string;

  beforeAll(async () => {
    strict = await startRouter({ upstream: { headersTimeoutMs: 300, bodyIdleTimeoutMs: 400 } });
    slowOrg = await createOrg(strict.service.db.dataSource);
    slowKey = (await createOrgKey(strict.service.db.dataSource, slowOrg.id, 'viewer')).token;
    slow = await startFakeTenantHost('slow', tenantToken());
    await publishRoute(
      strict,
      { slug: slowOrg.slug, orgId: slowOrg.id, port: slow.port },
      slow.token,
    );
  });

  afterAll(async () => {
    await strict?.close();
    await slow?.close();
  });

  const slowHost = () => `${slowOrg.slug}.localhost:${strict.port}`;

  it('answers 504 with Retry-After when the upstream sends no headers in time', async () => {
    const started = Date.now();
    const response = await get(strict.port, slowHost(), '/hang', { 'x-api-key': slowKey });
    expect(response.status).toBe(504);
    expect(response.headers['retry-after']).toBe('5');
    // The limit is checked every quarter of it: 300 ms, plus up to 75 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(2_000);
    const metrics = await scrape(strict.port);
    expect(metrics).toMatch(
      new RegExp(`edge_upstream_errors_total\\{[^}]*tenant="${slowOrg.slug}"[^}]*reason="timeout"`),
    );
  });

  it('cuts a response body that goes silent for longer than the idle limit', async () => {
    const response = await request(`http://127.0.0.1:${strict.port}/sse`, {
      headers: { host: slowHost(), 'x-api-key': slowKey },
    });
    expect(response.statusCode).toBe(200);
    const started = Date.now();
    // The first event arrives; then the upstream is silent and the router cuts the stream.
    await expect(response.body.text()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('lets a slow body through as long as it keeps sending', async () => {
    const response = await get(strict.port, slowHost(), '/drip', { 'x-api-key': slowKey });
    expect(response.status).toBe(200);
    expect(response.body.split('\n').filter(Boolean)).toHaveLength(10);
  });
});
