// What the single-service benchmarks (bench:heartbeat, bench:api) share: their `--key=value`
// arguments, a fresh build, a scratch database and Redis prefix, one service process started
// from `dist/`, and the `--hold` mode for measuring by hand.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

/** `--name=value` and bare `--flag` (value undefined, test with `'flag' in args`). */
export function benchArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(
    argv.map((a) => {
      const [key, ...value] = a.replace(/^--/, '').split('=');
      return [key, value.length > 0 ? value.join('=') : undefined];
    }),
  );
}

/** Compiles with `tsc` (exits on failure) and returns `load(lib)` for the built libraries. */
export function buildDist() {
  const build = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: repo, stdio: 'inherit' },
  );
  if (build.status !== 0) process.exit(1);
  require(join(repo, 'scripts', 'paths.cjs')).registerBuild(join(repo, 'dist'));
  return (lib) => require(join(repo, `dist/libs/${lib}/src`));
}

/**
 * A throwaway database (migrated) and Redis prefix named after `name` and this process, as the
 * tests find Postgres and Redis (TEST_DATABASE_URL, TEST_REDIS_URL). `drop()` removes both.
 */
export async function scratch(load, name) {
  const db = load('database');
  const infra = load('config').testInfrastructure(process.env);
  const url = new URL(infra.databaseUrl);
  url.pathname = `/molecule_bench_${name}_${process.pid}`;
  const prefix = `molecule-bench-${name}-${process.pid}`;
  await db.runMigrations(url.toString());
  const ds = db.createDataSource({ url: url.toString(), poolSize: 4 });
  await ds.initialize();
  return {
    db,
    ds,
    databaseUrl: url.toString(),
    redisUrl: infra.redisUrl,
    prefix,
    async drop() {
      await ds.destroy();
      await db.dropDatabase(url.toString());
      const { Redis } = require('ioredis');
      const redis = new Redis(infra.redisUrl);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

/**
 * Starts `dist/apps/<app>/src/main.js` with exactly `env` (plus PATH) and `nodeArgs` (e.g.
 * `--cpu-prof`), and resolves once `/readyz` answers at `port`; fails fast if it exits.
 */
export async function startService(app, port, env, nodeArgs = []) {
  const child = spawn(
    process.execPath,
    [...nodeArgs, '-r', './scripts/paths.cjs', `dist/apps/${app}/src/main.js`],
    { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH, ...env } },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`the ${app} exited with code ${child.exitCode}`);
    if (i > 150) throw new Error(`the ${app} did not start`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, base };
}

/**
 * `--hold`: writes the wrk `script` (it holds this run's throwaway credentials, so 0600), prints
 * `commands(path)`, and waits for Ctrl-C, then removes the script.
 */
export async function hold(name, script, commands) {
  const dir = mkdtempSync(join(tmpdir(), `molecule-bench-${name}-`));
  const file = join(dir, `${name}.lua`);
  writeFileSync(file, script, { mode: 0o600 });
  for (const line of commands(file)) console.log(line);
  console.log('Ctrl-C stops it and cleans up.');
  await new Promise((resolve) => process.once('SIGINT', resolve));
  rmSync(dir, { recursive: true, force: true });
}

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
