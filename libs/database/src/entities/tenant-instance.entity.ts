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
import { ComputeProvider, InstanceStatus, enumValues } from '../enums';
import { Org } from './org.entity';

/** The dedicated host serving one org's tenant image. */
@Entity('tenant_instances')
@Index('ix_tenant_instances_org', ['orgId'])
export class TenantInstance {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  orgId: string;

  @ManyToOne(() => Org, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'org_id' })
  org?: Org;

  @Column({ type: 'enum', enum: enumValues(ComputeProvider), enumName: 'compute_provider' })
  provider: ComputeProvider;

  @Column({ type: 'varchar', length: 128, nullable: true })
  providerInstanceId: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  region: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  privateAddress: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  publicAddress: string | null;

  @Column({ type: 'integer', nullable: true })
  port: number | null;

  @Column({
    type: 'enum',
    enum: enumValues(InstanceStatus),
    enumName: 'instance_status',
    default: InstanceStatus.Pending,
  })
  status: InstanceStatus;

  @Column({ type: 'varchar', length: 512, nullable: true })
  image: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  imageDigest: string | null;

  /** The tenant ADMIN_TOKEN, envelope-encrypted with the org's data key. Never plaintext. */
  @Column({ type: 'text', nullable: true })
  adminTokenCiphertext: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  tlsFingerprint: string | null;

  @Column({ type: 'integer', default: 0 })
  routeGeneration: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  terminatedAt: Date | null;
}
