export {
  AUTH_METADATA,
  CurrentPrincipal,
  OrgKey,
  PartnerKey,
  PlatformAdmin,
  Public,
  WorkspaceBootstrapToken,
  WorkspaceToken,
} from './auth.decorators';
export type { AuthRequirement } from './auth.decorators';
export { AuthGuard } from './auth.guard';
export { AuthModule } from './auth.module';
export { CredentialsService, TOKEN_PREFIX } from './credentials.service';
export type { CredentialCaching } from './credentials.service';
export { actorOf, roleSatisfies } from './principal';
export type { Principal } from './principal';
export { WorkspaceTokens } from './workspace-tokens';
