import { TtlLru } from '../routing/ttl-lru';

/** Whether an org key (by id) is still good: not revoked, not expired, its org not deleted. */
export type KeyLookup = (keyId: string) => Promise<boolean>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Sessions stand on the org key that signed the visitor in: revoking that key ends them. Each
 * session check asks whether its key is still live, from a per-key cache kept for the same short
 * TTL as cached key lookups, so a revocation ends a key's sessions on every router within that
 * TTL, exactly as it ends the key's own use. Concurrent checks of one key share a single query.
 */
export class KeyLiveness {
  private readonly known: TtlLru<string, boolean>;
  private readonly pending = new Map<string, Promise<boolean>>();

  constructor(
    private readonly lookUp: KeyLookup,
    private readonly options: { readonly positiveTtlMs: number; readonly maxEntries: number },
  ) {
    this.known = new TtlLru(options.maxEntries);
  }

  /** Rejects when the key could not be checked (Postgres unreachable); that is not cached. */
  isLive(keyId: string, fresh = false): Promise<boolean> {
    if (!UUID.test(keyId)) return Promise.resolve(false);
    if (!fresh) {
      const cached = this.known.get(keyId);
      if (cached !== undefined && cached.expiresAt > Date.now()) {
        return Promise.resolve(cached.value);
      }
    }
    let pending = this.pending.get(keyId);
    if (pending === undefined) {
      pending = this.lookUp(keyId)
        .then((live) => {
          // A dead key never comes back to life, so its answer is worth keeping as long.
          this.known.set(keyId, live, this.options.positiveTtlMs);
          return live;
        })
        .finally(() => this.pending.delete(keyId));
      this.pending.set(keyId, pending);
    }
    return pending;
  }

  clear(): void {
    this.known.clear();
  }
}
