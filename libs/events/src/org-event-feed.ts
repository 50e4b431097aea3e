import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import { closeRedis, REDIS } from '@molecule/redis';
import { Redis } from 'ioredis';
import { Observable } from 'rxjs';
import {
  compareStreamIds,
  decodeAnnouncement,
  decodeEntries,
  orgEventsChannel,
  orgEventsKey,
} from './event-codec';
import type { OrgEventRecord } from './event-types';
import { ResumeGate } from './resume-gate';

/**
 * What a follower receives: events; `ready` once it is live (after any catch-up), so a client
 * knows that anything published from then on reaches it; `resync` first when it resumed from
 * an id older than the retained window.
 */
export type FeedItem =
  { kind: 'event'; record: OrgEventRecord } | { kind: 'ready' } | { kind: 'resync' };

type Listener = (record: OrgEventRecord) => void;

/**
 * Reads org events for the SSE clients of this process. One subscriber connection per process
 * (not one per client) subscribes to the channel of each org that has a local client, for as
 * long as it has one, and dispatches announcements to them. A client that resumes reads the
 * stored events after its `Last-Event-ID` once its channel is subscribed, so an event published
 * meanwhile arrives by one path or the other and is passed on once.
 */
@Injectable()
export class OrgEventFeed implements OnModuleInit, OnApplicationShutdown {
  private subscriber!: Redis;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly subscribed = new Map<string, Promise<unknown>>();
  /** Completes every follower when the subscriber loses Redis: they resume by id elsewhere. */
  private readonly onLost = new Set<() => void>();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectPinoLogger(OrgEventFeed.name) private readonly logger: PinoLogger,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscriber = new Redis(this.config.redis.url.reveal(), {
      connectionName: `molecule-${this.config.service}-events`,
      lazyConnect: true,
      maxRetriesPerRequest: 2,
    });
    this.subscriber.on('message', (channel: string, message: string) =>
      this.dispatch(channel, message),
    );
    this.subscriber.on('error', (error: Error) =>
      this.logger.warn({ err: error.message }, 'org events subscriber error'),
    );
    // Announcements sent while the connection was down are lost to it: end the streams so that
    // clients reconnect with their Last-Event-ID and read what they missed from the stream.
    this.subscriber.on('close', () => {
      for (const lost of [...this.onLost]) lost();
    });
    await this.subscriber.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const lost of [...this.onLost]) lost();
    if (this.subscriber) await closeRedis(this.subscriber);
  }

  /** Local followers, for the metrics and tests. */
  get followers(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  /**
   * The org's events from now on, preceded (when `after` is given) by the retained ones after
   * that id. When `after` is older than the retained window, a `resync` item comes first.
   */
  follow(orgId: string, after?: string): Observable<FeedItem> {
    return new Observable<FeedItem>((subscriber) => {
      const gate = new ResumeGate(after, (record) => subscriber.next({ kind: 'event', record }));
      const listener: Listener = (record) => gate.live(record);
      const lost = () => subscriber.complete();
      this.onLost.add(lost);
      const ready = this.listen(orgId, listener);
      ready
        .then(async () => {
          if (after === undefined) {
            gate.open([]);
          } else {
            const { stored, gap } = await this.readAfter(orgId, after);
            if (subscriber.closed) return;
            if (gap) subscriber.next({ kind: 'resync' });
            gate.open(stored);
          }
          subscriber.next({ kind: 'ready' });
        })
        .catch((error: unknown) => subscriber.error(error));
      return () => {
        this.onLost.delete(lost);
        this.unlisten(orgId, listener);
      };
    });
  }

  /** Resolves once the org's channel is subscribed, so no later announcement is missed. */
  private listen(orgId: string, listener: Listener): Promise<unknown> {
    const channel = orgEventsChannel(this.config.redis.prefix, orgId);
    const set = this.listeners.get(channel) ?? new Set<Listener>();
    this.listeners.set(channel, set);
    set.add(listener);
    let subscribing = this.subscribed.get(channel);
    if (!subscribing) {
      const attempt = this.subscriber.subscribe(channel);
      // A failed subscription is tried again by the next follower of the org.
      attempt.catch(() => {
        if (this.subscribed.get(channel) === attempt) this.subscribed.delete(channel);
      });
      this.subscribed.set(channel, attempt);
      subscribing = attempt;
    }
    return subscribing;
  }

  private unlisten(orgId: string, listener: Listener): void {
    const channel = orgEventsChannel(this.config.redis.prefix, orgId);
    const set = this.listeners.get(channel);
    if (!set?.delete(listener) || set.size > 0) return;
    this.listeners.delete(channel);
    this.subscribed.delete(channel);
    // Commands on one connection run in order: a later SUBSCRIBE of the channel still wins.
    this.subscriber.unsubscribe(channel).catch(() => undefined);
  }

  private dispatch(channel: string, message: string): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    const record = decodeAnnouncement(message);
    if (!record) return;
    for (const listener of set) listener(record);
  }

  /**
   * The retained events after `after`, read in one MULTI with what the stream still holds, so a
   * trim cannot fall between them. A gap means events after `after` may be gone: `after` itself
   * was trimmed away (Redis does not record which ids a trim removed, so this also fires when
   * only `after` went), or the stream expired, which it does only after a whole window without
   * events.
   */
  private async readAfter(
    orgId: string,
    after: string,
  ): Promise<{ stored: OrgEventRecord[]; gap: boolean }> {
    const key = orgEventsKey(this.config.redis.prefix, orgId);
    const results = await this.redis
      .multi()
      .xinfo('STREAM', key)
      .xrange(key, `(${after}`, '+')
      .exec();
    if (!results) throw new Error('org events read was aborted');
    const [[infoError, info], [rangeError, entries]] = results;
    if (rangeError) throw rangeError;
    const stored = decodeEntries(entries as [string, string[]][]);
    if (infoError) return { stored, gap: true };
    const fields = info as unknown[];
    const field = (name: string) => {
      const index = fields.indexOf(name);
      return index >= 0 ? fields[index + 1] : undefined;
    };
    const first = field('first-entry');
    if (Array.isArray(first)) return { stored, gap: compareStreamIds(after, String(first[0])) < 0 };
    // An empty stream that generated ids after `after` lost them all.
    const last = field('last-generated-id');
    return { stored, gap: typeof last === 'string' && compareStreamIds(after, last) < 0 };
  }
}
