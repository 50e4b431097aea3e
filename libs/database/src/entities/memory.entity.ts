import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { ApprovalState, MemoryScope, enumValues } from '../enums';
import { Org } from './org.entity';

@Entity('memories')
@Index('ix_memories_org_scope', ['orgId', 'scope'])
export class Memory {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  orgId: string;

  @ManyToOne(() => Org, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'org_id' })
  org?: Org;

  /** Null when an org admin wrote it through the API. */
  @Column({ type: 'uuid', nullable: true })
  authorWorkspaceId: string | null;

  @Column({ type: 'enum', enum: enumValues(MemoryScope), enumName: 'memory_scope' })
  scope: MemoryScope;

  @Column({ type: 'varchar', length: 100, default: 'default' })
  namespace: string;

  @Column({ type: 'text' })
  content: string;

  @Column({ type: 'char', length: 64 })
  contentHash: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  provenance: Record<string, unknown>;

  @Column({
    type: 'enum',
    enum: enumValues(ApprovalState),
    enumName: 'approval_state',
    default: ApprovalState.NotRequired,
  })
  approvalState: ApprovalState;

  @Column({ type: 'varchar', length: 100, nullable: true })
  decidedBy: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
