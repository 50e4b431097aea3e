import { describe, expect, it } from '@jest/globals';
import {
  compareStreamIds,
  decodeAnnouncement,
  decodeEntries,
  encodeData,
  isStreamId,
  orgEventsChannel,
  orgEventsKey,
} from './event-codec';

describe('event codec', () => {
  it('keeps keys and channels under the configured prefix, one per org', () => {
    expect(orgEventsKey('molecule-test-x', 'org-1')).toBe('molecule-test-x:events:org-1');
    expect(orgEventsChannel('molecule-test-x', 'org-1')).toBe('molecule-test-x:events:org-1:live');
    expect(orgEventsKey('p', 'org-1')).not.toBe(orgEventsKey('p', 'org-2'));
  });

  it('orders stream ids numerically, not as text', () => {
    expect(compareStreamIds('9-0', '10-0')).toBe(-1);
    expect(compareStreamIds('10-2', '10-10')).toBe(-1);
    expect(compareStreamIds('1700000000000-5', '1700000000000-5')).toBe(0);
    expect(compareStreamIds('1700000000001-0', '1700000000000-99')).toBe(1);
  });

  it('recognises only stream ids', () => {
    expect(isStreamId('1700000000000-0')).toBe(true);
    for (const bad of ['', '1700000000000', 'abc-1', '1-2-3', '-1-0', '1-0\nid: 2-0'])
      expect(isStreamId(bad)).toBe(false);
  });

  it('accepts small flat payloads of ids, statuses and counts', () => {
    const json = encodeData('workspace.status', {
      workspaceId: 'ws-1',
      status: 'online',
      previous: undefined,
      attempts: 2,
      ok: true,
      ids: ['a', 'b'],
    });
    expect(JSON.parse(json)).toEqual({
      workspaceId: 'ws-1',
      status: 'online',
      attempts: 2,
      ok: true,
      ids: ['a', 'b'],
    });
  });

  it('refuses unknown types, nested objects, long text and large payloads', () => {
    expect(() => encodeData('secret.leaked', {})).toThrow(/unknown event type/);
    expect(() => encodeData('a2a.call', { body: { text: 'hi' } } as never)).toThrow(/body/);
    expect(() => encodeData('memory.proposed', { content: 'x'.repeat(301) })).toThrow(/content/);
    expect(() => encodeData('a2a.call', { durationMs: Number.NaN })).toThrow(/durationMs/);
    const wide = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]));
    expect(() => encodeData('a2a.call', wide)).toThrow(/too many fields/);
    const big = Object.fromEntries(
      Array.from({ length: 15 }, (_, i) => [`k${i}`, 'y'.repeat(200)]),
    );
    expect(() => encodeData('a2a.call', big)).toThrow(/too large/);
  });

  it('reads an announcement back into the envelope, stamped with the id time', () => {
    const record = decodeAnnouncement(
      '1700000000123-4\nworkspace.status\n{"workspaceId":"ws-1","status":"offline"}',
    );
    expect(record).toEqual({
      id: '1700000000123-4',
      event: {
        type: 'workspace.status',
        timestamp: 1700000000123,
        data: { workspaceId: 'ws-1', status: 'offline' },
      },
    });
    expect(decodeAnnouncement('garbage')).toBeNull();
    expect(decodeAnnouncement('1-0\nworkspace.status\nnot json')).toBeNull();
    expect(decodeAnnouncement('1-0\nworkspace.status\n[1]')).toBeNull();
  });

  it('reads stream entries, skipping malformed ones', () => {
    expect(
      decodeEntries([
        ['5-0', ['type', 'a2a.call', 'data', '{"callerId":"a"}']],
        ['6-0', ['type', 'a2a.call', 'data', '{oops']],
        ['7-0', ['data', '{"memoryId":"m"}', 'type', 'memory.approved']],
      ]),
    ).toEqual([
      { id: '5-0', event: { type: 'a2a.call', timestamp: 5, data: { callerId: 'a' } } },
      { id: '7-0', event: { type: 'memory.approved', timestamp: 7, data: { memoryId: 'm' } } },
    ]);
  });
});
