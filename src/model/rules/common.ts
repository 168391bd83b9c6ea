// Arithmetic and wording the rules share.
import type { DiagnosisInput, DiagnosisSubject, Times } from "../diagnosis-types.js";

export const pct = (x: number) => `${Math.round(100 * x)}%`;
export const round = (x: number) => Math.round(x * 1000) / 1000;

export function sumTimes(threads: Times[]): Times & { total: number } {
  const out = { oncpu_ns: 0, runq_wait_ns: 0, sleep_ns: 0, iowait_ns: 0, total: 0 };
  for (const t of threads) {
    out.oncpu_ns += t.oncpu_ns;
    out.runq_wait_ns += t.runq_wait_ns;
    out.sleep_ns += t.sleep_ns;
    out.iowait_ns += t.iowait_ns;
  }
  out.total = out.oncpu_ns + out.runq_wait_ns + out.sleep_ns + out.iowait_ns;
  return out;
}

export function formatCpus(n: number): string {
  return Number.isInteger(n) ? `${n} CPU${n === 1 ? "" : "s"}` : `${n.toFixed(2)} CPUs`;
}

/** The share of its periods a cgroup quota throttled the target over the span; 0 without a quota. */
export function throttledShare(r: DiagnosisInput): number {
  const periods = r.cpu_limits.cgroup_periods ?? 0;
  return periods > 0 ? (r.cpu_limits.cgroup_throttled_periods ?? 0) / periods : 0;
}

/** A process as views name it: "dataloader 2" for a worker, else its comm. */
export function processName(r: DiagnosisInput, pid: number): string {
  const p = r.processes?.find((x) => x.pid === pid);
  if (!p) return `pid ${pid}`;
  return p.role === "dataloader" && p.worker_index !== undefined ? `dataloader ${p.worker_index}` : p.comm;
}

export function processSubject(r: DiagnosisInput, pid: number): DiagnosisSubject {
  return { kind: "process", name: processName(r, pid), pid };
}

export function threadSubject(t: { tid: number; pid: number; comm?: string; role: string }): DiagnosisSubject {
  return { kind: "thread", name: `${t.comm ?? t.role} (${t.role})`, pid: t.pid, tid: t.tid };
}
