export {
  ORG_ADMIN_AUTHOR,
  authorOf,
  containsDelimiter,
  escapeDelimiters,
  wrapMemory,
} from './delimiters';
export type { MemoryOrigin } from './delimiters';
export {
  DEFAULT_MEMORY_MAX_BYTES,
  DEFAULT_NAMESPACE,
  MemoryContentError,
  NAMESPACE_MESSAGE,
  NAMESPACE_PATTERN,
  contentHash,
  prepareMemoryContent,
} from './memory-content';
export type { PreparedMemory } from './memory-content';
export { redactSecrets } from './redaction';
export type { RedactionResult } from './redaction';
export { memoryDeleted, memoryWritten } from './memory-audit';
export type { AuditedMemory, MemoryAuditRecord } from './memory-audit';
