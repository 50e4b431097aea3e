import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { AuditEvent } from '@molecule/database';
import { createTestDatabase, eventually, type TestDatabase } from '@molecule/testing';
import { AuditService, hashEvent } from './audit.service';

describe('AuditService.verify', () => {
  let db: TestDatabase;
  let audit: AuditService;
  let chain: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    audit = new AuditService(db.dataSource);
  });

  afterAll(async () => {
    await db?.drop();
  });

  beforeEach(async () => {
    // A fresh chain per test: seven events, verified three at a time (three batches).
    chain = randomUUID();
    for (let i = 1; i <= 7; i++) {
      await audit.append({ chain, actor: 'platform-admin', action: 'test.step', target: `t${i}` });
    }
  });

  const rows = () => db.dataSource.getRepository(AuditEvent);

  /** Inserts a well-formed event, hash and all, numbered `seq`: what a tamperer would plant. */
  const plant = async (target: string, seq: string) => {
    const planted = {
      chain: target,
      seq,
      actor: 'platform-admin',
      action: 'test.planted',
      target: 'nobody',
      data: {},
      prevHash: null,
      createdAt: new Date(),
    };
    await rows().save({ ...planted, hash: hashEvent(planted) });
  };

  it('walks a chain longer than one batch and finds it intact', async () => {
    await expect(audit.verify(chain, 3)).resolves.toEqual({ valid: true, events: 7 });
    await expect(audit.verify(chain)).resolves.toEqual({ valid: true, events: 7 });
    await expect(audit.verify(randomUUID(), 3)).resolves.toEqual({ valid: true, events: 0 });
  });

  it('finds a changed event in a later batch', async () => {
    await rows().update({ chain, seq: '5' }, { target: 'rewritten' });
    const result = await audit.verify(chain, 3);
    expect(result).toMatchObject({ valid: false, events: 7, brokenAt: { seq: '5' } });
  });

  it('finds a deleted event at a batch boundary', async () => {
    await rows().delete({ chain, seq: '4' });
    const result = await audit.verify(chain, 3);
    expect(result).toMatchObject({ valid: false, events: 6, brokenAt: { seq: '5' } });
  });

  it('finds a planted event numbered below the chain', async () => {
    await plant(chain, '0');
    const result = await audit.verify(chain, 3);
    expect(result).toMatchObject({ valid: false, events: 8, brokenAt: { seq: '0' } });
  });

  describe('after a verified walk', () => {
    /** How many batches the next `verify` reads: the walk itself, not the prefix check. */
    const batchesRead = async (run: () => Promise<unknown>) => {
      const spy = jest.spyOn(rows(), 'createQueryBuilder');
      try {
        await run();
        return spy.mock.calls.length;
      } finally {
        spy.mockRestore();
      }
    };

    /**
     * Waits until every transaction that was open when the chain was last written has ended (the
     * horizon is cluster-wide: other suites' transactions hold it back), so the next walk's
     * horizon is past every row and its checkpoint can be trusted next time.
     */
    const settled = async () => {
      const [{ next }] = await db.dataSource.query<{ next: string }[]>(
        'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS next',
      );
      await eventually('the transactions open during the writes to end', async () => {
        const [{ oldest }] = await db.dataSource.query<{ oldest: string }[]>(
          'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS oldest',
        );
        return BigInt(oldest) >= BigInt(next) ? true : undefined;
      });
    };

    it('hashes only the events appended since', async () => {
      // Seven events, three per batch: a full walk reads three batches.
      await settled();
      expect(await batchesRead(() => audit.verify(chain, 3))).toBe(3);
      await audit.append({ chain, actor: 'platform-admin', action: 'test.step', target: 't8' });
      await audit.append({ chain, actor: 'platform-admin', action: 'test.step', target: 't9' });
      await settled();
      let result: unknown;
      expect(
        await batchesRead(async () => {
          result = await audit.verify(chain, 3);
        }),
      ).toBe(1);
      expect(result).toEqual({ valid: true, events: 9 });
      // Nothing new: one (empty) batch after the checkpoint.
      expect(await batchesRead(() => audit.verify(chain, 3))).toBe(1);
      await expect(audit.verify(chain, 3)).resolves.toEqual({ valid: true, events: 9 });
    });

    it('finds a change to an event it had verified', async () => {
      await expect(audit.verify(chain, 3)).resolves.toEqual({ valid: true, events: 7 });
      await rows().update({ chain, seq: '2' }, { target: 'rewritten' });
      await expect(audit.verify(chain, 3)).resolves.toMatchObject({
        valid: false,
        brokenAt: { seq: '2' },
      });
    });

    it('finds a change that keeps the stored hash, at the checkpoint itself', async () => {
      await expect(audit.verify(chain, 3)).resolves.toEqual({ valid: true, events: 7 });
      // Rewriting a row with its own values is still a new row version; here the content differs.
      await rows().update({ chain, seq: '7' }, { data: { forged: true } });
      await expect(audit.verify(chain, 3)).resolves.toMatchObject({
        valid: false,
        brokenAt: { seq: '7' },
      });
    });

    it('finds a deleted event and a planted one', async () => {
      await expect(audit.verify(chain, 3)).resolves.toEqual({ valid: true, events: 7 });
      await rows().delete({ chain, seq: '1' });
      await expect(audit.verify(chain, 3)).resolves.toMatchObject({
        valid: false,
        events: 6,
        brokenAt: { seq: '2' },
      });

      const other = randomUUID();
      await audit.append({ chain: other, actor: 'platform-admin', action: 'a', target: 'x' });
      await expect(audit.verify(other, 3)).resolves.toEqual({ valid: true, events: 1 });
      await plant(other, '-1');
      await expect(audit.verify(other, 3)).resolves.toMatchObject({
        valid: false,
        events: 2,
        brokenAt: { seq: '-1' },
      });
    });

    it('keeps a broken chain broken', async () => {
      await rows().update({ chain, seq: '3' }, { actor: 'someone-else' });
      for (let i = 0; i < 2; i++) {
        await expect(audit.verify(chain, 3)).resolves.toMatchObject({
          valid: false,
          brokenAt: { seq: '3' },
        });
      }
    });
  });
});
