import { loadConfig } from '@molecule/config';
import {
  resolveEdgeRouterOptions,
  type EdgeRouterOptions,
  type ResolvedEdgeRouterOptions,
} from '../src/edge-router.options';

/** The options a router gets from an environment that sets no EDGE_* variable (unit tests). */
export function defaultEdgeOptions(overrides: EdgeRouterOptions = {}): ResolvedEdgeRouterOptions {
  const config = loadConfig('edge-router', {
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused',
    REDIS_URL: 'redis://127.0.0.1:6379',
    MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
  });
  return resolveEdgeRouterOptions(config.edge, overrides);
}
