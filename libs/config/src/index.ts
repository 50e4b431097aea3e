export { ConfigError, loadConfig, SERVICE_NAMES, testInfrastructure } from './config';
export type { AppConfig, ServiceName } from './config';
export { APP_CONFIG, ConfigModule } from './config.module';
export { Secret } from './secret';
