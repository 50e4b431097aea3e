import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One message relayed to a workspace's agent: by another workspace through the registry's A2A
 * proxy, or by a user through the API. Who, to whom, which method, how it ended and how big it
 * was; never the content.
 */
@Entity('a2a_calls')
@Index('ix_a2a_calls_org_created', ['orgId', 'createdAt'])
@Index('ix_a2a_calls_target_created', ['targetWorkspaceId', 'createdAt'])
export class A2aCall {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  orgId: string;

  /** `workspace:<id>` for agent → agent, `org-key:<id>` or `platform-admin` for user → agent. */
  @Column({ type: 'varchar', length: 200 })
  caller: string;

  /** The calling workspace, when a workspace called. */
  @Column({ type: 'uuid', nullable: true })
  callerWorkspaceId: string | null;

  @Column({ type: 'uuid' })
  targetWorkspaceId: string;

  /** The JSON-RPC method as sent (`SendMessage`, `message/send`, …); `unknown` when absent. */
  @Column({ type: 'varchar', length: 100 })
  method: string;

  /** `ok`, `denied`, `over-budget`, `unavailable`, `upstream-error`, `timeout`, `too-large`, … */
  @Column({ type: 'varchar', length: 32 })
  outcome: string;

  /** The HTTP status the caller received. */
  @Column({ type: 'smallint' })
  httpStatus: number;

  @Column({ type: 'boolean', default: false })
  streamed: boolean;

  @Column({ type: 'integer', default: 0 })
  requestBytes: number;

  @Column({ type: 'integer', default: 0 })
  responseBytes: number;

  @Column({ type: 'integer', default: 0 })
  durationMs: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
