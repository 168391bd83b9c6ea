// The model: from raw cumulative samples to what views show. Pure (no I/O),
// so live tracing and replay run exactly this code. `prev` null means
// "since the session began".
import { addSlots, percentiles, subtractSlots, toBuckets } from "./histogram.js";
import { nodeMemory, splitAllocations, type NodeMemory } from "./numa.js";
import {
  arrayNames,
  blankThread,
  processKey,
  schedCounterNames,
  threadCounterNames,
  threadKey,
  threadProcessKey,
  zeroCounters,
  type CpuLimits,
  type DropCounts,
  type IoDeviceSample,
  type ProcessSample,
  type RootProcessSample,
  type Sample,
  type SchedCounters,
  type ThreadCounters,
  type ThreadSample,
} from "./sample.js";
import { diagnose, type Diagnosis, type DiagnosisInput } from "./diagnoses.js";
import { decodeWaitStatus } from "./wait-status.js";
import { assignRoles, OTHER, roleNames, type ProcessRole, type Role, type Roles } from "./roles.js";

export interface HostInfo {
  hostname: string;
  kernel: string;
  cpus: number;
  numa_nodes: number;
  hardware_pmu: boolean;
  attach_modes: Record<string, string>;
}

export interface TargetInfo {
  pid: number;
  comm: string;
  command: string;
  /** shell-style exit: code, or signal that killed it; absent while running */
  exit_code?: number;
  exit_signal?: number;
}

/** One process's major faults on one file over the span. */
export interface FaultFileStats {
  pid: number;
  path: string;
  major_faults: number;
  /** timed ones (read their page in) and their latency summed */
  timed: number;
  latency_ns: number;
}

/** Most files listed per report. */
const TOP_FAULT_FILES = 10;

/** The target's CPU limits, and over the report's span how often its cgroup quota throttled it. */
export interface ReportCpuLimits {
  cpus_allowed: number;
  cgroup_cpus?: number;
  /** the tightest of the affinity, the quota and the CPUs online */
  usable_cpus: number;
  /** where a quota applies: its cgroup, and cpu.stat's deltas over the span */
  cgroup_version?: number;
  cgroup_path?: string;
  cgroup_periods?: number;
  cgroup_throttled_periods?: number;
  cgroup_throttled_ns?: number;
}

export interface ReportContext {
  kind: "final" | "interval";
  target: TargetInfo;
  host: HostInfo;
  /** CLOCK_MONOTONIC ns when tracing began */
  started_ns: number;
}

type Counters = ThreadCounters;

/** Process and thread rows carry the scheduler counters and the fault totals. */
type RowCounters = SchedCounters & { faults_minor: number; faults_major: number; reclaim_ns: number; read_bytes: number; write_bytes: number };

export interface ProcessStats extends RowCounters {
  /** resident bytes per node (numa_maps), where the NUMA family runs and the process lives */
  memory_per_node?: number[];
  pid: number;
  ppid: number;
  comm: string;
  exited: boolean;
  exit_code?: number;
  exit_signal?: number;
  threads: number;
  role: Role;
  worker_index?: number;
}

export interface ThreadStats extends RowCounters {
  tid: number;
  pid: number;
  comm: string;
  exited: boolean;
  role: Role;
}

/** Where one role's threads spent the interval, summed over them. */
export interface RoleStats {
  role: Role;
  processes: number;
  threads: number;
  oncpu_ns: number;
  runq_wait_ns: number;
  sleep_ns: number;
  iowait_ns: number;
}

