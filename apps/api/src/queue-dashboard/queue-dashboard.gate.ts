import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { CredentialsService } from '@molecule/auth';
import { parseBearer } from '@molecule/crypto';
import type { FastifyInstance } from 'fastify';

const PREFIX = '/admin/queues';

/** The admin token as a bearer token, or as the password of HTTP Basic auth (for browsers). */
function credentialOf(header: string | undefined): string | undefined {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!basic) return parseBearer(header);
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

/**
 * bull-board is a Fastify plugin, not Nest routes, so the global guard never sees it. This hook
 * puts every path under `/admin/queues` (pages, assets and its JSON API) behind the platform
 * admin token, before bull-board's own handlers run.
 */
@Injectable()
export class QueueDashboardGate implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly credentials: CredentialsService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0];
      if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) return;
      const token = credentialOf(request.headers.authorization);
      const principal = token ? await this.credentials.authenticate(token) : undefined;
      if (principal?.kind === 'platform-admin') return;
      const status = principal ? 403 : 401;
      await reply
        .status(status)
        // Basic lets a browser prompt for the token; scripts send it as a bearer token.
        .header('www-authenticate', 'Basic realm="Molecule queues", charset="UTF-8"')
        .send({
          error: {
            status,
            code: status === 401 ? 'unauthorized' : 'forbidden',
            message: 'The queue dashboard requires the platform admin token',
            requestId: String(request.id),
          },
        });
    });
  }
}
