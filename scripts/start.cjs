// `npm start`: compile, then run the dev runner (dist/scripts/dev.js) in this same process, so
// the signals npm forwards (Ctrl-C, SIGTERM) reach the runner that owns the services.
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');
const { registerBuild } = require('./paths.cjs');

const root = join(__dirname, '..');
const build = spawnSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
  { stdio: 'inherit', cwd: root },
);
if (build.status !== 0) process.exit(build.status ?? 1);

registerBuild(join(root, 'dist'));
require(join(root, 'dist', 'scripts', 'dev.js'));