export interface Report {
  kind: "FINAL" | "INTERVAL";
  target: TargetInfo & { processes: number; threads: number };
  duration_s: number;
  elapsed_s: number;
  sched: SchedCounters & {
    runq_latency_hist: { le_us: number; count: number }[];
    offcpu_hist: { le_us: number; count: number }[];
    preempted_by: { comm: string; pid: number; count: number }[];
    runq_latency_us: { p50: number; p90: number; p99: number };
    offcpu_us: { p50: number; p90: number; p99: number };
  };
  faults: {
    available: boolean;
    minor: number;
    major: number;
    major_file: number;
    major_anon: number;
    major_unclassified: number;
    major_user: number;
    major_kernel: number;
    /** stalled in direct reclaim, and how many times (needs the faults family) */
    reclaim_ns: number;
    reclaim_stalls: number;
    exceptions_user: number;
    exceptions_kernel: number;
    major_latency_hist: { le_us: number; count: number }[];
    major_latency_us: { p50: number; p90: number; p99: number };
    /** the files target processes took most major faults on over the span, most first */
    files: FaultFileStats[];
    /** file-backed major faults not counted per file (the kernel's table was full) */
    files_dropped: number;
  };
  numa: {
    nodes: number;
    /** false on a single node: nothing there to measure, and nothing is shown as measured */
    available: boolean;
    cross_node_migrations?: number;
    local_allocs?: number;
    remote_allocs?: number;
    miss_allocs?: number;
    balancing_moves?: number;
    balancing_swaps?: number;
    page_migrations?: number;
    memory_per_node: NodeMemory[];
  };
  io: {
    available: boolean;
    read_ops: number;
    read_bytes: number;
    write_ops: number;
    write_bytes: number;
    pagecache_misses: number;
    queue_latency_hist: { le_us: number; count: number }[];
    device_latency_hist: { le_us: number; count: number }[];
    queue_latency_us: { p50: number; p90: number; p99: number };
    device_latency_us: { p50: number; p90: number; p99: number };
    devices: IoDeviceSample[];
  };
  processes: ProcessStats[];
  threads: ThreadStats[];
  lost_events: number;
  losses: DropCounts;
  host: HostInfo;
  /** one entry per role present, in roleNames order */
  roles: RoleStats[];
  diagnoses: Diagnosis[];
  cpu_limits: ReportCpuLimits;
}

function addCounters(into: Counters, from: Counters): void {
  for (const name of threadCounterNames) into[name] += from[name];
}

function pick<K extends keyof Counters>(c: Counters, names: readonly K[]): Pick<Counters, K> {
  const out = {} as Pick<Counters, K>;
  for (const name of names) out[name] = c[name];
  return out;
}

// Rows are built as whole literals, not by spreading a counters object into
// them: a spread adds the fields one by one, which past a dozen turns the row
// into a hash table (see src/model/sample.ts). There is a row per thread and
// process every interval.

function threadRow(t: ThreadSample, role: Role): ThreadStats {
  return {
    tid: t.tid,
    pid: t.pid,
    comm: t.comm,
    exited: t.exited,
    oncpu_ns: t.oncpu_ns,
    runq_wait_ns: t.runq_wait_ns,
    sleep_ns: t.sleep_ns,
    iowait_ns: t.iowait_ns,
    io_wait_ns: t.io_wait_ns,
    switches_voluntary: t.switches_voluntary,
    switches_involuntary: t.switches_involuntary,
    wakeups: t.wakeups,
    migrations: t.migrations,
    faults_minor: t.faults_minor,
    faults_major: t.faults_major,
    reclaim_ns: t.reclaim_ns,
    read_bytes: t.read_bytes,
    write_bytes: t.write_bytes,
    role,
  };
}

function processRow(p: ProcessSample, c: Counters, threads: number, role: ProcessRole, memory: number[] | undefined): ProcessStats {
  const row: ProcessStats = {
    pid: p.pid,
    ppid: p.ppid,
    comm: p.comm,
    exited: p.exited,
    threads,
    oncpu_ns: c.oncpu_ns,
    runq_wait_ns: c.runq_wait_ns,
    sleep_ns: c.sleep_ns,
    iowait_ns: c.iowait_ns,
    io_wait_ns: c.io_wait_ns,
    switches_voluntary: c.switches_voluntary,
    switches_involuntary: c.switches_involuntary,
    wakeups: c.wakeups,
    migrations: c.migrations,
    faults_minor: c.faults_minor,
    faults_major: c.faults_major,
    reclaim_ns: c.reclaim_ns,
    read_bytes: c.read_bytes,
    write_bytes: c.write_bytes,
    role: role.role,
  };
  // absent, not undefined, where they do not apply (JSON leaves them out)
  if (role.worker_index !== undefined) row.worker_index = role.worker_index;
  if (p.exit_status !== undefined) Object.assign(row, decodeWaitStatus(p.exit_status));
  if (memory !== undefined) row.memory_per_node = memory;
  return row;
}

