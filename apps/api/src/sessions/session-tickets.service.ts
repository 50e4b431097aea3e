import { ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { AuditService } from '@molecule/audit';
import { actorOf, type Principal } from '@molecule/auth';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { generateToken, hashToken } from '@molecule/crypto';
import { REDIS, redisKey } from '@molecule/redis';
import { Redis } from 'ioredis';
import type { SessionTicketDto } from './session-ticket.dto';

/**
 * The api's half of visitor sessions; the edge router redeems what this writes
 * (apps/edge-router/src/visitor-auth/org-sessions.ts). Apps do not import each other, so the
 * contract is spelt out on both sides and tested end to end by the router's
 * `org-sessions.int-spec.ts`:
 *
 * `<REDIS_PREFIX>:edge:ticket:<sha256 hex of the ticket>` → `{orgId, keyId, role}`, expiring after
 * EDGE_SESSION_TICKET_TTL_SECONDS (at most 60), redeemed once by the router at
 * `/_molecule/session?ticket=…` on the org's host.
 */
const TICKET_PREFIX = 'mol_st';
const SIGN_IN_PATH = '/_molecule/session';

@Injectable()
export class SessionTicketsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly audit: AuditService,
  ) {}

  /** A one-time sign-in link for the org key's own org (the guard checked `slug`). */
  async issue(slug: string, principal: Principal): Promise<SessionTicketDto> {
    if (principal.kind !== 'org-key') {
      throw new ForbiddenException('Only an org API key can open a session');
    }
    const ttl = this.config.edge.sessions.ticketTtlSeconds;
    const ticket = generateToken(TICKET_PREFIX);
    // Audited before the ticket exists: a sign-in link nobody can account for is never handed out.
    await this.audit.append({
      chain: principal.orgId,
      actor: actorOf(principal),
      action: 'session-ticket.create',
      target: `api-key:${principal.keyId}`,
      data: { ttlSeconds: ttl },
    });
    const record = { orgId: principal.orgId, keyId: principal.keyId, role: principal.role };
    await this.redis.set(
      redisKey(this.config, 'edge', 'ticket', hashToken(ticket)),
      JSON.stringify(record),
      'EX',
      ttl,
    );
    const origin = new URL(this.config.edge.publicUrl);
    const url = new URL(`${origin.protocol}//${slug}.${origin.host}${SIGN_IN_PATH}`);
    url.searchParams.set('ticket', ticket);
    return {
      url: url.toString(),
      ticket,
      expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
    };
  }
}
