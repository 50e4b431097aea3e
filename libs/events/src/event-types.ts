/**
 * The live events of an org, as `GET /v1/orgs/:slug/events` streams them. Payloads carry ids,
 * statuses and counts only: never secrets, message text or memory content.
 */
export const ORG_EVENT_TYPES = [
  'workspace.status',
  'provisioning.step',
  'provisioning.progress',
  'a2a.call',
  'memory.proposed',
  'memory.approved',
  'memory.rejected',
] as const;

export type OrgEventType = (typeof ORG_EVENT_TYPES)[number];

/** A payload value: scalars, or flat lists of them. Nested objects are refused. */
export type OrgEventValue = string | number | boolean | null | readonly (string | number)[];

export type OrgEventData = Readonly<Record<string, OrgEventValue | undefined>>;

/** The documented payload of each type (publishers may add ids, statuses or counts). */
export interface OrgEventPayloads {
  'workspace.status': { workspaceId: string; status: string; previous?: string; reason?: string };
  /** A step of an org or workspace operation started (`running`) or ended. */
  'provisioning.step': {
    operationId: string;
    kind: string;
    resourceType: string;
    resourceId: string;
    step: string;
    state: 'running' | 'done' | 'failed';
  };
  /** The operation's status and the percent of its steps done (100 once it succeeded). */
  'provisioning.progress': {
    operationId: string;
    kind: string;
    resourceType: string;
    resourceId: string;
    status: string;
    percent: number;
  };
  'a2a.call': {
    callerId: string;
    targetId: string;
    method: string;
    status: number | string;
    durationMs: number;
  };
  'memory.proposed': { memoryId: string; workspaceId?: string; scope?: string };
  'memory.approved': { memoryId: string; workspaceId?: string; scope?: string };
  'memory.rejected': { memoryId: string; workspaceId?: string; scope?: string };
}

/**
 * The wire envelope, compatible with AG-UI events: `type`, `timestamp` (milliseconds since the
 * epoch, as AG-UI's BaseEvent has it) and the payload under `data`.
 */
export interface OrgEventEnvelope {
  type: string;
  timestamp: number;
  data: Record<string, unknown>;
}

/** One stored event: its stream id (also the SSE `id:`) and its envelope. */
export interface OrgEventRecord {
  id: string;
  event: OrgEventEnvelope;
}

/**
 * Sent, without an id, to a client that resumed from an id older than the retained window: it
 * may have missed events and should re-read the state it shows.
 */
export const RESYNC_EVENT_TYPE = 'events.resync';

export function isOrgEventType(value: string): value is OrgEventType {
  return (ORG_EVENT_TYPES as readonly string[]).includes(value);
}
