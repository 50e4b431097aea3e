import { isOrgEventType, type OrgEventData, type OrgEventRecord } from './event-types';

/** Limits of one payload: events are notifications, not a data channel. */
export const MAX_DATA_BYTES = 2048;
const MAX_KEYS = 20;
const MAX_STRING = 300;
const MAX_LIST = 50;

/** Redis keys and channels live under the configured prefix (tests isolate by prefix). */
export function orgEventsKey(prefix: string, orgId: string): string {
  return `${prefix}:events:${orgId}`;
}

export function orgEventsChannel(prefix: string, orgId: string): string {
  return `${prefix}:events:${orgId}:live`;
}

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

export function isStreamId(value: string): boolean {
  return STREAM_ID.test(value);
}

/** Orders two Redis stream ids (`<ms>-<seq>`) numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = parts(a);
  const [bm, bs] = parts(b);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

function parts(id: string): [bigint, bigint] {
  const match = STREAM_ID.exec(id);
  if (!match) throw new Error('not a stream id');
  return [BigInt(match[1]), BigInt(match[2])];
}

/** The Redis server time an id was assigned at, which is the event's timestamp. */
export function timestampOf(id: string): number {
  return Number(parts(id)[0]);
}

/**
 * Checks a payload and serialises it. Throws (to the publisher, which logs and counts it) when
 * the type is unknown or the payload is not a small flat record of scalars.
 */
export function encodeData(type: string, data: OrgEventData): string {
  if (!isOrgEventType(type)) throw new Error(`unknown event type ${JSON.stringify(type)}`);
  const entries = Object.entries(data).filter(([, value]) => value !== undefined);
  if (entries.length > MAX_KEYS) throw new Error(`a ${type} payload has too many fields`);
  for (const [key, value] of entries) {
    const ok = Array.isArray(value)
      ? value.length <= MAX_LIST && value.every((item) => isScalar(item) && item !== null)
      : isScalar(value);
    if (!ok) throw new Error(`field ${key} of a ${type} payload is not a short scalar`);
  }
  const json = JSON.stringify(Object.fromEntries(entries));
  if (Buffer.byteLength(json) > MAX_DATA_BYTES) throw new Error(`a ${type} payload is too large`);
  return json;
}

function isScalar(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
      return value.length <= MAX_STRING;
    case 'number':
      return Number.isFinite(value);
    case 'boolean':
      return true;
    default:
      return value === null;
  }
}

/** A stored or announced event back into its record; null when it is malformed. */
export function decodeEvent(id: string, type: string, data: string): OrgEventRecord | null {
  if (!isStreamId(id)) return null;
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    return {
      id,
      event: { type, timestamp: timestampOf(id), data: parsed as Record<string, unknown> },
    };
  } catch {
    return null;
  }
}

/** The live announcement carries the whole event, so listeners need no read-back. */
export function decodeAnnouncement(message: string): OrgEventRecord | null {
  const first = message.indexOf('\n');
  const second = message.indexOf('\n', first + 1);
  if (first < 0 || second < 0) return null;
  return decodeEvent(
    message.slice(0, first),
    message.slice(first + 1, second),
    message.slice(second + 1),
  );
}

/** XRANGE entries (`[id, [field, value, …]]`) into records, skipping malformed ones. */
export function decodeEntries(entries: [string, string[]][]): OrgEventRecord[] {
  return entries.flatMap(([id, fields]) => {
    const values = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i], fields[i + 1]);
    const record = decodeEvent(id, values.get('type') ?? '', values.get('data') ?? '');
    return record ? [record] : [];
  });
}