/** What a thread did between `before` (undefined: since it began) and `t`. */
function threadDelta(t: ThreadSample, before: ThreadSample | undefined): ThreadSample {
  const d = blankThread();
  d.tid = t.tid;
  d.pid = t.pid;
  d.comm = t.comm;
  d.start_ns = t.start_ns;
  d.proc_start_ns = t.proc_start_ns;
  d.exited = t.exited;
  for (const name of threadCounterNames) d[name] = before === undefined ? t[name] : t[name] - before[name];
  for (const h of arrayNames) d[h] = subtractSlots(t[h], before?.[h]);
  return d;
}

function numaSection(cur: Sample, totals: Counters, placed: number[], wanted: number[]): Report["numa"] {
  if (!cur.numa) return { nodes: cur.numa_nodes, available: false, memory_per_node: [] };
  const split = splitAllocations(placed, wanted, cur.numa.matrix_nodes);
  return {
    nodes: cur.numa_nodes,
    available: true,
    cross_node_migrations: totals.cross_node_migrations,
    local_allocs: split.local,
    remote_allocs: split.remote,
    miss_allocs: split.miss,
    balancing_moves: totals.balancing_moves,
    balancing_swaps: totals.balancing_swaps,
    page_migrations: totals.page_migrations,
    memory_per_node: nodeMemory(cur.numa),
  };
}

const TOP_NEIGHBOURS = 10;

/** How many leading threads of `cur` are `prev`'s exited prefix (see Sample.exited_prefix). */
function sharedExitedPrefix(prev: Sample | null, cur: Sample): number {
  const k = prev?.exited_prefix ?? 0;
  if (k === 0 || (cur.exited_prefix ?? 0) < k) return 0;
  // An append-only list of distinct threads: the same last shared entry means the same prefix.
  return threadKey(prev!.threads[k - 1]!) === threadKey(cur.threads[k - 1]!) ? k : 0;
}

/**
 * The threads `cur` has to say something about since `prev` (all but those
 * that had exited by then), and what each did in between.
 *
 * Threads and processes that had already exited before `prev` are, in a long
 * run, most of the sample: where the collector promises they come first
 * (exited_prefix), they are skipped without a look; otherwise each costs a
 * set lookup.
 */
function intervalThreads(prev: Sample | null, cur: Sample): { live: ThreadSample[]; deltas: ThreadSample[] } {
  const skipped = sharedExitedPrefix(prev, cur);
  const prevLive = new Map<string, ThreadSample>();
  const prevDone = new Set<string>();
  const before = prev?.threads ?? [];
  for (let i = skipped; i < before.length; i++) {
    const t = before[i]!;
    if (t.exited) prevDone.add(threadKey(t));
    else prevLive.set(threadKey(t), t);
  }
  const live: ThreadSample[] = [];
  const deltas: ThreadSample[] = [];
  for (let i = skipped; i < cur.threads.length; i++) {
    const t = cur.threads[i]!;
    const key = threadKey(t);
    if (t.exited && prevDone.has(key)) continue;
    live.push(t);
    deltas.push(threadDelta(t, prevLive.get(key)));
  }
  return { live, deltas };
}

type Slots = Record<(typeof arrayNames)[number], number[]>;

type PerProcess = Map<string, { counters: Counters; threads: number }>;

/** The interval's totals, summed histograms and matrices, and sums per process (by processKey). */
function sumThreads(deltas: readonly ThreadSample[]): { totals: Counters; slots: Slots; perProcess: PerProcess } {
  const totals = zeroCounters();
  const slots: Slots = { runq_hist: [], offcpu_hist: [], major_latency_hist: [], queue_hist: [], device_hist: [], numa_placed: [], numa_wanted: [] };
  const perProcess: PerProcess = new Map();
  for (const t of deltas) {
    addCounters(totals, t);
    for (const h of arrayNames) addSlots(slots[h], t[h]);
    const key = threadProcessKey(t);
    let entry = perProcess.get(key);
    if (entry === undefined) {
      entry = { counters: zeroCounters(), threads: 0 };
      perProcess.set(key, entry);
    }
    addCounters(entry.counters, t);
    entry.threads++;
  }
  return { totals, slots, perProcess };
}

