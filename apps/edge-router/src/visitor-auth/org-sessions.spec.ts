import { describe, expect, it } from '@jest/globals';
import { hashToken } from '@molecule/crypto';
import { randomUUID } from 'node:crypto';
import { KeyLiveness } from './key-liveness';
import { OrgSessions, type SessionStore } from './org-sessions';

const PREFIX = 'test';
const ORG = randomUUID();
const KEY = randomUUID();

/** Redis in a Map, with expiry ignored (the records carry their own `expiresAt`). */
class MemoryStore implements SessionStore {
  readonly data = new Map<string, string>();
  async get(key: string) {
    return this.data.get(key) ?? null;
  }
  async getdel(key: string) {
    const value = this.data.get(key) ?? null;
    this.data.delete(key);
    return value;
  }
  async set(key: string, value: string) {
    this.data.set(key, value);
    return 'OK';
  }
  async del(key: string) {
    return this.data.delete(key) ? 1 : 0;
  }
}

function setUp(live: Set<string> = new Set([KEY])) {
  const store = new MemoryStore();
  let lookups = 0;
  const liveness = new KeyLiveness(
    async (keyId) => {
      lookups++;
      return live.has(keyId);
    },
    { positiveTtlMs: 60_000, maxEntries: 100 },
  );
  const sessions = new OrgSessions(store, PREFIX, liveness, 3_600);
  const ticket = (record: object = { orgId: ORG, keyId: KEY, role: 'viewer' }) => {
    const value = `mol_st_${'t'.repeat(40)}${String(store.data.size).padStart(3, '0')}`;
    store.data.set(`${PREFIX}:edge:ticket:${hashToken(value)}`, JSON.stringify(record));
    return value;
  };
  return { store, sessions, ticket, live, liveness, lookups: () => lookups };
}

describe('OrgSessions', () => {
  it('redeems a ticket once for a session that stands for the key', async () => {
    const { sessions, ticket, store } = setUp();
    const value = ticket();
    const outcome = await sessions.exchange(value, ORG);
    expect(outcome).toMatchObject({ kind: 'created', maxAgeSeconds: 3_600 });
    if (outcome.kind !== 'created') throw new Error('unreachable');
    expect(outcome.session).toMatch(/^mol_vs_[A-Za-z0-9_-]{43}$/);
    expect(await sessions.exchange(value, ORG)).toEqual({ kind: 'invalid' });
    expect(await sessions.verify(outcome.session)).toEqual({
      orgId: ORG,
      role: 'viewer',
      via: `org-session:${KEY}`,
    });
    // Neither secret is stored, only hashes.
    for (const [key, stored] of store.data) {
      expect(key + stored).not.toContain(outcome.session);
      expect(key + stored).not.toContain(value);
    }
  });

  it('spends a ticket of another org without opening a session', async () => {
    const { sessions, ticket } = setUp();
    const value = ticket();
    expect(await sessions.exchange(value, randomUUID())).toEqual({ kind: 'forbidden' });
    expect(await sessions.exchange(value, ORG)).toEqual({ kind: 'invalid' });
  });

  it('refuses a ticket whose key was revoked, asking afresh', async () => {
    const { sessions, ticket, live, liveness } = setUp();
    expect(await liveness.isLive(KEY)).toBe(true);
    live.delete(KEY);
    expect(await sessions.exchange(ticket(), ORG)).toEqual({ kind: 'invalid' });
  });

  it.each([
    ['malformed', 'mol_st_short'],
    ['of another kind', `mol_ok_${'a'.repeat(43)}`],
  ])('refuses a %s ticket without asking the store', async (_what, value) => {
    const { sessions, store } = setUp();
    store.getdel = () => Promise.reject(new Error('must not be asked'));
    expect(await sessions.exchange(value, ORG)).toEqual({ kind: 'invalid' });
  });

  it.each([
    ['no org', { keyId: KEY, role: 'viewer' }],
    ['an unknown role', { orgId: ORG, keyId: KEY, role: 'root' }],
    ['a key id that is no uuid', { orgId: ORG, keyId: 'x', role: 'viewer' }],
  ])('refuses a ticket record with %s', async (_what, record) => {
    const { sessions, ticket } = setUp();
    expect((await sessions.exchange(ticket(record), ORG)).kind).toBe('invalid');
  });

  it('forgets an expired session and a session of a revoked key', async () => {
    const { sessions, ticket, store, live, liveness } = setUp();
    const first = await sessions.exchange(ticket(), ORG);
    const second = await sessions.exchange(ticket(), ORG);
    if (first.kind !== 'created' || second.kind !== 'created') throw new Error('not created');
    const firstKey = `${PREFIX}:edge:session:${hashToken(first.session)}`;
    const record = JSON.parse(store.data.get(firstKey)!) as object;
    store.data.set(firstKey, JSON.stringify({ ...record, expiresAt: Date.now() - 1 }));
    expect(await sessions.verify(first.session)).toBeUndefined();

    live.delete(KEY);
    liveness.clear();
    expect(await sessions.verify(second.session)).toBeUndefined();
    expect(store.data.has(`${PREFIX}:edge:session:${hashToken(second.session)}`)).toBe(false);
  });

  it('ends a session on logout', async () => {
    const { sessions, ticket } = setUp();
    const outcome = await sessions.exchange(ticket(), ORG);
    if (outcome.kind !== 'created') throw new Error('not created');
    await sessions.end(outcome.session);
    expect(await sessions.verify(outcome.session)).toBeUndefined();
  });

  it('caches key liveness and shares concurrent lookups', async () => {
    const { liveness, lookups } = setUp();
    await Promise.all([liveness.isLive(KEY), liveness.isLive(KEY), liveness.isLive(KEY)]);
    await liveness.isLive(KEY);
    expect(lookups()).toBe(1);
    await liveness.isLive(KEY, true);
    expect(lookups()).toBe(2);
  });

  it('lets a failing store or database surface as an error, not as "no session"', async () => {
    const { sessions, store } = setUp();
    store.get = () => Promise.reject(new Error('Redis down'));
    await expect(sessions.verify(`mol_vs_${'a'.repeat(43)}`)).rejects.toThrow('Redis down');
  });
});
