export { AllExceptionsFilter } from './all-exceptions.filter';
export { createServiceApp, runService } from './bootstrap';
export type { CreateOptions, ServiceDefinition } from './bootstrap';
export { CoreModule } from './core.module';
export type { CoreOptions } from './core.module';
export { resolveError } from './error-envelope';
export type { ErrorEnvelope } from './error-envelope';
export { createValidationPipe } from './validation';
export { PageQuery } from './page.query';
