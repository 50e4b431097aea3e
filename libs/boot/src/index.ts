export type { BootSpec } from './boot-spec';
