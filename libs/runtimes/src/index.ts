export { RuntimeCatalog, SECRET_NAME } from './runtime-catalog';
export type { Runtime } from './runtime-catalog';
