import type { Config } from 'jest';
import { base } from './jest.config';

/** End-to-end tests: the system started the way a user starts it. */
export default {
  ...base,
  displayName: 'e2e',
  roots: ['<rootDir>/test/'],
  testRegex: '\\.e2e-spec\\.ts$',
  testTimeout: 180_000,
} satisfies Config;
