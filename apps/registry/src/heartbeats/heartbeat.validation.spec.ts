import { describe, expect, it } from '@jest/globals';
import { BadRequestException } from '@nestjs/common';
import { createValidationPipe } from '@molecule/platform';
import { HeartbeatDto } from './heartbeat.dto';
import { HeartbeatValidation, wellFormedHeartbeat } from './heartbeat.validation';

const ABSENT = Symbol('absent');
type Candidate = unknown;

/** Values for each field: valid ones, edge cases, and wrong types. */
const STATUS: Candidate[] = [ABSENT, 'ok', 'degraded', 'great', 'OK', null, 1, ['ok']];
const ACTIVE_TASKS: Candidate[] = [ABSENT, 0, 3, 1e15, -0, -1, 1.5, '1', null, Infinity, true];
const ERROR_RATE: Candidate[] = [ABSENT, 0, 0.25, 1, -0.1, 1.01, '0', null, NaN, Infinity];
const USAGE: Candidate[] = [
  ABSENT,
  null,
  {},
  { tasksTotal: 0 },
  { tasksTotal: 5, cpuSeconds: 1.5, costCents: 7, rssBytes: 100 },
  { costCents: 3, tasksTotal: 2 },
  { rssBytes: 1, cpuSeconds: 0, tasksTotal: 2 },
  { tasksTotal: 1, cpuSeconds: null, costCents: null, rssBytes: null },
  { tasksTotal: 1, costCents: 1_000_000_000 },
  { tasksTotal: 1, costCents: 1_000_000_001 },
  { tasksTotal: 1, costCents: 1.5 },
  { tasksTotal: 1, cpuSeconds: -1 },
  { tasksTotal: 1, cpuSeconds: Infinity },
  { tasksTotal: 1, rssBytes: 'x' },
  { tasksTotal: -1 },
  { tasksTotal: '1' },
  { tasksTotal: 1, extra: 1 },
  [],
  [{ tasksTotal: 1 }],
  [{ tasksTotal: -1 }],
  5,
  'x',
];
const EXTRA: Candidate[] = [ABSENT, true];

const FIELDS: [string, Candidate[]][] = [
  ['status', STATUS],
  ['activeTasks', ACTIVE_TASKS],
  ['errorRate', ERROR_RATE],
  ['usage', USAGE],
  ['extra', EXTRA],
];
const VALID: Record<string, Candidate> = {
  status: 'ok',
  activeTasks: 1,
  errorRate: 0,
  usage: ABSENT,
  extra: ABSENT,
};

/** Every body with one or two fields changed from a valid beat, in two field orders. */
function* bodies(): Generator<unknown> {
  const build = (changes: Record<string, Candidate>) => {
    const fields = Object.entries({ ...VALID, ...changes }).filter(([, v]) => v !== ABSENT);
    return [Object.fromEntries(fields), Object.fromEntries(fields.reverse())];
  };
  for (const [i, [first, firstValues]] of FIELDS.entries()) {
    for (const a of firstValues) {
      yield* build({ [first]: a });
      for (const [second, secondValues] of FIELDS.slice(i + 1)) {
        for (const b of secondValues) yield* build({ [first]: a, [second]: b });
      }
    }
  }
  yield* [undefined, null, 'ok', 5, true, [], [{ status: 'ok', activeTasks: 0, errorRate: 0 }]];
  yield Object.assign(Object.create(null) as object, {
    status: 'ok',
    activeTasks: 0,
    errorRate: 0,
  });
}

/** What the global validation pipe makes of a body: the DTO it hands on, or its 400. */
async function pipe(body: unknown): Promise<{ value: unknown } | { error: unknown }> {
  try {
    return {
      value: await createValidationPipe().transform(body, {
        type: 'body',
        metatype: HeartbeatDto,
      }),
    };
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return { error: (error as BadRequestException).getResponse() };
  }
}

describe('heartbeat validation', () => {
  it('takes the fast path only for bodies the validation pipe accepts, with the same content', async () => {
    let fast = 0;
    for (const body of bodies()) {
      const accepted = wellFormedHeartbeat(body);
      const reference = await pipe(body);
      if (accepted !== undefined) {
        fast += 1;
        expect({ body, reference }).toEqual({ body, reference: { value: expect.anything() } });
        // What is stored is the JSON of the beat: it must not depend on the path taken.
        expect(JSON.stringify(accepted)).toBe(
          JSON.stringify((reference as { value: unknown }).value),
        );
      } else if ('value' in reference) {
        // The only valid forms the fast path leaves to the pipe: usage sent as an array, and
        // objects JSON parsing does not make.
        const leftToPipe =
          Array.isArray((body as { usage?: unknown }).usage) ||
          Object.getPrototypeOf(body) === null;
        expect({ body, leftToPipe }).toEqual({ body, leftToPipe: true });
      }
    }
    expect(fast).toBeGreaterThan(100);
  });

  it('answers like the global pipe, error envelope included, whichever path a body takes', async () => {
    const validation = new HeartbeatValidation();
    for (const body of bodies()) {
      const reference = await pipe(body);
      const ours = await validation.parse(body).then(
        (value) => ({ value }),
        (error: unknown) => ({ error: (error as BadRequestException).getResponse() }),
      );
      if ('error' in reference) expect({ body, ours }).toEqual({ body, ours: reference });
      else expect(JSON.stringify(ours)).toBe(JSON.stringify(reference));
    }
  });

  it('accepts the beats the reference agent sends', () => {
    expect(wellFormedHeartbeat({ status: 'ok', activeTasks: 0, errorRate: 0 })).toBeDefined();
    expect(
      wellFormedHeartbeat({
        status: 'degraded',
        activeTasks: 2,
        errorRate: 0.5,
        usage: { tasksTotal: 10, cpuSeconds: 1.25, costCents: 3, rssBytes: 52_428_800 },
      }),
    ).toBeDefined();
  });
});
