import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { WorkspaceTokenKind, enumValues } from '../enums';
import { Workspace } from './workspace.entity';

/** Bootstrap (single-use, short-lived) and session tokens of a workspace, stored as sha256. */
@Entity('workspace_tokens')
@Index('uq_workspace_tokens_hash', ['tokenHash'], { unique: true })
@Index('ix_workspace_tokens_workspace', ['workspaceId'])
export class WorkspaceToken {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  workspaceId: string;

  @ManyToOne(() => Workspace, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: Workspace;

  @Column({ type: 'enum', enum: enumValues(WorkspaceTokenKind), enumName: 'workspace_token_kind' })
  kind: WorkspaceTokenKind;

  @Column({ type: 'char', length: 64 })
  tokenHash: string;

  @Column({ type: 'varchar', length: 32 })
  displayPrefix: string;

  /** The launch (operation) a bootstrap token was issued for. */
  @Column({ type: 'uuid', nullable: true })
  operationId: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  usedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
