import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { OrgEvents } from '@molecule/events';
import type { DataSource } from 'typeorm';
import { HeartbeatStore } from './heartbeat.store';

// TypeORM answers an UPDATE … RETURNING with [rows, affected count].
interface Transition {
  id: string;
  org_id: string;
  from: string;
  to: string;
}

/**
 * The periodic health pass: writes the latest heartbeats to Postgres in one statement, moves
 * workspaces between `online` and `degraded` from what they report, and marks those that missed
 * too many beats `offline`. Deleting or deleted workspaces are never touched, so a late beat
 * cannot bring one back.
 */
@Injectable()
export class HealthSweeper {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly store: HeartbeatStore,
    private readonly audit: AuditService,
    private readonly events: OrgEvents,
  ) {}

  async sweep(now = Date.now()): Promise<{ flushed: number; transitions: Transition[] }> {
    const { heartbeatIntervalSeconds, missedBeforeOffline, degradedErrorRate } =
      this.config.registry;
    const window = heartbeatIntervalSeconds * missedBeforeOffline * 1000;
    const beats = await this.store.since(now - 2 * window);
    const transitions: Transition[] = [];
    if (beats.length > 0) {
      const [rows] = await this.dataSource.query<[Transition[], number]>(
        `WITH beat AS (
           SELECT * FROM unnest($1::uuid[], $2::float8[], $3::text[], $4::float8[])
             AS b(id, at, reported, error_rate)
         ), prev AS (
           SELECT w.id, w.status FROM workspaces w JOIN beat ON beat.id = w.id FOR UPDATE OF w
         )
         UPDATE workspaces w
            SET last_heartbeat_at = to_timestamp(beat.at / 1000.0),
                status = CASE WHEN beat.reported = 'degraded' OR beat.error_rate >= $5
                              THEN 'degraded'::workspace_status ELSE 'online'::workspace_status END
           FROM beat, prev
          WHERE w.id = beat.id AND prev.id = w.id
            AND w.status IN ('online', 'degraded', 'offline')
            AND (w.last_heartbeat_at IS NULL OR to_timestamp(beat.at / 1000.0) > w.last_heartbeat_at)
        RETURNING w.id, w.org_id, prev.status AS "from", w.status AS "to"`,
        [
          beats.map((b) => b.workspaceId),
          beats.map((b) => b.at),
          beats.map((b) => b.status),
          beats.map((b) => b.errorRate),
          degradedErrorRate,
        ],
      );
      transitions.push(...rows.filter((r) => r.from !== r.to));
    }
    const [offline] = await this.dataSource.query<[Transition[], number]>(
      `WITH stale AS (
         SELECT id, status FROM workspaces
          WHERE status IN ('online', 'degraded') AND last_heartbeat_at < $1
          FOR UPDATE
       )
       UPDATE workspaces w SET status = 'offline' FROM stale WHERE w.id = stale.id
       RETURNING w.id, w.org_id, stale.status AS "from", 'offline' AS "to"`,
      [new Date(now - window)],
    );
    transitions.push(...offline);
    for (const t of transitions) {
      await this.audit.append({
        chain: t.org_id,
        actor: 'system:registry',
        action: `workspace.${t.to}`,
        target: `workspace:${t.id}`,
        data: { from: t.from },
      });
      // Each UPDATE above committed on its own: the change is durable before it is announced.
      await this.events.workspaceStatus(t.org_id, {
        workspaceId: t.id,
        status: t.to,
        previous: t.from,
        reason: t.to === 'offline' ? 'missed_heartbeats' : 'heartbeat',
      });
    }
    await this.store.prune(now - 2 * window);
    await this.flushSpend();
    return { flushed: beats.length, transitions };
  }

  /** Adds the spend workspaces reported in their heartbeats to `spent_cents`. */
  private async flushSpend(): Promise<void> {
    const spend = await this.store.drainSpend();
    if (spend.size === 0) return;
    try {
      await this.dataSource.query(
        `UPDATE workspaces w SET spent_cents = w.spent_cents + d.cents
           FROM unnest($1::uuid[], $2::bigint[]) AS d(id, cents)
          WHERE w.id = d.id AND w.status <> 'deleted'`,
        [[...spend.keys()], [...spend.values()]],
      );
    } catch (error) {
      await this.store.restoreSpend(spend);
      throw error;
    }
  }
}
