import { describe, expect, it } from '@jest/globals';
import {
  BOOT_RETRY_CAP_MS,
  HEARTBEAT_BACKOFF_CAP_MS,
  backoffDelay,
  bootRetryDelay,
  jittered,
  nextHeartbeatDelay,
} from './retry-policy';

const low = (): number => 0;
const middle = (): number => 0.5;
// Math.random never returns 1; just below is its largest value.
const high = (): number => 0.999999;

describe('jittered', () => {
  it('stays within ±10 % by default, centred on the value', () => {
    expect(jittered(15_000, undefined, low)).toBeCloseTo(13_500);
    expect(jittered(15_000, undefined, middle)).toBe(15_000);
    expect(jittered(15_000, undefined, high)).toBeCloseTo(16_500, 0);
  });

  it('spreads uniformly with the real random source', () => {
    const samples = Array.from({ length: 2_000 }, () => jittered(1_000));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(900);
    expect(Math.max(...samples)).toBeLessThanOrEqual(1_100);
    const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
    expect(mean).toBeGreaterThan(990);
    expect(mean).toBeLessThan(1_010);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base per consecutive failure, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, 1_000, 60_000))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000,
    ]);
  });

  it('never goes below the base, even when the base is above the cap', () => {
    expect(backoffDelay(0, 15_000, 60_000)).toBe(15_000);
    expect(backoffDelay(3, 90_000, 60_000)).toBe(90_000);
  });

  it('stays finite after very many failures', () => {
    expect(backoffDelay(10_000, 200, 60_000)).toBe(60_000);
  });
});

describe('nextHeartbeatDelay', () => {
  it('is the interval, jittered, while heartbeats succeed', () => {
    expect(nextHeartbeatDelay(15_000, 0, middle)).toBe(15_000);
    expect(nextHeartbeatDelay(15_000, 0, low)).toBeCloseTo(13_500);
  });

  it('backs off from the interval after failures, capped at 60 s plus jitter', () => {
    expect(nextHeartbeatDelay(15_000, 1, middle)).toBe(15_000);
    expect(nextHeartbeatDelay(15_000, 2, middle)).toBe(30_000);
    expect(nextHeartbeatDelay(15_000, 3, middle)).toBe(HEARTBEAT_BACKOFF_CAP_MS);
    expect(nextHeartbeatDelay(15_000, 50, high)).toBeLessThanOrEqual(
      HEARTBEAT_BACKOFF_CAP_MS * 1.1,
    );
  });
});

describe('bootRetryDelay', () => {
  it('starts at a quarter second and caps at 5 s', () => {
    expect(bootRetryDelay(1, 30_000, middle)).toBe(250);
    expect(bootRetryDelay(2, 30_000, middle)).toBe(500);
    expect(bootRetryDelay(20, 30_000, middle)).toBe(BOOT_RETRY_CAP_MS);
  });

  it('never waits past the deadline', () => {
    expect(bootRetryDelay(10, 1_234, high)).toBe(1_234);
    expect(bootRetryDelay(1, -5, middle)).toBe(0);
  });

  it('sums to a bounded number of attempts within the default 30 s window', () => {
    let elapsed = 0;
    let attempts = 0;
    while (elapsed < 30_000) {
      attempts += 1;
      elapsed += bootRetryDelay(attempts, 30_000 - elapsed, middle);
    }
    // 0.25 + 0.5 + 1 + 2 + 4 + 5 × n: about ten tries, not a tight loop.
    expect(attempts).toBeGreaterThan(5);
    expect(attempts).toBeLessThan(15);
  });
});
