import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { A2aHttp } from './a2a-http';
import { AGENT_CARD_PATH, JSONRPC_PATH } from './echo-agent';
import { sendError, sendJson } from './http-replies';

/**
 * Workspace mode's HTTP server: health for the host and the control plane, and the A2A endpoints
 * (agent card, JSON-RPC). A2A has no credential of its own here: the registry's proxy decides who
 * may talk to whom, and the host is reachable only from the control plane's network.
 */

export interface WorkspaceHostOptions {
  healthPath: string;
  workspaceId: string;
  /** The boot stage reached, shown by health so a stuck boot can be told from a dead one. */
  stage: () => string;
  a2a: A2aHttp;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export function createWorkspaceHost(options: WorkspaceHostOptions): Server {
  const routes = new Map<string, { methods: string[]; handler: Handler }>([
    [
      options.healthPath,
      {
        methods: ['GET', 'HEAD'],
        handler: (_req, res) =>
          sendJson(res, 200, {
            status: 'ok',
            role: 'workspace',
            workspaceId: options.workspaceId,
            stage: options.stage(),
          }),
      },
    ],
    [AGENT_CARD_PATH, { methods: ['GET', 'HEAD'], handler: options.a2a.agentCard }],
    [JSONRPC_PATH, { methods: ['POST'], handler: options.a2a.jsonRpc }],
  ]);

  const server = createServer((req, res) => {
    // The path only: a query string never selects a route.
    const route = routes.get((req.url ?? '/').split('?', 1)[0]);
    if (route === undefined) {
      sendError(res, 404, 'not_found', 'Not found');
      return;
    }
    if (!route.methods.includes(req.method ?? '')) {
      sendError(res, 405, 'method_not_allowed', 'Method not allowed', {
        allow: route.methods.join(', '),
      });
      return;
    }
    Promise.resolve()
      .then(() => route.handler(req, res))
      .catch((error: unknown) => {
        // Messages may quote what a caller sent; the name is enough to find the bug.
        process.stderr.write(
          `workspace host: request failed: ${error instanceof Error ? error.name : 'error'}\n`,
        );
        if (!res.headersSent) sendError(res, 500, 'internal_error', 'Internal server error');
        else res.destroy();
      });
  });
  // Slow clients must not pin sockets; requestTimeout bounds receiving a request, not streaming a
  // reply, so SSE answers are unaffected.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  return server;
}
