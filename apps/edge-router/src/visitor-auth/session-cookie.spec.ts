import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import {
  clearedSessionCookies,
  cookieValue,
  SESSION_COOKIES,
  sessionCookie,
  setsSessionCookie,
  visitorUsesHttps,
  withoutSessionCookies,
} from './session-cookie';

describe('session cookies', () => {
  it('reads the prefixed cookie first, wherever it stands', () => {
    expect(
      cookieValue('a=1; molecule_session=plain; __Host-molecule_session=safe', SESSION_COOKIES),
    ).toBe('safe');
    expect(cookieValue('a=1;molecule_session=plain', SESSION_COOKIES)).toBe('plain');
    expect(cookieValue('a=1; b=2', SESSION_COOKIES)).toBeUndefined();
    expect(
      cookieValue('xmolecule_session=1; molecule_session_x=2', SESSION_COOKIES),
    ).toBeUndefined();
  });

  it('strips both session cookies and keeps the others in order', () => {
    expect(withoutSessionCookies('a=1; molecule_session=s; b=2;__Host-molecule_session=t; c')).toBe(
      'a=1; b=2; c',
    );
    expect(withoutSessionCookies('molecule_session=s')).toBeUndefined();
    expect(withoutSessionCookies('__Host-molecule_session=s; ')).toBeUndefined();
    // No session cookie: the header is passed as it came, without being taken apart.
    const header = 'a=1;b=2';
    expect(withoutSessionCookies(header)).toBe(header);
    // A cookie whose value merely mentions the name is not the session.
    expect(withoutSessionCookies('note=molecule_session')).toBe('note=molecule_session');
  });

  it('recognises a Set-Cookie for a session cookie', () => {
    expect(setsSessionCookie('molecule_session=x; Path=/')).toBe(true);
    expect(setsSessionCookie(' __Host-molecule_session=; Max-Age=0')).toBe(true);
    expect(setsSessionCookie('theme=molecule_session')).toBe(false);
    expect(setsSessionCookie('garbage')).toBe(false);
  });

  it('builds host-only cookies, Secure and prefixed over HTTPS', () => {
    expect(sessionCookie('v', 60, true)).toBe(
      '__Host-molecule_session=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax',
    );
    expect(sessionCookie('v', 60, false)).toBe(
      'molecule_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax',
    );
    for (const cleared of clearedSessionCookies()) {
      expect(cleared).toMatch(/=; Path=\/; Max-Age=0;/);
      expect(cleared).not.toMatch(/Domain/i);
    }
  });

  it('tells HTTPS visitors from their socket or the forwarded protocol', () => {
    const req = (encrypted: boolean, proto?: string) =>
      ({
        socket: { encrypted },
        headers: proto === undefined ? {} : { 'x-forwarded-proto': proto },
      }) as unknown as IncomingMessage;
    expect(visitorUsesHttps(req(true))).toBe(true);
    expect(visitorUsesHttps(req(false))).toBe(false);
    expect(visitorUsesHttps(req(false, 'HTTPS'))).toBe(true);
    expect(visitorUsesHttps(req(false, 'https, http'))).toBe(true);
    expect(visitorUsesHttps(req(false, 'http'))).toBe(false);
  });
});
