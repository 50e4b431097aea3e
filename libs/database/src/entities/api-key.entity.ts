import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { ApiKeyKind, OrgRole, enumValues } from '../enums';
import { Org } from './org.entity';

/** Org keys (a role within one org) and partner keys (scopes across the orgs they create). */
@Entity('api_keys')
@Index('uq_api_keys_hash', ['tokenHash'], { unique: true })
@Index('ix_api_keys_org', ['orgId'])
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'enum', enum: enumValues(ApiKeyKind), enumName: 'api_key_kind' })
  kind: ApiKeyKind;

  @Column({ type: 'uuid', nullable: true })
  orgId: string | null;

  @ManyToOne(() => Org, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'org_id' })
  org?: Org;

  @Column({ type: 'enum', enum: enumValues(OrgRole), enumName: 'org_role', nullable: true })
  role: OrgRole | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes: string[];

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'char', length: 64 })
  tokenHash: string;

  @Column({ type: 'varchar', length: 32 })
  displayPrefix: string;

  @Column({ type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
