import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The response to a request made with an `Idempotency-Key`, so a retry with the same key and
 * body gets the same answer and creates nothing new. Scoped to the caller that sent it. A
 * one-time secret in the response is stored encrypted (`secretCiphertext`), never in `response`.
 */
@Entity('idempotency_records')
@Index('uq_idempotency_records_key', ['scope', 'key'], { unique: true })
export class IdempotencyRecord {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** The caller (`platform-admin`, `partner-key:<id>`) plus the route. */
  @Column({ type: 'varchar', length: 200 })
  scope: string;

  @Column({ type: 'varchar', length: 200 })
  key: string;

  /** sha256 of the canonical request body: the same key with another body is refused. */
  @Column({ type: 'char', length: 64 })
  requestHash: string;

  @Column({ type: 'integer' })
  status: number;

  @Column({ type: 'jsonb' })
  response: Record<string, unknown>;

  /** The org whose data key encrypted `secretCiphertext`. */
  @Column({ type: 'uuid', nullable: true })
  orgId: string | null;

  @Column({ type: 'text', nullable: true })
  secretCiphertext: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
