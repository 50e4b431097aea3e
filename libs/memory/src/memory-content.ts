import { createHash } from 'node:crypto';
import { escapeDelimiters } from './delimiters';
import { redactSecrets } from './redaction';

/** The namespace of a memory written without one. */
export const DEFAULT_NAMESPACE = 'default';

/** 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit. */
export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** What a request is told when its namespace does not match {@link NAMESPACE_PATTERN}. */
export const NAMESPACE_MESSAGE =
  'namespace is 1–64 of a-z, 0-9, ".", "_" and "-", starting with a-z or 0-9';

/** The default for `MEMORY_MAX_BYTES`. */
export const DEFAULT_MEMORY_MAX_BYTES = 16 * 1024;

/**
 * Why content was refused. `status` is the HTTP status the services answer with: 413 for
 * content over the limit, 400 for the rest. The message never quotes the content.
 */
export class MemoryContentError extends Error {
  constructor(
    readonly statusCode: 400 | 413,
    readonly code: string,
    message: string,
    readonly details?: Record<string, number>,
  ) {
    super(message);
    this.name = 'MemoryContentError';
  }
}

export interface PreparedMemory {
  /** What is stored: trimmed, secrets redacted, delimiters escaped. */
  content: string;
  /** SHA-256 (hex) of the stored content; audit events carry this instead of the content. */
  contentHash: string;
  /** UTF-8 size of the stored content. */
  bytes: number;
  /** Redactions by label (see `redactSecrets`). */
  redactions: Record<string, number>;
}

// C0 controls except tab, line feed and carriage return, and DEL. Postgres text cannot hold NUL.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// A lone surrogate cannot be encoded as UTF-8: the stored text would differ from the hashed one.
const LONE_SURROGATE = /\p{Cs}/u;

export function contentHash(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

function tooLarge(bytes: number, maxBytes: number, stage: string): MemoryContentError {
  return new MemoryContentError(
    413,
    'memory_too_large',
    `Memory content is ${bytes} bytes ${stage}; the limit is ${maxBytes} bytes`,
    { bytes, limitBytes: maxBytes },
  );
}

/**
 * The write pipeline every memory goes through before it is stored, whoever writes it: trim,
 * refuse empty or malformed text, enforce the size limit, redact secrets, escape delimiters,
 * hash. The limit holds for the text as sent (after trimming) and again for what is stored,
 * since redaction labels and escapes can make it longer.
 */
export function prepareMemoryContent(raw: string, maxBytes: number): PreparedMemory {
  const trimmed = raw.trim();
  if (trimmed.length === 0) {
    throw new MemoryContentError(400, 'memory_content_empty', 'Memory content is empty');
  }
  const sent = Buffer.byteLength(trimmed, 'utf8');
  if (sent > maxBytes) throw tooLarge(sent, maxBytes, 'after trimming');
  if (CONTROL.test(trimmed) || LONE_SURROGATE.test(trimmed)) {
    throw new MemoryContentError(
      400,
      'bad_memory_content',
      'Memory content must be valid Unicode text without control characters other than tab and line breaks',
    );
  }
  const { text, redactions } = redactSecrets(trimmed);
  const content = escapeDelimiters(text);
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes > maxBytes) throw tooLarge(bytes, maxBytes, 'after redaction and escaping');
  return { content, contentHash: contentHash(content), bytes, redactions };
}
