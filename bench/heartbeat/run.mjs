// npm run bench:heartbeat — one registry process, many simulated workspaces heartbeating, and
// in the same run a trivial route (GET /healthz) of the same process as the ceiling.
// Needs Postgres and Redis as the tests do (TEST_DATABASE_URL / TEST_REDIS_URL to override).
import { randomBytes } from 'node:crypto';
import { load } from '../lib/load.mjs';
import { cpuMeter, waitIdle } from '../lib/cpu.mjs';
import { benchArgs, buildDist, hold, median, scratch, startService } from '../lib/service.mjs';
import { hasWrk, wrk } from '../lib/wrk.mjs';

const args = benchArgs();
const workspaces = Number(args.workspaces ?? 2000);
const seconds = Number(args.seconds ?? 10);
const concurrency = Number(args.concurrency ?? 64);
const reps = Number(args.reps ?? 3);
const maxForeign = Number(args['max-foreign'] ?? 0.15);
const attempts = Number(args.attempts ?? 2);

const lib = buildDist();
const { WorkspaceTokens } = lib('auth');
const port = 39_000 + (process.pid % 1000);
const { db, ds, databaseUrl, redisUrl, prefix, drop } = await scratch(lib, 'heartbeat');
let registry;
try {
  console.log(`seeding ${workspaces} workspaces with session tokens…`);
  const org = await ds.getRepository(db.Org).save({
    slug: `bench-${process.pid}`,
    name: 'bench',
    status: 'running',
    createdBy: 'platform-admin',
  });
  const tokens = new WorkspaceTokens(ds);
  const sessions = [];
  for (let i = 0; i < workspaces; i += 200) {
    const batch = await ds.getRepository(db.Workspace).save(
      Array.from({ length: Math.min(200, workspaces - i) }, (_, j) => ({
        orgId: org.id,
        name: `w${i + j}`,
        runtime: 'reference',
        status: 'online',
      })),
    );
    for (const w of batch) {
      const bootstrap = await tokens.issueBootstrap(w.id, w.id, 600);
      const row = await ds
        .getRepository(db.WorkspaceToken)
        .findOneByOrFail({ workspaceId: w.id, kind: 'bootstrap' });
      sessions.push(await tokens.exchange(row.id, w.id));
      void bootstrap;
    }
  }

  // e.g. `--hold --node-args=--inspect` to profile the registry under load
  const started = await startService(
    'registry',
    port,
    {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      MASTER_KEY: randomBytes(32).toString('base64'),
      REGISTRY_PORT: String(port),
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
    },
    args['node-args'] ? args['node-args'].split(' ') : [],
  );
  registry = started.child;
  const base = started.base;
  const beat = JSON.stringify({
    status: 'ok',
    activeTasks: 1,
    errorRate: 0,
    usage: { tasksTotal: 10 },
  });
  const useWrk = hasWrk() && args.generator !== 'node';
  const luaTokens = sessions.map((t) => `"${t}"`).join(',\n');
  const heartbeatScript = `local tokens = {${luaTokens}}
local body = '${beat}'
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/registry/heartbeat", { ["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1], ["Content-Type"] = "application/json" }, body)
end`;
  const heartbeat = () =>
    useWrk
      ? wrk({ url: base, seconds, concurrency, script: heartbeatScript })
      : load({
          url: `${base}/registry/heartbeat`,
          method: 'POST',
          seconds,
          concurrency,
          body: () => beat,
          headers: (i) => ({ authorization: `Bearer ${sessions[i % sessions.length]}` }),
        });
  const trivial = () =>
    useWrk
      ? wrk({ url: `${base}/healthz`, seconds, concurrency })
      : load({ url: `${base}/healthz`, seconds, concurrency });

  console.log('warming up (every workspace beats once)…');
  await load({
    url: `${base}/registry/heartbeat`,
    method: 'POST',
    seconds: 0,
    concurrency: 1,
    body: () => beat,
    headers: () => ({}),
  }).catch(() => undefined);
  for (let i = 0; i < sessions.length; i += concurrency) {
    await Promise.all(
      sessions.slice(i, i + concurrency).map((token) =>
        fetch(`${base}/registry/heartbeat`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: beat,
        }),
      ),
    );
  }
  await load({ url: `${base}/healthz`, seconds: 2, concurrency });
  await load({
    url: `${base}/registry/heartbeat`,
    method: 'POST',
    seconds: 3,
    concurrency,
    body: () => beat,
    headers: (i) => ({ authorization: `Bearer ${sessions[i % sessions.length]}` }),
  });
  if ('hold' in args) {
    // For profiling by hand: the registry stays up with its warm session cache until Ctrl-C.
    await hold('heartbeat', heartbeatScript, (script) => [
      `registry pid ${registry.pid} at ${base}; for example:`,
      `  wrk -t1 -c${concurrency} -d${seconds}s --latency -s ${script} ${base}`,
      `  wrk -t1 -c${concurrency} -d${seconds}s --latency ${base}/healthz`,
    ]);
  } else {
    await measure(trivial, heartbeat);
  }
} finally {
  registry?.kill('SIGTERM');
  await drop();
}

