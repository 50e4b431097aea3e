// npm run bench:api — one api process answering a dashboard's reads at a fixed rate (SPEC §8: p99
// < 25 ms at 1,000 req/s), and in the same run its trivial route (GET /healthz) at the same rate
// and both at their maximum rate, for reference. Needs Postgres and Redis as the tests do
// (TEST_DATABASE_URL / TEST_REDIS_URL to override) and Debian's `wrk`.
//
//   node bench/api/run.mjs [--rate=1000] [--seconds=10] [--reps=3] [--workspaces=50]
//     [--audit-events=2000] [--hold] [--node-args='<flags for the api>']
import { randomBytes } from 'node:crypto';
import { cpuMeter, waitIdle } from '../lib/cpu.mjs';
import { benchArgs, buildDist, hold, median, scratch, startService } from '../lib/service.mjs';
import { hasWrk, wrk } from '../lib/wrk.mjs';

const args = benchArgs();
const rate = Number(args.rate ?? 1000);
const seconds = Number(args.seconds ?? 10);
const reps = Number(args.reps ?? 3);
const workspaces = Number(args.workspaces ?? 50);
const auditEvents = Number(args['audit-events'] ?? 2000);
const maxForeign = Number(args['max-foreign'] ?? 0.15);
const attempts = Number(args.attempts ?? 2);
// Each paced connection waits a random 1..(2×PAUSE−1) ms between requests (mean PAUSE): random,
// because a fixed pause makes wrk fire every connection on the same millisecond tick.
const PAUSE_MS = 10;
const MAX_RATE_CONNECTIONS = 32;

if (!hasWrk()) {
  console.error('bench:api needs wrk on PATH (Debian/Ubuntu: sudo apt-get install -y wrk)');
  process.exit(1);
}

const load = buildDist();
const { AuditService } = load('audit');
const { generateToken, hashToken, tokenDisplayPrefix } = load('crypto');
const port = 38_000 + (process.pid % 1000);
const { db, ds, databaseUrl, redisUrl, prefix, drop } = await scratch(load, 'api');
let api;
try {
  console.log(
    `seeding an org with ${workspaces} workspaces, ${auditEvents} audit events and a key…`,
  );
  const slug = `bench-${process.pid}`;
  const org = await ds.getRepository(db.Org).save({
    slug,
    name: 'bench',
    status: 'running',
    createdBy: 'platform-admin',
  });
  const saved = await ds.getRepository(db.Workspace).save(
    Array.from({ length: workspaces }, (_, i) => ({
      orgId: org.id,
      name: `w${i}`,
      runtime: 'reference',
      status: 'online',
    })),
  );
  // An org's trail grows with every write (memories, sessions, workspaces): a long one.
  const audit = new AuditService(ds);
  await ds.transaction(async (tx) => {
    for (let i = 0; i < auditEvents; i++) {
      await audit.append(
        {
          chain: org.id,
          actor: 'system:bench',
          action: 'memory.written',
          target: `memory:${i}`,
          data: { scope: 'TEAM', contentHash: randomBytes(32).toString('hex'), bytes: 512 },
        },
        tx,
      );
    }
  });
  const key = generateToken('mol_ok');
  await ds.getRepository(db.ApiKey).save({
    kind: 'org',
    orgId: org.id,
    role: 'admin',
    scopes: [],
    name: 'bench dashboard',
    tokenHash: hashToken(key),
    displayPrefix: tokenDisplayPrefix(key),
  });

  // `--node-args=--cpu-prof`, for example, to profile the api under load.
  const nodeArgs = args['node-args'] ? args['node-args'].split(' ') : [];
  const started = await startService(
    'api',
    port,
    {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      MASTER_KEY: randomBytes(32).toString('base64'),
      PLATFORM_ADMIN_TOKEN: randomBytes(32).toString('base64url'),
      API_PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      // One client asks for 1,000 reads a second here, far above the per-principal limit a real
      // dashboard key gets (600 a minute): the limiter still runs on every request, just higher.
      RATE_LIMIT_DEFAULT: '1000000',
    },
    nodeArgs,
  );
  api = started.child;
  const base = started.base;

  // What a dashboard polls: the org, its provisioning, the workspace list and one workspace, the
  // audit trail's first page (with its chain verification), memories, keys and A2A activity.
  const paths = [
    `/v1/orgs/${slug}`,
    `/v1/orgs/${slug}/provisioning`,
    `/v1/orgs/${slug}/workspaces`,
    ...saved.slice(0, 8).map((w) => `/v1/orgs/${slug}/workspaces/${w.id}`),
    `/v1/orgs/${slug}/audit?limit=50`,
    `/v1/orgs/${slug}/memories`,
    `/v1/orgs/${slug}/api-keys`,
    `/v1/orgs/${slug}/a2a-calls`,
  ];
  for (const path of paths) {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
    await response.arrayBuffer();
  }
  const pacing = `math.randomseed(os.time())
function delay()
  return math.random(1, ${2 * PAUSE_MS - 1})
end
`;
  const readsScript = (
    paced,
  ) => `${paced ? pacing : ''}local paths = {${paths.map((p) => `"${p}"`).join(', ')}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], { ["Authorization"] = "Bearer ${key}" })
end
`;
  // Connections for the asked rate, with ~2 ms of answer time on top of the pause.
  const paced = Math.max(1, Math.round((rate * (PAUSE_MS + 2)) / 1000));
  const runs = {
    'reads at the rate': () =>
      wrk({ url: base, seconds, concurrency: paced, script: readsScript(true) }),
    'trivial at the rate': () =>
      wrk({ url: `${base}/healthz`, seconds, concurrency: paced, script: pacing }),
    'reads, maximum': () =>
      wrk({ url: base, seconds, concurrency: MAX_RATE_CONNECTIONS, script: readsScript(false) }),
    'trivial, maximum': () =>
      wrk({ url: `${base}/healthz`, seconds, concurrency: MAX_RATE_CONNECTIONS }),
  };
  console.log('warming up…');
  runs['reads, maximum']();
  if ('hold' in args) {
    // For profiling by hand.
    await hold('api', readsScript(true), (script) => [
      `api pid ${api.pid} at ${base}; for example:`,
      `  wrk -t1 -c${paced} -d${seconds}s --latency -s ${script} ${base}`,
    ]);
  } else {
    await measure(runs, paced);
  }
} finally {
  api?.kill('SIGTERM');
  await drop();
}

