export {
  compareStreamIds,
  decodeAnnouncement,
  decodeEntries,
  encodeData,
  isStreamId,
  orgEventsChannel,
  orgEventsKey,
} from './event-codec';
export { ORG_EVENT_TYPES, RESYNC_EVENT_TYPE, isOrgEventType } from './event-types';
export type {
  OrgEventData,
  OrgEventEnvelope,
  OrgEventPayloads,
  OrgEventRecord,
  OrgEventType,
  OrgEventValue,
} from './event-types';
export { OrgEvents } from './org-events';
export { OrgEventFeed } from './org-event-feed';
export { OrgEventFeedModule } from './org-event-feed.module';
export type { FeedItem } from './org-event-feed';
export { ResumeGate } from './resume-gate';
