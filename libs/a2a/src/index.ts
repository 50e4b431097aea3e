export { A2aGateway, pointCardAt } from './a2a-gateway.service';
export type { A2aCaller, A2aCallRequest, SendOptions } from './a2a-gateway.service';
export { A2aModule } from './a2a.module';
export { A2aRelay, AGENT_CARD_PATH, AGENT_JSONRPC_PATH, CALLER_HEADER } from './a2a-relay';
export type { RelayLimits, RelayResult } from './a2a-relay';
export { RELAYED_METHODS, isRelayedMethod, isStreamingMethod } from './relayed-methods';
export type { RelayedMethod } from './relayed-methods';
