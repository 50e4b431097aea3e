import { ORG_DELETION_RECEIPT } from '@molecule/audit';
import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditEvent, OperationsRepository, type Org } from '@molecule/database';
import { JobName } from '@molecule/jobs';
import type { DataSource } from 'typeorm';
import { viewOf } from './orgs.service';

@Injectable()
export class DeletionService {
  private readonly operations: OperationsRepository;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.operations = new OperationsRepository(dataSource);
  }

  /** While the cascade runs: its steps. Once done: the receipt kept in the audit trail. */
  async receipt(org: Org) {
    const operation = await this.operations.latest(org.id, JobName.OrgDelete);
    if (!operation) throw new NotFoundException(`The org ${org.slug} has not been deleted`);
    const event = await this.dataSource
      .getRepository(AuditEvent)
      .findOne({ where: { chain: org.id, action: ORG_DELETION_RECEIPT }, order: { seq: 'DESC' } });
    return {
      org: viewOf(org),
      operation: {
        id: operation.id,
        status: operation.status,
        steps: operation.steps.map(({ name, startedAt, endedAt, error }) => ({
          name,
          startedAt,
          endedAt,
          error: error ?? null,
        })),
        error: operation.error,
      },
      receipt: event
        ? { auditEventId: event.id, seq: event.seq, hash: event.hash, ...event.data }
        : null,
    };
  }
}
