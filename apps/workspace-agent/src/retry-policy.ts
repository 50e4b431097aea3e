/**
 * The timing math of the runtime's calls to the registry, kept pure so it can be tested without
 * clocks. `random` is injectable for the same reason.
 */

/** Heartbeats are spread ±10 % so that workspaces booted together do not beat in lockstep. */
export const HEARTBEAT_JITTER = 0.1;
/** The longest wait between heartbeats while the registry is unreachable. */
export const HEARTBEAT_BACKOFF_CAP_MS = 60_000;
/** Boot retries start fast (a registry restarting is back within a second or two)... */
export const BOOT_RETRY_BASE_MS = 250;
/** ...and never wait long, because the whole boot retry window is only ~30 s. */
export const BOOT_RETRY_CAP_MS = 5_000;

/** `ms` moved uniformly within ±`fraction` of itself. */
export function jittered(
  ms: number,
  fraction: number = HEARTBEAT_JITTER,
  random: () => number = Math.random,
): number {
  return ms * (1 + fraction * (2 * random() - 1));
}

/**
 * The wait before retry number `failures` (1 for the first retry): `baseMs` doubled per
 * consecutive failure, capped at `capMs`. Never below `baseMs`: when the registry asks for beats
 * slower than the cap, a failing registry must not get them faster than a healthy one.
 */
export function backoffDelay(failures: number, baseMs: number, capMs: number): number {
  if (failures <= 0) return baseMs;
  // 2^30 is already far past any cap; a larger exponent would only risk Infinity.
  const doubled = baseMs * 2 ** Math.min(failures - 1, 30);
  return Math.max(baseMs, Math.min(capMs, doubled));
}

/** The wait before the next heartbeat: the interval, or the backoff after failures; jittered. */
export function nextHeartbeatDelay(
  intervalMs: number,
  failures: number,
  random: () => number = Math.random,
): number {
  const base =
    failures === 0 ? intervalMs : backoffDelay(failures, intervalMs, HEARTBEAT_BACKOFF_CAP_MS);
  return jittered(base, HEARTBEAT_JITTER, random);
}

/** The wait before boot retry number `attempt`, cut to what is left of the deadline. */
export function bootRetryDelay(
  attempt: number,
  remainingMs: number,
  random: () => number = Math.random,
): number {
  const delay = jittered(backoffDelay(attempt, BOOT_RETRY_BASE_MS, BOOT_RETRY_CAP_MS), 0.2, random);
  return Math.max(0, Math.min(delay, remainingMs));
}
