// `npm run bench:edge`: the edge router against nginx (reverse proxy) and @fastify/http-proxy, in
// one run, on the same upstream and the same load generator, loopback only, with the leanest
// Node proxy (bench/edge/node-floor.mjs) beside them as the floor of what Node's HTTP stack costs.
// See docs/benchmarks.md for what it measures and how to read it.
//
//   node bench/edge/run.mjs [--duration 10] [--reps 3] [--half-reps 5] [--connections 64] [--keep]
//
// `--attempts 2 --max-foreign 0.15` repeat a run disturbed by other processes (the cleanest
// attempt is kept). `--only direct,edge` measures a subset; `--half 4000` sets the half-load rate instead of
// deriving it from the router's measured maximum. `--edge-flags='<node flags>'` replaces the
// Node/V8 flags the router runs with (default: EDGE_NODE_FLAGS below; `--edge-flags=` for none);
// `--edge-log FILE` writes the router's output there (with `--trace-gc` among its flags, say).
//
// Needs: a build (`npm run build`, which the npm script runs first), Postgres and Redis (the same
// as the tests: TEST_DATABASE_URL, TEST_REDIS_URL or their defaults), and nginx, wrk and taskset.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import { clearTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { machineTicks, processTicks, TICK, waitIdle } from '../lib/cpu.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = join(ROOT, 'dist');
const require = createRequire(import.meta.url);
const env = process['env'];

const args = parseArgs(process.argv.slice(2));
const DURATION = Number(args.duration ?? 10);
const REPS = Number(args.reps ?? 3);
// Latency at half load is the noisiest figure (p99 of a VM that stalls now and then): more runs.
const HALF_REPS = Number(args['half-reps'] ?? 5);
const CONNECTIONS = Number(args.connections ?? 64);
const WARMUP = 3;
const ATTEMPTS = Number(args.attempts ?? 2);
const MAX_FOREIGN = Number(args['max-foreign'] ?? 0.15);
const ROUTES = 1000;
const BASE_DOMAIN = 'apps.test';
const SLUG = 'app42';
const SUT_CORE = '0';
// The flags docs/operations.md recommends for the edge router: without V8's memory reducer, which
// can start a heap-shrinking full GC under load, and with the old generation collected at 256 MB
// (see docs/benchmarks.md, "Garbage collection" and "The half-load tail on this VM").
const EDGE_NODE_FLAGS = '--no-memory-reducer --initial-old-space-size=256';
const EDGE_FLAGS = (args['edge-flags'] === undefined ? EDGE_NODE_FLAGS : String(args['edge-flags']))
  .split(' ')
  .filter((flag) => flag !== '' && flag !== 'true');
const LOAD_CORE = '1';

function parseArgs(list) {
  const out = {};
  for (let i = 0; i < list.length; i++) {
    if (!list[i].startsWith('--')) continue;
    // `--name=value` takes any value, including one that starts with `--` (`--edge-flags=--x`).
    const eq = list[i].indexOf('=');
    if (eq > 0) {
      out[list[i].slice(2, eq)] = list[i].slice(eq + 1);
      continue;
    }
    const name = list[i].slice(2);
    const next = list[i + 1];
    if (next === undefined || next.startsWith('--')) out[name] = true;
    else out[name] = list[++i];
  }
  return out;
}

function have(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function preflight() {
  const missing = ['nginx', 'wrk', 'taskset'].filter((c) => !have(c));
  if (missing.length > 0) {
    process.stderr.write(
      `bench:edge needs ${missing.join(', ')} on PATH. On Debian/Ubuntu:\n` +
        '  sudo apt-get install -y nginx-light wrk util-linux   # or: nginx wrk\n' +
        '(the packaged nginx service does not need to run; the benchmark starts its own)\n',
    );
    process.exit(1);
  }
  for (const file of ['apps/edge-router/src/main.js', 'libs/database/src/index.js']) {
    try {
      readFileSync(join(DIST, file));
    } catch {
      process.stderr.write(`dist/${file} is missing: run \`npm run build\` first.\n`);
      process.exit(1);
    }
  }
}

async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

/** Starts a child pinned to one core; resolves once `ready` says so. */
async function startProcess(name, core, command, argv, { log: logFile, ...options } = {}) {
  const child = spawn('taskset', ['-c', core, command, ...argv], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  let output = '';
  const log = logFile === undefined ? undefined : createWriteStream(logFile);
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => {
      if (log === undefined) output += chunk;
      else log.write(chunk);
    });
  }
  const exited = new Promise((done) => child.once('exit', done));
  return {
    name,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitHttp(port, host, path = '/', headers = {}, expect = 200) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const status = await httpStatus(port, host, path, headers);
      if (status === expect) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`nothing answered ${expect} on port ${port}`);
    await sleep(100);
  }
}

