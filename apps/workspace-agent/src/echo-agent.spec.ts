import { describe, expect, it } from '@jest/globals';
import { Role } from '@a2a-js/sdk';
import type { Message } from '@a2a-js/sdk';
import { TaskStats, buildAgentCard, textOf, toLegacyAgentCard } from './echo-agent';

const IDENTITY = {
  workspaceId: '0b6f7c1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  name: 'Echo',
  runtime: 'reference',
  publicUrl: 'http://10.0.0.5:4100',
  version: '0.1.0',
};

describe('agent card', () => {
  it('declares the JSON-RPC endpoint for v1.0 and v0.3, and the echo skill', () => {
    const card = buildAgentCard(IDENTITY);
    expect(card.supportedInterfaces).toEqual([
      {
        url: 'http://10.0.0.5:4100/a2a/jsonrpc',
        protocolBinding: 'JSONRPC',
        tenant: '',
        protocolVersion: '1.0',
      },
      expect.objectContaining({ url: 'http://10.0.0.5:4100/a2a/jsonrpc', protocolVersion: '0.3' }),
    ]);
    expect(card.capabilities?.streaming).toBe(true);
    expect(card.skills.map((skill) => skill.id)).toEqual(['echo']);
  });

  it('has a v0.3 shape with the endpoint as url', () => {
    expect(toLegacyAgentCard(buildAgentCard(IDENTITY))).toMatchObject({
      protocolVersion: '0.3',
      name: 'Echo',
      url: 'http://10.0.0.5:4100/a2a/jsonrpc',
      preferredTransport: 'JSONRPC',
      capabilities: { streaming: true, pushNotifications: false },
      skills: [expect.objectContaining({ id: 'echo' })],
    });
  });
});

describe('textOf', () => {
  it('joins the text parts and skips the others', () => {
    const message = {
      messageId: 'm',
      contextId: '',
      taskId: '',
      role: Role.ROLE_USER,
      parts: [
        {
          content: { $case: 'text', value: 'hello' },
          metadata: undefined,
          filename: '',
          mediaType: '',
        },
        {
          content: { $case: 'data', value: { a: 1 } },
          metadata: undefined,
          filename: '',
          mediaType: '',
        },
        {
          content: { $case: 'text', value: 'world' },
          metadata: undefined,
          filename: '',
          mediaType: '',
        },
      ],
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    } satisfies Message;
    expect(textOf(message)).toBe('hello\nworld');
  });
});

describe('TaskStats', () => {
  it('reports active and total tasks, and the error rate of the unacknowledged window', () => {
    const stats = new TaskStats();
    stats.started();
    stats.started();
    stats.started();
    stats.finished(false);
    stats.finished(true);
    const first = stats.snapshot();
    expect(first).toMatchObject({ activeTasks: 1, tasksTotal: 3, errorRate: 0.5 });

    // Not acknowledged (the beat failed): the failure is still reported next time.
    stats.finished(false);
    const second = stats.snapshot();
    expect(second).toMatchObject({ activeTasks: 0, tasksTotal: 3, errorRate: 1 / 3 });

    stats.acknowledge(second);
    expect(stats.snapshot()).toMatchObject({ activeTasks: 0, tasksTotal: 3, errorRate: 0 });
  });

  it('keeps tasks finished after a snapshot for the next window', () => {
    const stats = new TaskStats();
    stats.started();
    stats.finished(true);
    const snapshot = stats.snapshot();
    stats.started();
    stats.finished(false);
    stats.acknowledge(snapshot);
    expect(stats.snapshot()).toMatchObject({ errorRate: 0, finished: 1, tasksTotal: 2 });
  });
});
