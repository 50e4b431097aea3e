import type { PipeTransform } from '@nestjs/common';
import { createValidationPipe } from '@molecule/platform';
import { HeartbeatDto, type UsageDto } from './heartbeat.dto';

const BEAT_FIELDS = new Set(['status', 'activeTasks', 'errorRate', 'usage']);
const USAGE_FIELDS = new Set(['tasksTotal', 'cpuSeconds', 'costCents', 'rssBytes']);
const MAX_COST_CENTS = 1_000_000_000;

/** `@IsNumber()`: JSON can spell Infinity (`1e999`), which it refuses. */
const isNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);
const isCount = (value: unknown): value is number =>
  Number.isInteger(value) && (value as number) >= 0;
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
/** `@IsOptional()`: absent and null are accepted as "not reported". */
const absent = (value: unknown): value is null | undefined => value === undefined || value === null;

function hasOnly(value: Record<string, unknown>, fields: Set<string>): boolean {
  for (const key in value) if (!fields.has(key)) return false;
  return true;
}

/**
 * A copy with the fields in the order the DTO declares them, as the pipe's class instance has
 * them: the stored JSON of `usage` is then the same byte for byte whichever path a body took.
 */
function wellFormedUsage(value: unknown): UsageDto | undefined {
  if (!isPlainObject(value) || !hasOnly(value, USAGE_FIELDS)) return undefined;
  const { tasksTotal, cpuSeconds, costCents, rssBytes } = value;
  const valid =
    isCount(tasksTotal) &&
    (absent(cpuSeconds) || (isNumber(cpuSeconds) && cpuSeconds >= 0)) &&
    (absent(costCents) || (isCount(costCents) && costCents <= MAX_COST_CENTS)) &&
    (absent(rssBytes) || isCount(rssBytes));
  return valid ? ({ tasksTotal, cpuSeconds, costCents, rssBytes } as UsageDto) : undefined;
}

/**
 * The heartbeat, when the body is a well-formed beat as JSON parsing produced it: plain objects
 * with only `HeartbeatDto`'s fields, each within its rules. It accepts a subset of what the
 * global validation pipe accepts for `HeartbeatDto`, and returns what the pipe would (a unit
 * test holds it to both), in well under a microsecond where the pipe's class-transformer and
 * class-validator pass costs tens. Undefined for anything else: {@link HeartbeatValidation}
 * then asks the pipe.
 */
export function wellFormedHeartbeat(body: unknown): HeartbeatDto | undefined {
  if (!isPlainObject(body) || !hasOnly(body, BEAT_FIELDS)) return undefined;
  const { status, activeTasks, errorRate, usage } = body;
  if (
    (status !== 'ok' && status !== 'degraded') ||
    !isCount(activeTasks) ||
    !isNumber(errorRate) ||
    errorRate < 0 ||
    errorRate > 1
  ) {
    return undefined;
  }
  if (absent(usage)) return { status, activeTasks, errorRate, usage: usage as undefined };
  const report = wellFormedUsage(usage);
  return report && { status, activeTasks, errorRate, usage: report };
}

/**
 * Validates heartbeat bodies for the lean route with the rules, answers and error envelope of
 * the global validation pipe: well-formed beats take the fast path, everything else (malformed
 * bodies, and the rare valid forms the fast path does not know) goes through that pipe itself.
 */
export class HeartbeatValidation {
  private readonly pipe: PipeTransform = createValidationPipe();

  async parse(body: unknown): Promise<HeartbeatDto> {
    return (
      wellFormedHeartbeat(body) ??
      ((await this.pipe.transform(body, { type: 'body', metatype: HeartbeatDto })) as HeartbeatDto)
    );
  }
}
