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
import { Org } from './org.entity';
import { Workspace } from './workspace.entity';

/** An org- or workspace-scoped secret, envelope-encrypted with the org's data key. */
@Entity('secrets')
@Index('uq_secrets_org_name', ['orgId', 'name'], { unique: true, where: '"workspace_id" IS NULL' })
@Index('uq_secrets_workspace_name', ['orgId', 'workspaceId', 'name'], {
  unique: true,
  where: '"workspace_id" IS NOT NULL',
})
export class SecretValue {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  orgId: string;

  @ManyToOne(() => Org, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'org_id' })
  org?: Org;

  @Column({ type: 'uuid', nullable: true })
  workspaceId: string | null;

  @ManyToOne(() => Workspace, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: Workspace;

  @Column({ type: 'varchar', length: 128 })
  name: string;

  @Column({ type: 'text' })
  ciphertext: string;

  /** The org data key version that encrypted `ciphertext`. */
  @Column({ type: 'integer' })
  keyVersion: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
