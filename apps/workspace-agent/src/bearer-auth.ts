import { createHash, timingSafeEqual } from 'node:crypto';

// RFC 6750 b64token; anything else after the scheme is not a bearer credential.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * A check of `Authorization: Bearer <token>` against one expected token. Both sides are hashed
 * first, so the comparison is constant-time and equal-length whatever was sent, and neither the
 * content nor the length of the expected token leaks through timing.
 */
export function bearerCheck(expectedToken: string): (header: string | undefined) => boolean {
  const expected = sha256(expectedToken);
  return (header) => {
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    // Compare even when there is no token, so a missing header costs the same as a wrong one.
    const matches = timingSafeEqual(sha256(token ?? ''), expected);
    return matches && token !== undefined;
  };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
