import { afterEach, describe, expect, it } from '@jest/globals';
import { UpstreamDeadlines, UpstreamTimeoutError, type Deadlined } from './upstream-deadlines';

describe('UpstreamDeadlines', () => {
  let deadlines: UpstreamDeadlines | undefined;

  afterEach(() => deadlines?.close());

  const exchange = (deadline: number) => {
    const expired: number[] = [];
    const watched: Deadlined = { deadline, deadlineSlot: -1, expire: () => expired.push(deadline) };
    return { watched, expired };
  };

  it('expires each exchange once, when its deadline has passed, and forgets it', () => {
    deadlines = new UpstreamDeadlines(30_000, 300_000);
    const early = exchange(100);
    const late = exchange(200);
    deadlines.watch(early.watched);
    deadlines.watch(late.watched);
    deadlines.check(99);
    expect(early.expired).toEqual([]);
    deadlines.check(150);
    deadlines.check(160);
    expect(early.expired).toEqual([100]);
    expect(late.expired).toEqual([]);
    expect(deadlines.size).toBe(1);
    // A moved deadline (new data arrived) is honoured.
    late.watched.deadline = 500;
    deadlines.check(300);
    expect(late.expired).toEqual([]);
    deadlines.unwatch(late.watched);
    deadlines.check(1_000);
    expect(late.expired).toEqual([]);
    expect(deadlines.size).toBe(0);
  });

  it('keeps the right exchanges when others leave from anywhere in the list', () => {
    deadlines = new UpstreamDeadlines(30_000, 300_000);
    const all = Array.from({ length: 10 }, (_, i) => exchange(100 + i));
    for (const { watched } of all) deadlines.watch(watched);
    deadlines.watch(all[0].watched); // watching twice changes nothing
    expect(deadlines.size).toBe(10);
    for (const i of [0, 9, 4, 5]) deadlines.unwatch(all[i].watched);
    deadlines.unwatch(all[4].watched); // nor does leaving twice
    expect(deadlines.size).toBe(6);
    deadlines.check(106.5);
    expect(all.flatMap((e) => e.expired)).toEqual(expect.arrayContaining([101, 102, 103, 106]));
    expect(all.flatMap((e) => e.expired)).toHaveLength(4);
    expect(deadlines.size).toBe(2);
    deadlines.check(1_000);
    expect(all.flatMap((e) => e.expired).sort()).toEqual([101, 102, 103, 106, 107, 108]);
    expect(deadlines.size).toBe(0);
    // An exchange can be watched again once it has left.
    deadlines.watch(all[0].watched);
    expect(deadlines.size).toBe(1);
  });

  it('checks by itself, often enough for short limits', async () => {
    deadlines = new UpstreamDeadlines(40, 1_000);
    const soon = exchange(performance.now() + 20);
    deadlines.watch(soon.watched);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(soon.expired).toHaveLength(1);
  });

  it('names the phase in the error code the proxy maps to 504', () => {
    expect(new UpstreamTimeoutError('headers').code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(new UpstreamTimeoutError('body').code).toBe('UND_ERR_BODY_TIMEOUT');
  });
});
