/**
 * Memories reach agents wrapped in a delimiter that says where they came from:
 *
 *     [MEMORY id=<id> scope=<scope> from=<workspace id | org-admin>]: <content>
 *
 * A memory that contained such a delimiter itself could pose as another memory with a more
 * trusted origin (an org admin's GLOBAL memory, say). So stored content never contains one:
 * every `[` that reads as the start of a delimiter gets an `_` after it (`[_MEMORY `).
 */

/** What an org admin's memories name as their author. */
export const ORG_ADMIN_AUTHOR = 'org-admin';

/** How far after a bracket to look for the word (room for spaces and invisible characters). */
const LOOKAHEAD = 32;
// `[` and its full-width twin; NFKC maps the latter (and full-width letters) to ASCII.
const OPENERS = /[[\uFF3B]/g;
// Spaces, invisible formatting characters (zero-width space, joiners) and combining marks
// could split the word for a filter while a model still reads it.
const FILLER = /[\s\p{Cf}\p{Mn}]/gu;

/**
 * Escapes every spoofed delimiter, whatever its case or spacing (`[memory`, `[ MEMORY`,
 * `［ＭＥＭＯＲＹ`, `[\u200bMEMORY`). Idempotent: escaped content is left as it is.
 */
export function escapeDelimiters(text: string): string {
  return text.replace(OPENERS, (bracket: string, offset: number) => {
    const ahead = text
      .slice(offset + 1, offset + 1 + LOOKAHEAD)
      .normalize('NFKC')
      .replace(FILLER, '')
      .toUpperCase();
    return ahead.startsWith('MEMORY') ? `${bracket}_` : bracket;
  });
}

/** Whether `text` holds something that would read as a delimiter (what the escape removes). */
export function containsDelimiter(text: string): boolean {
  return escapeDelimiters(text) !== text;
}

export interface MemoryOrigin {
  id: string;
  scope: string;
  /** The author workspace's id, or null for a memory an org admin wrote. */
  authorWorkspaceId: string | null;
  /** A GLOBAL proposal not yet approved (shown to its author only). */
  pending?: boolean;
}

/** The author as the delimiter names it. */
export function authorOf(authorWorkspaceId: string | null): string {
  return authorWorkspaceId ?? ORG_ADMIN_AUTHOR;
}

/** The content as agents receive it: behind a delimiter naming its id, scope and author. */
export function wrapMemory(origin: MemoryOrigin, content: string): string {
  const state = origin.pending ? ' state=pending' : '';
  return `[MEMORY id=${origin.id} scope=${origin.scope} from=${authorOf(origin.authorWorkspaceId)}${state}]: ${escapeDelimiters(content)}`;
}
