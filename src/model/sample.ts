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

/** Page faults: totals from the task's own counters (sched family), the
 * rest from the faults family (zeros where it is not loaded). */
export interface FaultCounters {
  faults_minor: number;
  faults_major: number;
  exceptions_user: number;
  exceptions_kernel: number;
  major_file: number;
  major_anon: number;
  major_unclassified: number;
  major_user: number;
  major_kernel: number;
}

export const faultCounterNames: readonly (keyof FaultCounters)[] = [
  "faults_minor",
  "faults_major",
  "exceptions_user",
  "exceptions_kernel",
  "major_file",
  "major_anon",
  "major_unclassified",
  "major_user",
  "major_kernel",
];

/** Block I/O the thread submitted itself (zeros where the family is not loaded). */
export interface IoCounters {
  read_ops: number;
  read_bytes: number;
  write_ops: number;
  write_bytes: number;
  pagecache_misses: number;
}

export const ioCounterNames: readonly (keyof IoCounters)[] = ["read_ops", "read_bytes", "write_ops", "write_bytes", "pagecache_misses"];

/** NUMA placement (zeros where the family is not loaded: single node). */
export interface NumaCounters {
  cross_node_migrations: number;
  balancing_moves: number;
  balancing_swaps: number;
  page_migrations: number;
}

export const numaCounterNames: readonly (keyof NumaCounters)[] = ["cross_node_migrations", "balancing_moves", "balancing_swaps", "page_migrations"];

/** Every cumulative per-thread counter, summed per process and target. */
export type ThreadCounters = SchedCounters & FaultCounters & IoCounters & NumaCounters;
export const threadCounterNames: readonly (keyof ThreadCounters)[] = [
  ...schedCounterNames,
  ...faultCounterNames,
  ...ioCounterNames,
  ...numaCounterNames,
];

/**
 * Per-thread arrays of cumulative counts, differenced and summed element by
 * element: log2-microsecond histograms (probes/sched.h slots) and the NUMA
 * allocation matrices (probes/numa.h, row-major).
 */
export const arrayNames = ["runq_hist", "offcpu_hist", "major_latency_hist", "queue_hist", "device_hist", "numa_placed", "numa_wanted"] as const;
export type ArrayName = (typeof arrayNames)[number];

export interface ThreadSample extends ThreadCounters {
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
  major_latency_hist: number[];
  /** block requests: start to issue, issue to completion */
  queue_hist: number[];
  device_hist: number[];
  /** page allocations: [cpu node][page node] and [preferred node][page node] */
  numa_placed: number[];
  numa_wanted: number[];
}

export interface NumaNodeSample {
  node: number;
  cpus: number[];
  total_bytes: number;
  free_bytes: number;
}

/** Placement facts read from /sys and /proc when the NUMA family runs. */
export interface NumaSample {
  nodes: NumaNodeSample[];
  /** side of the allocation matrices (probes/numa.h MLT_NUMA_NODES) */
  matrix_nodes: number;
  /** live processes' resident bytes per node (numa_maps) */
  process_memory: { pid: number; bytes: number[] }[];
}

/** The target's block requests on one device, cumulative. */
export interface IoDeviceSample {
  major: number;
  minor: number;
  name: string;
  read_ops: number;
  read_bytes: number;
  write_ops: number;
  write_bytes: number;
}

export interface ProcessSample {
  pid: number;
  ppid: number;
  comm: string;
  exited: boolean;
  /** wait(2) status once exited, when the kernel told us */
  exit_status?: number;
  /**
   * DataLoader workers forked before this process that the session has
   * since folded (src/model/fold.ts): its worker index counts them. Absent:
   * the process was learnt of after the latest fold, so every folded worker
   * came before it (Sample.folded.workers).
   */
  folded_workers_before?: number;
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
  devices: IoDeviceSample[];
  /** NUMA node count, always; the rest only where the family runs */
  numa_nodes: number;
  numa?: NumaSample;
  /** probe families that were loaded (the others' counters are zeros) */
  families: string[];
  /** absent in recordings made before it existed */
  cpu_limits?: CpuLimits;
  /**
   * The first `exited_prefix` entries of `threads` are threads that had
   * exited, in the order they exited; a later sample of the same session
   * starts with the same entries and only appends to them. Lets the model
   * skip, in O(1), the threads that were already gone at the previous
   * sample. Absent (0): no such promise; the model then checks every thread.
   */
  exited_prefix?: number;
  /**
   * What the session folded of its exited tasks (src/model/fold.ts): absent
   * until the first fold, then the same object in every later sample,
   * changed only when more is folded. The folded tasks are no longer in
   * `threads` or `processes`; they had exited before the sample preceding
   * the fold, so they add nothing to a report between consecutive samples.
   */
  folded?: FoldedTasks;
}

