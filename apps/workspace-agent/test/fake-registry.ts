import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An in-memory registry that speaks the workspace side of the registry contract
 * (`/registry/register`, `/heartbeat`, `/boot-report`, `/token/rotate`) and records every call, so
 * the runtime can be tested as a real process without Postgres, Redis or the registry app.
 */

export interface RecordedCall {
  path: string;
  /** The bearer token sent, or undefined. */
  token: string | undefined;
  body: unknown;
  status: number;
  at: number;
}

interface BootstrapToken {
  workspaceId: string;
  used: boolean;
}

export class FakeRegistry {
  readonly calls: RecordedCall[] = [];
  /** What register and heartbeat replies tell the runtime to use. */
  intervalSeconds = 0.2;
  /** Refuse every register with 401, whatever the token (an expired bootstrap token, say). */
  refuseRegister = false;
  /** Answer the next `count` heartbeats with `status` instead (401 refused, 503 outage). */
  failHeartbeats = { status: 503, count: 0 };
  private readonly bootstrap = new Map<string, BootstrapToken>();
  private readonly sessions = new Map<string, string>();
  private readonly server: Server = createServer((req, res) => this.handle(req, res));
  private listeners: (() => void)[] = [];

  async start(): Promise<string> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  issueBootstrapToken(workspaceId: string): string {
    const token = `mol_wb_${randomBytes(32).toString('base64url')}`;
    this.bootstrap.set(token, { workspaceId, used: false });
    return token;
  }

  /** Every session token the registry has issued, in order. */
  sessionTokens(): string[] {
    return [...this.sessions.keys()];
  }

  revokeSessions(workspaceId: string): void {
    for (const [token, owner] of this.sessions) {
      if (owner === workspaceId) this.sessions.delete(token);
    }
  }

  callsTo(path: string): RecordedCall[] {
    return this.calls.filter((call) => call.path === path);
  }

  /** Resolves with the first recorded call that matches, waiting for it up to `timeoutMs`. */
  async waitForCall(
    match: (call: RecordedCall) => boolean,
    timeoutMs = 15_000,
  ): Promise<RecordedCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.calls.find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the fake registry did not see the expected call in time');
      await new Promise<void>((done) => {
        const timer = setTimeout(done, left);
        this.listeners.push(() => {
          clearTimeout(timer);
          done();
        });
      });
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const [status, reply] = this.route(req.method ?? '', req.url ?? '', token, body);
      this.calls.push({ path: req.url ?? '', token, body, status, at: Date.now() });
      const listeners = this.listeners;
      this.listeners = [];
      for (const listener of listeners) listener();
      if (reply === undefined) {
        res.writeHead(status).end();
      } else {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
      }
    });
  }

  private route(
    method: string,
    path: string,
    token: string | undefined,
    body: unknown,
  ): [number, unknown] {
    const unauthorized: [number, unknown] = [
      401,
      { error: { status: 401, code: 'invalid_token', message: 'Invalid workspace token' } },
    ];
    if (method !== 'POST') return [405, { error: { status: 405, code: 'method_not_allowed' } }];
    const sessionOwner = token === undefined ? undefined : this.sessions.get(token);
    switch (path) {
      case '/registry/register': {
        const workspaceId = (body as { workspaceId?: unknown } | undefined)?.workspaceId;
        if (this.refuseRegister || token === undefined || typeof workspaceId !== 'string') {
          return unauthorized;
        }
        const bootstrap = this.bootstrap.get(token);
        if (bootstrap !== undefined) {
          if (bootstrap.used || bootstrap.workspaceId !== workspaceId) return unauthorized;
          bootstrap.used = true;
          const sessionToken = `mol_ws_${randomBytes(32).toString('base64url')}`;
          this.sessions.set(sessionToken, workspaceId);
          return [
            200,
            { workspaceId, sessionToken, heartbeatIntervalSeconds: this.intervalSeconds },
          ];
        }
        if (sessionOwner !== workspaceId) return unauthorized;
        return [200, { workspaceId, heartbeatIntervalSeconds: this.intervalSeconds }];
      }
      case '/registry/heartbeat':
        if (sessionOwner !== undefined && this.failHeartbeats.count > 0) {
          this.failHeartbeats.count -= 1;
          const { status } = this.failHeartbeats;
          return status === 401
            ? unauthorized
            : [status, { error: { status, code: 'unavailable', message: 'Try again later' } }];
        }
        return sessionOwner === undefined
          ? unauthorized
          : [200, { nextIntervalSeconds: this.intervalSeconds }];
      case '/registry/boot-report':
        // Bootstrap tokens stay good for boot reports after use: that is when they are needed.
        return token !== undefined && (this.bootstrap.has(token) || sessionOwner !== undefined)
          ? [204, undefined]
          : unauthorized;
      case '/registry/token/rotate': {
        if (token === undefined || sessionOwner === undefined) return unauthorized;
        this.sessions.delete(token);
        const sessionToken = `mol_ws_${randomBytes(32).toString('base64url')}`;
        this.sessions.set(sessionToken, sessionOwner);
        return [200, { sessionToken }];
      }
      default:
        return [404, { error: { status: 404, code: 'not_found' } }];
    }
  }
}
