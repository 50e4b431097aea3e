import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { AuditEvent } from '@molecule/database';
import { createTestDatabase, type TestDatabase } from '@molecule/testing';
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
    const planted = {
      chain,
      seq: '0',
      actor: 'platform-admin',
      action: 'test.planted',
      target: 'nobody',
      data: {},
      prevHash: null,
      createdAt: new Date(),
    };
    await rows().save({ ...planted, hash: hashEvent(planted) });
    const result = await audit.verify(chain, 3);
    expect(result).toMatchObject({ valid: false, events: 8, brokenAt: { seq: '0' } });
  });
});
