import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Append-only, hash-chained audit trail. Each row carries the hash of the previous row of the
 * same org (`seq` orders them), so a changed or deleted row breaks the chain. No foreign key to
 * `orgs`: the trail outlives the org it describes. Rows hold no secrets and minimal PII.
 */
@Entity('audit_events')
@Index('uq_audit_events_chain', ['chain', 'seq'], { unique: true })
export class AuditEvent {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** The org id, or `platform` for events that belong to no org. */
  @Column({ type: 'varchar', length: 64 })
  chain: string;

  @Column({ type: 'bigint' })
  seq: string;

  @Column({ type: 'varchar', length: 200 })
  actor: string;

  @Column({ type: 'varchar', length: 100 })
  action: string;

  @Column({ type: 'varchar', length: 200 })
  target: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  data: Record<string, unknown>;

  @Column({ type: 'char', length: 64, nullable: true })
  prevHash: string | null;

  @Column({ type: 'char', length: 64 })
  hash: string;

  @Column({ type: 'timestamptz' })
  createdAt: Date;
}
