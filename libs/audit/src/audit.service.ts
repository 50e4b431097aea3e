import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditEvent } from '@molecule/database';
import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { canonicalJson } from './canonical-json';

/** The chain of events that belong to no org. */
export const PLATFORM_CHAIN = 'platform';

/** The action under which the provisioner files an org's deletion receipt (the API reads it). */
export const ORG_DELETION_RECEIPT = 'org.deleted';

export interface AuditEntry {
  /** The org id, or {@link PLATFORM_CHAIN}. */
  chain: string;
  /** Who did it: `platform-admin`, `partner-key:<id>`, `org-key:<id>`, `system:provisioner`. */
  actor: string;
  action: string;
  target: string;
  /** Ids, counts and hashes only: never secrets, as little personal data as possible. */
  data?: Record<string, unknown>;
}

export interface ChainVerification {
  valid: boolean;
  events: number;
  /** The first event whose hash or link does not match, if any. */
  brokenAt?: { seq: string; id: string };
}

export function hashEvent(event: Omit<AuditEvent, 'id' | 'hash'>): string {
  const material = canonicalJson({
    chain: event.chain,
    seq: event.seq,
    actor: event.actor,
    action: event.action,
    target: event.target,
    data: event.data,
    prevHash: event.prevHash,
    createdAt: event.createdAt.toISOString(),
  });
  return createHash('sha256').update(material).digest('hex');
}

/**
 * The append-only, hash-chained audit trail. Appends to one chain are serialised with a
 * transaction-scoped advisory lock, so concurrent writers (any replica) never fork the chain.
 */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Appends inside `manager`'s transaction when given (so the event commits with the change). */
  async append(entry: AuditEntry, manager?: EntityManager): Promise<AuditEvent> {
    if (!manager) return this.dataSource.transaction((tx) => this.append(entry, tx));
    await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`audit:${entry.chain}`]);
    const last = await manager.findOne(AuditEvent, {
      where: { chain: entry.chain },
      order: { seq: 'DESC' },
    });
    const event = {
      chain: entry.chain,
      seq: String(last ? BigInt(last.seq) + 1n : 1n),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      data: entry.data ?? {},
      prevHash: last?.hash ?? null,
      createdAt: new Date(),
    };
    return manager.save(AuditEvent, { ...event, hash: hashEvent(event) });
  }

  /** Newest first, `limit` at a time; pass the last `seq` seen as `before` for the next page. */
  async page(chain: string, limit: number, before?: string): Promise<AuditEvent[]> {
    const query = this.dataSource
      .getRepository(AuditEvent)
      .createQueryBuilder('e')
      .where('e.chain = :chain', { chain })
      .orderBy('e.seq', 'DESC')
      .limit(limit);
    if (before !== undefined) query.andWhere('e.seq < :before', { before });
    return query.getMany();
  }

  /**
   * Recomputes every hash and link of the chain, oldest first, reading it `batchSize` events at a
   * time so a long trail never has to fit in memory at once.
   */
  async verify(chain: string, batchSize = 1_000): Promise<ChainVerification> {
    const events = this.dataSource.getRepository(AuditEvent);
    let prevHash: string | null = null;
    let count = 0;
    for (;;) {
      const query = events
        .createQueryBuilder('e')
        .where('e.chain = :chain', { chain })
        .orderBy('e.seq', 'ASC')
        .limit(batchSize);
      // The first batch has no lower bound, so a planted row numbered 0 or below is seen too.
      if (count > 0) query.andWhere('e.seq > :after', { after: String(count) });
      const batch = await query.getMany();
      for (const event of batch) {
        const intact =
          event.seq === String(count + 1) &&
          event.prevHash === prevHash &&
          event.hash === hashEvent(event);
        if (!intact) {
          // The chain's length is still reported in full, as before.
          const total = await events.countBy({ chain });
          return { valid: false, events: total, brokenAt: { seq: event.seq, id: event.id } };
        }
        prevHash = event.hash;
        count += 1;
      }
      if (batch.length < batchSize) return { valid: true, events: count };
    }
  }
}
