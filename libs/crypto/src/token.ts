import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const RANDOM_BYTES = 32;
/** 32 bytes in unpadded base64url. */
const RANDOM_CHARS = 43;
const DISPLAY_CHARS = 6;
const PREFIX = /^[a-z][a-z0-9_]*$/;
const TOKEN = new RegExp(`^([a-z][a-z0-9_]*)_([A-Za-z0-9_-]{${RANDOM_CHARS}})$`);
const SHA256_HEX = /^[0-9a-f]{64}$/i;
// RFC 6750 b64token; anything else after the scheme is not a bearer credential.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * A new secret token `<prefix>_<random>`. The prefix makes a leaked token recognisable (secret
 * scanners, support) and says what it grants; the random part carries the 256 bits of entropy.
 */
export function generateToken(prefix: string): string {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new TypeError('token prefix must match /^[a-z][a-z0-9_]*$/');
  }
  return `${prefix}_${randomBytes(RANDOM_BYTES).toString('base64url')}`;
}

/** What is stored instead of the token: with 256 random bits, a plain SHA-256 cannot be brute-forced. */
export function hashToken(token: string): string {
  if (typeof token !== 'string') {
    throw new TypeError('token must be a string');
  }
  return sha256(token).toString('hex');
}

/** A short, non-secret label (e.g. `mol_pk_Ab3dEf`) that lets people tell their tokens apart. */
export function tokenDisplayPrefix(token: string): string {
  const match = typeof token === 'string' ? TOKEN.exec(token) : null;
  if (!match) {
    throw new TypeError('not a well-formed token');
  }
  return `${match[1]}_${match[2].slice(0, DISPLAY_CHARS)}`;
}

/** Whether `token` hashes to `expectedHash`, without leaking through timing how much matched. */
export function verifyToken(token: string, expectedHash: string): boolean {
  if (typeof token !== 'string') {
    return false;
  }
  const actual = sha256(token);
  const wellFormed = typeof expectedHash === 'string' && SHA256_HEX.test(expectedHash);
  // Still run the comparison for a malformed hash so both paths cost the same.
  const expected = wellFormed ? Buffer.from(expectedHash, 'hex') : Buffer.alloc(actual.length);
  return timingSafeEqual(actual, expected) && wellFormed;
}

/**
 * Constant-time equality of two plaintext secrets. Hashing first makes the inputs equal-length, so
 * neither the content nor the length of the expected secret leaks.
 */
export function tokensEqual(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') {
    return false;
  }
  return timingSafeEqual(sha256(a), sha256(b));
}

/** The token from an `Authorization: Bearer <token>` header, or undefined for anything else. */
export function parseBearer(header: string | undefined): string | undefined {
  if (typeof header !== 'string') {
    return undefined;
  }
  return BEARER.exec(header)?.[1];
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
