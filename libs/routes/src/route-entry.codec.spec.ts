import { describe, expect, it } from '@jest/globals';
import { decodeRouteEntry, encodeRouteEntry, RouteEntryFormatError } from './route-entry.codec';
import { exampleRouteEntry } from './route-publisher.contract';
import type { RouteEntry } from './route-publisher';

describe('route entry codec', () => {
  it('round-trips an entry and drops unknown fields', () => {
    const entry = exampleRouteEntry('acme', 3, { tlsFingerprint: 'AA:BB' });
    const json = encodeRouteEntry({ ...entry, plaintext: 'x' } as RouteEntry);
    expect(JSON.parse(json)).toEqual(entry);
    expect(decodeRouteEntry(JSON.stringify({ ...entry, extra: 1 }), 'here')).toEqual(entry);
  });

  it.each([
    ['slug', { slug: 'Not A Label' }],
    ['slug', { slug: '-acme' }],
    ['status', { status: 'deleted' }],
    ['port', { port: 70000 }],
    ['protocol', { protocol: 'ftp' }],
    ['generation', { generation: -1 }],
    ['generation', { generation: 2 ** 53 }],
    ['credential', { credential: '' }],
  ] as [string, Partial<RouteEntry>][])('refuses a bad %s', (field, override) => {
    const entry = { ...exampleRouteEntry('acme', 1), ...override };
    expect(() => encodeRouteEntry(entry)).toThrow(
      new RouteEntryFormatError(`Invalid route entry: ${field}`),
    );
  });

  it('names where a bad stored value is, never its content', () => {
    expect(() => decodeRouteEntry('{"credential":"marker"', 'table acme')).toThrow(
      'The route entry at table acme is not JSON',
    );
    expect(() => decodeRouteEntry('{"credential":"marker"}', 'table acme')).toThrow(
      'The route entry at table acme is malformed: slug',
    );
  });
});
