import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { parseBearer } from '@molecule/crypto';
import { AUTH_METADATA, type AuthRequirement } from './auth.decorators';
import { CredentialsService } from './credentials.service';
import { roleSatisfies, type Principal } from './principal';

export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  params?: Record<string, string>;
  principal?: Principal;
}

/**
 * The global guard. It reads the route's auth declaration, authenticates the bearer token, and
 * checks the principal against the declaration. Undeclared routes are refused outright.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly credentials: CredentialsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirements = this.reflector.getAllAndMerge<AuthRequirement[]>(AUTH_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<AuthRequest>();
    const principal = await this.authorize(requirements, request);
    if (principal) request.principal = principal;
    return true;
  }

  /**
   * The principal the request may act as under `requirements` (undefined on public routes), or
   * the 401/403 to answer. Routes served outside Nest's pipeline call it with their own
   * declaration, so every route decides access the same way.
   */
  async authorize(
    requirements: readonly AuthRequirement[],
    request: AuthRequest,
  ): Promise<Principal | undefined> {
    if (requirements.length === 0)
      throw new ForbiddenException('This route declares no access rule');
    if (requirements.some((r) => r.kind === 'public')) return undefined;

    const header = request.headers.authorization;
    const token = parseBearer(Array.isArray(header) ? header[0] : header);
    // Hot routes (heartbeats) may accept a workspace session verified in the last few seconds;
    // API keys are trusted for API_KEY_CACHE_SECONDS once verified.
    const sessionSeconds = Math.min(
      ...requirements.map((r) => (r.kind === 'workspace-token' ? (r.cacheSeconds ?? 0) : 0)),
    );
    const principal = token
      ? await this.credentials.authenticate(token, {
          sessionSeconds,
          apiKeySeconds: this.config.apiKeyCacheSeconds,
        })
      : undefined;
    if (!principal) throw new UnauthorizedException('A valid bearer credential is required');

    for (const requirement of requirements) {
      if (await this.satisfies(principal, requirement, request.params ?? {})) return principal;
    }
    throw new ForbiddenException('The credential does not grant access to this resource');
  }

  private async satisfies(
    principal: Principal,
    requirement: AuthRequirement,
    params: Record<string, string>,
  ): Promise<boolean> {
    switch (requirement.kind) {
      case 'public':
        return true;
      case 'platform-admin':
        return principal.kind === 'platform-admin';
      case 'partner-key':
        return principal.kind === 'partner-key' && principal.scopes.includes(requirement.scope);
      case 'workspace-token':
        return principal.kind === 'workspace-token';
      case 'workspace-bootstrap':
        return principal.kind === 'workspace-bootstrap';
      case 'org-key': {
        if (principal.kind !== 'org-key' || !roleSatisfies(principal.role, requirement.role)) {
          return false;
        }
        // An org key only ever opens routes of its own org.
        if (params.slug === undefined) return false;
        return (await this.credentials.orgIdBySlug(params.slug)) === principal.orgId;
      }
    }
  }
}