/** Every process but those that had exited before `prev`, in the sample's order. */
function processRows(prev: Sample | null, cur: Sample, perProcess: PerProcess, roles: Roles): ProcessStats[] {
  const prevExited = new Set<string>();
  for (const p of prev?.processes ?? []) if (p.exited) prevExited.add(processKey(p.pid, p.start_ns ?? 0));
  const memory = new Map<number, number[]>();
  for (const m of cur.numa?.process_memory ?? []) memory.set(m.pid, m.bytes);
  const rows: ProcessStats[] = [];
  for (const p of cur.processes) {
    const key = processKey(p.pid, p.start_ns ?? 0);
    if (prevExited.has(key)) continue;
    const entry = perProcess.get(key);
    rows.push(processRow(p, entry?.counters ?? zeroCounters(), entry?.threads ?? 0, roles.processes.get(key) ?? OTHER, p.exited ? undefined : memory.get(p.pid)));
  }
  return rows;
}

function threadRows(deltas: readonly ThreadSample[], roles: Roles): ThreadStats[] {
  const rows: ThreadStats[] = [];
  for (const t of deltas) rows.push(threadRow(t, roles.threads.get(threadKey(t)) ?? "other"));
  return rows.sort((a, b) => a.pid - b.pid || a.tid - b.tid);
}

/** Processes outside the target that took its CPUs this interval, most first. */
function preemptedBy(prev: Sample | null, cur: Sample): Report["sched"]["preempted_by"] {
  const before = new Map<number, number>();
  for (const n of prev?.neighbours ?? []) before.set(n.pid, n.count);
  const out: Report["sched"]["preempted_by"] = [];
  for (const n of cur.neighbours) {
    const count = n.count - (before.get(n.pid) ?? 0);
    if (count > 0) out.push({ comm: n.comm, pid: n.pid, count });
  }
  return out.sort((a, b) => b.count - a.count || a.pid - b.pid).slice(0, TOP_NEIGHBOURS);
}

function dropDeltas(prev: Sample | null, cur: Sample): DropCounts {
  return {
    events_dropped: cur.drops.events_dropped - (prev?.drops.events_dropped ?? 0),
    threads_dropped: cur.drops.threads_dropped - (prev?.drops.threads_dropped ?? 0),
    targets_dropped: cur.drops.targets_dropped - (prev?.drops.targets_dropped ?? 0),
    neighbours_dropped: cur.drops.neighbours_dropped - (prev?.drops.neighbours_dropped ?? 0),
  };
}

/** Devices the target used this interval, busiest first. */
function deviceDeltas(prev: Sample | null, cur: Sample): IoDeviceSample[] {
  const before = new Map<string, IoDeviceSample>();
  for (const d of prev?.devices ?? []) before.set(`${d.major}:${d.minor}`, d);
  const out: IoDeviceSample[] = [];
  for (const d of cur.devices) {
    const b = before.get(`${d.major}:${d.minor}`);
    const delta = {
      ...d,
      read_ops: d.read_ops - (b?.read_ops ?? 0),
      read_bytes: d.read_bytes - (b?.read_bytes ?? 0),
      write_ops: d.write_ops - (b?.write_ops ?? 0),
      write_bytes: d.write_bytes - (b?.write_bytes ?? 0),
    };
    if (delta.read_ops + delta.write_ops > 0) out.push(delta);
  }
  return out.sort((a, b) => b.read_bytes + b.write_bytes - (a.read_bytes + a.write_bytes));
}

