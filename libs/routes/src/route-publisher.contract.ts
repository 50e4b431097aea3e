import type * as JestGlobals from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { RouteEntry, RoutePublisher } from './route-publisher';

/** A valid entry for tests; the credential is a stand-in for envelope ciphertext. */
export function exampleRouteEntry(
  slug: string,
  generation: number,
  overrides: Partial<RouteEntry> = {},
): RouteEntry {
  return {
    slug,
    orgId: `org-${slug}`,
    status: 'running',
    address: '127.0.0.1',
    port: 41000 + (generation % 1000),
    protocol: 'http',
    generation,
    credential: `v1.ciphertext.${randomBytes(12).toString('base64url')}`,
    updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, generation)).toISOString(),
    ...overrides,
  };
}

/**
 * The behaviour every `RoutePublisher` shares. Call it at the top level of a test file (or in a
 * `describe`); `factory` runs in a `beforeAll`, after the file's own `beforeAll` hooks, so it can
 * use what they set up. Each test uses slugs of its own, so the store need not be empty.
 */
export function describeRoutePublisherContract(
  name: string,
  factory: () => RoutePublisher | Promise<RoutePublisher>,
): void {
  // Jest's globals, not an import of '@jest/globals': that module throws when loaded outside
  // Jest, and this file is reachable from the library's public entry that services import.
  const { beforeAll, describe, expect, it } = globalThis as unknown as typeof JestGlobals;

  describe(`RoutePublisher contract: ${name}`, () => {
    let publisher: RoutePublisher;
    const run = randomBytes(3).toString('hex');
    let counter = 0;
    const slug = () => `c-${run}-${(counter += 1)}`;

    beforeAll(async () => {
      publisher = await factory();
    });

    it('returns what was published', async () => {
      const s = slug();
      const entry = exampleRouteEntry(s, 1, { tlsFingerprint: 'AB:CD:EF', protocol: 'https' });
      await expect(publisher.publish(entry)).resolves.toBe(true);
      await expect(publisher.get(s)).resolves.toEqual(entry);
    });

    it('keeps an absent optional field absent', async () => {
      const s = slug();
      const entry = exampleRouteEntry(s, 1);
      await publisher.publish(entry);
      const stored = await publisher.get(s);
      expect(stored).toEqual(entry);
      expect(stored).not.toHaveProperty('tlsFingerprint');
    });

    it('never lets a lower generation overwrite a higher one', async () => {
      const s = slug();
      const newer = exampleRouteEntry(s, 5);
      await expect(publisher.publish(newer)).resolves.toBe(true);
      await expect(publisher.publish(exampleRouteEntry(s, 4, { port: 1 }))).resolves.toBe(false);
      await expect(publisher.get(s)).resolves.toEqual(newer);
    });

    it('updates in place at an equal generation', async () => {
      const s = slug();
      await publisher.publish(exampleRouteEntry(s, 3, { status: 'provisioning' }));
      const running = exampleRouteEntry(s, 3, { status: 'running', address: '10.0.0.7' });
      await expect(publisher.publish(running)).resolves.toBe(true);
      await expect(publisher.get(s)).resolves.toEqual(running);
    });

    it('replaces an entry with a higher generation', async () => {
      const s = slug();
      await publisher.publish(exampleRouteEntry(s, 3));
      const recycled = exampleRouteEntry(s, 8, { orgId: 'another-org' });
      await expect(publisher.publish(recycled)).resolves.toBe(true);
      await expect(publisher.get(s)).resolves.toEqual(recycled);
    });

    it('does not remove a newer entry with a lower generation', async () => {
      const s = slug();
      const entry = exampleRouteEntry(s, 6);
      await publisher.publish(entry);
      await expect(publisher.remove(s, 5)).resolves.toBe(false);
      await expect(publisher.get(s)).resolves.toEqual(entry);
    });

    it('removes an entry at the same or a higher generation', async () => {
      const [a, b] = [slug(), slug()];
      await publisher.publish(exampleRouteEntry(a, 6));
      await publisher.publish(exampleRouteEntry(b, 6));
      await expect(publisher.remove(a, 6)).resolves.toBe(true);
      await expect(publisher.remove(b, 7)).resolves.toBe(true);
      await expect(publisher.get(a)).resolves.toBeUndefined();
      await expect(publisher.get(b)).resolves.toBeUndefined();
    });

    it('removes idempotently', async () => {
      const s = slug();
      await publisher.publish(exampleRouteEntry(s, 2));
      await expect(publisher.remove(s, 2)).resolves.toBe(true);
      await expect(publisher.remove(s, 2)).resolves.toBe(true);
      await expect(publisher.remove(slug(), 1)).resolves.toBe(true);
      await expect(publisher.get(s)).resolves.toBeUndefined();
    });

    it('publishes again after a removal, for a recycled slug', async () => {
      const s = slug();
      await publisher.publish(exampleRouteEntry(s, 2));
      await publisher.remove(s, 2);
      const next = exampleRouteEntry(s, 3);
      await expect(publisher.publish(next)).resolves.toBe(true);
      await expect(publisher.get(s)).resolves.toEqual(next);
    });

    it('returns undefined for an unknown slug', async () => {
      await expect(publisher.get(slug())).resolves.toBeUndefined();
    });

    it('keeps the entries of different slugs independent', async () => {
      const [a, b] = [slug(), slug()];
      const entryA = exampleRouteEntry(a, 9);
      const entryB = exampleRouteEntry(b, 1);
      await expect(publisher.publish(entryA)).resolves.toBe(true);
      // A low generation for b is judged against b's entry only.
      await expect(publisher.publish(entryB)).resolves.toBe(true);
      await expect(publisher.remove(b, 1)).resolves.toBe(true);
      await expect(publisher.get(a)).resolves.toEqual(entryA);
      await expect(publisher.get(b)).resolves.toBeUndefined();
    });

    it('refuses a malformed entry without writing it or echoing the credential', async () => {
      const s = slug();
      const bad = exampleRouteEntry(s, 1.5, {
        port: 41000,
        credential: 'v1.secret-ciphertext-marker',
      });
      const error = await publisher.publish(bad).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).not.toContain('secret-ciphertext-marker');
      await expect(publisher.get(s)).resolves.toBeUndefined();
      await expect(publisher.remove(s, -1)).rejects.toThrow(/generation/);
    });

    it('stores only the fields of a route entry', async () => {
      const s = slug();
      const entry = exampleRouteEntry(s, 1);
      await publisher.publish({ ...entry, adminToken: 'plaintext' } as RouteEntry);
      await expect(publisher.get(s)).resolves.toEqual(entry);
    });
  });
}
