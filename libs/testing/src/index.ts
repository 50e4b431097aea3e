export * from './factories';
export * from './infrastructure';
export { LogCapture } from './log-capture';
export { startTestService } from './test-service';
export type { TestService } from './test-service';
export { startTestSystem } from './test-system';
export type { TestSystem } from './test-system';
