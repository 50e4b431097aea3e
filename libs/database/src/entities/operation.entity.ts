import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { OperationStatus, ResourceType, enumValues } from '../enums';

export interface OperationStep {
  name: string;
  startedAt: string;
  endedAt?: string;
  error?: string;
  /** What the step did (ids, counts), kept so a resumed operation can still report it all. */
  result?: Record<string, unknown>;
}

/**
 * One row per (resource, operation). Its id is the BullMQ job id, and the partial unique index
 * allows a single unfinished operation per resource, so a retried request cannot start a second.
 */
@Entity('operations')
@Index('uq_operations_unfinished', ['resourceType', 'resourceId'], {
  unique: true,
  where: `"status" IN ('queued', 'running')`,
})
@Index('uq_operations_idempotency_key', ['idempotencyKey'], { unique: true })
export class Operation {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'enum', enum: enumValues(ResourceType), enumName: 'resource_type' })
  resourceType: ResourceType;

  @Column({ type: 'uuid' })
  resourceId: string;

  @Column({ type: 'uuid', nullable: true })
  orgId: string | null;

  /** The job name, e.g. `org.provision`. */
  @Column({ type: 'varchar', length: 64 })
  kind: string;

  @Column({
    type: 'enum',
    enum: enumValues(OperationStatus),
    enumName: 'operation_status',
    default: OperationStatus.Queued,
  })
  status: OperationStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  steps: OperationStep[];

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  idempotencyKey: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
