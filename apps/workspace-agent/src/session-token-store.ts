import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isBearerToken } from './workspace-settings';

/**
 * The session token survives restarts in `<stateDir>/session-token`, readable by the runtime's
 * user only. It is the workspace's only credential once the single-use bootstrap token is spent,
 * so a write must never leave a half-written or briefly world-readable file behind.
 */

export const SESSION_TOKEN_FILE = 'session-token';
const STATE_DIR_MODE = 0o700;
const TOKEN_FILE_MODE = 0o600;

export function sessionTokenPath(stateDir: string): string {
  return join(stateDir, SESSION_TOKEN_FILE);
}

/**
 * The stored token, or undefined when there is none. A file that does not hold a token (empty,
 * truncated by a full disk) counts as none: the bootstrap token, if still set, takes over.
 */
export async function readSessionToken(stateDir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(sessionTokenPath(stateDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const token = text.trim();
  return isBearerToken(token) ? token : undefined;
}

/** Writes to a 0600 temporary file, flushes it to disk, then renames it over the old one. */
export async function writeSessionToken(stateDir: string, token: string): Promise<void> {
  // A new directory is private; an existing one (the config's, by default) keeps its mode, since
  // the file's own 0600 is what protects the token.
  await mkdir(stateDir, { recursive: true, mode: STATE_DIR_MODE });
  const target = sessionTokenPath(stateDir);
  const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // `wx`: never follow or reuse a file someone else put there; the mode applies on creation.
    const file = await open(temporary, 'wx', TOKEN_FILE_MODE);
    try {
      await file.writeFile(`${token}\n`, 'utf8');
      // The umask can only remove bits, but a chmod makes the mode exact either way.
      await file.chmod(TOKEN_FILE_MODE);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
