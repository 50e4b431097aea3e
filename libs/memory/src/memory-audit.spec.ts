import { describe, expect, it } from '@jest/globals';
import { memoryDeleted, memoryWritten } from './memory-audit';
import { prepareMemoryContent } from './memory-content';

describe('memory audit records', () => {
  const secret = 'AKIAIOSFODNN7EXAMPLE';
  const prepared = prepareMemoryContent(`the deploy key is ${secret}, keep it safe`, 16_384);
  const row = {
    id: 'm1',
    scope: 'TEAM',
    namespace: 'default',
    authorWorkspaceId: 'w1',
    contentHash: prepared.contentHash,
  };

  it('names a write by ids and hash, with its size and redaction count, never its content', () => {
    const record = memoryWritten(row, prepared);
    expect(record).toEqual({
      action: 'memory.written',
      target: 'memory:m1',
      data: {
        memoryId: 'm1',
        scope: 'TEAM',
        namespace: 'default',
        authorWorkspaceId: 'w1',
        contentHash: prepared.contentHash,
        bytes: prepared.bytes,
        redactions: 1,
      },
    });
    const text = JSON.stringify(record);
    expect(text).not.toContain(secret);
    expect(text).not.toContain('deploy key');
  });

  it('marks a GLOBAL proposal as such', () => {
    expect(memoryWritten(row, prepared, true).action).toBe('memory.proposed');
  });

  it('names a deletion by the same ids and hash', () => {
    expect(memoryDeleted(row)).toEqual({
      action: 'memory.deleted',
      target: 'memory:m1',
      data: {
        memoryId: 'm1',
        scope: 'TEAM',
        authorWorkspaceId: 'w1',
        contentHash: prepared.contentHash,
      },
    });
  });
});
