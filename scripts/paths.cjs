// Resolves the `@molecule/<lib>` imports of compiled code at run time. Preloaded:
//   node -r ./scripts/paths.cjs dist/apps/api/src/main.js
// it maps them into the build folder holding the entry script (the nearest folder above it
// with a `libs/`). Required from another script, it exports `registerBuild(folder)` instead.
const { dirname, join } = require('node:path');
const { existsSync } = require('node:fs');
const { register } = require('tsconfig-paths');

function registerBuild(root) {
  register({ baseUrl: root, paths: { '@molecule/*': ['libs/*/src'] } });
}

if (!require.main) {
  let root = dirname(process.argv[1] ?? '');
  while (!existsSync(join(root, 'libs')) && dirname(root) !== root) root = dirname(root);
  registerBuild(root);
}

module.exports = { registerBuild };
