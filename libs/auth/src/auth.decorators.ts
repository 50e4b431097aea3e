import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { OrgRole, PartnerScope } from '@molecule/database';
import type { Principal } from './principal';

export const AUTH_METADATA = 'molecule:auth';

/**
 * What a route accepts. A route (or its controller) carries one or more of these; a request is
 * let through when it satisfies any of them. A route with none is refused, and a test fails.
 */
export type AuthRequirement =
  | { kind: 'public' }
  | { kind: 'platform-admin' }
  | { kind: 'org-key'; role: OrgRole }
  | { kind: 'partner-key'; scope: PartnerScope }
  | { kind: 'workspace-token'; cacheSeconds?: number }
  | { kind: 'workspace-bootstrap' };

function declare(requirement: AuthRequirement): ClassDecorator & MethodDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder: object = descriptor ? (descriptor.value as object) : target;
    const existing =
      (Reflect.getMetadata(AUTH_METADATA, holder) as AuthRequirement[] | undefined) ?? [];
    Reflect.defineMetadata(AUTH_METADATA, [...existing, requirement], holder);
  };
}

/** Anyone may call it. Use for probes, public docs and status pages only. */
export const Public = () => declare({ kind: 'public' });
/** The platform operator's `PLATFORM_ADMIN_TOKEN`. */
export const PlatformAdmin = () => declare({ kind: 'platform-admin' });
/** An org API key of the org in the route's `:slug`, with at least `role`. */
export const OrgKey = (role: OrgRole) => declare({ kind: 'org-key', role });
/** A partner key holding `scope`. */
export const PartnerKey = (scope: PartnerScope) => declare({ kind: 'partner-key', scope });
/** A workspace's session token; the caller is that workspace. */
export const WorkspaceToken = (options: { cacheSeconds?: number } = {}) =>
  declare({ kind: 'workspace-token', ...options });
/** A workspace's unspent bootstrap token (registration and boot reports only). */
export const WorkspaceBootstrapToken = () => declare({ kind: 'workspace-bootstrap' });

/** The authenticated caller of the current request (undefined on public routes). */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal | undefined =>
    context.switchToHttp().getRequest<{ principal?: Principal }>().principal,
);
