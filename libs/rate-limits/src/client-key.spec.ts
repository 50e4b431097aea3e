import { describe, expect, it } from '@jest/globals';
import { clientAddress, principalTracker } from './client-key';

describe('principalTracker', () => {
  it('keys workspaces by workspace, so its bootstrap and session tokens share a bucket', () => {
    const ids = { tokenId: 't1', workspaceId: 'w1', orgId: 'o1' };
    expect(principalTracker({ kind: 'workspace-token', ...ids })).toBe('ws:w1');
    expect(principalTracker({ kind: 'workspace-bootstrap', ...ids, tokenId: 't2' })).toBe('ws:w1');
  });

  it('keys org and partner keys by key id, so two keys of one org have separate buckets', () => {
    expect(principalTracker({ kind: 'org-key', keyId: 'k1', orgId: 'o1', role: 'admin' })).toBe(
      'key:k1',
    );
    expect(principalTracker({ kind: 'org-key', keyId: 'k2', orgId: 'o1', role: 'admin' })).toBe(
      'key:k2',
    );
    expect(principalTracker({ kind: 'partner-key', keyId: 'p1', scopes: [] })).toBe('key:p1');
  });

  it('keys the platform admin as one principal', () => {
    expect(principalTracker({ kind: 'platform-admin' })).toBe('admin');
  });
});

describe('clientAddress', () => {
  it('uses the socket address and ignores X-Forwarded-For unless proxies are trusted', () => {
    expect(clientAddress('203.0.113.7', undefined, 0)).toBe('203.0.113.7');
    expect(clientAddress('203.0.113.7', '198.51.100.1', 0)).toBe('203.0.113.7');
    expect(clientAddress('203.0.113.7', ['198.51.100.1', '198.51.100.2'], 0)).toBe('203.0.113.7');
  });

  it('behind one trusted proxy, takes the entry that proxy appended, not a forged one', () => {
    // The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the address it saw.
    expect(clientAddress('10.0.0.2', '1.1.1.1, 203.0.113.7', 1)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.2', '203.0.113.7', 1)).toBe('203.0.113.7');
  });

  it('behind two trusted proxies, skips the second proxy’s own entry', () => {
    expect(clientAddress('10.0.0.3', '9.9.9.9, 203.0.113.7, 10.0.0.2', 2)).toBe('203.0.113.7');
  });

  it('without the header, or with fewer entries than proxies, falls back to what it has', () => {
    expect(clientAddress('203.0.113.7', undefined, 1)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.3', '203.0.113.7', 3)).toBe('203.0.113.7');
  });

  it('joins repeated X-Forwarded-For headers in order', () => {
    expect(clientAddress('10.0.0.2', ['1.1.1.1', '203.0.113.7'], 1)).toBe('203.0.113.7');
  });

  it('strips ports and brackets a proxy may add', () => {
    expect(clientAddress('10.0.0.2', '203.0.113.7:51234', 1)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.2', '[2001:db8::1]:443', 1)).toBe('2001:db8::/64');
  });

  it('falls back to the socket address when the trusted entry is not an address', () => {
    expect(clientAddress('10.0.0.2', 'unknown', 1)).toBe('10.0.0.2');
    expect(clientAddress('10.0.0.2', '1.1.1.1, <script>', 1)).toBe('10.0.0.2');
  });

  it('groups IPv6 clients by /64 and unwraps IPv4-mapped addresses', () => {
    expect(clientAddress('2001:db8:1:2:aaaa::1', undefined, 0)).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8:1:2:bbbb::9', undefined, 0)).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8:1:3::1', undefined, 0)).toBe('2001:db8:1:3::/64');
    expect(clientAddress('::ffff:203.0.113.7', undefined, 0)).toBe('203.0.113.7');
  });

  it('never returns an empty key', () => {
    expect(clientAddress(undefined, undefined, 0)).toBe('unknown');
  });
});
