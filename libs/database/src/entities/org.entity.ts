import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { OrgStatus, enumValues } from '../enums';

@Entity('orgs')
// A slug is unique among live orgs; a deleted org frees it (routes carry a generation for that).
@Index('uq_orgs_slug_live', ['slug'], { unique: true, where: `"status" <> 'deleted'` })
export class Org {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 32 })
  slug: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  region: string | null;

  @Column({
    type: 'enum',
    enum: enumValues(OrgStatus),
    enumName: 'org_status',
    default: OrgStatus.Pending,
  })
  status: OrgStatus;

  /** Who created it (`platform-admin` or `partner-key:<id>`); partners see only their own orgs. */
  @Column({ type: 'varchar', length: 100 })
  createdBy: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  deletedAt: Date | null;
}
