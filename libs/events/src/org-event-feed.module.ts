import { Module } from '@nestjs/common';
import { OrgEventFeed } from './org-event-feed';

/**
 * The reading side, for the services that stream events to clients (the API). Every module
 * that needs the feed imports this one, so a process has one feed and one subscriber connection.
 */
@Module({ providers: [OrgEventFeed], exports: [OrgEventFeed] })
export class OrgEventFeedModule {}
