import { describe, expect, it } from '@jest/globals';
import { INVALID_TENANT, MALFORMED_HOST, NOT_TENANT, tenantHostParser } from './tenant-host.parser';

describe('tenantHostParser', () => {
  const parse = tenantHostParser('apps.example.com');

  it.each([
    ['acme.apps.example.com', 'acme'],
    ['acme.apps.example.com:8443', 'acme'],
    ['ACME.Apps.Example.COM', 'acme'],
    ['acme.apps.example.com.', 'acme'],
    ['acme.localhost', 'acme'],
    ['acme.localhost:8080', 'acme'],
    ['acme.localhost:', 'acme'],
    ['a-1.localhost', 'a-1'],
  ])('reads %s as the slug %s', (host, slug) => {
    expect(parse(host)).toBe(slug);
  });

  it.each([
    'a.b.apps.example.com',
    '-acme.localhost',
    'acme-.localhost',
    'ac_me.localhost',
    `${'a'.repeat(64)}.localhost`,
  ])('reads %s as under the tenant domain but not a slug', (host) => {
    expect(parse(host)).toBe(INVALID_TENANT);
  });

  it.each([
    'acme.localhost:x',
    'acme.localhost:-1',
    'acme.apps.example.com:8443x',
    'acme.localhost:123456',
  ])('reads %s as a malformed Host', (host) => {
    expect(parse(host)).toBe(MALFORMED_HOST);
  });

  it.each([
    undefined,
    '',
    '127.0.0.1:8080',
    'localhost',
    'localhost:8080',
    'apps.example.com',
    'example.com',
    'acme.apps.example.com.evil.net',
    '[::1]:8080',
    'acme.example.org',
  ])('leaves %s to the router itself', (host) => {
    expect(parse(host)).toBe(NOT_TENANT);
  });
});
