import type Cloudflare from 'cloudflare';
import {
  assertGeneration,
  assertSlug,
  decodeRouteEntry,
  encodeRouteEntry,
} from '../route-entry.codec';
import type { RouteEntry, RoutePublisher } from '../route-publisher';

export const CLOUDFLARE_API_BASE_URL = 'https://api.cloudflare.com/client/v4';

type CloudflareSdk = typeof import('cloudflare');
let loaded: CloudflareSdk | undefined;

/**
 * The SDK, loaded by the first client rather than by every service that imports this library: it
 * is ~3.5 MB of source in ~1,200 files, ~10 MB of heap that the edge router (which reads routes
 * from Redis only) would otherwise carry through every full garbage collection.
 */
function cloudflareSdk(): CloudflareSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  return (loaded ??= require('cloudflare') as CloudflareSdk);
}

export interface CloudflareClientOptions {
  /** A string or anything with `reveal()`, such as the config's `Secret`. */
  apiToken: string | { reveal(): string };
  /** Must end in `/client/v4`. Defaults to Cloudflare's public API. */
  baseUrl?: string;
  /** Retries of failed requests (connection errors, 408, 409, 429, 5xx). Tests pass 0. */
  maxRetries?: number;
  timeoutMs?: number;
}

/** A Cloudflare client authenticated by an API token only. */
export function createCloudflareClient(options: CloudflareClientOptions): Cloudflare {
  const apiToken =
    typeof options.apiToken === 'string' ? options.apiToken : options.apiToken.reveal();
  return new (cloudflareSdk().default)({
    apiToken,
    // The SDK falls back to CLOUDFLARE_* environment variables for anything left undefined;
    // configuration comes from @molecule/config only, so every credential and the URL are set.
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: options.baseUrl ?? CLOUDFLARE_API_BASE_URL,
    maxRetries: options.maxRetries ?? 2,
    timeout: options.timeoutMs ?? 30_000,
  });
}

export interface CloudflareKvRoutePublisherOptions {
  client: Cloudflare;
  accountId: string;
  namespaceId: string;
}

/** The Workers KV key of a slug's route; the edge Worker reads the same key. */
export function routeKvKey(slug: string): string {
  return `route:${slug}`;
}

/** A Cloudflare API failure, with Cloudflare's own error codes and messages, never the token. */
export class CloudflareKvError extends Error {
  override readonly name = 'CloudflareKvError';

  constructor(
    message: string,
    /** HTTP status, or undefined when Cloudflare could not be reached. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Route entries in Workers KV, for a Worker serving `*.<BASE_DOMAIN>` at Cloudflare's edge.
 *
 * KV has no compare-and-set, so the generation check is a read followed by a write: two writers
 * racing on one slug could both pass the check and the older could land last. That is acceptable
 * because the provisioner serialises route writes per org through its operation lock, and Redis
 * (written first, atomically, by `CompositeRoutePublisher`) stays the source of truth. KV reads
 * are also eventually consistent (up to about 60 s at other locations), so a Worker may briefly
 * see the previous entry.
 */
export class CloudflareKvRoutePublisher implements RoutePublisher {
  readonly name = 'cloudflare' as const;
  private readonly client: Cloudflare;
  private readonly ids: { account_id: string; namespace_id: string };

  constructor(options: CloudflareKvRoutePublisherOptions) {
    this.client = options.client;
    this.ids = { account_id: options.accountId, namespace_id: options.namespaceId };
  }

  async publish(entry: RouteEntry): Promise<boolean> {
    const value = encodeRouteEntry(entry);
    const current = await this.get(entry.slug);
    if (current && current.generation > entry.generation) return false;
    const key = routeKvKey(entry.slug);
    await this.call('write', key, () =>
      this.client.kv.namespaces.values.update(key, { ...this.ids, value }),
    );
    return true;
  }

  /** True when the slug has no entry at or below `generation` afterwards (also if it had none). */
  async remove(slug: string, generation: number): Promise<boolean> {
    assertSlug(slug);
    assertGeneration(generation);
    const current = await this.get(slug);
    if (!current) return true;
    if (current.generation > generation) return false;
    const key = routeKvKey(slug);
    await this.call('delete', key, () => this.client.kv.namespaces.values.delete(key, this.ids));
    return true;
  }

  async get(slug: string): Promise<RouteEntry | undefined> {
    assertSlug(slug);
    const key = routeKvKey(slug);
    const raw = await this.call('read', key, async () => {
      try {
        const response = await this.client.kv.namespaces.values.get(key, this.ids);
        return await response.text();
      } catch (error) {
        // Only Cloudflare's "key not found": any other 404 (a wrong account or namespace id, a
        // base URL without /client/v4) is a configuration error, not a missing route.
        if (
          error instanceof cloudflareSdk().NotFoundError &&
          errorsOf(error).some((e) => e.code === KEY_NOT_FOUND)
        ) {
          return undefined;
        }
        throw error;
      }
    });
    return raw === undefined ? undefined : decodeRouteEntry(raw, `Workers KV ${key}`);
  }

  private async call<T>(action: string, key: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw toKvError(error, `Cloudflare KV ${action} of ${key} failed`);
    }
  }
}

/** Cloudflare's error code for a KV key that does not exist. */
const KEY_NOT_FOUND = 10009;

function errorsOf(error: { errors: unknown }): { code: number; message: string }[] {
  const errors: unknown = error.errors;
  return Array.isArray(errors) ? (errors as { code: number; message: string }[]) : [];
}

function toKvError(error: unknown, context: string): Error {
  // Only a client throws the SDK's errors, and making one loaded the SDK.
  const sdk = loaded;
  if (sdk !== undefined && error instanceof sdk.APIConnectionError) {
    return new CloudflareKvError(`${context}: could not reach the Cloudflare API`, undefined, {
      cause: error,
    });
  }
  if (sdk !== undefined && error instanceof sdk.APIError) {
    const status = error.status as number | undefined;
    const details = errorsOf(error)
      .map((e) => `${e.code}: ${e.message}`)
      .join('; ')
      .slice(0, 500);
    const hint =
      status === 401 || status === 403
        ? ' (the API token was refused: check CLOUDFLARE_API_TOKEN, its Workers KV Storage Edit permission and CLOUDFLARE_ACCOUNT_ID)'
        : status === 404
          ? ' (check CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_KV_NAMESPACE_ID)'
          : '';
    return new CloudflareKvError(
      `${context}: HTTP ${status ?? 'error'}${details ? ` ${details}` : ''}${hint}`,
      status,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(`${context}: ${String(error)}`);
}
