// Rules over one report: each fires with the numbers that made it fire and
// what to try. Pure, so a replayed recording diagnoses exactly as live did.
// Thresholds are documented in README.md ("Diagnoses"); keep them in sync.
import type { CpuLimits } from "./sample.js";
import { roleNames, type Role } from "./roles.js";

export type Severity = "info" | "warning" | "critical";

export interface Diagnosis {
  /** stable: scripts and docs refer to it */
  id: "input-bound" | "cpu-contention" | "oversubscription";
  severity: Severity;
  summary: string;
  evidence: Record<string, number>;
  suggestion: string;
  /** cpu-contention: who took the CPU */
  preempted_by: { comm: string; pid: number; count: number }[];
}

interface Times {
  oncpu_ns: number;
  runq_wait_ns: number;
  sleep_ns: number;
  iowait_ns: number;
}

/**
 * What the rules read: sums, not thread lists, so that a whole-session
 * report reads the same whether or not the session folded exited threads
 * into totals (fold.ts). report.ts builds it; threadFacts() gives the
 * per-thread parts from a list of threads.
 */
export interface DiagnosisInput {
  duration_s: number;
  sched: Times & { switches_involuntary: number; preempted_by: { comm: string; pid: number; count: number }[] };
  cpu_limits: CpuLimits & { usable_cpus: number };
  /** the trainer's main thread, when it is in the report */
  trainer?: Times;
  /** the DataLoader workers' threads summed, and how many processes they are */
  workers: Times & { processes: number };
  /** threads that wanted a CPU (on it or waiting) at least BUSY_SHARE_OF_WALL of the wall time, per role */
  busy: Record<Role, number>;
}

/** A thread that wanted a CPU this share of the wall time counts as busy (oversubscription). */
export const BUSY_SHARE_OF_WALL = 0.5;

export function isBusy(wants_ns: number, wallNs: number): boolean {
  return wants_ns / wallNs >= BUSY_SHARE_OF_WALL;
}

export function noBusyThreads(): Record<Role, number> {
  return { trainer: 0, dataloader: 0, "pin-memory": 0, "intra-op": 0, other: 0 };
}

/** Adds to `busy` the threads of `threads` that count as busy over `duration_s`. */
export function countBusy(busy: Record<Role, number>, threads: readonly (Times & { role: string })[], duration_s: number): Record<Role, number> {
  const wallNs = duration_s * 1e9;
  for (const t of threads) if (isBusy(t.oncpu_ns + t.runq_wait_ns, wallNs)) busy[t.role as Role] = (busy[t.role as Role] ?? 0) + 1;
  return busy;
}

/** The per-thread parts of DiagnosisInput from a complete list of threads. */
export function threadFacts(threads: readonly (Times & { pid: number; role: string })[], duration_s: number): Pick<DiagnosisInput, "trainer" | "workers" | "busy"> {
  const workerThreads = threads.filter((t) => t.role === ("dataloader" satisfies Role));
  const trainer = threads.find((t) => t.role === ("trainer" satisfies Role));
  return {
    ...(trainer ? { trainer: { oncpu_ns: trainer.oncpu_ns, runq_wait_ns: trainer.runq_wait_ns, sleep_ns: trainer.sleep_ns, iowait_ns: trainer.iowait_ns } } : {}),
    workers: { ...sum(workerThreads), processes: new Set(workerThreads.map((t) => t.pid)).size },
    busy: countBusy(noBusyThreads(), threads, duration_s),
  };
}

// Intervals shorter than this say too little to judge.
const MIN_WALL_S = 0.1;

export const INPUT_BOUND = { waitingShare: 0.5, critical: 0.8, workerRunqShare: 0.25 };
export const CPU_CONTENTION = { runqShare: 0.25, critical: 0.5, runqCpus: 0.1, outsideShare: 0.25 };
export const OVERSUBSCRIPTION = { ratio: 1.5, critical: 3, extraThreads: 1, runqShare: 0.2 };

const pct = (x: number) => `${Math.round(100 * x)}%`;
const round = (x: number) => Math.round(x * 1000) / 1000;