async function httpStatus(port, host, path, headers) {
  const { request } = require('undici');
  const response = await request(`http://127.0.0.1:${port}${path}`, {
    headers: { host, ...headers },
  });
  await response.body.dump();
  return response.statusCode;
}

// --- which processes are ours ---

function descendants(pid) {
  const out = [pid];
  try {
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter(Boolean);
    for (const child of children) out.push(...descendants(child));
  } catch {
    // no children
  }
  return out;
}

// --- load generation ---

function parseWrk(text) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const p99 = toMs(/\s99%\s+([\d.]+\w+)/.exec(text)?.[1]);
  const p50 = toMs(/\s50%\s+([\d.]+\w+)/.exec(text)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(text)?.[1];
  return { rps, p50, p99, non2xx, errors };
}

function toMs(value) {
  if (value === undefined) return NaN;
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value);
  if (!match) return NaN;
  const n = Number(match[1]);
  return { us: n / 1000, ms: n, s: n * 1000, m: n * 60_000 }[match[2]];
}

async function wrk(port, headers, { duration, connections, threads = 2, script }) {
  const argv = ['-c', LOAD_CORE, 'wrk', `-t${threads}`, `-c${connections}`, `-d${duration}s`];
  argv.push('--latency', '--timeout', '5s');
  for (const [name, value] of Object.entries(headers)) argv.push('-H', `${name}: ${value}`);
  if (script) argv.push('-s', script);
  argv.push(`http://127.0.0.1:${port}/`);
  return new Promise((done, fail) => {
    const child = spawn('taskset', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? done(out) : fail(new Error(out))));
  });
}

/** One measured run: warm-up, then `duration` seconds, with CPU accounting. */
/**
 * A measured run, repeated (up to `--attempts`, default 2) while other processes used more than
 * `--max-foreign` cores (default 0.15) during it; the cleanest attempt is kept and reported with
 * its foreign CPU, so a noisy figure is visible as such.
 */
async function measure(target, options) {
  let best;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const run = await measureOnce(target, options);
    if (best === undefined || run.foreign < best.foreign) best = { ...run, attempts: attempt + 1 };
    if (run.foreign <= MAX_FOREIGN) break;
  }
  return best;
}

async function measureOnce(target, options) {
  const idleBefore = await waitIdle();
  await wrk(target.port, target.headers, { ...options, duration: WARMUP });
  const pids = target.pids();
  const sut0 = processTicks(pids);
  const m0 = machineTicks();
  const ours0 = processTicks(ourPids());
  const text = await wrk(target.port, target.headers, options);
  const seconds = options.duration;
  const sutCpu = (processTicks(pids) - sut0) / TICK / seconds;
  const m1 = machineTicks();
  const machineCpu = (m1 - m0) / TICK / seconds;
  const foreign = Math.max(0, machineCpu - (processTicks(ourPids()) - ours0) / TICK / seconds);
  return { ...parseWrk(text), sutCpu, foreign, idleBefore };
}

// --- the system under test and its peers ---

const processes = [];
function ourPids() {
  return processes.flatMap((p) => descendants(p.child.pid)).concat(process.pid);
}

