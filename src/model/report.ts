// The model: from raw cumulative samples to what views show. Pure (no I/O),
// so live tracing and replay run exactly this code. `prev` null means
// "since the session began".
import { addSlots, percentiles, subtractSlots, toBuckets } from "./histogram.js";
import { nodeMemory, splitAllocations, type NodeMemory } from "./numa.js";
import {
  arrayNames,
  blankThread,
  schedCounterNames,
  threadCounterNames,
  threadKey,
  zeroCounters,
  type CpuLimits,
  type DropCounts,
  type IoDeviceSample,
  type ProcessSample,
  type Sample,
  type SchedCounters,
  type ThreadCounters,
  type ThreadSample,
} from "./sample.js";
import { countBusy, diagnose, noBusyThreads, type Diagnosis, type DiagnosisInput } from "./diagnoses.js";
import type { FoldedTasks } from "./sample.js";
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

export interface ReportContext {
  kind: "final" | "interval";
  target: TargetInfo;
  host: HostInfo;
  /** CLOCK_MONOTONIC ns when tracing began */
  started_ns: number;
}

type Counters = ThreadCounters;

/** Process and thread rows carry the scheduler counters and the fault totals. */
type RowCounters = SchedCounters & { faults_minor: number; faults_major: number; read_bytes: number; write_bytes: number };

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

/** Folded processes of one name and role (src/model/fold.ts), summed. */
export interface FoldedNameStats extends RowCounters {
  comm: string;
  role: Role;
  processes: number;
  threads: number;
}

/**
 * Exited tasks the session no longer lists one by one (fold.ts). Every
 * total of the report includes them; a whole-session report lists them per
 * process name and role, an interval report only counts them.
 */
export interface FoldedStats {
  processes: number;
  threads: number;
  /** most on-CPU time first */
  by_name: FoldedNameStats[];
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
    exceptions_user: number;
    exceptions_kernel: number;
    major_latency_hist: { le_us: number; count: number }[];
    major_latency_us: { p50: number; p90: number; p99: number };
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
  cpu_limits: CpuLimits & { usable_cpus: number };
  folded: FoldedStats;
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
    switches_voluntary: t.switches_voluntary,
    switches_involuntary: t.switches_involuntary,
    wakeups: t.wakeups,
    migrations: t.migrations,
    faults_minor: t.faults_minor,
    faults_major: t.faults_major,
    read_bytes: t.read_bytes,
    write_bytes: t.write_bytes,
    role,
  };
}

