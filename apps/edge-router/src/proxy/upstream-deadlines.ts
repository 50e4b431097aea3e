/** An upstream exchange with a time limit; `deadline` is a `performance.now()` value. */
export interface Deadlined {
  deadline: number;
  /** Its place in the watch list, or -1 when not watched; only `UpstreamDeadlines` sets it. */
  deadlineSlot: number;
  /** Called once, when `deadline` has passed; the exchange is no longer watched then. */
  expire(): void;
}

/** The upstream did not send its response headers, or went silent within the body, in time. */
export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
  readonly code: 'UND_ERR_HEADERS_TIMEOUT' | 'UND_ERR_BODY_TIMEOUT';

  constructor(phase: 'headers' | 'body') {
    super(
      phase === 'headers'
        ? 'The upstream did not answer in time'
        : 'The upstream response went silent for too long',
    );
    this.code = phase === 'headers' ? 'UND_ERR_HEADERS_TIMEOUT' : 'UND_ERR_BODY_TIMEOUT';
  }
}

/**
 * The upstream time limits (headers, body idle) of every exchange in flight, checked by one timer.
 * Undici's own `headersTimeout`/`bodyTimeout` arm two timers per request (the phases have different
 * delays), which its timer wheel keeps for up to a second after the request ended. Measured on the
 * benchmark: ~300 B allocated and ~110 B promoted to the old generation per request, and
 * young-generation pauses about a third longer. Here an exchange only moves a number; the check
 * runs every quarter of the shorter limit (at most every second), so a limit fires up to that much
 * late, and counts from the dispatch (time waiting for a free connection included).
 *
 * The exchanges in flight are an array that each one knows its place in (removal swaps the last
 * one in), not a `Set`: a `Set` that every request adds to and deletes from rebuilds its table
 * every few dozen requests, and V8 links each discarded table to its successor. Once one table
 * has been promoted to the old generation (a full GC under load does it; so, in our runs, did a
 * change from light to heavy load), every later table, and every exchange it held, is kept alive
 * by its dead predecessor and promoted too: measured on the
 * benchmark, ~1.8 MB promoted per young-generation collection instead of ~25 KB, and collections
 * of ~5 ms instead of ~1 ms, until the process restarts.
 */
export class UpstreamDeadlines {
  private readonly watched: Deadlined[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly headersMs: number,
    readonly bodyIdleMs: number,
  ) {
    const interval = Math.min(1_000, Math.max(10, Math.floor(Math.min(headersMs, bodyIdleMs) / 4)));
    this.timer = setInterval(() => this.check(performance.now()), interval);
    this.timer.unref();
  }

  get size(): number {
    return this.watched.length;
  }

  watch(exchange: Deadlined): void {
    if (exchange.deadlineSlot >= 0) return;
    exchange.deadlineSlot = this.watched.length;
    this.watched.push(exchange);
  }

  unwatch(exchange: Deadlined): void {
    const slot = exchange.deadlineSlot;
    if (slot < 0 || this.watched[slot] !== exchange) return;
    exchange.deadlineSlot = -1;
    const last = this.watched.pop() as Deadlined;
    if (last !== exchange) {
      this.watched[slot] = last;
      last.deadlineSlot = slot;
    }
  }

  /** Expires every exchange whose deadline is at or before `now`. */
  check(now: number): void {
    // Backwards: removing an exchange moves the last one, already checked, into its place.
    for (let i = this.watched.length - 1; i >= 0; i--) {
      const exchange = this.watched[i];
      if (exchange !== undefined && exchange.deadline <= now) {
        this.unwatch(exchange);
        exchange.expire();
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
