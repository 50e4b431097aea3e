/** Which dependencies a service's `/readyz` checks. */
export interface ReadinessChecks {
  database: boolean;
  redis: boolean;
  /** Queue names whose Redis connection must answer. */
  queues: readonly string[];
}

export const OBSERVABILITY_OPTIONS = Symbol('OBSERVABILITY_OPTIONS');