function sum(threads: Times[]): Times & { total: number } {
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

/**
 * The trainer's main thread sleeps (for the next batch) while the workers
 * produce. Where the workers' own time goes says what to change.
 */
function inputBound(r: DiagnosisInput, wallNs: number): Diagnosis | null {
  const main = r.trainer;
  const workers = r.workers.processes;
  if (!main || workers === 0) return null;
  const waiting = (main.sleep_ns + main.iowait_ns) / wallNs;
  const w = { ...r.workers, total: r.workers.oncpu_ns + r.workers.runq_wait_ns + r.workers.sleep_ns + r.workers.iowait_ns };
  if (waiting < INPUT_BOUND.waitingShare || w.oncpu_ns === 0) return null;
  const share = (x: number) => x / Math.max(w.total, 1);
  // Workers short of CPU comes first: "add workers" would make it worse.
  const cpuShort = share(w.runq_wait_ns) >= INPUT_BOUND.workerRunqShare;
  const options: [number, string][] = [
    [cpuShort ? 1 : share(w.runq_wait_ns), "the workers wait for a CPU: give the job more CPUs, or fewer intra-op threads (torch.set_num_threads) so workers get a CPU"],
    [share(w.iowait_ns), "the workers are blocked on I/O: faster storage, a warm page cache, or larger sequential reads"],
    [share(w.sleep_ns), "the workers sleep: check locks and IPC between them and the trainer (prefetch_factor, persistent_workers, queue sizes)"],
    [share(w.oncpu_ns), "the workers are busy on CPU: add DataLoader workers (num_workers) if CPUs are free, make __getitem__ cheaper (decode, augment), or cache preprocessed samples"],
  ];
  const suggestion = options.reduce((a, b) => (b[0] > a[0] ? b : a))[1];
  return {
    id: "input-bound",
    severity: waiting >= INPUT_BOUND.critical ? "critical" : "warning",
    summary:
      `trainer main thread waited ${pct(waiting)} of the time while ${workers} DataLoader worker${workers > 1 ? "s" : ""} produced batches; ` +
      `workers' time: ${pct(share(w.oncpu_ns))} on CPU, ${pct(share(w.runq_wait_ns))} waiting for a CPU, ${pct(share(w.sleep_ns))} asleep, ${pct(share(w.iowait_ns))} blocked`,
    evidence: {
      trainer_waiting_share: round(waiting),
      trainer_oncpu_share: round(main.oncpu_ns / wallNs),
      workers,
      worker_oncpu_share: round(share(w.oncpu_ns)),
      worker_runq_share: round(share(w.runq_wait_ns)),
      worker_sleep_share: round(share(w.sleep_ns)),
      worker_blocked_share: round(share(w.iowait_ns)),
    },
    suggestion,
    preempted_by: [],
  };
}

/**
 * Target threads are runnable but wait for a CPU, and processes outside the
 * target account for a good share of the preemptions.
 */
function cpuContention(r: DiagnosisInput, wallNs: number): Diagnosis | null {
  const s = r.sched;
  const wanted = s.oncpu_ns + s.runq_wait_ns;
  if (wanted === 0) return null;
  const runqShare = s.runq_wait_ns / wanted;
  const runqCpus = s.runq_wait_ns / wallNs;
  const outside = s.preempted_by.reduce((n, p) => n + p.count, 0);
  const outsideShare = outside / Math.max(s.switches_involuntary, 1);
  const t = CPU_CONTENTION;
  if (runqShare < t.runqShare || runqCpus < t.runqCpus || outside === 0 || outsideShare < t.outsideShare) return null;
  const names = s.preempted_by.slice(0, 3).map((p) => `${p.comm} (${p.pid}) ${p.count}×`).join(", ");
  return {
    id: "cpu-contention",
    severity: runqShare >= t.critical ? "critical" : "warning",
    summary: `target threads waited for a CPU ${pct(runqShare)} of the time they wanted one; taken by ${names}`,
    evidence: {
      runq_share: round(runqShare),
      runq_cpus: round(runqCpus),
      outside_preemptions: outside,
      involuntary_switches: s.switches_involuntary,
      outside_share: round(Math.min(outsideShare, 1)),
    },
    suggestion: "other processes compete for the target's CPUs: move them elsewhere (taskset, cpusets), lower their priority (nice), or give the job dedicated cores",
    preempted_by: s.preempted_by,
  };
}

/** More target threads want a CPU, on average, than the target may use. */
function oversubscription(r: DiagnosisInput, wallNs: number): Diagnosis | null {
  const s = r.sched;
  const usable = r.cpu_limits.usable_cpus;
  const wanted = s.oncpu_ns + s.runq_wait_ns;
  if (usable <= 0 || wanted === 0) return null;
  const runnable = wanted / wallNs;
  const runqShare = s.runq_wait_ns / wanted;
  const t = OVERSUBSCRIPTION;
  if (runnable < t.ratio * usable || runnable - usable < t.extraThreads || runqShare < t.runqShare) return null;
  const count = (role: Role) => r.busy[role];
  const busyThreads = roleNames.reduce((n, role) => n + r.busy[role], 0);
  const limits = [`${r.cpu_limits.cpus_allowed} in its affinity`];
  if (r.cpu_limits.cgroup_cpus !== undefined) limits.push(`cgroup cpu.max ${r.cpu_limits.cgroup_cpus.toFixed(2)} CPUs`);
  return {
    id: "oversubscription",
    severity: runnable >= t.critical * usable ? "critical" : "warning",
    summary:
      `on average ${runnable.toFixed(1)} target threads wanted a CPU but the target may use ${formatCpus(usable)} (${limits.join(", ")}); ` +
      `${busyThreads} threads were busy: ${count("trainer") + count("intra-op")} trainer/intra-op, ${count("dataloader")} DataLoader`,
    evidence: {
      runnable_threads: round(runnable),
      usable_cpus: round(usable),
      cpus_allowed: r.cpu_limits.cpus_allowed,
      ...(r.cpu_limits.cgroup_cpus === undefined ? {} : { cgroup_cpus: round(r.cpu_limits.cgroup_cpus) }),
      busy_threads: busyThreads,
      runq_share: round(runqShare),
    },
    suggestion: `make intra-op threads × processes fit ${formatCpus(usable)}: lower torch.set_num_threads / OMP_NUM_THREADS (each DataLoader worker usually needs 1), fewer num_workers, or allow more CPUs`,
    preempted_by: [],
  };
}

function formatCpus(n: number): string {
  return Number.isInteger(n) ? `${n} CPU${n === 1 ? "" : "s"}` : `${n.toFixed(2)} CPUs`;
}

const RULES = [inputBound, cpuContention, oversubscription];
const ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

export function diagnose(r: DiagnosisInput): Diagnosis[] {
  if (r.duration_s < MIN_WALL_S) return [];
  const wallNs = r.duration_s * 1e9;
  return RULES.map((rule) => rule(r, wallNs))
    .filter((d): d is Diagnosis => d !== null)
    .sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}
