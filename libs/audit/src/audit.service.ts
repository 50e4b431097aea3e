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

  /** Recomputes every hash and link of the chain, oldest first. */
  async verify(chain: string): Promise<ChainVerification> {
    const events = await this.dataSource
      .getRepository(AuditEvent)
      .find({ where: { chain }, order: { seq: 'ASC' } });
    let prevHash: string | null = null;
    for (const [index, event] of events.entries()) {
      const intact =
        event.seq === String(index + 1) &&
        event.prevHash === prevHash &&
        event.hash === hashEvent(event);
      if (!intact)
        return { valid: false, events: events.length, brokenAt: { seq: event.seq, id: event.id } };
      prevHash = event.hash;
    }
    return { valid: true, events: events.length };
  }
}
