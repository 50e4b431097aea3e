import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeMetrics } from '../metrics/edge-metrics';
import type { EdgePage, EdgePages } from '../pages/edge-pages';
import type { ActiveRoute } from '../routing/route-resolver';
import type { OrgSessions } from './org-sessions';
import {
  clearedSessionCookies,
  cookieValue,
  LOGOUT_PATH,
  SESSION_COOKIES,
  SESSION_PATH,
  sessionCookie,
  visitorUsesHttps,
} from './session-cookie';

/**
 * The router's own paths under `/_molecule/` on a running tenant's host, answered before visitor
 * auth and never forwarded:
 *
 * - `GET /_molecule/session?ticket=mol_st_…` redeems a sign-in ticket from the api
 *   (`POST /v1/orgs/:slug/sessions`) for a session cookie and redirects to `/`;
 * - `GET` or `POST /_molecule/logout` ends the session and clears the cookie.
 *
 * Any other path under the prefix is a 404. Secrets (tickets, sessions) are never logged.
 */
export class SessionEndpoints {
  constructor(
    private readonly sessions: OrgSessions,
    private readonly pages: EdgePages,
    private readonly metrics: EdgeMetrics,
    private readonly warn: (fields: Record<string, unknown>, message: string) => void,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse, route: ActiveRoute, startedAt: number): void {
    const url = req.url!;
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const answer = (page: EdgePage, extra?: Record<string, string | string[]>) => {
      if (res.headersSent || res.destroyed) return;
      route.metrics.answered(this.pages.send(req, res, page, false, extra), startedAt);
    };
    const failed = (error: unknown, extra?: Record<string, string | string[]>) => {
      this.warn({ tenant: route.slug, err: errorName(error) }, 'session store unavailable');
      answer('service_unavailable', extra);
    };
    switch (path) {
      case SESSION_PATH: {
        if (req.method !== 'GET') return answer('method_not_allowed', { allow: 'GET' });
        const ticket = new URLSearchParams(query === -1 ? '' : url.slice(query + 1)).get('ticket');
        if (ticket === null) return answer('ticket_invalid');
        this.sessions.exchange(ticket, route.orgId).then((outcome) => {
          if (outcome.kind !== 'created') {
            this.metrics.sessionEvent('ticket_refused');
            return answer(outcome.kind === 'forbidden' ? 'forbidden' : 'ticket_invalid');
          }
          this.metrics.sessionEvent('created');
          if (res.destroyed) return;
          res.writeHead(303, {
            location: '/',
            'set-cookie': sessionCookie(
              outcome.session,
              outcome.maxAgeSeconds,
              visitorUsesHttps(req),
            ),
            'cache-control': 'no-store',
            // The ticket is in this page's URL: spent, but no need to hand it to anyone.
            'referrer-policy': 'no-referrer',
            'content-length': 0,
          });
          res.end();
          route.metrics.answered(303, startedAt);
        }, failed);
        return;
      }
      case LOGOUT_PATH: {
        if (req.method !== 'GET' && req.method !== 'POST') {
          return answer('method_not_allowed', { allow: 'GET, POST' });
        }
        const cleared = { 'set-cookie': clearedSessionCookies() };
        const header = req.headers.cookie;
        const value = header === undefined ? undefined : cookieValue(header, SESSION_COOKIES);
        if (value === undefined) return answer('signed_out', cleared);
        this.sessions.end(value).then(
          () => {
            this.metrics.sessionEvent('ended');
            answer('signed_out', cleared);
          },
          (error: unknown) => failed(error, cleared),
        );
        return;
      }
      default:
        return answer('not_found');
    }
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
}
