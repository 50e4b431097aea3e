/**
 * The JSON-RPC methods the control plane relays to an agent: sending (plain and streaming),
 * reading and cancelling tasks, and resubscribing to a task's stream, in the names of A2A v1.0
 * (as `@a2a-js/sdk` 1.3 speaks it) and of v0.3 (older runtimes). Push-notification settings are
 * not relayed: they would let one agent make another call arbitrary URLs.
 */
const METHODS = {
  SendMessage: { streaming: false },
  SendStreamingMessage: { streaming: true },
  GetTask: { streaming: false },
  CancelTask: { streaming: false },
  ListTasks: { streaming: false },
  SubscribeToTask: { streaming: true },
  'message/send': { streaming: false },
  'message/stream': { streaming: true },
  'tasks/get': { streaming: false },
  'tasks/cancel': { streaming: false },
  'tasks/resubscribe': { streaming: true },
} as const satisfies Record<string, { streaming: boolean }>;

export type RelayedMethod = keyof typeof METHODS;

export function isRelayedMethod(method: unknown): method is RelayedMethod {
  return typeof method === 'string' && Object.hasOwn(METHODS, method);
}

export function isStreamingMethod(method: RelayedMethod): boolean {
  return METHODS[method].streaming;
}

export const RELAYED_METHODS: readonly RelayedMethod[] = Object.keys(METHODS) as RelayedMethod[];
