import { describe, expect, it } from '@jest/globals';
import { TtlLru } from './ttl-lru';

describe('TtlLru', () => {
  it('evicts an entry that was not read since it was added, before one that was', () => {
    const lru = new TtlLru<string, number>(2);
    lru.set('a', 1, 1_000);
    lru.set('b', 2, 1_000);
    lru.get('a');
    lru.set('c', 3, 1_000);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')?.value).toBe(1);
    expect(lru.get('c')?.value).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('evicts the oldest entry when every entry was read', () => {
    const lru = new TtlLru<string, number>(2);
    lru.set('a', 1, 1_000);
    lru.set('b', 2, 1_000);
    lru.get('a');
    lru.get('b');
    lru.set('c', 3, 1_000);
    expect(lru.size).toBe(2);
    expect(lru.get('a')).toBeUndefined();
  });

  it('replaces a value in place, with a new expiry', () => {
    const lru = new TtlLru<string, number>(2);
    lru.set('a', 1, 10, 1_000);
    lru.set('a', 2, 10, 2_000);
    expect(lru.get('a')).toMatchObject({ value: 2, expiresAt: 2_010 });
    expect(lru.size).toBe(1);
  });

  it('keeps expired entries and says when they expired', () => {
    const lru = new TtlLru<string, number>(4);
    lru.set('a', 1, 10, 1_000);
    expect(lru.get('a')).toMatchObject({ value: 1, expiresAt: 1_010 });
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new TtlLru(0)).toThrow(RangeError);
  });
});
