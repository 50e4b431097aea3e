export { AuditModule } from './audit.module';
export { AuditService, hashEvent, ORG_DELETION_RECEIPT, PLATFORM_CHAIN } from './audit.service';
export type { AuditEntry, ChainVerification } from './audit.service';
export { canonicalJson } from './canonical-json';
