export type { BootSpec } from './boot-spec';
export { renderCloudConfig, toUserData } from './cloud-init.renderer';
export { renderLocalProcess, writeLocalFiles } from './local-process.renderer';
export type { LocalProcessSpec } from './local-process.renderer';
