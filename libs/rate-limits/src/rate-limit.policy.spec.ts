import { describe, expect, it } from '@jest/globals';
import type { AuthRequirement } from '@molecule/auth';
import { policyLimit, routePolicy } from './rate-limit.policy';

const orgKey: AuthRequirement[] = [{ kind: 'org-key', role: 'viewer' }];
const open: AuthRequirement[] = [{ kind: 'public' }];

describe('routePolicy', () => {
  it('exempts the probes and the metrics scrape, whatever they declare', () => {
    for (const route of ['/healthz', '/readyz', '/metrics']) {
      expect(routePolicy(route, undefined, open)).toBe('exempt');
      expect(routePolicy(route, 'auth', open)).toBe('exempt');
    }
  });

  it('takes the route’s own declaration first', () => {
    expect(routePolicy('/registry/register', 'auth', orgKey)).toBe('auth');
    expect(routePolicy('/registry/heartbeat', 'exempt', orgKey)).toBe('exempt');
    expect(routePolicy('/orgs/:slug/status', 'default', open)).toBe('default');
  });

  it('puts undeclared @Public() routes under the public policy, the rest under default', () => {
    expect(routePolicy('/orgs/:slug/status', undefined, open)).toBe('public');
    expect(routePolicy('/v1/orgs/:slug', undefined, orgKey)).toBe('default');
    expect(routePolicy(undefined, undefined, [])).toBe('default');
  });
});

describe('policyLimit', () => {
  const limits = {
    windowSeconds: 60,
    defaultLimit: 600,
    authLimit: 30,
    publicLimit: 120,
    redisTimeoutMs: 500,
    trustProxyHops: 0,
  };

  it('maps each policy to its configured limit', () => {
    expect(policyLimit('default', limits)).toBe(600);
    expect(policyLimit('auth', limits)).toBe(30);
    expect(policyLimit('public', limits)).toBe(120);
  });
});
