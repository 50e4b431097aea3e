import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashToken } from '@molecule/crypto';
import {
  createOrgKey,
  eventually,
  startTestService,
  TEST_ADMIN_TOKEN,
  type TestService,
} from '@molecule/testing';
import { randomBytes } from 'node:crypto';
import { apiService } from '../../../api/src/api.service-definition';
import {
  get,
  openWebSocket,
  runningTenant,
  startRouter,
  type FakeTenantHost,
  type RouterResponse,
  type TestRouter,
} from '../../test/edge-test-kit';

/**
 * Browser sessions end to end: the api issues a one-time sign-in ticket for an org key, the router
 * redeems it for a session cookie on the org's host, and the cookie then opens that host (and no
 * other) until it is logged out, expires, or its key is revoked. The api and the router share one
 * database, Redis prefix and master key, as in a deployment.
 */

const KEY_TTL_MS = 300;
let router: TestRouter;
let api: TestService;
let acme: FakeTenantHost;
let globex: FakeTenantHost;
let acmeOrg: { id: string; slug: string };
let globexOrg: { id: string; slug: string };
let acmeKey: { token: string; id: string };

beforeAll(async () => {
  // A short key cache, so the revocation test does not wait 15 s.
  router = await startRouter({ visitorAuth: { positiveTtlMs: KEY_TTL_MS } });
  api = await startTestService(apiService, {
    DATABASE_URL: router.service.db.url,
    REDIS_PREFIX: router.service.config.redis.prefix,
    MASTER_KEY: router.service.config.masterKeys.current.reveal().toString('base64'),
  });
  const ds = router.service.db.dataSource;
  ({ org: acmeOrg, host: acme } = await runningTenant(router, 'acme'));
  ({ org: globexOrg, host: globex } = await runningTenant(router, 'globex'));
  const created = await createOrgKey(ds, acmeOrg.id, 'viewer');
  acmeKey = { token: created.token, id: created.key.id };
});

afterAll(async () => {
  await api?.close();
  await router?.close();
  await acme?.close();
  await globex?.close();
});

const host = (slug: string) => `${slug}.localhost:${router.port}`;

/** Asks the api for a sign-in link; returns the path and query to open on the tenant host. */
async function signInLink(slug: string, key: string): Promise<{ path: string; ticket: string }> {
  const response = await api.app.inject({
    method: 'POST',
    url: `/v1/orgs/${slug}/sessions`,
    headers: { authorization: `Bearer ${key}` },
  });
  expect(response.statusCode).toBe(201);
  const { url, ticket } = response.json<{ url: string; ticket: string }>();
  const parsed = new URL(url);
  expect(parsed.hostname).toBe(`${slug}.localhost`);
  return { path: `${parsed.pathname}${parsed.search}`, ticket };
}

/** The session cookie a redeemed ticket set (`name=value`), and its attributes. */
function sessionFrom(response: RouterResponse): {
  pair: string;
  value: string;
  attributes: string;
} {
  const header = response.headers['set-cookie'];
  const line = Array.isArray(header) ? header[0] : header;
  if (line === undefined) throw new Error('no Set-Cookie');
  const [pair, ...attributes] = line.split(';');
  return { pair, value: pair.slice(pair.indexOf('=') + 1), attributes: attributes.join(';') };
}

async function signIn(
  slug: string,
  key: string,
  headers: Record<string, string> = {},
): Promise<{ pair: string; value: string; attributes: string }> {
  const { path } = await signInLink(slug, key);
  const response = await get(router.port, host(slug), path, headers);
  expect(response.status).toBe(303);
  return sessionFrom(response);
}

