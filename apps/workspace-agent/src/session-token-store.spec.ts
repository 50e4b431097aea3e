import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSessionToken, sessionTokenPath, writeSessionToken } from './session-token-store';

const TOKEN = 'mol_ws_unit-test-session-token-0123456789abcdefghij';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'molecule-session-token-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('session token store', () => {
  it('reads nothing when there is no file', async () => {
    expect(await readSessionToken(join(dir, 'missing'))).toBeUndefined();
  });

  it('writes the token 0600 in a new private directory, and reads it back', async () => {
    const stateDir = join(dir, 'state');
    await writeSessionToken(stateDir, TOKEN);
    expect((await stat(sessionTokenPath(stateDir))).mode & 0o777).toBe(0o600);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    expect(await readSessionToken(stateDir)).toBe(TOKEN);
  });

  it('replaces the token atomically, leaving no temporary file behind', async () => {
    const stateDir = join(dir, 'rotate');
    await writeSessionToken(stateDir, TOKEN);
    await writeSessionToken(stateDir, `${TOKEN}-rotated`);
    expect(await readSessionToken(stateDir)).toBe(`${TOKEN}-rotated`);
    expect(await readdir(stateDir)).toEqual(['session-token']);
    expect((await stat(sessionTokenPath(stateDir))).mode & 0o777).toBe(0o600);
  });

  it('treats a file without a token as no token', async () => {
    const stateDir = join(dir, 'broken');
    await writeSessionToken(stateDir, TOKEN);
    await writeFile(sessionTokenPath(stateDir), '\n');
    expect(await readSessionToken(stateDir)).toBeUndefined();
    await writeFile(sessionTokenPath(stateDir), 'not a token, has spaces and is long enough');
    expect(await readSessionToken(stateDir)).toBeUndefined();
  });
});
