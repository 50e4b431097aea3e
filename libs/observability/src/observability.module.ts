import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DependencyIndicators } from './dependency.indicators';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { OBSERVABILITY_OPTIONS, type ReadinessChecks } from './readiness';

/** `/healthz`, `/readyz` and `/metrics`, the same on every service. */
@Module({})
export class ObservabilityModule {
  static forRoot(checks: ReadinessChecks): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [TerminusModule.forRoot({ logger: false, errorLogStyle: 'json' })],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: OBSERVABILITY_OPTIONS, useValue: checks },
        DependencyIndicators,
        MetricsService,
      ],
      exports: [MetricsService],
    };
  }
}
