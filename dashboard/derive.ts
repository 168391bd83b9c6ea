// Model → what the views draw: numbers only, no DOM. Every rule a reader
// might question (the straggler, the role shares) lives here, with tests.
import { roleShares } from "../src/model/role-shares.js";
import { roleNames } from "../src/model/roles.js";
import type { Bucket, Report, RoleHistory, Snapshot } from "./types";

/** The report a view shows: the whole session once the target exited, else the latest interval. */
export function reportOf(s: Snapshot | null): Report | null {
  return s ? (s.final ?? s.interval) : null;
}

/** Where `role` comes in the order every view lists roles (the model's, as the TUI shows them). */
export function roleRank(role: string): number {
  const i = (roleNames as readonly string[]).indexOf(role);
  return i < 0 ? roleNames.length : i;
}

export interface RoleRow {
  role: string;
  processes: number;
  threads: number;
  /** threads' time / wall time: 1.0 = one CPU's worth */
  oncpu: number;
  runq: number;
  offcpu: number;
}

/** Where each role's threads spent the report's interval, in CPUs. */
export function roleRows(r: Report): RoleRow[] {
  return [...r.roles]
    .sort((a, b) => roleRank(a.role) - roleRank(b.role))
    .map((x) => ({ role: x.role, processes: x.processes, threads: x.threads, ...roleShares(x, r.duration_s) }));
}

/** How many recent intervals the straggler rule looks at. */
export const STRAGGLER_WINDOW = 10;
/** A lead below this (share points) is "no clear straggler". */
export const STRAGGLER_MIN_LEAD = 0.05;

export interface TrainerWait {
  /** (run-queue + off-CPU) / (on-CPU + run-queue + off-CPU) of the trainer role's threads */
  share: number;
  runqShare: number;
  offcpuShare: number;
  intervals: number;
}

/** The trainer role's waiting share over the last `window` intervals of the history. */
export function trainerWait(history: RoleHistory[], window = STRAGGLER_WINDOW): TrainerWait | null {
  const h = history.find((x) => x.role === "trainer");
  if (!h) return null;
  const n = Math.min(window, h.oncpu.length, h.runq.length, h.offcpu.length);
  if (n === 0) return null;
  const sum = (xs: number[]) => xs.slice(-n).reduce((a, b) => a + b, 0);
  const on = sum(h.oncpu);
  const runq = sum(h.runq);
  const off = sum(h.offcpu);
  const total = on + runq + off;
  if (total <= 0) return null;
  return { share: (runq + off) / total, runqShare: runq / total, offcpuShare: off / total, intervals: n };
}

export interface Straggler {
  key: string;
  wait: TrainerWait;
  /** the next-worst agent, for the lead */
  runnerUp: { key: string; share: number };
  lead: number;
  /** lead >= STRAGGLER_MIN_LEAD: a real straggler rather than noise */
  clear: boolean;
}

/**
 * The node whose trainer waits most: the largest share of trainer-role time
 * spent off-CPU or in the run queue over the recent intervals. Needs two
 * agents with a trainer to compare; ties go to the first listed.
 */
export function chooseStraggler(agents: { key: string; wait: TrainerWait | null }[]): Straggler | null {
  const ranked = agents.filter((a): a is { key: string; wait: TrainerWait } => a.wait !== null).sort((a, b) => b.wait.share - a.wait.share);
  if (ranked.length < 2) return null;
  const [top, second] = [ranked[0]!, ranked[1]!];
  const lead = top.wait.share - second.wait.share;
  return { key: top.key, wait: top.wait, runnerUp: { key: second.key, share: second.wait.share }, lead, clear: lead >= STRAGGLER_MIN_LEAD };
}

export interface Bar {
  lowUs: number;
  highUs: number;
  count: number;
  /** of the tallest bar, for its length */
  fraction: number;
  /** of all counts, for its label */
  share: number;
}

/** A log2 histogram as bars: empty buckets before the first and after the last non-empty one are cut. */
export function histogramBars(buckets: Bucket[]): Bar[] {
  const first = buckets.findIndex((b) => b.count > 0);
  if (first < 0) return [];
  let last = buckets.length - 1;
  while (buckets[last]!.count === 0) last--;
  const max = Math.max(...buckets.map((b) => b.count));
  const total = buckets.reduce((n, b) => n + b.count, 0);
  return buckets.slice(first, last + 1).map((b, j) => ({
    lowUs: first + j === 0 ? 0 : buckets[first + j - 1]!.le_us,
    highUs: b.le_us,
    count: b.count,
    fraction: b.count / max,
    share: b.count / total,
  }));
}

export interface Histogram {
  title: string;
  /** null: the family that fills it is not measured on this node */
  buckets: Bucket[] | null;
  p: { p50: number; p90: number; p99: number } | null;
  unit: string;
  notMeasured?: string;
}

/** The latency histograms of a report; faults and I/O say "not measured" where their family is off. */
export function histograms(r: Report): Histogram[] {
  const out: Histogram[] = [
    { title: "Run-queue latency", unit: "wait for a CPU, per run", buckets: r.sched.runq_latency_hist, p: r.sched.runq_latency_us },
    { title: "Off-CPU time", unit: "per sleep", buckets: r.sched.offcpu_hist, p: r.sched.offcpu_us },
  ];
  const faults = r.faults?.available ? r.faults : null;
  out.push(
    faults
      ? { title: "Major fault latency", unit: "per fault", buckets: faults.major_latency_hist, p: faults.major_latency_us }
      : { title: "Major fault latency", unit: "per fault", buckets: null, p: null, notMeasured: "faults family not loaded on this node" },
  );
  const io = r.io?.available ? r.io : null;
  out.push(
    io
      ? { title: "Block I/O device latency", unit: "per request", buckets: io.device_latency_hist, p: io.device_latency_us }
      : { title: "Block I/O device latency", unit: "per request", buckets: null, p: null, notMeasured: "io family not loaded on this node" },
  );
  return out;
}

export interface Families {
  faults: string | null;
  io: string | null;
  numa: string | null;
}

/** Why a family is not measured on this node, or null when it is. */
export function unmeasured(r: Report): Families {
  const numa = r.numa;
  return {
    faults: r.faults?.available ? null : "faults family not loaded",
    io: r.io?.available ? null : "io family not loaded",
    numa: numa?.available ? null : numa && numa.nodes <= 1 ? "single NUMA node" : "NUMA family not loaded",
  };
}

/** Points for a history chart: x = seconds since tracing began at each interval's end. */
export function historyXs(s: Snapshot, length: number): number[] {
  return Array.from({ length }, (_, i) => s.uptime_s - (length - 1 - i) * s.interval_s);
}

/** The trainer role's run-queue and off-CPU shares of its threads' time, per interval (NaN where it did nothing). */
export function trainerWaitSeries(history: RoleHistory[]): { runq: number[]; offcpu: number[] } {
  const h = history.find((x) => x.role === "trainer");
  if (!h) return { runq: [], offcpu: [] };
  const total = h.oncpu.map((on, i) => on + (h.runq[i] ?? 0) + (h.offcpu[i] ?? 0));
  const part = (xs: number[]) => xs.map((x, i) => (total[i]! > 0 ? x / total[i]! : NaN));
  return { runq: part(h.runq), offcpu: part(h.offcpu) };
}