/** A role's share of the folded threads (roles.ts names the roles). */
export interface FoldedRole {
  role: string;
  /** folded processes that had a thread of this role */
  processes: number;
  threads: number;
  oncpu_ns: number;
  runq_wait_ns: number;
  sleep_ns: number;
  iowait_ns: number;
}

/** Folded processes of one name and role, summed. */
export interface FoldedName {
  comm: string;
  role: string;
  processes: number;
  threads: number;
  counters: ThreadCounters;
}

/** Folded threads of a process that is still listed. */
export interface FoldedThreadsOf {
  counters: ThreadCounters;
  threads: number;
  /** one of them was on a CPU (roles.ts: a worker is a process that ran) */
  ran: boolean;
  roles: Set<string>;
}

export interface FoldedTasks {
  /** how many exited processes and threads were folded */
  processes: number;
  threads: number;
  /** how many of the processes were DataLoader workers */
  workers: number;
  /** every folded thread's counters and arrays, summed */
  counters: ThreadCounters;
  slots: Record<ArrayName, number[]>;
  /** by role name */
  roles: Map<string, FoldedRole>;
  /** by comm and role (key: comm + "\0" + role) */
  names: Map<string, FoldedName>;
  /** by pid, for processes still listed */
  threads_of: Map<number, FoldedThreadsOf>;
  /**
   * On-CPU plus run-queue time of the folded threads that may yet count as
   * busy in a whole-session report (diagnoses.ts BUSY_SHARE_OF_WALL): those
   * below the share at the fold stay below it, as the session only grows.
   */
  busy_candidates: { role: string; wants_ns: number }[];
}

// Keys are asked for every thread, every interval, and a thread that has
// exited stays the same object in every later sample (the collector keeps
// it): remembering its key saves a number-to-string conversion per exited
// thread per interval, which in a long run with workers respawned each epoch
// is most of the model's work.
const keys = new WeakMap<object, string>();

/** Identifies a thread across samples even when its tid is reused. */
export function threadKey(t: Pick<ThreadSample, "tid" | "start_ns">): string {
  let key = keys.get(t);
  if (key === undefined) {
    key = `${t.tid}@${t.start_ns}`;
    keys.set(t, key);
  }
  return key;
}

// Object shapes. Every counter object below is written as one literal with
// all its fields, so V8 gives all of them one hidden class with the fields
// inside the object. Built field by field instead ({} and a loop of keyed
// stores), an object of more than a dozen fields falls back to a hash table
// ("dictionary mode"): every read of a counter becomes a lookup, and code
// that sees such objects is compiled, deoptimised and compiled again. The
// model touches these objects for every thread every interval.

/** Every counter of a thread at zero: the model's sums start from it, per thread and process every interval. */
export function zeroCounters(): ThreadCounters {
  return {
    oncpu_ns: 0,
    runq_wait_ns: 0,
    sleep_ns: 0,
    iowait_ns: 0,
    switches_voluntary: 0,
    switches_involuntary: 0,
    wakeups: 0,
    migrations: 0,
    faults_minor: 0,
    faults_major: 0,
    exceptions_user: 0,
    exceptions_kernel: 0,
    major_file: 0,
    major_anon: 0,
    major_unclassified: 0,
    major_user: 0,
    major_kernel: 0,
    read_ops: 0,
    read_bytes: 0,
    write_ops: 0,
    write_bytes: 0,
    pagecache_misses: 0,
    cross_node_migrations: 0,
    balancing_moves: 0,
    balancing_swaps: 0,
    page_migrations: 0,
  };
}

/**
 * A thread with every field of ThreadSample, all zero: what the collector
 * fills and the model copies (and tests and replays of recordings that
 * predate a family start from). The thread's own fields are added by name to
 * zeroCounters()'s object, not spread into a new literal: V8 builds a literal
 * with a spread and more fields after it by a slow path, tens of
 * microseconds per object.
 */
export function blankThread(): ThreadSample {
  const t = zeroCounters() as ThreadSample;
  t.tid = 0;
  t.pid = 0;
  t.comm = "";
  t.start_ns = 0;
  t.exited = false;
  t.runq_hist = [];
  t.offcpu_hist = [];
  t.major_latency_hist = [];
  t.queue_hist = [];
  t.device_hist = [];
  t.numa_placed = [];
  t.numa_wanted = [];
  return t;
}