// One report is a handful of calls to the functions above rather than one
// long function: V8 compiles (and after a deoptimisation recompiles) each on
// its own, where one function holding them all took it more than half a
// second of CPU to optimise, several times a session.
export function buildReport(prev: Sample | null, cur: Sample, ctx: ReportContext): Report {
  const { live, deltas } = intervalThreads(prev, cur);
  const { totals, slots, perProcess } = sumThreads(deltas);
  const roles = assignRoles(cur, ctx.target.pid, live);
  const processes = processRows(prev, cur, perProcess, roles);
  const threads = threadRows(deltas, roles);
  const preempted_by = preemptedBy(prev, cur);
  const losses = dropDeltas(prev, cur);
  const devices = deviceDeltas(prev, cur);

  const root = rootProcess(cur, ctx.target.pid);
  const duration_s = (cur.time_ns - (prev?.time_ns ?? ctx.started_ns)) / 1e9;
  const cpu_limits = reportCpuLimits(prev?.cpu_limits, cur.cpu_limits, ctx.host.cpus);
  const faultFiles = faultFileDeltas(prev, cur);
  // Shown in the report and read by the rules: computed once.
  const majorLatency = percentiles(slots.major_latency_hist);
  const deviceLatency = percentiles(slots.device_hist);
  const diagnoses = diagnose({
    duration_s,
    fault_files: faultFiles,
    ...(cur.families.includes("io") ? { io: { devices, device_latency_us: deviceLatency, pagecache_misses: totals.pagecache_misses } } : {}),
    ...(cur.families.includes("faults") ? { reclaim: { stalls: totals.reclaim_stalls, ...(cur.memory_limit ? { memory_limit: cur.memory_limit } : {}) } } : {}),
    major_latency_us: majorLatency,
    sched: { ...totals, preempted_by },
    threads,
    cpu_limits,
    processes,
    ...rootProcessSpan(prev, cur),
    ...(cur.thp_enabled ? { thp_enabled: cur.thp_enabled } : {}),
    ...(cur.numa ? { numa: numaInput(cur, deltas, roles, totals) } : {}),
  });
  return {
    kind: ctx.kind === "final" ? "FINAL" : "INTERVAL",
    target: {
      ...ctx.target,
      comm: root?.comm ?? ctx.target.comm,
      processes: cur.processes.length,
      // one entry per thread: the collector moves a thread from live to exited once
      threads: cur.threads.length,
    },
    duration_s,
    elapsed_s: (cur.time_ns - ctx.started_ns) / 1e9,
    sched: {
      ...pick(totals, schedCounterNames),
      runq_latency_hist: toBuckets(slots.runq_hist),
      offcpu_hist: toBuckets(slots.offcpu_hist),
      preempted_by,
      runq_latency_us: percentiles(slots.runq_hist),
      offcpu_us: percentiles(slots.offcpu_hist),
    },
    faults: {
      available: cur.families.includes("faults"),
      minor: totals.faults_minor,
      major: totals.faults_major,
      major_file: totals.major_file,
      major_anon: totals.major_anon,
      major_unclassified: totals.major_unclassified,
      major_user: totals.major_user,
      major_kernel: totals.major_kernel,
      reclaim_ns: totals.reclaim_ns,
      reclaim_stalls: totals.reclaim_stalls,
      exceptions_user: totals.exceptions_user,
      exceptions_kernel: totals.exceptions_kernel,
      major_latency_hist: toBuckets(slots.major_latency_hist),
      major_latency_us: majorLatency,
      files: faultFiles.slice(0, TOP_FAULT_FILES),
      files_dropped: (cur.fault_files?.dropped ?? 0) - (prev?.fault_files?.dropped ?? 0),
    },
    numa: numaSection(cur, totals, slots.numa_placed, slots.numa_wanted),
    io: {
      available: cur.families.includes("io"),
      ...pick(totals, ["read_ops", "read_bytes", "write_ops", "write_bytes", "pagecache_misses"] as const),
      queue_latency_hist: toBuckets(slots.queue_hist),
      device_latency_hist: toBuckets(slots.device_hist),
      queue_latency_us: percentiles(slots.queue_hist),
      device_latency_us: deviceLatency,
      devices,
    },
    processes,
    threads,
    lost_events: Object.values(losses).reduce((a, b) => a + b, 0),
    losses,
    host: ctx.host,
    roles: roleStats(threads),
    diagnoses,
    cpu_limits,
  };
}

/** The tightest of affinity, cgroup quota and the CPUs online. */
/** What numa-remote reads: per thread, where its pages landed and its moves across nodes. */
function numaInput(cur: Sample, deltas: readonly ThreadSample[], roles: Roles, totals: Counters): NonNullable<DiagnosisInput["numa"]> {
  const n = cur.numa!.matrix_nodes;
  const threads = deltas.map((t) => {
    const split = splitAllocations(t.numa_placed, t.numa_wanted, n);
    let runNode: number | undefined;
    let most = 0;
    for (let row = 0; row < n; row++) {
      let sum = 0;
      for (let col = 0; col < n; col++) sum += t.numa_placed[row * n + col] ?? 0;
      if (sum > most) [most, runNode] = [sum, row];
    }
    return {
      tid: t.tid,
      pid: t.pid,
      comm: t.comm,
      role: roles.threads.get(threadKey(t)) ?? "other",
      local_allocs: split.local,
      remote_allocs: split.remote,
      cross_node_migrations: t.cross_node_migrations,
      ...(runNode === undefined ? {} : { run_node: runNode }),
    };
  });
  return { cross_node_migrations: totals.cross_node_migrations, threads, process_memory: cur.numa!.process_memory };
}

