import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '@molecule/auth';
import { DependencyIndicators } from './dependency.indicators';
import { OBSERVABILITY_OPTIONS, type ReadinessChecks } from './readiness';

@ApiTags('ops')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly dependencies: DependencyIndicators,
    @Inject(OBSERVABILITY_OPTIONS) private readonly checks: ReadinessChecks,
  ) {}

  /** Liveness: the process answers. No dependency is consulted, so a Redis outage never restarts us. */
  @Get('healthz')
  @Public()
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: the dependencies this service needs answer. */
  @Get('readyz')
  @Public()
  @HealthCheck()
  readiness() {
    return this.health.check([
      ...(this.checks.database ? [() => this.db.pingCheck('database', { timeout: 1_000 })] : []),
      ...(this.checks.redis ? [() => this.dependencies.redisPing()] : []),
      ...this.checks.queues.map((name) => () => this.dependencies.queue(name)),
    ]);
  }
}