describe('signing in with a ticket', () => {
  it('sets a host-only session cookie and redirects to /', async () => {
    const { path, ticket } = await signInLink(acmeOrg.slug, acmeKey.token);
    const before = acme.requests.length;
    const response = await get(router.port, host(acmeOrg.slug), path);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    const cookie = sessionFrom(response);
    expect(cookie.pair).toMatch(/^molecule_session=mol_vs_[A-Za-z0-9_-]{43}$/);
    expect(cookie.attributes).toMatch(/Path=\//);
    expect(cookie.attributes).toMatch(/HttpOnly/);
    expect(cookie.attributes).toMatch(/SameSite=Lax/);
    expect(cookie.attributes).toMatch(/Max-Age=43200/);
    // Host-only: no Domain attribute, so sibling tenants never receive it.
    expect(cookie.attributes).not.toMatch(/Domain=/i);
    // Plain HTTP: not Secure, or the browser would never send it back.
    expect(cookie.attributes).not.toMatch(/Secure/);
    // The router answered by itself.
    expect(acme.requests.length).toBe(before);
    // Only the hash is stored, with the session's TTL.
    const key = `${router.service.config.redis.prefix}:edge:session:${hashToken(cookie.value)}`;
    const ttl = await router.redis.ttl(key);
    expect(ttl).toBeGreaterThan(43_000);
    expect(await router.redis.get(key)).not.toContain(cookie.value);
    expect(router.service.logs.text).not.toContain(cookie.value);
    expect(router.service.logs.text).not.toContain(ticket);
  });

  it('makes the cookie Secure and __Host- prefixed when the visitor came over HTTPS', async () => {
    const cookie = await signIn(acmeOrg.slug, acmeKey.token, { 'x-forwarded-proto': 'https' });
    expect(cookie.pair).toMatch(/^__Host-molecule_session=mol_vs_/);
    expect(cookie.attributes).toMatch(/Secure/);
    const response = await get(router.port, host(acmeOrg.slug), '/whoami', { cookie: cookie.pair });
    expect(response.status).toBe(200);
  });

  it('refuses a replayed ticket with 401', async () => {
    const { path } = await signInLink(acmeOrg.slug, acmeKey.token);
    expect((await get(router.port, host(acmeOrg.slug), path)).status).toBe(303);
    const replay = await get(router.port, host(acmeOrg.slug), path);
    expect(replay.status).toBe(401);
    expect(replay.headers['set-cookie']).toBeUndefined();
    expect(replay.body).toContain('Sign-in link expired');
  });

  it.each([
    ['an unknown ticket', `?ticket=mol_st_${randomBytes(32).toString('base64url')}`],
    ['a malformed ticket', '?ticket=guess'],
    ['no ticket', ''],
  ])('refuses %s with 401', async (_what, query) => {
    const response = await get(router.port, host(acmeOrg.slug), `/_molecule/session${query}`);
    expect(response.status).toBe(401);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it("refuses org A's ticket on org B's host with 403, and spends it", async () => {
    const { path } = await signInLink(acmeOrg.slug, acmeKey.token);
    const response = await get(router.port, host(globexOrg.slug), path);
    expect(response.status).toBe(403);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect((await get(router.port, host(acmeOrg.slug), path)).status).toBe(401);
  });

  it('accepts only GET on the sign-in path', async () => {
    const { path } = await signInLink(acmeOrg.slug, acmeKey.token);
    const response = await get(router.port, host(acmeOrg.slug), path, {}, 'POST');
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET');
    // Not spent by the refused method.
    expect((await get(router.port, host(acmeOrg.slug), path)).status).toBe(303);
  });
});

describe('a session cookie', () => {
  let session: { pair: string; value: string };

  beforeAll(async () => {
    session = await signIn(acmeOrg.slug, acmeKey.token);
  });

  it('opens its org, with the tenant credential injected and the session cookie stripped', async () => {
    const response = await get(router.port, host(acmeOrg.slug), '/whoami', {
      cookie: `theme=dark; ${session.pair}; lang=en`,
    });
    expect(response.status).toBe(200);
    const seen = (JSON.parse(response.body) as { headers: Record<string, string> }).headers;
    expect(seen.authorization).toBe(`Bearer ${acme.token}`);
    expect(seen.cookie).toBe('theme=dark; lang=en');
    expect(seen['x-molecule-org-id']).toBe(acmeOrg.id);
    expect(seen['x-molecule-visitor']).toBe(`org-session:${acmeKey.id}`);
    expect(seen['x-molecule-visitor-role']).toBe('viewer');
    expect(JSON.stringify(seen)).not.toContain(session.value);
  });

  it('drops the Cookie header entirely when the session was the only cookie', async () => {
    const response = await get(router.port, host(acmeOrg.slug), '/whoami', {
      cookie: session.pair,
    });
    const seen = (JSON.parse(response.body) as { headers: Record<string, string> }).headers;
    expect(seen.cookie).toBeUndefined();
  });

  it('opens a WebSocket of its org', async () => {
    const ws = await openWebSocket(router.port, host(acmeOrg.slug), { cookie: session.pair });
    ws.socket.destroy();
    expect(ws.status).toBe(101);
    const upgrade = acme.requests.findLast((r) => r.path === '/ws');
    expect(upgrade?.headers.cookie).toBeUndefined();
  });

  it("is refused with 403 on another org's host, without calling it", async () => {
    const before = globex.requests.length;
    const response = await get(router.port, host(globexOrg.slug), '/whoami', {
      cookie: session.pair,
    });
    expect(response.status).toBe(403);
    expect(globex.requests.length).toBe(before);
  });

  it('cannot be planted or cleared by the tenant', async () => {
    const response = await get(router.port, host(acmeOrg.slug), '/set-cookies', {
      cookie: session.pair,
    });
    expect(response.status).toBe(200);
    expect([response.headers['set-cookie']].flat()).toEqual(['theme=dark; Path=/']);
  });

  it('keeps the router paths away from the tenant', async () => {
    const before = acme.requests.length;
    const response = await get(router.port, host(acmeOrg.slug), '/_molecule/anything', {
      cookie: session.pair,
    });
    expect(response.status).toBe(404);
    expect(acme.requests.length).toBe(before);
  });
});

describe('sessions that no longer hold', () => {
  it.each([
    [
      'an unknown session',
      () => `molecule_session=mol_vs_${randomBytes(32).toString('base64url')}`,
    ],
    ['a malformed session', () => 'molecule_session=not-a-session'],
    ['only unrelated cookies', () => 'theme=dark'],
  ])('refuse %s with 401 without calling the upstream', async (_what, cookie) => {
    const before = acme.requests.length;
    const response = await get(router.port, host(acmeOrg.slug), '/whoami', { cookie: cookie() });
    expect(response.status).toBe(401);
    expect(acme.requests.length).toBe(before);
  });

  it('refuse an expired session with 401 without calling the upstream', async () => {
    const session = await signIn(acmeOrg.slug, acmeKey.token);
    const key = `${router.service.config.redis.prefix}:edge:session:${hashToken(session.value)}`;
    const record = JSON.parse((await router.redis.get(key))!) as Record<string, unknown>;
    await router.redis.set(key, JSON.stringify({ ...record, expiresAt: Date.now() - 1 }));
    const before = acme.requests.length;
    const response = await get(router.port, host(acmeOrg.slug), '/whoami', {
      cookie: session.pair,
    });
    expect(response.status).toBe(401);
    expect(acme.requests.length).toBe(before);
  });

  it('end with logout, which clears the cookie', async () => {
    const session = await signIn(acmeOrg.slug, acmeKey.token);
    expect(
      (await get(router.port, host(acmeOrg.slug), '/whoami', { cookie: session.pair })).status,
    ).toBe(200);
    const logout = await get(
      router.port,
      host(acmeOrg.slug),
      '/_molecule/logout',
      { cookie: session.pair },
      'POST',
    );
    expect(logout.status).toBe(200);
    expect(logout.body).toContain('Signed out');
    const cleared = logout.headers['set-cookie'] as string[];
    expect(cleared).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^__Host-molecule_session=;.*Max-Age=0/),
        expect.stringMatching(/^molecule_session=;.*Max-Age=0/),
      ]),
    );
    const before = acme.requests.length;
    const after = await get(router.port, host(acmeOrg.slug), '/whoami', { cookie: session.pair });
    expect(after.status).toBe(401);
    expect(acme.requests.length).toBe(before);
  });

  it('end when the org key that opened them is revoked', async () => {
    const ds = router.service.db.dataSource;
    const { token, key } = await createOrgKey(ds, acmeOrg.id, 'member');
    const session = await signIn(acmeOrg.slug, token);
    const whoami = () => get(router.port, host(acmeOrg.slug), '/whoami', { cookie: session.pair });
    const open = await whoami();
    expect(open.status).toBe(200);
    expect(JSON.parse(open.body)).toMatchObject({
      headers: { 'x-molecule-visitor-role': 'member' },
    });

    const revoked = await api.app.inject({
      method: 'DELETE',
      url: `/v1/orgs/${acmeOrg.slug}/api-keys/${key.id}`,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    expect(revoked.statusCode).toBe(204);
    const started = Date.now();
    await eventually(
      'the session to be refused',
      async () => ((await whoami()).status === 401 ? true : undefined),
      KEY_TTL_MS + 2_000,
      25,
    );
    // Within the key cache TTL, as for the key itself.
    expect(Date.now() - started).toBeLessThan(KEY_TTL_MS + 1_000);
  });

  it('are not opened by a ticket whose key was revoked before it was redeemed', async () => {
    const ds = router.service.db.dataSource;
    const { token, key } = await createOrgKey(ds, acmeOrg.id, 'viewer');
    const { path } = await signInLink(acmeOrg.slug, token);
    const revoked = await api.app.inject({
      method: 'DELETE',
      url: `/v1/orgs/${acmeOrg.slug}/api-keys/${key.id}`,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    expect(revoked.statusCode).toBe(204);
    const response = await get(router.port, host(acmeOrg.slug), path);
    expect(response.status).toBe(401);
    expect(response.headers['set-cookie']).toBeUndefined();
  });
});
