import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export type EdgePage =
  | 'bad_request'
  | 'not_found'
  | 'provisioning'
  | 'unauthorized'
  | 'forbidden'
  | 'payload_too_large'
  | 'method_not_allowed'
  | 'ticket_invalid'
  | 'signed_out'
  | 'bad_gateway'
  | 'service_unavailable'
  | 'gateway_timeout';

interface PageSpec {
  status: number;
  title: string;
  message: string;
  /** Announce `Retry-After`: the condition is expected to clear by itself. */
  retry: boolean;
}

const PAGES: Record<EdgePage, PageSpec> = {
  bad_request: {
    status: 400,
    title: 'Bad request',
    message: 'This gateway cannot forward the request as it was sent.',
    retry: false,
  },
  not_found: {
    status: 404,
    title: 'Nothing here',
    message: 'There is no Molecule organization at this address. Check the spelling of the link.',
    retry: false,
  },
  provisioning: {
    status: 503,
    title: 'Almost ready',
    message:
      'This organization is being set up. This page refreshes by itself and opens as soon as it is ready.',
    retry: true,
  },
  unauthorized: {
    status: 401,
    title: 'Sign in required',
    message:
      'Present an API key of this organization (Authorization: Bearer, or X-Api-Key), or open a sign-in link from the Molecule API.',
    retry: false,
  },
  ticket_invalid: {
    status: 401,
    title: 'Sign-in link expired',
    message: 'This sign-in link is unknown, has expired or was already used. Ask for a new one.',
    retry: false,
  },
  method_not_allowed: {
    status: 405,
    title: 'Method not allowed',
    message: 'This address of the gateway does not accept that method.',
    retry: false,
  },
  signed_out: {
    status: 200,
    title: 'Signed out',
    message: 'You are signed out of this organization.',
    retry: false,
  },
  forbidden: {
    status: 403,
    title: 'Not allowed',
    message: 'Your credential does not give access to this organization.',
    retry: false,
  },
  payload_too_large: {
    status: 413,
    title: 'Request too large',
    message: 'The request body is larger than this gateway accepts.',
    retry: false,
  },
  bad_gateway: {
    status: 502,
    title: 'Temporarily unreachable',
    message: 'The organization’s host did not answer. Try again in a few seconds.',
    retry: true,
  },
  service_unavailable: {
    status: 503,
    title: 'Temporarily unavailable',
    message: 'This address cannot be served right now. Try again in a few seconds.',
    retry: true,
  },
  gateway_timeout: {
    status: 504,
    title: 'Took too long',
    message: 'The organization’s host took too long to answer. Try again in a few seconds.',
    retry: true,
  },
};

interface RenderedPage {
  status: number;
  html: Buffer;
  json: Buffer;
  retry: boolean;
}

/**
 * The router's own pages. None may be cached for long (the retrospective's edge served errors for
 * a day after an origin change), so every one is `no-store`: a slug created a second after a 404
 * must be reachable on the next request, and a splash must give way to the app as soon as it runs.
 * Bodies are rendered once; they carry no request data, so there is nothing to escape per request.
 */
export class EdgePages {
  private readonly rendered: Record<EdgePage, RenderedPage>;

  constructor(private readonly retryAfterSeconds: number) {
    const rendered = {} as Record<EdgePage, RenderedPage>;
    for (const [code, spec] of Object.entries(PAGES) as [EdgePage, PageSpec][]) {
      rendered[code] = {
        status: spec.status,
        retry: spec.retry,
        html: Buffer.from(renderHtml(spec, code === 'provisioning' ? retryAfterSeconds : 0)),
        json: Buffer.from(
          JSON.stringify({ error: { status: spec.status, code, message: spec.message } }),
        ),
      };
    }
    this.rendered = rendered;
  }

  status(page: EdgePage): number {
    return this.rendered[page].status;
  }

  /** Answers with a page; `extra` headers (cookies, `Allow`) are added to the page's own. */
  send(
    req: IncomingMessage,
    res: ServerResponse,
    page: EdgePage,
    close = false,
    extra?: Record<string, string | string[]>,
  ): number {
    const { status, headers, body } = this.render(req, page);
    if (close) headers.connection = 'close';
    if (extra !== undefined) Object.assign(headers, extra);
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return status;
  }

  /**
   * The same page on a socket whose request asked for an upgrade: there is no `ServerResponse`
   * then, so the response is written by hand and the connection closed.
   */
  writeRaw(req: IncomingMessage, socket: Duplex, page: EdgePage): number {
    const { status, headers, body } = this.render(req, page);
    headers.connection = 'close';
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${String(value)}\r\n`)
      .join('');
    socket.end(
      Buffer.concat([
        Buffer.from(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head}\r\n`, 'latin1'),
        body,
      ]),
    );
    return status;
  }

  private render(
    req: IncomingMessage,
    page: EdgePage,
  ): { status: number; headers: Record<string, string | number | string[]>; body: Buffer } {
    const rendered = this.rendered[page];
    const json = prefersJson(req.headers.accept);
    const body = json ? rendered.json : rendered.html;
    const headers: Record<string, string | number | string[]> = {
      'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
      'content-length': body.length,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    };
    if (rendered.retry) headers['retry-after'] = this.retryAfterSeconds;
    if (page === 'unauthorized' || page === 'ticket_invalid') {
      headers['www-authenticate'] = 'Bearer realm="molecule"';
    }
    return { status: rendered.status, headers, body };
  }
}

function prefersJson(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('json') && !accept.includes('text/html');
}

function renderHtml(spec: PageSpec, refreshSeconds: number): string {
  const refresh =
    refreshSeconds > 0 ? `\n<meta http-equiv="refresh" content="${refreshSeconds}">` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">${refresh}
<title>${spec.title} · Molecule</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;min-height:100vh;display:grid;place-items:center;background:#f6f7f9;color:#1d2430}
main{max-width:32rem;padding:2rem;text-align:center}
.brand{font-weight:600;letter-spacing:.04em;color:#5b6b82;text-transform:uppercase;font-size:.8rem}
h1{font-size:1.6rem;margin:.6rem 0}
.code{color:#8a96a8;font-size:.85rem}
</style>
</head>
<body>
<main>
<div class="brand">Molecule</div>
<h1>${spec.title}</h1>
<p>${spec.message}</p>
${spec.status >= 400 ? `<p class="code">${spec.status}</p>` : ''}
</main>
</body>
</html>
`;
}
