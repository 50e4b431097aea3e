import { randomUUID } from 'node:crypto';
import { A2A_PROTOCOL_VERSION, Role } from '@a2a-js/sdk';
import type { AgentCard, Message } from '@a2a-js/sdk';
import { AgentEvent } from '@a2a-js/sdk/server';
import type { AgentExecutor, ExecutionEventBus, RequestContext } from '@a2a-js/sdk/server';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';

/**
 * The reference agent: one skill, ECHO, that answers every message with its text prefixed
 * `echo: `. Enough to prove the A2A path end to end (registry proxy, both protocol versions,
 * streaming) without a model behind it.
 */

/** Served paths, relative to the agent's public URL. */
export const AGENT_CARD_PATH = '/.well-known/agent-card.json';
export const JSONRPC_PATH = '/a2a/jsonrpc';
export const ECHO_PREFIX = 'echo: ';
const TEXT = 'text/plain';

export interface AgentIdentity {
  workspaceId: string;
  name: string;
  runtime: string;
  publicUrl: string;
  version: string;
}

/**
 * The v1.0 card. The JSON-RPC interface is declared for v1.0 and mirrored for v0.3: the SDK's
 * compat layer serves v0.3 requests only on a binding whose card lists 0.3.
 */
export function buildAgentCard(identity: AgentIdentity): AgentCard {
  const url = `${identity.publicUrl}${JSONRPC_PATH}`;
  return {
    name: identity.name,
    description: `Molecule workspace ${identity.workspaceId} (runtime ${identity.runtime}): echoes every message.`,
    supportedInterfaces: duplicateInterfacesForLegacy(
      [{ url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: A2A_PROTOCOL_VERSION }],
      ['JSONRPC'],
    ),
    provider: { organization: 'Molecule', url: identity.publicUrl },
    version: identity.version,
    capabilities: {
      streaming: true,
      pushNotifications: false,
      extensions: [],
      extendedAgentCard: false,
    },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: [TEXT],
    defaultOutputModes: [TEXT],
    skills: [
      {
        id: 'echo',
        name: 'Echo',
        description: `Replies with the text it received, prefixed "${ECHO_PREFIX}".`,
        tags: ['echo', 'reference'],
        examples: ['hello'],
        inputModes: [TEXT],
        outputModes: [TEXT],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
}

/**
 * The same card in v0.3 shape, for clients that send no `A2A-Version` (which A2A reads as 0.3).
 * The SDK builds this inside its Express handler but does not export the translation, and this
 * runtime has no Express. Like the SDK's, it keeps the v1.0 `supportedInterfaces` alongside, so a
 * v1.0 client that forgot the header still finds them.
 */
export function toLegacyAgentCard(card: AgentCard): Record<string, unknown> {
  const legacy = card.supportedInterfaces.find(
    (entry) => entry.protocolBinding === 'JSONRPC' && entry.protocolVersion === '0.3',
  );
  const url = legacy?.url ?? card.supportedInterfaces[0]?.url ?? '';
  return {
    protocolVersion: '0.3',
    name: card.name,
    description: card.description,
    url,
    preferredTransport: 'JSONRPC',
    additionalInterfaces: [{ url, transport: 'JSONRPC' }],
    provider: card.provider,
    version: card.version,
    capabilities: {
      streaming: card.capabilities?.streaming ?? false,
      pushNotifications: card.capabilities?.pushNotifications ?? false,
    },
    defaultInputModes: card.defaultInputModes,
    defaultOutputModes: card.defaultOutputModes,
    skills: card.skills.map((skill) => ({
      id: skill.id,
      name: skill.name,
      description: skill.description,
      tags: skill.tags,
      examples: skill.examples,
      inputModes: skill.inputModes,
      outputModes: skill.outputModes,
    })),
    supportsAuthenticatedExtendedCard: false,
    supportedInterfaces: card.supportedInterfaces,
  };
}

/** What the heartbeat reports: tasks in flight, totals, and failures since the last beat. */
export interface TaskStatsSnapshot {
  activeTasks: number;
  tasksTotal: number;
  /** Failed / finished since the last acknowledged snapshot; 0 when nothing finished. */
  errorRate: number;
  finished: number;
  failed: number;
}

export class TaskStats {
  private active = 0;
  private total = 0;
  private windowFinished = 0;
  private windowFailed = 0;

  started(): void {
    this.active += 1;
    this.total += 1;
  }

  finished(failed: boolean): void {
    this.active = Math.max(0, this.active - 1);
    this.windowFinished += 1;
    if (failed) this.windowFailed += 1;
  }

  snapshot(): TaskStatsSnapshot {
    const finished = this.windowFinished;
    const failed = this.windowFailed;
    return {
      activeTasks: this.active,
      tasksTotal: this.total,
      errorRate: finished === 0 ? 0 : failed / finished,
      finished,
      failed,
    };
  }

  /**
   * Closes the error window a snapshot covered, once the registry has it: a beat that never
   * arrived must not lose the failures it carried, and tasks finished meanwhile stay counted.
   */
  acknowledge(snapshot: TaskStatsSnapshot): void {
    this.windowFinished = Math.max(0, this.windowFinished - snapshot.finished);
    this.windowFailed = Math.max(0, this.windowFailed - snapshot.failed);
  }
}

export class EchoAgentExecutor implements AgentExecutor {
  constructor(readonly stats: TaskStats = new TaskStats()) {}

  async execute(context: RequestContext, eventBus: ExecutionEventBus): Promise<void> {
    this.stats.started();
    let failed = true;
    try {
      const reply: Message = {
        messageId: randomUUID(),
        contextId: context.contextId,
        // A plain message answers without creating a task: there is nothing to track.
        taskId: '',
        role: Role.ROLE_AGENT,
        parts: [
          {
            content: { $case: 'text', value: `${ECHO_PREFIX}${textOf(context.userMessage)}` },
            metadata: undefined,
            filename: '',
            mediaType: TEXT,
          },
        ],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      };
      eventBus.publish(AgentEvent.message(reply));
      eventBus.finished();
      failed = false;
    } finally {
      this.stats.finished(failed);
    }
  }

  async cancelTask(): Promise<void> {
    // Echo answers at once with a message, never a task, so there is never anything to cancel.
  }
}

/** The text parts of a message, one per line; other parts (files, data) are not echoed. */
export function textOf(message: Message): string {
  return (message.parts ?? [])
    .flatMap((part) => (part.content?.$case === 'text' ? [part.content.value] : []))
    .join('\n');
}
