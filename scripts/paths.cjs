// Resolves the `@molecule/<lib>` imports of compiled code at run time:
//   node -r ./scripts/paths.cjs dist/apps/api/src/main.js
// The build root is the nearest folder above the entry script that holds `libs/`, so the same
// file serves `dist/` and any other output folder.
const { dirname, join } = require('node:path');
const { existsSync } = require('node:fs');
const { register } = require('tsconfig-paths');

let root = dirname(process.argv[1] ?? '');
while (!existsSync(join(root, 'libs')) && dirname(root) !== root) root = dirname(root);
register({ baseUrl: root, paths: { '@molecule/*': ['libs/*/src'] } });
