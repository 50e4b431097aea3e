import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TenantSettings } from './agent-settings';
import { bearerCheck } from './bearer-auth';
import { escapeHtml, sendError, sendHtml, sendJson } from './http-replies';

/**
 * Tenant mode: the host that serves one org at `<slug>.<BASE_DOMAIN>` behind the edge router.
 * Health is public (the control plane and the edge router probe it); every other request needs
 * the tenant admin token.
 */
export function createTenantHost(settings: TenantSettings): Server {
  const authorized = bearerCheck(settings.adminToken);
  const server = createServer((req, res) => {
    try {
      handle(settings, authorized, req, res);
    } catch (error) {
      // The handlers touch no secret, but the message stays generic anyway: it goes to a client.
      process.stderr.write(`tenant host: request failed: ${(error as Error).message}\n`);
      if (!res.headersSent) sendError(res, 500, 'internal_error', 'Internal server error');
      else res.destroy();
    }
  });
  // Tenant hosts face the internet (through the edge router): do not let slow clients pin sockets.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  return server;
}

function handle(
  settings: TenantSettings,
  authorized: (header: string | undefined) => boolean,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  // The path only: a query string never selects a route. Parsed by hand because `new URL` reads
  // a leading `//` as a host name.
  const path = (req.url ?? '/').split('?', 1)[0];
  const readOnly = req.method === 'GET' || req.method === 'HEAD';

  if (path === settings.healthPath && readOnly) {
    sendJson(res, 200, { status: 'ok', role: 'tenant', org: settings.orgSlug });
    return;
  }
  // Before routing, so that an anonymous caller cannot even tell which paths exist.
  if (!authorized(req.headers.authorization)) {
    sendError(res, 401, 'unauthorized', 'A valid tenant bearer token is required', {
      'www-authenticate': 'Bearer realm="molecule-tenant"',
    });
    return;
  }

  const route = ROUTES[path];
  if (route === undefined) {
    sendError(res, 404, 'not_found', 'Not found');
  } else if (!readOnly) {
    sendError(res, 405, 'method_not_allowed', 'Method not allowed', { allow: 'GET, HEAD' });
  } else {
    route(settings, req, res);
  }
}

type Route = (settings: TenantSettings, req: IncomingMessage, res: ServerResponse) => void;

const ROUTES: Record<string, Route | undefined> = {
  '/': (settings, _req, res) => sendHtml(res, 200, landingPage(settings)),
  // Shows what the edge router forwarded, so tests can prove its header rewriting.
  '/whoami': (settings, req, res) =>
    sendJson(res, 200, {
      org: settings.orgSlug,
      forwardedFor: headerValue(req.headers['x-forwarded-for']),
      host: headerValue(req.headers['x-forwarded-host']),
    }),
};

function landingPage(settings: TenantSettings): string {
  const name = escapeHtml(settings.orgName);
  const slug = escapeHtml(settings.orgSlug);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name}</title>
</head>
<body style="font-family: system-ui, sans-serif; margin: 3rem auto; max-width: 40rem">
<h1>${name}</h1>
<p>This is the tenant host of <strong>${name}</strong> (<code>${slug}</code>), run by Molecule.</p>
</body>
</html>
`;
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}
