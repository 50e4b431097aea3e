// Runs Debian's `wrk` (a C load generator: it leaves the CPU to the server under test far more
// than a Node client would) and parses its report. Loopback only; bounded by `seconds`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function hasWrk() {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

const unit = { us: 0.001, ms: 1, s: 1000 };
const toMs = (text) => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  return m ? Number(m[1]) * unit[m[2]] : NaN;
};

/** `script` is a wrk Lua script (for custom methods, headers and bodies), or undefined for GET. */
export function wrk({ url, seconds, concurrency, threads = 1, script }) {
  const dir = mkdtempSync(join(tmpdir(), 'molecule-wrk-'));
  try {
    const args = [`-t${threads}`, `-c${concurrency}`, `-d${seconds}s`, '--latency'];
    if (script) {
      writeFileSync(join(dir, 'script.lua'), script);
      args.push('-s', join(dir, 'script.lua'));
    }
    const run = spawnSync('wrk', [...args, url], {
      encoding: 'utf8',
      timeout: (seconds + 30) * 1000,
    });
    const out = run.stdout ?? '';
    const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
    const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '');
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const socketErrors = /Socket errors: (.*)/.exec(out)?.[1];
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
    return {
      rate,
      p50,
      p99,
      requests,
      errors: non2xx,
      statuses: { non2xx, socketErrors: socketErrors ?? 'none' },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
