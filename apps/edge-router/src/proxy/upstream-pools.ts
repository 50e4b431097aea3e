import type { TLSSocket } from 'node:tls';
import { buildConnector, Pool } from 'undici';
import type { ResolvedEdgeRouterOptions } from '../edge-router.options';

/** Thrown (and mapped to 502) when an HTTPS upstream shows another certificate than the pinned one. */
export class UpstreamCertificateError extends Error {
  override readonly name = 'UpstreamCertificateError';
  readonly code = 'UPSTREAM_CERTIFICATE_MISMATCH';
}

export interface UpstreamTarget {
  protocol: 'http' | 'https';
  address: string;
  port: number;
  /** SHA-256 of the DER certificate; required for `https`. */
  tlsFingerprint?: string;
}

/** A pool and its bookkeeping; a route keeps this handle, so marking use costs one write. */
export interface Upstream {
  readonly pool: Pool;
  lastUsed: number;
  /** Set when the pool was closed for idleness; the holder asks `get` for a new one. */
  retired: boolean;
}

/**
 * Normalises a recorded fingerprint to 64 lower-case hex digits. Accepts the usual spellings
 * (`AB:CD:…` as openssl and Node print it, plain hex, an optional `sha256:` prefix); anything else
 * is refused, so a malformed record can never turn into "no pinning".
 */
export function normaliseFingerprint(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const hex = value
    .trim()
    .replace(/^sha-?256[:/]/i, '')
    .replace(/:/g, '')
    .toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/**
 * One keep-alive `undici.Pool` per tenant host origin (and pinned certificate), shared by every
 * request to it. Pools that have not been used for a while are closed by `sweep`, so a recycled
 * address or a moved tenant does not keep sockets open forever.
 */
export class UpstreamPools {
  private readonly pools = new Map<string, Upstream>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly options: ResolvedEdgeRouterOptions['upstream'],
    private readonly idleCloseMs = 5 * 60_000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(idleCloseMs, 60_000));
    this.sweeper.unref();
  }

  /** The pool for this target. Throws for an HTTPS target without a usable fingerprint. */
  get(target: UpstreamTarget): Upstream {
    const fingerprint =
      target.protocol === 'https' ? normaliseFingerprint(target.tlsFingerprint) : undefined;
    if (target.protocol === 'https' && fingerprint === undefined) {
      // Fail closed: an HTTPS upstream is only trusted through its recorded certificate.
      throw new UpstreamCertificateError('The route has no valid certificate fingerprint');
    }
    const host = target.address.includes(':') ? `[${target.address}]` : target.address;
    const origin = `${target.protocol}://${host}:${target.port}`;
    const key = fingerprint === undefined ? origin : `${origin}#${fingerprint}`;
    let entry = this.pools.get(key);
    if (entry === undefined || entry.retired) {
      entry = { pool: this.create(origin, fingerprint), lastUsed: Date.now(), retired: false };
      this.pools.set(key, entry);
    }
    return entry;
  }

  sweep(now = Date.now()): void {
    for (const [key, entry] of this.pools) {
      if (now - entry.lastUsed > this.idleCloseMs && entry.pool.stats.running === 0) {
        this.pools.delete(key);
        entry.retired = true;
        entry.pool.close().catch(() => undefined);
      }
    }
  }

  /** Lets in-flight requests finish for `graceMs`, then cuts what is left. */
  async close(graceMs: number): Promise<void> {
    clearInterval(this.sweeper);
    const pools = [...this.pools.values()].map((e) => {
      e.retired = true;
      return e.pool;
    });
    this.pools.clear();
    await Promise.all(
      pools.map(async (pool) => {
        let timer: NodeJS.Timeout | undefined;
        const cut = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            pool.destroy().then(resolve, resolve);
          }, graceMs);
        });
        await Promise.race([pool.close().catch(() => undefined), cut]);
        clearTimeout(timer);
      }),
    );
  }

  private create(origin: string, fingerprint: string | undefined): Pool {
    const { connectionsPerHost, connectTimeoutMs } = this.options;
    return new Pool(origin, {
      connections: connectionsPerHost,
      pipelining: 1,
      // The headers and body-idle limits are the proxy's (UpstreamDeadlines): undici's per-request
      // timers cost more garbage than the rest of the router's own work.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: this.options.keepAliveTimeoutMs,
      keepAliveMaxTimeout: this.options.keepAliveTimeoutMs,
      connect:
        fingerprint === undefined
          ? { timeout: connectTimeoutMs }
          : pinnedConnector(fingerprint, connectTimeoutMs),
    });
  }
}

/**
 * A TLS connector that trusts exactly one certificate. Tenant hosts present self-signed
 * certificates recorded at provisioning, so chain validation cannot apply (and Node does not call
 * `checkServerIdentity` for an unverified chain): the chain check is off and the peer's
 * DER SHA-256 is compared instead, before a single byte of the request is written.
 */
function pinnedConnector(fingerprint: string, timeout: number): buildConnector.connector {
  const connect = buildConnector({ rejectUnauthorized: false, timeout });
  return (options, callback) => {
    connect(options, (error, socket) => {
      if (error !== null) {
        callback(error, null);
        return;
      }
      const peer = (socket as TLSSocket).getPeerCertificate?.();
      const actual = peer?.fingerprint256 === undefined ? '' : peer.fingerprint256;
      if (normaliseFingerprint(actual) !== fingerprint) {
        socket.destroy();
        callback(
          new UpstreamCertificateError('The upstream certificate is not the pinned one'),
          null,
        );
        return;
      }
      callback(null, socket);
    });
  };
}
