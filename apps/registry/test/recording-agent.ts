import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type AgentBehaviour =
  /** Answers a JSON-RPC result naming the request's method. */
  | 'answer'
  /** Streams one SSE event, then waits for `release()` before the next and the end. */
  | 'stream'
  /** Answers with a body of `bytes` bytes. */
  | { bytes: number }
  /** Never answers. */
  | 'hang';

/**
 * A stand-in for a workspace's agent that records what reached it: the A2A proxy's tests check
 * what it forwards (and strips) and that refused calls never arrive.
 */
export class RecordingAgent {
  readonly requests: RecordedRequest[] = [];
  behaviour: AgentBehaviour = 'answer';
  private readonly server: Server;
  private releases: (() => void)[] = [];

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body,
        });
        const behaviour = this.behaviour;
        if (req.url?.endsWith('/.well-known/agent-card.json')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              name: 'recorder',
              url: 'http://10.0.0.1:9/a2a/jsonrpc',
              supportedInterfaces: [
                { url: 'http://10.0.0.1:9/a2a/jsonrpc', protocolBinding: 'JSONRPC' },
              ],
            }),
          );
          return;
        }
        if (behaviour === 'hang') return;
        if (behaviour === 'stream') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { n: 1 } })}\n\n`);
          this.releases.push(() => {
            res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { n: 2 } })}\n\n`);
            res.end();
          });
          return;
        }
        if (typeof behaviour === 'object') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(Buffer.alloc(behaviour.bytes, 'x'));
          return;
        }
        const rpc = JSON.parse(body) as { id?: unknown; method?: unknown };
        res.writeHead(200, {
          'content-type': 'application/json',
          'a2a-version': String(req.headers['a2a-version'] ?? '0.3'),
        });
        res.end(
          JSON.stringify({ jsonrpc: '2.0', id: rpc.id ?? null, result: { method: rpc.method } }),
        );
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Lets every open stream send its last event and end. */
  release(): void {
    for (const release of this.releases.splice(0)) release();
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
