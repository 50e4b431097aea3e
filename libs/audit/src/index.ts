export { AuditModule } from './audit.module';
export { AuditService, hashEvent, PLATFORM_CHAIN } from './audit.service';
export type { AuditEntry, ChainVerification } from './audit.service';
export { canonicalJson } from './canonical-json';
