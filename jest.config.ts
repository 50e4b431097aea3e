import type { Config } from 'jest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Nest 12 and a few of its dependencies are ESM-only. Jest on Node 20 cannot require() ESM, so
// every top-level package that declares "type": "module" is compiled to CommonJS by swc too.
const esmOnly = readdirSync('node_modules')
  .flatMap((name) =>
    name.startsWith('@')
      ? readdirSync(join('node_modules', name)).map((sub) => `${name}/${sub}`)
      : [name],
  )
  .filter((name) => {
    try {
      const manifest = JSON.parse(
        readFileSync(join('node_modules', name, 'package.json'), 'utf8'),
      ) as { type?: string };
      return manifest.type === 'module';
    } catch {
      return false;
    }
  })
  .map((name) => name.replace(/[.+]/g, '\\$&'));

const swcTs = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2023',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
const swcJs = {
  jsc: { parser: { syntax: 'ecmascript' }, target: 'es2023', keepClassNames: true },
  module: { type: 'commonjs' },
};

/** Shared by the unit, integration and end-to-end configurations. */
export const base: Config = {
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', swcTs], '^.+\\.m?js$': ['@swc/jest', swcJs] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: { '^@molecule/(.*)$': '<rootDir>/libs/$1/src' },
  setupFiles: ['<rootDir>/libs/testing/src/setup-env.ts'],
};

/** Unit tests: `*.spec.ts` beside the code, no network. */
export default {
  ...base,
  displayName: 'unit',
  roots: ['<rootDir>/apps/', '<rootDir>/libs/'],
  testRegex: '\\.spec\\.ts$',
} satisfies Config;
