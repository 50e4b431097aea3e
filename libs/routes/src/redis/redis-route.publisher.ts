import { Redis, type RedisOptions } from 'ioredis';
import {
  assertGeneration,
  assertSlug,
  decodeRouteEntry,
  encodeRouteEntry,
  RouteEntryFormatError,
} from '../route-entry.codec';
import type { RouteEntry, RoutePublisher } from '../route-publisher';

/** The route table: one hash, field = slug, value = the JSON entry. */
export function routeTableKey(prefix: string): string {
  return `${prefix}:routes`;
}

/** Every accepted write to the route table announces `{ slug, generation }` here. */
export function routeChannel(prefix: string): string {
  return `${prefix}:routes:changed`;
}

/** What the route table announces on `routeChannel(prefix)`. */
export interface RouteInvalidation {
  slug: string;
  generation: number;
}

// Both scripts read the stored generation and write in one step, so no other writer can slip in
// between the check and the write, and PUBLISH in the same script means a subscriber hears of
// every accepted write, in the order the writes happened. A stored value that is not JSON with a
// numeric generation was not written by this code; it counts as older than anything, so a
// publish or remove replaces it instead of the slug staying broken for good.
const STORED_GENERATION_LUA = `
local function storedGeneration(stored)
  local ok, current = pcall(cjson.decode, stored)
  if ok and type(current) == 'table' and type(current.generation) == 'number' then
    return current.generation
  end
  return -1
end
`;

/** KEYS[1] table; ARGV: slug, entry JSON, generation, channel, message. Returns 1 if written. */
const PUBLISH_LUA = `${STORED_GENERATION_LUA}
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored and storedGeneration(stored) > tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`;

/**
 * KEYS[1] table; ARGV: slug, generation, channel, message. Returns 0 if a newer entry was kept,
 * 1 if the entry was deleted, 2 if there was none (nothing changed, so nothing is announced).
 */
const REMOVE_LUA = `${STORED_GENERATION_LUA}
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if not stored then
  return 2
end
if storedGeneration(stored) > tonumber(ARGV[2]) then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

// Names are specific to this module so they cannot clash with commands defined by other code on
// the shared client. ioredis sends EVALSHA and falls back to EVAL when the script is not cached.
const PUBLISH_COMMAND = 'moleculeRoutePublish';
const REMOVE_COMMAND = 'moleculeRouteRemove';

interface RouteCommands {
  [PUBLISH_COMMAND](
    table: string,
    slug: string,
    json: string,
    generation: number,
    channel: string,
    message: string,
  ): Promise<number>;
  [REMOVE_COMMAND](
    table: string,
    slug: string,
    generation: number,
    channel: string,
    message: string,
  ): Promise<number>;
}

/**
 * The route table the edge router reads: generation-checked writes, each announced on
 * `routeChannel(prefix)` so edge-router replicas drop their cached entry.
 */
export class RedisRoutePublisher implements RoutePublisher {
  readonly name = 'redis' as const;
  private readonly table: string;
  private readonly channel: string;
  private readonly commands: RouteCommands;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.table = routeTableKey(prefix);
    this.channel = routeChannel(prefix);
    redis.defineCommand(PUBLISH_COMMAND, { numberOfKeys: 1, lua: PUBLISH_LUA });
    redis.defineCommand(REMOVE_COMMAND, { numberOfKeys: 1, lua: REMOVE_LUA });
    this.commands = redis as unknown as RouteCommands;
  }

  async publish(entry: RouteEntry): Promise<boolean> {
    const json = encodeRouteEntry(entry);
    const written = await this.commands[PUBLISH_COMMAND](
      this.table,
      entry.slug,
      json,
      entry.generation,
      this.channel,
      invalidationMessage(entry.slug, entry.generation),
    );
    return written === 1;
  }

  /** True when the slug has no entry at or below `generation` afterwards (also if it had none). */
  async remove(slug: string, generation: number): Promise<boolean> {
    assertSlug(slug);
    assertGeneration(generation);
    const result = await this.commands[REMOVE_COMMAND](
      this.table,
      slug,
      generation,
      this.channel,
      invalidationMessage(slug, generation),
    );
    return result !== 0;
  }

  async get(slug: string): Promise<RouteEntry | undefined> {
    const raw = await this.redis.hget(this.table, slug);
    return raw === null ? undefined : decodeRouteEntry(raw, `${this.table} ${slug}`);
  }
}

function invalidationMessage(slug: string, generation: number): string {
  return JSON.stringify({ slug, generation } satisfies RouteInvalidation);
}

function parseInvalidation(message: string): RouteInvalidation {
  const value = JSON.parse(message) as unknown;
  if (typeof value === 'object' && value !== null) {
    const { slug, generation } = value as Record<string, unknown>;
    assertSlug(slug);
    assertGeneration(generation);
    return { slug, generation };
  }
  throw new RouteEntryFormatError('A route invalidation must be an object');
}

export interface RouteInvalidationHandlers {
  /**
   * Called each time the subscriber connection comes back after a drop. Messages sent while it
   * was down are lost (Redis pub/sub does not queue them), so drop every cached route here.
   */
  onReconnect?(): void;
  /** A connection error, a malformed message, or an error thrown by `onChange`. */
  onError?(error: Error): void;
}

export interface RouteInvalidationSubscription {
  close(): Promise<void>;
}

/** Listens to route table changes; the edge router uses it to invalidate its cache. */
export class RouteInvalidations {
  /**
   * Opens a dedicated connection (a subscribed connection cannot run other commands) and
   * resolves once the subscription is active. Messages that arrive earlier are not seen.
   */
  static async subscribe(
    redisUrlOrOptions: string | RedisOptions,
    prefix: string,
    onChange: (slug: string, generation: number) => void,
    handlers: RouteInvalidationHandlers = {},
  ): Promise<RouteInvalidationSubscription> {
    const defaults: RedisOptions = { connectionName: 'molecule-route-invalidations' };
    // ioredis would resubscribe by itself, but only after announcing 'ready'; subscribing here
    // tells us when the subscription is active again, which is when `onReconnect` must run.
    const forced: RedisOptions = { autoResubscribe: false };
    const subscriber =
      typeof redisUrlOrOptions === 'string'
        ? new Redis(redisUrlOrOptions, { ...defaults, ...forced })
        : new Redis({ ...defaults, ...redisUrlOrOptions, ...forced });
    const channel = routeChannel(prefix);
    const report = (error: unknown) =>
      handlers.onError?.(error instanceof Error ? error : new Error(String(error)));

    // Without a listener, ioredis prints connection errors to the console itself.
    subscriber.on('error', report);
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      try {
        const { slug, generation } = parseInvalidation(message);
        onChange(slug, generation);
      } catch (error) {
        report(error);
      }
    });

    try {
      await subscriber.subscribe(channel);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    // Registered after the first subscription, so it only sees reconnects.
    subscriber.on('ready', () => {
      subscriber.subscribe(channel).then(() => {
        try {
          handlers.onReconnect?.();
        } catch (error) {
          report(error);
        }
      }, report);
    });

    return {
      async close() {
        if (subscriber.status === 'end') return;
        const ended = new Promise<void>((resolve) => subscriber.once('end', () => resolve()));
        // A subscriber has nothing to flush, so there is no need for a graceful QUIT, which
        // would wait for a reconnect if Redis were down.
        subscriber.disconnect();
        await ended;
      },
    };
  }
}
