import { describe, expect, it } from '@jest/globals';
import { JOB_QUEUE, JobName, QUEUE_NAMES, queuePrefix, type JobEnvelope } from './contracts';

describe('job contracts', () => {
  it('routes every job to a known queue', () => {
    for (const name of Object.values(JobName)) expect(QUEUE_NAMES).toContain(JOB_QUEUE[name]);
  });

  it('puts each queue in its own Redis Cluster hash slot', () => {
    expect(queuePrefix('molecule', 'provisioning')).toBe('molecule:{provisioning}');
  });

  it('narrows payloads by job name', () => {
    const job = {
      name: JobName.WorkspaceProvision,
      data: { operationId: 'op', idempotencyKey: 'k', orgId: 'o', workspaceId: 'w' },
    } as JobEnvelope;
    switch (job.name) {
      case JobName.WorkspaceProvision:
        expect(job.data.workspaceId).toBe('w');
        break;
      default:
        throw new Error('unexpected job');
    }
  });
});
