import { describe, expect, it } from '@jest/globals';
import { defaultEdgeOptions } from '../../test/default-options';
import { normaliseFingerprint, UpstreamCertificateError, UpstreamPools } from './upstream-pools';

const HEX = 'ab'.repeat(32);

describe('normaliseFingerprint', () => {
  it.each([
    [HEX, HEX],
    [HEX.toUpperCase(), HEX],
    [HEX.match(/../g)!.join(':').toUpperCase(), HEX],
    [`sha256:${HEX}`, HEX],
    [`SHA-256/${HEX}`, HEX],
  ])('accepts %s', (input, expected) => {
    expect(normaliseFingerprint(input)).toBe(expected);
  });

  it.each(['', 'ab:cd', 'zz'.repeat(32), `${HEX}00`, undefined])('refuses %s', (input) => {
    expect(normaliseFingerprint(input)).toBeUndefined();
  });
});

describe('UpstreamPools', () => {
  const options = defaultEdgeOptions().upstream;

  it('shares one pool per origin and pinned certificate', async () => {
    const pools = new UpstreamPools(options);
    const a = pools.get({ protocol: 'http', address: '127.0.0.1', port: 9 });
    const b = pools.get({ protocol: 'http', address: '127.0.0.1', port: 9 });
    const c = pools.get({ protocol: 'https', address: '127.0.0.1', port: 9, tlsFingerprint: HEX });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    await pools.close(0);
    expect(a.retired).toBe(true);
  });

  it('fails closed for HTTPS without a usable fingerprint', async () => {
    const pools = new UpstreamPools(options);
    expect(() => pools.get({ protocol: 'https', address: '127.0.0.1', port: 9 })).toThrow(
      UpstreamCertificateError,
    );
    expect(() =>
      pools.get({ protocol: 'https', address: '127.0.0.1', port: 9, tlsFingerprint: 'nope' }),
    ).toThrow(UpstreamCertificateError);
    await pools.close(0);
  });

  it('closes pools that sat idle', async () => {
    const pools = new UpstreamPools(options, 1_000);
    const a = pools.get({ protocol: 'http', address: '127.0.0.1', port: 9 });
    pools.sweep(a.lastUsed + 2_000);
    expect(a.retired).toBe(true);
    expect(pools.get({ protocol: 'http', address: '127.0.0.1', port: 9 })).not.toBe(a);
    await pools.close(0);
  });
});