function foldedNameRow(comm: string, role: Role, processes: number, threads: number, c: Counters): FoldedNameStats {
  return {
    comm,
    role,
    processes,
    threads,
    oncpu_ns: c.oncpu_ns,
    runq_wait_ns: c.runq_wait_ns,
    sleep_ns: c.sleep_ns,
    iowait_ns: c.iowait_ns,
    switches_voluntary: c.switches_voluntary,
    switches_involuntary: c.switches_involuntary,
    wakeups: c.wakeups,
    migrations: c.migrations,
    faults_minor: c.faults_minor,
    faults_major: c.faults_major,
    read_bytes: c.read_bytes,
    write_bytes: c.write_bytes,
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
    switches_voluntary: c.switches_voluntary,
    switches_involuntary: c.switches_involuntary,
    wakeups: c.wakeups,
    migrations: c.migrations,
    faults_minor: c.faults_minor,
    faults_major: c.faults_major,
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

/** wait(2) status → shell-style code or signal. */
export function decodeWaitStatus(status: number): { exit_code?: number; exit_signal?: number } {
  const signal = status & 0x7f;
  return signal === 0 ? { exit_code: (status >> 8) & 0xff } : { exit_signal: signal };
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

/**
 * The interval's totals, summed histograms and matrices, and sums per
 * process; for a whole session (`folded` given), with the folded threads'.
 */
function sumThreads(deltas: readonly ThreadSample[], folded: FoldedTasks | undefined): { totals: Counters; slots: Slots; perProcess: Map<number, { counters: Counters; threads: number }> } {
  const totals = zeroCounters();
  const slots: Slots = { runq_hist: [], offcpu_hist: [], major_latency_hist: [], queue_hist: [], device_hist: [], numa_placed: [], numa_wanted: [] };
  const perProcess = new Map<number, { counters: Counters; threads: number }>();
  if (folded !== undefined) {
    addCounters(totals, folded.counters);
    for (const h of arrayNames) addSlots(slots[h], folded.slots[h]);
    for (const [pid, of] of folded.threads_of) {
      const entry = { counters: zeroCounters(), threads: of.threads };
      addCounters(entry.counters, of.counters);
      perProcess.set(pid, entry);
    }
  }
  for (const t of deltas) {
    addCounters(totals, t);
    for (const h of arrayNames) addSlots(slots[h], t[h]);
    let entry = perProcess.get(t.pid);
    if (entry === undefined) {
      entry = { counters: zeroCounters(), threads: 0 };
      perProcess.set(t.pid, entry);
    }
    addCounters(entry.counters, t);
    entry.threads++;
  }
  return { totals, slots, perProcess };
}

/** Every process but those that had exited before `prev`, in the sample's order. */
function processRows(prev: Sample | null, cur: Sample, perProcess: Map<number, { counters: Counters; threads: number }>, roles: Roles): ProcessStats[] {
  const prevExited = new Set<number>();
  for (const p of prev?.processes ?? []) if (p.exited) prevExited.add(p.pid);
  const memory = new Map<number, number[]>();
  for (const m of cur.numa?.process_memory ?? []) memory.set(m.pid, m.bytes);
  const rows: ProcessStats[] = [];
  for (const p of cur.processes) {
    if (prevExited.has(p.pid)) continue;
    const entry = perProcess.get(p.pid);
    rows.push(processRow(p, entry?.counters ?? zeroCounters(), entry?.threads ?? 0, roles.processes.get(p.pid) ?? OTHER, memory.get(p.pid)));
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
  return buildReportWithInput(prev, cur, ctx).report;
}

/** The report, and what its diagnoses were decided from. */
export function buildReportWithInput(prev: Sample | null, cur: Sample, ctx: ReportContext): { report: Report; diagnosisInput: DiagnosisInput } {
  const { live, deltas } = intervalThreads(prev, cur);
  // Folded tasks had exited before the sample preceding the fold: they count
  // in a report of the whole session only.
  const folded = prev === null ? cur.folded : undefined;
  const { totals, slots, perProcess } = sumThreads(deltas, folded);
  const roles = assignRoles(cur, ctx.target.pid, live);
  const processes = processRows(prev, cur, perProcess, roles);
  const threads = threadRows(deltas, roles);
  const preempted_by = preemptedBy(prev, cur);
  const losses = dropDeltas(prev, cur);
  const devices = deviceDeltas(prev, cur);

  const root = cur.processes.find((p) => p.pid === ctx.target.pid);
  const duration_s = (cur.time_ns - (prev?.time_ns ?? ctx.started_ns)) / 1e9;
  const cpu_limits = usableCpus(cur.cpu_limits, ctx.host.cpus);
  const roleRows = roleStats(threads, folded);
  const input = diagnosisInput(duration_s, totals, preempted_by, cpu_limits, threads, roleRows, folded);
  const diagnoses = diagnose(input);
  const report: Report = {
    kind: ctx.kind === "final" ? "FINAL" : "INTERVAL",
    target: {
      ...ctx.target,
      comm: root?.comm ?? ctx.target.comm,
      processes: cur.processes.length + (cur.folded?.processes ?? 0),
      // one entry per thread: the collector moves a thread from live to exited once
      threads: cur.threads.length + (cur.folded?.threads ?? 0),
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
      exceptions_user: totals.exceptions_user,
      exceptions_kernel: totals.exceptions_kernel,
      major_latency_hist: toBuckets(slots.major_latency_hist),
      major_latency_us: percentiles(slots.major_latency_hist),
    },
    numa: numaSection(cur, totals, slots.numa_placed, slots.numa_wanted),
    io: {
      available: cur.families.includes("io"),
      ...pick(totals, ["read_ops", "read_bytes", "write_ops", "write_bytes", "pagecache_misses"] as const),
      queue_latency_hist: toBuckets(slots.queue_hist),
      device_latency_hist: toBuckets(slots.device_hist),
      queue_latency_us: percentiles(slots.queue_hist),
      device_latency_us: percentiles(slots.device_hist),
      devices,
    },
    processes,
    threads,
    lost_events: Object.values(losses).reduce((a, b) => a + b, 0),
    losses,
    host: ctx.host,
    roles: roleRows,
    diagnoses,
    cpu_limits,
    folded: foldedStats(cur.folded, folded !== undefined),
  };
  return { report, diagnosisInput: input };
}

function foldedStats(folded: FoldedTasks | undefined, listNames: boolean): FoldedStats {
  if (folded === undefined) return { processes: 0, threads: 0, by_name: [] };
  const by_name = listNames
    ? [...folded.names.values()]
        .map((n) => foldedNameRow(n.comm, n.role as Role, n.processes, n.threads, n.counters))
        .sort((a, b) => b.oncpu_ns - a.oncpu_ns || a.comm.localeCompare(b.comm) || a.role.localeCompare(b.role))
    : [];
  return { processes: folded.processes, threads: folded.threads, by_name };
}

/** What the rules read (diagnoses.ts), from the report's rows and, for a whole session, the folded threads. */
function diagnosisInput(
  duration_s: number,
  totals: Counters,
  preempted_by: Report["sched"]["preempted_by"],
  cpu_limits: Report["cpu_limits"],
  threads: readonly ThreadStats[],
  roles: readonly RoleStats[],
  folded: FoldedTasks | undefined,
): DiagnosisInput {
  const trainer = threads.find((t) => t.role === "trainer");
  const workers = roles.find((r) => r.role === "dataloader");
  const busy = countBusy(noBusyThreads(), threads, duration_s);
  if (folded !== undefined) countBusy(busy, folded.busy_candidates.map((c) => ({ role: c.role, oncpu_ns: c.wants_ns, runq_wait_ns: 0, sleep_ns: 0, iowait_ns: 0 })), duration_s);
  return {
    duration_s,
    sched: { ...pick(totals, schedCounterNames), preempted_by },
    cpu_limits,
    ...(trainer ? { trainer: { oncpu_ns: trainer.oncpu_ns, runq_wait_ns: trainer.runq_wait_ns, sleep_ns: trainer.sleep_ns, iowait_ns: trainer.iowait_ns } } : {}),
    workers: {
      processes: workers?.processes ?? 0,
      oncpu_ns: workers?.oncpu_ns ?? 0,
      runq_wait_ns: workers?.runq_wait_ns ?? 0,
      sleep_ns: workers?.sleep_ns ?? 0,
      iowait_ns: workers?.iowait_ns ?? 0,
    },
    busy,
  };
}

/** The tightest of affinity, cgroup quota and the CPUs online. */
function usableCpus(limits: CpuLimits | undefined, online: number): CpuLimits & { usable_cpus: number } {
  const allowed = limits?.cpus_allowed ?? online;
  const usable = Math.min(allowed, online, limits?.cgroup_cpus ?? Infinity);
  return { cpus_allowed: allowed, ...(limits?.cgroup_cpus === undefined ? {} : { cgroup_cpus: limits.cgroup_cpus }), usable_cpus: usable };
}

/**
 * Per role, the threads listed and (for a whole session) the folded ones.
 * A role's processes are the distinct processes with a thread of that role:
 * listed pids, pids of listed processes with folded threads of the role,
 * and the folded processes that had one.
 */
function roleStats(threads: readonly ThreadStats[], folded: FoldedTasks | undefined): RoleStats[] {
  const byRole = new Map<Role, RoleStats & { pids: Set<number> }>();
  const entryOf = (role: Role) => {
    let entry = byRole.get(role);
    if (entry === undefined) {
      entry = { role, processes: 0, threads: 0, oncpu_ns: 0, runq_wait_ns: 0, sleep_ns: 0, iowait_ns: 0, pids: new Set<number>() };
      byRole.set(role, entry);
    }
    return entry;
  };
  for (const t of threads) {
    const entry = entryOf(t.role);
    entry.threads++;
    entry.pids.add(t.pid);
    entry.oncpu_ns += t.oncpu_ns;
    entry.runq_wait_ns += t.runq_wait_ns;
    entry.sleep_ns += t.sleep_ns;
    entry.iowait_ns += t.iowait_ns;
  }
  if (folded !== undefined) {
    for (const f of folded.roles.values()) {
      const entry = entryOf(f.role as Role);
      entry.processes += f.processes;
      entry.threads += f.threads;
      entry.oncpu_ns += f.oncpu_ns;
      entry.runq_wait_ns += f.runq_wait_ns;
      entry.sleep_ns += f.sleep_ns;
      entry.iowait_ns += f.iowait_ns;
    }
    for (const [pid, of] of folded.threads_of) for (const role of of.roles) entryOf(role as Role).pids.add(pid);
  }
  return roleNames.flatMap((role) => {
    const e = byRole.get(role);
    if (!e) return [];
    const { pids, ...rest } = e;
    return [{ ...rest, processes: rest.processes + pids.size }];
  });
}
