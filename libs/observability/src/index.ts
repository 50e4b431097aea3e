export { MetricsService } from './metrics.service';
export { ObservabilityModule } from './observability.module';
export type { ReadinessChecks } from './readiness';
