import {
  Check,
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

/**
 * Agent memory (SPEC §4.6). Content is stored redacted and with spoofed `[MEMORY ` delimiters
 * escaped (`@molecule/memory`); the check keeps any other writer from storing one.
 */
@Entity('memories')
@Index('ix_memories_org_scope', ['orgId', 'scope'])
@Index('ix_memories_author_scope', ['authorWorkspaceId', 'scope', 'createdAt'])
@Check('ck_memories_no_delimiter', `strpos(upper("content"), '[MEMORY') = 0`)
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

  /** Who approved or rejected a GLOBAL proposal (`org-key:<id>`, `platform-admin`). */
  @Column({ type: 'varchar', length: 100, nullable: true })
  decidedBy: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  decidedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
