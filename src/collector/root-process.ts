// What /proc says of the target's root process that the kernel maps do not:
// its CPU time split into user and kernel mode (the fault-churn rule weighs
// faults by the kernel's share) and its memory in transparent huge pages.
import { readOrNull as read } from "./read-file.js";
import type { RootProcessSample } from "../model/sample.js";

/** USER_HZ: /proc reports utime and stime in these ticks on every Linux ABI mltrace runs on. */
const TICK_NS = 1e9 / 100;

/** utime and stime (fields 14 and 15) of /proc/PID/stat, in ns. */
export function parseStatTimes(text: string): { utime_ns: number; stime_ns: number } | null {
  // comm may hold spaces and parentheses: the fields after it start past the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): utime is field 14, stime 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? { utime_ns: utime * TICK_NS, stime_ns: stime * TICK_NS } : null;
}

/** "AnonHugePages:  4096 kB" of smaps_rollup, in bytes. */
export function parseAnonHuge(text: string): number | undefined {
  const kb = /^AnonHugePages:\s+(\d+)\s+kB/m.exec(text)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

/** "always [madvise] never" → "madvise" */
export function parseThpEnabled(text: string): string | undefined {
  return /\[(\w+)\]/.exec(text)?.[1];
}


export function readThpEnabled(): string | undefined {
  const text = read("/sys/kernel/mm/transparent_hugepage/enabled");
  return text ? parseThpEnabled(text) : undefined;
}

/**
 * Counts from attach, as every other counter: the first reading of a
 * process is its zero.
 */
export class RootProcessReader {
  private base?: { pid: number; utime_ns: number; stime_ns: number };

  read(pid: number): RootProcessSample | undefined {
    const stat = read(`/proc/${pid}/stat`);
    const times = stat ? parseStatTimes(stat) : null;
    if (!times) return undefined;
    if (this.base?.pid !== pid) this.base = { pid, ...times };
    const rollup = read(`/proc/${pid}/smaps_rollup`);
    const huge = rollup ? parseAnonHuge(rollup) : undefined;
    return {
      pid,
      utime_ns: times.utime_ns - this.base.utime_ns,
      stime_ns: times.stime_ns - this.base.stime_ns,
      ...(huge === undefined ? {} : { anon_huge_bytes: huge }),
    };
  }
}
