import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// Long enough for in-flight requests to finish, short enough for systemd's and docker's stop
// timeouts (90 s and 10 s) never to fall back to SIGKILL.
const DRAIN_TIMEOUT_MS = 5_000;

/** One JSON line on stdout, the shape the control plane's own logs have. Never pass secrets. */
export function logLine(msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ level: 'info', time: Date.now(), msg, ...fields })}\n`);
}

/** The same line at level error, on stderr, where hosts look for why a process stopped. */
export function logError(msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ level: 'error', time: Date.now(), msg, ...fields })}\n`);
}

/** Resolves once the server listens; rejects on EADDRINUSE and the like. */
export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * On SIGTERM or SIGINT, stops accepting connections, lets in-flight requests finish (up to a
 * deadline), then calls `onClosed`. A second signal gets node's default handling: exit at once.
 */
export function closeOnSignals(server: Server, onClosed: (signal: NodeJS.Signals) => void): void {
  const stop = (signal: NodeJS.Signals): void => {
    logLine('shutting down', { signal });
    void closeServer(server).then(() => onClosed(signal));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * Stops accepting connections and resolves once in-flight requests have finished, or once the
 * drain deadline has cut them off. Resolves at once for a server that never listened.
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise((done) => {
    if (!server.listening) {
      done();
      return;
    }
    server.close(() => done());
    // Idle keep-alive connections would otherwise hold close() open until they time out.
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS).unref();
  });
}
