import { describe, expect, it } from '@jest/globals';
import type { Principal } from '@molecule/auth';
import { Registry } from 'prom-client';
import { defaultEdgeOptions } from '../../test/default-options';
import { EdgeMetrics } from '../metrics/edge-metrics';
import {
  VisitorAuthenticator,
  type SessionCookieVerifier,
  type Visitor,
} from './visitor-authenticator';

const ORG = 'org-a';
const KEY = `mol_ok_${'k'.repeat(43)}`;
const VISITOR: Visitor = { orgId: ORG, role: 'member', via: 'org-session:key-1' };

function authenticator(verify: SessionCookieVerifier['verify']) {
  const metrics = new EdgeMetrics(new Registry());
  const principal: Principal = { kind: 'org-key', keyId: 'key-2', orgId: ORG, role: 'viewer' };
  return new VisitorAuthenticator(
    async (token) => (token === KEY ? principal : undefined),
    defaultEdgeOptions().visitorAuth,
    metrics,
    { cookieNames: ['__Host-molecule_session', 'molecule_session'], verify },
  );
}

describe('VisitorAuthenticator with session cookies', () => {
  it('admits a session of the host’s org', async () => {
    const auth = authenticator(async (value) => (value === 'good' ? VISITOR : undefined));
    expect(await auth.check({ cookie: 'x=1; molecule_session=good' }, ORG)).toEqual({
      kind: 'allowed',
      visitor: VISITOR,
    });
  });

  it('refuses another org’s session with 403 and an unknown one with 401', async () => {
    const auth = authenticator(async (value) => (value === 'good' ? VISITOR : undefined));
    expect(await auth.check({ cookie: 'molecule_session=good' }, 'org-b')).toEqual({
      kind: 'forbidden',
    });
    expect(await auth.check({ cookie: 'molecule_session=bad' }, ORG)).toEqual({
      kind: 'rejected',
    });
  });

  it('treats a Cookie header without a session as no credential', () => {
    const auth = authenticator(async () => VISITOR);
    expect(auth.check({ cookie: 'theme=dark' }, ORG)).toEqual({ kind: 'missing' });
  });

  it('answers "unavailable" when the session cannot be checked', async () => {
    const auth = authenticator(() => Promise.reject(new Error('Redis down')));
    expect(await auth.check({ cookie: 'molecule_session=good' }, ORG)).toEqual({
      kind: 'unavailable',
    });
  });

  it('prefers an API key over a cookie', async () => {
    const auth = authenticator(async () => VISITOR);
    const decision = await auth.check({ 'x-api-key': KEY, cookie: 'molecule_session=good' }, ORG);
    expect(decision).toEqual({
      kind: 'allowed',
      visitor: { orgId: ORG, role: 'viewer', via: 'org-key:key-2' },
    });
  });
});