async function setUpData() {
  // The built libraries, resolved the way the services resolve them at run time.
  require(join(ROOT, 'scripts/paths.cjs')).registerBuild(DIST);
  const {
    createDataSource,
    runMigrations,
    dropDatabase,
    ApiKey,
    ApiKeyKind,
    Org,
    OrgStatus,
  } = require(join(DIST, 'libs/database/src/index.js'));
  const { PostgresDataKeyStore } = require(join(DIST, 'libs/database/src/index.js'));
  const { EnvelopeCipher, MasterKeyring, generateToken, hashToken, tokenDisplayPrefix } = require(
    join(DIST, 'libs/crypto/src/index.js'),
  );
  const { RedisRoutePublisher } = require(join(DIST, 'libs/routes/src/index.js'));
  const { Redis } = require('ioredis');

  const base = new URL(env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
  const tag = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  base.pathname = `/molecule_bench_${tag}`;
  const databaseUrl = base.toString();
  const redisUrl = env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
  const prefix = `molecule-bench-${tag}`;
  const masterKey = randomBytes(32);

  await runMigrations(databaseUrl);
  const ds = createDataSource({ url: databaseUrl, poolSize: 2 });
  await ds.initialize();
  const org = await ds.getRepository(Org).save({
    slug: `bench-${tag}`,
    name: 'bench',
    status: OrgStatus.Running,
    createdBy: 'platform-admin',
  });
  const visitorKey = generateToken('mol_ok');
  await ds.getRepository(ApiKey).save({
    kind: ApiKeyKind.Org,
    orgId: org.id,
    role: 'viewer',
    scopes: [],
    name: 'bench visitor',
    tokenHash: hashToken(visitorKey),
    displayPrefix: tokenDisplayPrefix(visitorKey),
  });
  const cipher = new EnvelopeCipher(
    new PostgresDataKeyStore(ds),
    new MasterKeyring({ current: masterKey }),
  );
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const publisher = new RedisRoutePublisher(redis, prefix);
  return {
    databaseUrl,
    redisUrl,
    prefix,
    masterKey,
    visitorKey,
    async publish(upstreamPort) {
      const tokens = {};
      for (let i = 0; i < ROUTES; i++) {
        const token = `mol_ta_${randomBytes(32).toString('base64url')}`;
        tokens[`app${i}.${BASE_DOMAIN}`] = token;
        await publisher.publish({
          slug: `app${i}`,
          orgId: org.id,
          status: 'running',
          address: '127.0.0.1',
          port: upstreamPort,
          protocol: 'http',
          generation: 1,
          credential: await cipher.encrypt(org.id, token),
          updatedAt: new Date().toISOString(),
        });
      }
      return tokens;
    },
    async tearDown() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
      await ds.destroy();
      await dropDatabase(databaseUrl);
    },
  };
}

