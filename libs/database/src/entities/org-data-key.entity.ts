import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** An org's AES-256 data key, wrapped by a master key (never stored in the clear). */
@Entity('org_data_keys')
export class OrgDataKey {
  @PrimaryColumn({ type: 'uuid' })
  orgId: string;

  @PrimaryColumn({ type: 'integer' })
  version: number;

  @Column({ type: 'varchar', length: 64 })
  masterKeyId: string;

  @Column({ type: 'bytea' })
  wrappedKey: Buffer;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  retiredAt: Date | null;
}
