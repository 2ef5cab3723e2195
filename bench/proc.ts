import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * What /proc says about a process: CPU time (user + system) and resident memory. The bench reads
 * them before and after each scenario, so CPU per operation is the server's own, not the load
 * generator's.
 */

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * The fields of a /proc/…/stat file after the command name, or null when the process or thread is
 * gone. The name (field 2) may hold spaces: count fields after its closing parenthesis, so field N
 * of proc(5) is index N - 3 here.
 */
function statFields(path: string): string[] | null {
  try {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime (fields 14 and 15), ms. */
function cpuMsOf(fields: string[]): number {
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** utime + stime of a process in milliseconds; null when it is gone. */
export function cpuMs(pid: number): number | null {
  const fields = statFields(`/proc/${pid}/stat`);
  return fields ? cpuMsOf(fields) : null;
}

/** Resident set size in MB. */
export function rssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU of a set of processes that may change while measured (PostgreSQL backends come and go). */
export class CpuMeter {
  private readonly start = new Map<number, number>();

  constructor(pids: number[]) {
    for (const pid of pids) {
      const ms = cpuMs(pid);
      if (ms !== null) this.start.set(pid, ms);
    }
  }

  /** CPU ms spent since construction by the processes then known and by `laterPids` (all of theirs if new). */
  elapsed(laterPids: number[] = []): number {
    let total = 0;
    for (const pid of new Set([...this.start.keys(), ...laterPids])) {
      const now = cpuMs(pid);
      if (now === null) continue; // a backend that ended: its last slice is lost (rare under load: the pool keeps them)
      total += now - (this.start.get(pid) ?? 0);
    }
    return total;
  }
}

/** A process and all its descendants (a server's cluster workers): their CPU and memory are the server's. */
export function processTree(pid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(`/proc/${entry}/stat`);
    if (!fields) continue; // gone while listed
    const parent = Number(fields[1]);
    childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), Number(entry)]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(childrenOf.get(tree[i]!) ?? []));
  return tree;
}

/**
 * CPU ms of each thread of a process, by thread id. The thread whose id is the process id runs the
 * JavaScript; the others are libuv's pool (argon2id, WebCrypto, file reads) and V8's helpers (GC).
 */
export function threadCpuMs(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const fields = statFields(`/proc/${pid}/task/${tid}/stat`);
      if (fields) threads.set(Number(tid), cpuMsOf(fields)); // else ended while listed
    }
  } catch {
    // the process is gone
  }
  return threads;
}