function nginxConf(dir, port, upstreamPort, tokens, visitorKey) {
  const map = Object.entries(tokens)
    .map(([host, token]) => `    ${host} "Bearer ${token}";`)
    .join('\n');
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map_hash_bucket_size 128;
  map_hash_max_size 4096;
  map $host $tenant_token {
    default "";
${map}
  }
  map $http_x_api_key $visitor_ok {
    default 0;
    "${visitorKey}" 1;
  }
  upstream tenant {
    server 127.0.0.1:${upstreamPort};
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      if ($tenant_token = "") { return 404; }
      if ($visitor_ok = 0) { return 401; }
      proxy_pass http://tenant;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization $tenant_token;
      proxy_set_header Cookie "";
      proxy_set_header X-Api-Key "";
      proxy_set_header X-Workspace-ID "";
      proxy_set_header X-Molecule-Org-Id "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`;
}

/**
 * A wrk script that paces each connection, for latency at a given fraction of the maximum. The
 * pause is drawn uniformly from 1..2×mean−1 ms: with a fixed pause, wrk's millisecond timer makes
 * every connection fire on the same tick, and the proxy then sees bursts of all N requests at
 * once, which measures burst size × service time rather than latency at that rate.
 */
function pacedScript(dir, delayMs) {
  const file = join(dir, `paced-${delayMs}.lua`);
  writeFileSync(
    file,
    `math.randomseed(os.time())\nfunction delay()\n  return math.random(1, ${2 * delayMs - 1})\nend\n`,
  );
  return file;
}

function fmt(n, digits = 0) {
  return Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
}

/**
 * The list started at a different place each repetition, so that no target always runs first in
 * a repetition or right after the same neighbour (the VM's state carries over between runs).
 */
function rotated(list, rep) {
  return list.map((_, i) => list[(i + rep) % list.length]);
}

function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  preflight();
  const dir = mkdtempSync(join(tmpdir(), 'bench-edge-'));
  const data = await setUpData();
  let failed = false;
  let stopping;
  const stopAll = async () => {
    stopping ??= (async () => {
      for (const proc of processes.reverse()) await proc.stop();
      await data.tearDown().catch(() => undefined);
      if (!args.keep) rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  // Ctrl-C or a kill must not leave nginx, the router or the scratch database behind.
  for (const signal of ['SIGTERM', 'SIGHUP']) {
    process.once(signal, () => void stopAll().then(() => process.exit(1)));
  }
  if (!args.hold) process.once('SIGINT', () => void stopAll().then(() => process.exit(1)));
  try {
    const ports = {
      upstream: await freePort(),
      direct: await freePort(),
      nginx: await freePort(),
      edge: await freePort(),
      fastify: await freePort(),
      floor: await freePort(),
    };
    const tokens = await data.publish(ports.upstream);
    const host = `${SLUG}.${BASE_DOMAIN}`;
    const headers = { Host: host, 'X-Api-Key': data.visitorKey };

    const upstream = await startProcess('upstream', LOAD_CORE, process.execPath, [
      join(ROOT, 'bench/edge/upstream.mjs'),
      String(ports.upstream),
    ]);
    processes.push(upstream);
    // "Direct" runs hit a second copy on the proxies' core, as in the reference measurements: the
    // same topology minus the proxy (the load generator alone on the other core).
    const direct = await startProcess('upstream-direct', SUT_CORE, process.execPath, [
      join(ROOT, 'bench/edge/upstream.mjs'),
      String(ports.direct),
    ]);
    processes.push(direct);

    writeFileSync(
      join(dir, 'nginx.conf'),
      nginxConf(dir, ports.nginx, ports.upstream, tokens, data.visitorKey),
    );
    const nginx = await startProcess('nginx', SUT_CORE, 'nginx', [
      '-p',
      dir,
      '-c',
      join(dir, 'nginx.conf'),
      '-e',
      join(dir, 'error.log'),
    ]);
    processes.push(nginx);

    const edgeEnv = {
      PATH: env.PATH,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      EDGE_ROUTER_PORT: String(ports.edge),
      BASE_DOMAIN,
      DATABASE_URL: data.databaseUrl,
      REDIS_URL: data.redisUrl,
      REDIS_PREFIX: data.prefix,
      MASTER_KEY: data.masterKey.toString('base64'),
    };
    const edge = await startProcess(
      'edge-router',
      SUT_CORE,
      process.execPath,
      [
        // V8's tick log survives the signal that stops the router (a --cpu-prof would not).
        ...EDGE_FLAGS,
        ...(args.profile
          ? ['--prof', '--no-logfile-per-isolate', `--logfile=${resolve(String(args.profile))}`]
          : []),
        '-r',
        './scripts/paths.cjs',
        'dist/apps/edge-router/src/main.js',
      ],
      { env: edgeEnv, log: args['edge-log'] === undefined ? undefined : String(args['edge-log']) },
    );
    processes.push(edge);

    writeFileSync(
      join(dir, 'fastify.json'),
      JSON.stringify({
        port: ports.fastify,
        upstream: `http://127.0.0.1:${ports.upstream}`,
        routes: tokens,
        visitorKey: data.visitorKey,
      }),
    );
    const fastify = await startProcess('fastify', SUT_CORE, process.execPath, [
      join(ROOT, 'bench/edge/fastify-peer.mjs'),
      join(dir, 'fastify.json'),
    ]);
    processes.push(fastify);

    writeFileSync(
      join(dir, 'node-floor.json'),
      JSON.stringify({
        port: ports.floor,
        upstream: `http://127.0.0.1:${ports.upstream}`,
        token: tokens[host],
        visitorKey: data.visitorKey,
      }),
      { mode: 0o600 },
    );
    const floor = await startProcess('node-floor', SUT_CORE, process.execPath, [
      join(ROOT, 'bench/edge/node-floor.mjs'),
      join(dir, 'node-floor.json'),
    ]);
    processes.push(floor);

    const probe = { 'x-api-key': data.visitorKey };
    await waitHttp(ports.upstream, host, '/', { authorization: 'Bearer direct' });
    await waitHttp(ports.direct, host, '/', { authorization: 'Bearer direct' });
    for (const [name, port] of [
      ['nginx', ports.nginx],
      ['edge-router', ports.edge],
      ['@fastify/http-proxy', ports.fastify],
      ['node-floor', ports.floor],
    ]) {
      await waitHttp(port, host, '/', probe).catch((error) => {
        const proc = processes.find((p) => p.name === name || name.includes(p.name));
        throw new Error(`${name} did not come up: ${error.message}\n${proc?.output() ?? ''}`);
      });
      // Each target must refuse a visitor without a key, and never reach the upstream for one.
      if ((await httpStatus(port, host, '/', {})) !== 401) throw new Error(`${name} let anyone in`);
    }
    // A router in service is probed by its load balancer from the start: measure it in that state
    // (a probe once switched on async hooks for the rest of the process; see docs/benchmarks.md).
    for (const path of ['/healthz', '/readyz']) {
      await waitHttp(ports.edge, `127.0.0.1:${ports.edge}`, path);
    }

    if (args.hold) {
      // For experiments by hand: everything stays up until Ctrl-C. The router's environment goes
      // to a 0600 file, to start more instances by hand (it holds this run's throwaway keys).
      const envFile = join(dir, 'edge.env');
      writeFileSync(
        envFile,
        Object.entries(edgeEnv)
          .map(([name, value]) => `${name}=${value}\n`)
          .join(''),
        { mode: 0o600 },
      );
      process.stdout.write(
        `${JSON.stringify({ ports, host, visitorKey: data.visitorKey, envFile })}\n`,
      );
      await new Promise((done) => process.once('SIGINT', done));
      return;
    }

    const targets = [
      {
        name: 'direct (upstream, no proxy)',
        key: 'direct',
        port: ports.direct,
        headers: { Host: host, Authorization: 'Bearer direct' },
        pids: () => [direct.child.pid],
      },
      {
        name: 'nginx reverse proxy',
        key: 'nginx',
        port: ports.nginx,
        headers,
        pids: () => descendants(nginx.child.pid),
      },
      {
        name: 'edge router',
        key: 'edge',
        port: ports.edge,
        headers,
        pids: () => descendants(edge.child.pid),
      },
      {
        name: '@fastify/http-proxy',
        key: 'fastify',
        port: ports.fastify,
        headers,
        pids: () => descendants(fastify.child.pid),
      },
      {
        name: 'bare Node proxy (floor)',
        key: 'floor',
        port: ports.floor,
        headers,
        pids: () => [floor.child.pid],
      },
    ];

    // `--only edge,nginx` measures a subset (for quick experiments; ratios need all five).
    const only = args.only ? new Set(String(args.only).split(',')) : undefined;
    const measured = only ? targets.filter((t) => only.has(t.key)) : targets;
    const results = Object.fromEntries(targets.map((t) => [t.key, []]));
    process.stdout.write(
      `bench:edge: ${REPS} × ${DURATION}s per target, wrk -t2 -c${CONNECTIONS} on core ${LOAD_CORE} ` +
        `(with the upstream), proxies on core ${SUT_CORE}; edge router node flags: ` +
        `${EDGE_FLAGS.length > 0 ? EDGE_FLAGS.join(' ') : '(none)'}\n`,
    );
    for (let rep = 0; rep < REPS; rep++) {
      for (const target of rotated(measured, rep)) {
        const run = await measure(target, { duration: DURATION, connections: CONNECTIONS });
        results[target.key].push(run);
        process.stdout.write(
          `  rep ${rep + 1} ${target.name}: ${fmt(run.rps)} req/s, p99 ${fmt(run.p99, 2)} ms, ` +
            `SUT CPU ${fmt(run.sutCpu, 2)}, foreign CPU ${fmt(run.foreign, 2)}` +
            `${run.attempts > 1 ? ` (attempts: ${run.attempts})` : ''}` +
            `${run.non2xx ? `, NON-2XX ${run.non2xx}` : ''}${run.errors ? `, errors: ${run.errors}` : ''}\n`,
        );
        if (run.non2xx > 0) failed = true;
      }
    }

    const summary = Object.fromEntries(
      targets.map((t) => {
        const runs = results[t.key];
        return [
          t.key,
          {
            name: t.name,
            rps: median(runs.map((r) => r.rps)),
            p99: median(runs.map((r) => r.p99)),
            sutCpu: median(runs.map((r) => r.sutCpu)),
            foreign: Math.max(...runs.map((r) => r.foreign)),
            min: Math.min(...runs.map((r) => r.rps)),
            max: Math.max(...runs.map((r) => r.rps)),
          },
        ];
      }),
    );

    // Latency at half of the router's maximum rate: each of N connections waits `delay` ms
    // between requests (wrk's `delay()`), N chosen so that N / (delay + latency) ≈ half the rate.
    const half = args.half ? Number(args.half) : summary.edge.rps / 2;
    const delayMs = 5;
    const paced = Math.max(1, Math.round((half * (delayMs + 0.3)) / 1000));
    const script = pacedScript(dir, delayMs);
    // The targets alternate (rotating) within each repetition, as at the maximum rate: the VM's latency
    // drifts between minutes (idle-vCPU wake-ups of 1–4 ms come and go), so an "added" p99 is
    // taken per repetition (the target's p99 minus direct's, measured back to back) and the
    // verdict uses their median.
    const halfKeys = ['direct', 'nginx', 'floor', 'edge'].filter((key) => !only || only.has(key));
    const halfRuns = Object.fromEntries(halfKeys.map((key) => [key, []]));
    for (let rep = 0; rep < HALF_REPS; rep++) {
      for (const key of rotated(halfKeys, rep)) {
        const target = targets.find((t) => t.key === key);
        const run = await measure(target, {
          duration: DURATION,
          connections: paced,
          threads: 1,
          script,
        });
        halfRuns[key].push(run);
        process.stdout.write(
          `  half load rep ${rep + 1} ${target.name}: ${fmt(run.rps)} req/s, p50 ` +
            `${fmt(run.p50, 2)} ms, p99 ${fmt(run.p99, 2)} ms, foreign CPU ${fmt(run.foreign, 2)}` +
            `${run.non2xx ? `, NON-2XX ${run.non2xx}` : ''}${run.errors ? `, errors: ${run.errors}` : ''}\n`,
        );
        if (run.non2xx > 0) failed = true;
      }
    }
    const halfLoad = {};
    for (const key of ['direct', 'nginx', 'floor', 'edge']) {
      const runs = halfRuns[key] ?? [];
      halfLoad[key] = {
        rps: median(runs.map((r) => r.rps)),
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        cpuPerRequestUs: median(runs.map((r) => (r.sutCpu / r.rps) * 1e6)),
        foreign: runs.length > 0 ? Math.max(...runs.map((r) => r.foreign)) : NaN,
      };
    }
    /** Per repetition: the target's p99 minus direct's from the same repetition. */
    const addedPerRep = (key) =>
      (halfRuns[key] ?? []).map((run, i) => run.p99 - (halfRuns.direct?.[i]?.p99 ?? NaN));

    const n = summary.nginx.rps;
    const f = summary.fastify.rps;
    const e = summary.edge.rps;
    const addedEdge = addedPerRep('edge');
    const addedNginx = addedPerRep('nginx');
    const addedFloor = addedPerRep('floor');
    const added = median(addedEdge);
    // Each repetition measures all targets back to back, so the VM's drift (±10–15 % between
    // minutes) mostly cancels in a per-repetition ratio; the verdict uses their median.
    const perRep = (a, b) =>
      median(results[a].map((run, i) => run.rps / (results[b][i]?.rps ?? NaN)));
    const en = perRep('edge', 'nginx');
    const ef = perRep('edge', 'fastify');
    const eFloor = perRep('edge', 'floor');
    const perRequestUs = (s) => fmt((s.sutCpu / s.rps) * 1e6, 1);
    const lines = [
      '',
      `| target | req/s median (min–max) | p99 ms | SUT CPU (cores) | CPU µs/request | vs nginx | vs @fastify/http-proxy |`,
      `| --- | --- | --- | --- | --- | --- | --- |`,
      ...['direct', 'nginx', 'edge', 'fastify', 'floor'].map((k) => {
        const s = summary[k];
        return `| ${s.name} | ${fmt(s.rps)} (${fmt(s.min)}–${fmt(s.max)}) | ${fmt(s.p99, 2)} | ${fmt(s.sutCpu, 2)} | ${perRequestUs(s)} | ${fmt(s.rps / n, 2)} | ${fmt(s.rps / f, 2)} |`;
      }),
      '',
      `Half load (${paced} paced connections, ${delayMs} ms between requests each; target ${fmt(half)} req/s):`,
      '',
      '| target | req/s | p50 ms | p99 ms (per repetition) | added p99 ms (per repetition) | CPU µs/request |',
      '| --- | --- | --- | --- | --- | --- |',
      ...['direct', 'nginx', 'floor', 'edge'].map((k) => {
        const h = halfLoad[k];
        const perRep = (halfRuns[k] ?? []).map((r) => fmt(r.p99, 2)).join(', ');
        const addedHere = { nginx: addedNginx, floor: addedFloor, edge: addedEdge }[k];
        const addedText =
          addedHere === undefined
            ? '—'
            : `${fmt(median(addedHere), 2)} (${addedHere.map((a) => fmt(a, 2)).join(', ')})`;
        return `| ${targets.find((t) => t.key === k).name} | ${fmt(h.rps)} | ${fmt(h.p50, 2)} | ${fmt(h.p99, 2)} (${perRep}) | ${addedText} | ${fmt(h.cpuPerRequestUs, 1)} |`;
      }),
      '',
      `edge router / nginx: ${fmt(en, 2)} median of per-repetition ratios ` +
        `(${fmt(e / n, 2)} from the medians above; target ≥ 0.35) ${en >= 0.35 ? 'MET' : 'MISSED'}`,
      `edge router / @fastify/http-proxy: ${fmt(ef, 2)} median of per-repetition ratios ` +
        `(${fmt(e / f, 2)} from the medians above; target ≥ 1.3) ${ef >= 1.3 ? 'MET' : 'MISSED'}`,
      `added p99 at half load (edge − direct): ${fmt(added, 2)} ms median of per-repetition ` +
        `differences (${addedEdge.map((a) => fmt(a, 2)).join(', ')}; target ≤ 3) ${added <= 3 ? 'MET' : 'MISSED'}`,
      `added p99 at half load, for reference: nginx ${fmt(median(addedNginx), 2)} ms ` +
        `(${addedNginx.map((a) => fmt(a, 2)).join(', ')}), bare Node proxy ${fmt(median(addedFloor), 2)} ms ` +
        `(${addedFloor.map((a) => fmt(a, 2)).join(', ')})`,
      `edge router / bare Node proxy: ${fmt(eFloor, 2)} median of per-repetition ratios ` +
        `(1.00: the router's routing, visitor auth and rewriting cost nothing measurable at the maximum rate)`,
      `max foreign CPU during a run: ${fmt(
        Math.max(
          ...Object.values(summary).map((s) => s.foreign),
          ...Object.values(halfLoad)
            .map((h) => h.foreign)
            .filter(Number.isFinite),
        ),
        2,
      )} cores (other processes on the machine; > ${MAX_FOREIGN} is noisy)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (args.json) {
      writeFileSync(String(args.json), JSON.stringify({ summary, halfLoad, results }, null, 2));
    }
  } catch (error) {
    failed = true;
    process.stderr.write(`bench:edge failed: ${error.stack ?? error}\n`);
  } finally {
    await stopAll();
  }
  process.exit(failed ? 1 : 0);
}

await main();
