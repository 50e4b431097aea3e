import type { Config } from 'jest';
import { base } from './jest.config';

/** Integration tests: real Postgres and Redis; each file isolates itself (own database, own prefix). */
export default {
  ...base,
  displayName: 'integration',
  roots: ['<rootDir>/apps/', '<rootDir>/libs/', '<rootDir>/test/'],
  testRegex: '\\.int-spec\\.ts$',
  testTimeout: 30_000,
  maxWorkers: 2,
} satisfies Config;
