import { compareStreamIds } from './event-codec';
import type { OrgEventRecord } from './event-types';

/**
 * Joins a catch-up read with live announcements without a gap or a repeat. The listener is
 * subscribed first and its live events wait here while the stored ones are read; then both are
 * passed on in id order, each id once. Announcements arrive in stream order (one script appends
 * and announces), so anything at or below the last id passed on is a duplicate.
 */
export class ResumeGate {
  private waiting: OrgEventRecord[] | null = [];
  private last: string | undefined;

  constructor(
    after: string | undefined,
    private readonly emit: (record: OrgEventRecord) => void,
  ) {
    this.last = after;
  }

  /** A live announcement: held until `open`, passed on after. */
  live(record: OrgEventRecord): void {
    if (this.waiting) this.waiting.push(record);
    else this.pass(record);
  }

  /** Passes on the stored events read after subscribing, then the held live ones. */
  open(stored: readonly OrgEventRecord[]): void {
    for (const record of stored) this.pass(record);
    const held = this.waiting ?? [];
    this.waiting = null;
    for (const record of held) this.pass(record);
  }

  /** The id of the last event passed on (or the resume point when none was). */
  get lastId(): string | undefined {
    return this.last;
  }

  private pass(record: OrgEventRecord): void {
    if (this.last !== undefined && compareStreamIds(record.id, this.last) <= 0) return;
    this.last = record.id;
    this.emit(record);
  }
}
