import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { WorkspaceStatus, enumValues } from '../enums';
import { Org } from './org.entity';

/** One agent VM (or local process) of an org, placed in the org's agent hierarchy. */
@Entity('workspaces')
@Index('ix_workspaces_org', ['orgId'])
@Index('ix_workspaces_parent', ['parentId'])
export class Workspace {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  orgId: string;

  @ManyToOne(() => Org, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'org_id' })
  org?: Org;

  @Column({ type: 'uuid', nullable: true })
  parentId: string | null;

  @ManyToOne(() => Workspace, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'parent_id' })
  parent?: Workspace;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 100 })
  runtime: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  template: string | null;

  @Column({ type: 'varchar', length: 32, default: 'standard' })
  tier: string;

  @Column({
    type: 'enum',
    enum: enumValues(WorkspaceStatus),
    enumName: 'workspace_status',
    default: WorkspaceStatus.Pending,
  })
  status: WorkspaceStatus;

  @Column({ type: 'varchar', length: 128, nullable: true })
  providerInstanceId: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  address: string | null;

  @Column({ type: 'jsonb', nullable: true })
  agentCard: Record<string, unknown> | null;

  @Column({ type: 'timestamptz', nullable: true })
  lastHeartbeatAt: Date | null;

  /** Why the workspace is not online, as reported by its runtime or by a sweep. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  bootStage: string | null;

  @Column({ type: 'text', nullable: true })
  lastError: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  provisionStartedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  bootedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  onlineAt: Date | null;

  /** Spend allowance in cents; null means unlimited. */
  @Column({ type: 'bigint', nullable: true })
  budgetCents: string | null;

  @Column({ type: 'bigint', default: 0 })
  spentCents: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  deletedAt: Date | null;
}
