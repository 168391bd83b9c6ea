// What the collector hands the model: raw cumulative counters at one instant.
// Live tracing and replay both produce these; everything else is derived.

export interface SchedCounters {
  oncpu_ns: number;
  runq_wait_ns: number;
  sleep_ns: number;
  iowait_ns: number;
  switches_voluntary: number;
  switches_involuntary: number;
  wakeups: number;
  migrations: number;
}

export const schedCounterNames: readonly (keyof SchedCounters)[] = [
  "oncpu_ns",
  "runq_wait_ns",
  "sleep_ns",
  "iowait_ns",
  "switches_voluntary",
  "switches_involuntary",
  "wakeups",
  "migrations",
];

export interface ThreadSample extends SchedCounters {
  tid: number;
  /** tgid: the process the thread belongs to */
  pid: number;
  comm: string;
  /** CLOCK_MONOTONIC start; 0 for threads that predate the session */
  start_ns: number;
  exited: boolean;
  /** log2-microsecond slots (probes/sched.h) */
  runq_hist: number[];
  offcpu_hist: number[];
}

export interface ProcessSample {
  pid: number;
  ppid: number;
  comm: string;
  exited: boolean;
  /** wait(2) status once exited, when the kernel told us */
  exit_status?: number;
}

export interface NeighbourSample {
  /** tgid of a process outside the target */
  pid: number;
  comm: string;
  count: number;
}

export interface DropCounts {
  events_dropped: number;
  threads_dropped: number;
  targets_dropped: number;
  neighbours_dropped: number;
}

/** CPUs the target's root process may use, read by the collector. */
export interface CpuLimits {
  /** CPUs in its affinity mask (/proc/PID/status Cpus_allowed_list) */
  cpus_allowed: number;
  /** cgroup v2 cpu.max quota/period, the tightest along its cgroup path; absent when unlimited */
  cgroup_cpus?: number;
}

export interface Sample {
  /** CLOCK_MONOTONIC nanoseconds when the maps were read */
  time_ns: number;
  threads: ThreadSample[];
  processes: ProcessSample[];
  neighbours: NeighbourSample[];
  drops: DropCounts;
  /** absent in recordings made before it existed */
  cpu_limits?: CpuLimits;
}

/** Identifies a thread across samples even when its tid is reused. */
export function threadKey(t: Pick<ThreadSample, "tid" | "start_ns">): string {
  return `${t.tid}@${t.start_ns}`;
}
