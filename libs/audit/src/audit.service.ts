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

/** A verified prefix: events 1..`seq`, the last one's hash, and the transaction horizon of the walk. */
interface Checkpoint {
  seq: number;
  hash: string;
  horizon: string;
}

/** Chains whose checkpoint a process keeps (one small object each). */
const CHECKPOINTS = 10_000;

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
  /** Per chain, how far this process has verified it (see `verify`). */
  private readonly checkpoints = new Map<string, Checkpoint>();

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
   *
   * Events this process has already verified are not hashed again while Postgres shows that none
   * of them has changed since: a row that is updated, deleted or inserted gets a new row version
   * with a newer transaction id (`xmin`), so one aggregate over the verified prefix (its count and
   * whether any row is newer than the walk that verified it) stands in for re-hashing it, and only
   * the events after it are hashed. Any change to the prefix sends the walk back to the start.
   * The checkpoints live in this process only, never in the database a tamperer could edit.
   */
  async verify(chain: string, batchSize = 1_000): Promise<ChainVerification> {
    const events = this.dataSource.getRepository(AuditEvent);
    // Taken before reading: every row version older than it was committed before the walk began.
    const horizon = await this.transactionHorizon();
    const from = await this.unchangedPrefix(chain);
    let prevHash: string | null = from?.hash ?? null;
    let count = from?.seq ?? 0;
    for (;;) {
      const query = events
        .createQueryBuilder('e')
        .where('e.chain = :chain', { chain })
        .orderBy('e.seq', 'ASC')
        .limit(batchSize);
      // The first batch of a full walk has no lower bound, so a planted row numbered 0 or below
      // is seen too (after a checkpoint, such a row shows up as a change to the prefix).
      if (count > 0) query.andWhere('e.seq > :after', { after: String(count) });
      const batch = await query.getMany();
      for (const event of batch) {
        const intact =
          event.seq === String(count + 1) &&
          event.prevHash === prevHash &&
          event.hash === hashEvent(event);
        if (!intact) {
          this.checkpoints.delete(chain);
          // The chain's length is still reported in full, as before.
          const total = await events.countBy({ chain });
          return { valid: false, events: total, brokenAt: { seq: event.seq, id: event.id } };
        }
        prevHash = event.hash;
        count += 1;
      }
      if (batch.length < batchSize) break;
    }
    if (prevHash !== null) this.remember(chain, { seq: count, hash: prevHash, horizon });
    return { valid: true, events: count };
  }

  /** The checkpoint of `chain` if no row up to it has changed since it was verified. */
  private async unchangedPrefix(chain: string): Promise<Checkpoint | undefined> {
    const checkpoint = this.checkpoints.get(chain);
    if (checkpoint === undefined) return undefined;
    // `xmin` is a 32-bit transaction id: "newer than the horizon" is compared the way Postgres
    // compares them, modulo 2^32 within half the range. A row too old for that (2^31
    // transactions) reads as changed, which only costs a full walk.
    const [row] = await this.dataSource.query<{ rows: number; changed: number }[]>(
      `SELECT count(*)::int AS rows,
              count(*) FILTER (
                WHERE (xmin::text::bigint - $3 + 4294967296) % 4294967296 < 2147483648
              )::int AS changed
         FROM audit_events
        WHERE chain = $1 AND seq <= $2`,
      [chain, String(checkpoint.seq), checkpoint.horizon],
    );
    if (row.rows === checkpoint.seq && row.changed === 0) return checkpoint;
    this.checkpoints.delete(chain);
    return undefined;
  }

  /** The oldest transaction id that may still be running: every older row version is settled. */
  private async transactionHorizon(): Promise<string> {
    const [row] = await this.dataSource.query<{ horizon: string }[]>(
      'SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint % 4294967296)::text AS horizon',
    );
    return row.horizon;
  }

  private remember(chain: string, checkpoint: Checkpoint): void {
    // Bounded, oldest first out (a Map keeps insertion order; re-inserting refreshes it).
    this.checkpoints.delete(chain);
    if (this.checkpoints.size >= CHECKPOINTS) {
      this.checkpoints.delete(this.checkpoints.keys().next().value!);
    }
    this.checkpoints.set(chain, checkpoint);
  }
}
