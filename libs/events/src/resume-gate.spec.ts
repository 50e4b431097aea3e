import { describe, expect, it } from '@jest/globals';
import type { OrgEventRecord } from './event-types';
import { ResumeGate } from './resume-gate';

const record = (id: string): OrgEventRecord => ({
  id,
  event: { type: 'workspace.status', timestamp: Number(id.split('-')[0]), data: {} },
});

describe('ResumeGate', () => {
  it('holds live events during the catch-up, then passes each id once, in order', () => {
    const passed: string[] = [];
    const gate = new ResumeGate('10-0', (r) => passed.push(r.id));
    // Published while the stored events were being read: some of them are in that read too.
    gate.live(record('12-0'));
    gate.live(record('13-0'));
    expect(passed).toEqual([]);
    gate.open([record('11-0'), record('12-0')]);
    expect(passed).toEqual(['11-0', '12-0', '13-0']);
    gate.live(record('13-0'));
    gate.live(record('14-0'));
    expect(passed).toEqual(['11-0', '12-0', '13-0', '14-0']);
    expect(gate.lastId).toBe('14-0');
  });

  it('never passes the resume point itself or anything before it', () => {
    const passed: string[] = [];
    const gate = new ResumeGate('10-1', (r) => passed.push(r.id));
    gate.open([record('9-0'), record('10-1'), record('10-2')]);
    gate.live(record('10-0'));
    expect(passed).toEqual(['10-2']);
  });

  it('passes everything live when there is no resume point', () => {
    const passed: string[] = [];
    const gate = new ResumeGate(undefined, (r) => passed.push(r.id));
    gate.live(record('1-0'));
    gate.open([]);
    gate.live(record('2-0'));
    expect(passed).toEqual(['1-0', '2-0']);
    expect(gate.lastId).toBe('2-0');
  });
});