/**
 * `reps` repetitions of the trivial route then the heartbeat, back to back, each after waiting
 * for a quiet machine and with CPU accounting. A repetition during which other processes used
 * more than `maxForeign` cores is run again (up to `attempts` times) and the cleaner kept.
 */
async function measure(trivial, heartbeat) {
  const shared = ['redis-server', 'postgres'];
  const once = async (run) => {
    const idle = await waitIdle();
    const meter = cpuMeter({ sut: [registry.pid], shared });
    const result = await run();
    return { ...result, ...meter.stop(), idle };
  };
  const repetitions = [];
  for (let rep = 0; rep < reps; rep++) {
    let best;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const ceiling = await once(trivial);
      const beats = await once(heartbeat);
      const pair = { ceiling, beats, foreign: Math.max(ceiling.foreign, beats.foreign) };
      if (best === undefined || pair.foreign < best.foreign) best = pair;
      if (pair.foreign <= maxForeign) break;
    }
    repetitions.push(best);
    const { ceiling, beats } = best;
    console.log(`\nrepetition ${rep + 1}`);
    console.log(`  trivial GET /healthz      ${fmt(ceiling)}`);
    console.log(`  POST /registry/heartbeat  ${fmt(beats)}`);
    console.log(`  ratio heartbeat / trivial ${(beats.rate / ceiling.rate).toFixed(2)}`);
  }
  const rate = median(repetitions.map((r) => r.beats.rate));
  const p99 = median(repetitions.map((r) => r.beats.p99));
  const ratio = median(repetitions.map((r) => r.beats.rate / r.ceiling.rate));
  const errors = repetitions.reduce((sum, r) => sum + failed(r.beats) + failed(r.ceiling), 0);
  console.log(
    `\nregistry, one process, ${workspaces} workspaces, ${concurrency} connections, ` +
      `${reps} × ${seconds} s each (medians of the repetitions)`,
  );
  console.log(
    `  trivial GET /healthz      ${Math.round(median(repetitions.map((r) => r.ceiling.rate)))} req/s`,
  );
  console.log(`  POST /registry/heartbeat  ${Math.round(rate)} req/s, p99 ${p99.toFixed(2)} ms`);
  console.log(`  ratio heartbeat / trivial ${ratio.toFixed(2)}`);
  console.log(
    `  foreign CPU: at most ${Math.max(...repetitions.map((r) => r.foreign)).toFixed(2)} cores ` +
      'during a kept run',
  );
  const ok = rate >= 5000 && p99 < 50 && ratio >= 0.4 && errors === 0;
  console.log(`targets (>= 5000/s, p99 < 50 ms, >= 0.4x trivial): ${ok ? 'met' : 'NOT met'}`);
}

/** wrk counts non-2xx answers in `errors`; the Node client counts them by status only. */
function failed(r) {
  const refused = Object.entries(r.statuses).filter(([status]) => Number(status) >= 300);
  return r.errors + refused.reduce((sum, [, count]) => sum + count, 0);
}

function fmt(r) {
  return (
    `${Math.round(r.rate).toString().padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  ` +
    `p99 ${r.p99.toFixed(2)} ms  errors ${failed(r)} ${JSON.stringify(r.statuses)}  ` +
    `registry CPU ${r.sutCpu.toFixed(2)}  Redis+Postgres CPU ${r.sharedCpu.toFixed(2)}  ` +
    `load generator CPU ${r.loadCpu.toFixed(2)}  foreign CPU ${r.foreign.toFixed(2)}`
  );
}
