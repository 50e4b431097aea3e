// CPU accounting from /proc, so a benchmark can say how much of the machine other processes used
// while it measured ("foreign CPU"): other sessions build and test on the same cores.
import { readdirSync, readFileSync } from 'node:fs';

export const TICK = 100; // USER_HZ on Linux

/** utime + stime of the processes, in ticks; for this process also its reaped children (wrk). */
export function processTicks(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(fields[11]) + Number(fields[12]);
      if (pid === process.pid) total += Number(fields[13]) + Number(fields[14]);
    } catch {
      // exited
    }
  }
  return total;
}

/** Busy (non-idle) ticks of the whole machine so far. */
export function machineTicks() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + cpu[4];
  return cpu.slice(0, 8).reduce((a, b) => a + b, 0) - idle;
}

/** Ticks used so far by each process whose command name is one of `names`, by pid. */
function ticksByName(names) {
  const wanted = new Set(names);
  const ticks = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (wanted.has(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) {
        ticks.set(entry, processTicks([Number(entry)]));
      }
    } catch {
      // exited
    }
  }
  return ticks;
}

/**
 * Ticks used between two readings of `ticksByName`: a process that started in between counts
 * whole, one that exited in between is lost (its CPU then shows up as foreign).
 */
function ticksBetween(before, after) {
  let total = 0;
  for (const [pid, ticks] of after) total += Math.max(0, ticks - (before.get(pid) ?? 0));
  return total;
}

/**
 * Starts a measurement: `stop()` returns the cores used, on average, by `sut` (the pids under
 * test), by `shared` (servers it depends on, by command name, which other sessions may use too:
 * Redis, Postgres), by this process with its children (the load generator), and by everything
 * else (`foreign`).
 */
export function cpuMeter({ sut, shared = [] }) {
  const started = process.hrtime.bigint();
  const sut0 = processTicks(sut);
  const shared0 = ticksByName(shared);
  const self0 = processTicks([process.pid]);
  const machine0 = machineTicks();
  return {
    stop() {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cores = (ticks) => ticks / TICK / seconds;
      const sutCpu = cores(processTicks(sut) - sut0);
      const sharedCpu = cores(ticksBetween(shared0, ticksByName(shared)));
      const loadCpu = cores(processTicks([process.pid]) - self0);
      const machine = cores(machineTicks() - machine0);
      return {
        sutCpu,
        sharedCpu,
        loadCpu,
        foreign: Math.max(0, machine - sutCpu - sharedCpu - loadCpu),
      };
    },
  };
}

/** Waits (at most `maxWaitMs`) until the machine uses less than `cores`; returns the last reading. */
export async function waitIdle({ cores = 0.2, maxWaitMs = 15_000 } = {}) {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const a = machineTicks();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const used = (machineTicks() - a) / TICK;
    if (used < cores || Date.now() > deadline) return used;
  }
}
