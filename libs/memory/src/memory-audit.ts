import type { PreparedMemory } from './memory-content';

/** The fields of a stored memory that its audit events name. */
export interface AuditedMemory {
  id: string;
  scope: string;
  namespace: string;
  authorWorkspaceId: string | null;
  contentHash: string;
}

/** The action, target and data of a memory's audit event (the caller adds chain and actor). */
export interface MemoryAuditRecord {
  action: 'memory.written' | 'memory.proposed' | 'memory.deleted';
  target: string;
  data: Record<string, unknown>;
}

/**
 * What the audit trail keeps of a write or a GLOBAL proposal: ids, scope, the SHA-256 of the stored
 * content, its size and how many secrets were redacted from it. Never the content itself.
 */
export function memoryWritten(
  memory: AuditedMemory,
  prepared: PreparedMemory,
  proposal = false,
): MemoryAuditRecord {
  return {
    action: proposal ? 'memory.proposed' : 'memory.written',
    target: `memory:${memory.id}`,
    data: {
      memoryId: memory.id,
      scope: memory.scope,
      namespace: memory.namespace,
      authorWorkspaceId: memory.authorWorkspaceId,
      contentHash: prepared.contentHash,
      bytes: prepared.bytes,
      redactions: Object.values(prepared.redactions).reduce((a, b) => a + b, 0),
    },
  };
}

/** What the audit trail keeps of a deletion: the same ids and hash as the write it undoes. */
export function memoryDeleted(memory: AuditedMemory): MemoryAuditRecord {
  return {
    action: 'memory.deleted',
    target: `memory:${memory.id}`,
    data: {
      memoryId: memory.id,
      scope: memory.scope,
      authorWorkspaceId: memory.authorWorkspaceId,
      contentHash: memory.contentHash,
    },
  };
}
