import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import {
  generateToken,
  hashToken,
  parseBearer,
  tokenDisplayPrefix,
  tokensEqual,
  verifyToken,
} from './token';

describe('generateToken', () => {
  it.each(['mol_pk', 'mol_ok', 'mol_wb', 'mol_ws'])('formats %s tokens', (prefix) => {
    const token = generateToken(prefix);
    expect(token).toMatch(new RegExp(`^${prefix}_[A-Za-z0-9_-]{43}$`));
  });

  it('carries 32 random bytes (256 bits)', () => {
    const random = generateToken('mol_pk').slice('mol_pk_'.length);
    expect(Buffer.from(random, 'base64url')).toHaveLength(32);
  });

  it('never repeats', () => {
    const tokens = new Set(Array.from({ length: 10_000 }, () => generateToken('mol_pk')));
    expect(tokens.size).toBe(10_000);
  });

  it.each(['', 'Mol', '1mol', 'mol-pk', 'mol pk', 'mol.pk'])('rejects prefix %j', (prefix) => {
    expect(() => generateToken(prefix)).toThrow(TypeError);
  });
});

describe('hashToken', () => {
  it('is the sha256 hex digest and does not contain the token', () => {
    const token = generateToken('mol_ok');
    const hash = hashToken(token);
    expect(hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(token.slice(7, 20));
  });
});

describe('tokenDisplayPrefix', () => {
  it('keeps the readable prefix and 6 random characters', () => {
    const token = generateToken('mol_wb');
    expect(tokenDisplayPrefix(token)).toBe(token.slice(0, 'mol_wb_'.length + 6));
  });

  it('handles underscores inside the random part', () => {
    const token = `mol_ws_${'_'.repeat(43)}`;
    expect(tokenDisplayPrefix(token)).toBe('mol_ws_______');
  });

  it('rejects a malformed token without echoing it', () => {
    const secret = 'mol_pk_tooShortButStillSecret';
    expect(() => tokenDisplayPrefix(secret)).toThrow(TypeError);
    expect(() => tokenDisplayPrefix(secret)).not.toThrow(/tooShort/);
  });
});

describe('verifyToken', () => {
  const token = generateToken('mol_pk');
  const hash = hashToken(token);

  it('accepts the token the hash was made from, whatever the hex case', () => {
    expect(verifyToken(token, hash)).toBe(true);
    expect(verifyToken(token, hash.toUpperCase())).toBe(true);
  });

  it('rejects other tokens, including shorter and longer ones', () => {
    expect(verifyToken(generateToken('mol_pk'), hash)).toBe(false);
    expect(verifyToken(token.slice(0, -1), hash)).toBe(false);
    expect(verifyToken(`${token}x`, hash)).toBe(false);
    expect(verifyToken('', hash)).toBe(false);
  });

  it('returns false instead of throwing for malformed hashes', () => {
    expect(verifyToken(token, '')).toBe(false);
    expect(verifyToken(token, hash.slice(0, 62))).toBe(false);
    expect(verifyToken(token, `${hash}00`)).toBe(false);
    expect(verifyToken(token, 'z'.repeat(64))).toBe(false);
    expect(verifyToken(undefined as unknown as string, hash)).toBe(false);
  });
});

describe('tokensEqual', () => {
  it('compares plaintext secrets of any length', () => {
    expect(tokensEqual('a-long-admin-token', 'a-long-admin-token')).toBe(true);
    expect(tokensEqual('a-long-admin-token', 'a-long-admin-tokeN')).toBe(false);
    expect(tokensEqual('a-long-admin-token', 'a')).toBe(false);
    expect(tokensEqual('', '')).toBe(true);
    expect(tokensEqual('x', undefined as unknown as string)).toBe(false);
  });
});

describe('parseBearer', () => {
  const token = generateToken('mol_pk');

  it.each([`Bearer ${token}`, `bearer ${token}`, `BEARER  ${token} `])('parses %j', (header) => {
    expect(parseBearer(header)).toBe(token);
  });

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer ',
    `Basic ${token}`,
    `Bearer ${token} extra`,
    `Bearer${token}`,
    `Bearer ${token},x`,
    ` Bearer ${token}`,
  ])('rejects %j', (header) => {
    expect(parseBearer(header)).toBeUndefined();
  });
});
