import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * Liveness checks for the local driver's processes, with a guard against pid reuse.
 *
 * A pid alone is not an identity: once a process exits, the kernel may hand its pid to an
 * unrelated process, and `process.kill(pid, 0)` would then call that one alive (and a later
 * SIGTERM would hit it). On Linux the driver therefore also records the process start time,
 * field 22 of `/proc/<pid>/stat` (clock ticks since boot, fixed for a process's whole life), and
 * treats a pid whose start time differs as a different process. Where `/proc` does not exist
 * (macOS), only `kill(pid, 0)` is available and the guard is skipped.
 */

const HAS_PROC = existsSync('/proc/self/stat');

interface ProcStat {
  /** Field 3: R, S, D, Z (zombie), T, ... */
  state: string;
  /** Field 22. */
  startTime: string;
}

async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 2 is the command name in parentheses and may itself contain spaces or ')'; every
    // field after the last ')' is space-separated, starting with field 3.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    const startTime = rest[19];
    return state && startTime ? { state, startTime } : undefined;
  } catch {
    return undefined;
  }
}

/** The start time to store beside a pid, when the platform has one. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  return (await readProcStat(pid))?.startTime;
}

export type ProcessStatus =
  /** The process we launched is alive. */
  | 'alive'
  /** Nothing runs under that pid any more (or only its zombie). */
  | 'gone'
  /** The pid now belongs to another process (other start time, or another user's). */
  | 'reused';

export async function processStatus(pid: number, startTime?: string): Promise<ProcessStatus> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: a process exists but we may not signal it, so it is not one we started.
    return errorCode(error) === 'EPERM' ? 'reused' : 'gone';
  }
  if (!HAS_PROC) return 'alive';
  const stat = await readProcStat(pid);
  if (!stat) return 'gone';
  if (startTime !== undefined && stat.startTime !== startTime) return 'reused';
  // A zombie has exited; it only waits for its parent to collect the status.
  return stat.state === 'Z' ? 'gone' : 'alive';
}

/** Whether any process is left in the group whose id is `pgid`. */
export function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    // ESRCH: no member left. EPERM: the members belong to another user, so not to us.
    return false;
  }
}

/** Sends `signal` to a whole process group; a group that is already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if (errorCode(error) !== 'ESRCH') throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
}