/**
 * `reps` repetitions of every run, alternating, each after waiting for a quiet machine and with
 * CPU accounting; a run during which other processes used more than `maxForeign` cores is
 * repeated (up to `attempts` times) and the cleaner one kept.
 */
async function measure(runs, paced) {
  const shared = ['redis-server', 'postgres'];
  const results = Object.fromEntries(Object.keys(runs).map((name) => [name, []]));
  for (let rep = 0; rep < reps; rep++) {
    console.log(`\nrepetition ${rep + 1}`);
    for (const [name, run] of Object.entries(runs)) {
      let best;
      for (let attempt = 0; attempt < attempts; attempt++) {
        await waitIdle();
        const meter = cpuMeter({ sut: [api.pid], shared });
        const result = { ...run(), ...meter.stop() };
        if (best === undefined || result.foreign < best.foreign) best = result;
        if (result.foreign <= maxForeign) break;
      }
      results[name].push(best);
      console.log(`  ${name.padEnd(20)} ${fmt(best)}`);
    }
  }
  const med = (name, field) => median(results[name].map((r) => r[field]));
  const errors = Object.values(results)
    .flat()
    .reduce((sum, r) => sum + r.errors + (r.statuses.socketErrors === 'none' ? 0 : 1), 0);
  const readsRate = med('reads at the rate', 'rate');
  const readsP99 = med('reads at the rate', 'p99');
  console.log(
    `\napi, one process: ${reps} × ${seconds} s per run, ${paced} paced connections for ` +
      `${rate} req/s (medians of the repetitions)`,
  );
  console.log(
    `  reads at the rate     ${Math.round(readsRate)} req/s, p50 ${med('reads at the rate', 'p50').toFixed(2)} ms, p99 ${readsP99.toFixed(2)} ms`,
  );
  console.log(
    `  trivial at the rate   ${Math.round(med('trivial at the rate', 'rate'))} req/s, p50 ${med('trivial at the rate', 'p50').toFixed(2)} ms, p99 ${med('trivial at the rate', 'p99').toFixed(2)} ms`,
  );
  const ratio = median(
    results['reads, maximum'].map((r, i) => r.rate / results['trivial, maximum'][i].rate),
  );
  console.log(
    `  maximum: reads ${Math.round(med('reads, maximum', 'rate'))} req/s, trivial ` +
      `${Math.round(med('trivial, maximum', 'rate'))} req/s (reads / trivial ${ratio.toFixed(2)})`,
  );
  console.log(
    `  foreign CPU: at most ${Math.max(
      ...Object.values(results)
        .flat()
        .map((r) => r.foreign),
    ).toFixed(2)} cores during a kept run; errors ${errors}`,
  );
  const ok = readsP99 < 25 && readsRate >= rate * 0.95 && errors === 0;
  console.log(`target (p99 < 25 ms at ${rate} req/s, no errors): ${ok ? 'met' : 'NOT met'}`);
  if (!ok) process.exitCode = 1;
}

function fmt(r) {
  return (
    `${Math.round(r.rate).toString().padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  ` +
    `p99 ${r.p99.toFixed(2)} ms  non-2xx ${r.errors}  socket errors ${r.statuses.socketErrors}  ` +
    `api CPU ${r.sutCpu.toFixed(2)}  Redis+Postgres CPU ${r.sharedCpu.toFixed(2)}  ` +
    `foreign CPU ${r.foreign.toFixed(2)}`
  );
}
