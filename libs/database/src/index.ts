export * from './enums';
export * from './entities';
export { createDataSource, dataSourceOptions } from './data-source';
export type { DataSourceSettings } from './data-source';
export { dropDatabase, ensureDatabase, runMigrations, schemaDrift } from './migrate';
export { DatabaseModule } from './database.module';
export { PostgresDataKeyStore } from './data-key.store';
export {
  OperationInProgressError,
  OperationsRepository,
} from './repositories/operations.repository';
export type { NewOperation } from './repositories/operations.repository';
export {
  lockOpenOrg,
  OrgClosedError,
  StaleStateError,
  transitionOrg,
} from './repositories/orgs.repository';
export { nextCursor, olderThan } from './repositories/pages';
