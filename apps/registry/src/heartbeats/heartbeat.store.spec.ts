import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '@molecule/config';
import type { Redis } from 'ioredis';
import { HeartbeatStore } from './heartbeat.store';

/** Records the commands of each pipeline; `exec` resolves, or rejects with `failure`. */
class FakeRedis {
  readonly pipelines: unknown[][][] = [];
  failure: Error | undefined;

  pipeline() {
    const commands: unknown[][] = [];
    this.pipelines.push(commands);
    const chain = {
      hincrby: (...args: unknown[]) => (commands.push(['hincrby', ...args]), chain),
      hset: (...args: unknown[]) => (commands.push(['hset', ...args]), chain),
      expire: (...args: unknown[]) => (commands.push(['expire', ...args]), chain),
      zadd: (...args: unknown[]) => (commands.push(['zadd', ...args]), chain),
      exec: () =>
        this.failure
          ? Promise.reject(this.failure)
          : Promise.resolve(commands.map(() => [null, 1])),
    };
    return chain;
  }
}

function store(redis: FakeRedis): HeartbeatStore {
  const config = loadConfig('registry', {
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused',
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: 'p',
    MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    HEARTBEAT_INTERVAL_SECONDS: '15',
    HEARTBEAT_MISSED_BEFORE_OFFLINE: '4',
  });
  return new HeartbeatStore(redis as unknown as Redis, config);
}

describe('HeartbeatStore.record', () => {
  it('writes the beats recorded in one turn of the event loop in one pipeline', async () => {
    const redis = new FakeRedis();
    const beats = store(redis);
    await Promise.all([
      beats.record('w1', { status: 'ok', activeTasks: 1, errorRate: 0 }, 1000),
      beats.record(
        'w2',
        {
          status: 'degraded',
          activeTasks: 0,
          errorRate: 0.5,
          usage: { tasksTotal: 3, costCents: 4 },
        },
        1001,
      ),
    ]);
    expect(redis.pipelines).toEqual([
      [
        [
          'hset',
          'p:heartbeat:w1',
          'at',
          1000,
          'status',
          'ok',
          'activeTasks',
          1,
          'errorRate',
          0,
          'usage',
          '{}',
        ],
        ['expire', 'p:heartbeat:w1', 300],
        ['zadd', 'p:heartbeats', 1000, 'w1'],
        ['hincrby', 'p:heartbeat-spend', 'w2', 4],
        [
          'hset',
          'p:heartbeat:w2',
          'at',
          1001,
          'status',
          'degraded',
          'activeTasks',
          0,
          'errorRate',
          0.5,
          'usage',
          '{"tasksTotal":3,"costCents":4}',
        ],
        ['expire', 'p:heartbeat:w2', 300],
        ['zadd', 'p:heartbeats', 1001, 'w2'],
      ],
    ]);
  });

  it('starts a new pipeline for beats recorded after the previous one was written', async () => {
    const redis = new FakeRedis();
    const beats = store(redis);
    await beats.record('w1', { status: 'ok', activeTasks: 0, errorRate: 0 }, 1000);
    await beats.record('w1', { status: 'ok', activeTasks: 0, errorRate: 0 }, 2000);
    expect(redis.pipelines).toHaveLength(2);
  });

  it('fails every beat of a pipeline Redis did not take, and recovers for the next ones', async () => {
    const redis = new FakeRedis();
    const beats = store(redis);
    redis.failure = new Error('Connection is closed.');
    const outcomes = await Promise.allSettled([
      beats.record('w1', { status: 'ok', activeTasks: 0, errorRate: 0 }),
      beats.record('w2', { status: 'ok', activeTasks: 0, errorRate: 0 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    redis.failure = undefined;
    await expect(
      beats.record('w1', { status: 'ok', activeTasks: 0, errorRate: 0 }),
    ).resolves.toBeUndefined();
    expect(redis.pipelines).toHaveLength(2);
  });
});