/** Each process's major faults per file over the span, most first. */
function faultFileDeltas(prev: Sample | null, cur: Sample): FaultFileStats[] {
  const before = new Map<string, { major_faults: number; timed: number; latency_ns: number }>();
  for (const f of prev?.fault_files?.files ?? []) before.set(`${f.pid} ${f.dev} ${f.ino}`, f);
  const out: FaultFileStats[] = [];
  for (const f of cur.fault_files?.files ?? []) {
    const b = before.get(`${f.pid} ${f.dev} ${f.ino}`);
    const major_faults = f.major_faults - (b?.major_faults ?? 0);
    if (major_faults <= 0) continue;
    out.push({ pid: f.pid, path: f.path, major_faults, timed: f.timed - (b?.timed ?? 0), latency_ns: f.latency_ns - (b?.latency_ns ?? 0) });
  }
  return out.sort((a, b) => b.major_faults - a.major_faults || a.pid - b.pid);
}

/** The root process's CPU time by mode over the span (its counters start at attach). */
function rootProcessSpan(prev: Sample | null, cur: Sample): { root?: RootProcessSample } {
  const now = cur.root_process;
  if (!now) return {};
  const then = prev?.root_process?.pid === now.pid ? prev.root_process : undefined;
  return {
    root: {
      pid: now.pid,
      utime_ns: now.utime_ns - (then?.utime_ns ?? 0),
      stime_ns: now.stime_ns - (then?.stime_ns ?? 0),
      ...(now.anon_huge_bytes === undefined ? {} : { anon_huge_bytes: now.anon_huge_bytes }),
    },
  };
}

function reportCpuLimits(before: CpuLimits | undefined, limits: CpuLimits | undefined, online: number): ReportCpuLimits {
  const allowed = limits?.cpus_allowed ?? online;
  const usable = Math.min(allowed, online, limits?.cgroup_cpus ?? Infinity);
  const out: ReportCpuLimits = { cpus_allowed: allowed, ...(limits?.cgroup_cpus === undefined ? {} : { cgroup_cpus: limits.cgroup_cpus }), usable_cpus: usable };
  const now = limits?.cgroup;
  if (!now) return out;
  // The counters are cumulative since attach; a cgroup that was not the limit at `prev` counts from its own start.
  const then = before?.cgroup?.version === now.version && before.cgroup.path === now.path ? before.cgroup : undefined;
  out.cgroup_version = now.version;
  out.cgroup_path = now.path;
  out.cgroup_periods = now.nr_periods - (then?.nr_periods ?? 0);
  out.cgroup_throttled_periods = now.nr_throttled - (then?.nr_throttled ?? 0);
  out.cgroup_throttled_ns = now.throttled_ns - (then?.throttled_ns ?? 0);
  return out;
}

function roleStats(threads: ThreadStats[]): RoleStats[] {
  const byRole = new Map<Role, RoleStats & { pids: Set<number> }>();
  for (const t of threads) {
    const entry = byRole.get(t.role) ?? {
      role: t.role, processes: 0, threads: 0, oncpu_ns: 0, runq_wait_ns: 0, sleep_ns: 0, iowait_ns: 0, pids: new Set<number>(),
    };
    entry.threads++;
    entry.pids.add(t.pid);
    entry.oncpu_ns += t.oncpu_ns;
    entry.runq_wait_ns += t.runq_wait_ns;
    entry.sleep_ns += t.sleep_ns;
    entry.iowait_ns += t.iowait_ns;
    byRole.set(t.role, entry);
  }
  return roleNames.flatMap((role) => {
    const e = byRole.get(role);
    if (!e) return [];
    const { pids, ...rest } = e;
    return [{ ...rest, processes: pids.size }];
  });
}

/** The target's root: the first process listed with its pid (the collector lists it first; a later one is a reuse of the pid). */
export function rootProcess(sample: Sample, pid: number): ProcessSample | undefined {
  return sample.processes.find((p) => p.pid === pid);
}
