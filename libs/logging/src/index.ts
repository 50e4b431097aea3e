export { loggerOptions, REDACT_PATHS } from './logger-options';
export type { RouteRef } from './logger-options';
export { LoggingModule } from './logging.module';
export { Logger, PinoLogger, InjectPinoLogger } from 'nestjs-pino';
