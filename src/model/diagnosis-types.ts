// What a diagnosis is and what the rules read. Pure data: the rules
// (rules/*.ts) and everything that shows a diagnosis use these.
// Types only: the report builds this input, so no module cycle at run time.
import type { ReportCpuLimits } from "./report.js";

export type Severity = "info" | "warning" | "critical";

export type DiagnosisId =
  | "input-bound"
  | "cpu-contention"
  | "oversubscription"
  | "cpu-throttled"
  | "cpu-migrations"
  | "fault-churn"
  | "fault-storm"
  | "numa-remote"
  | "reclaim-stalls"
  | "io-bound";

/** A thing a diagnosis is about, named so a view can point at it. */
export interface DiagnosisSubject {
  kind: "thread" | "process" | "file" | "device" | "cgroup";
  name: string;
  pid?: number;
  tid?: number;
}

export interface Diagnosis {
  /** stable: scripts and docs refer to it */
  id: DiagnosisId;
  severity: Severity;
  summary: string;
  evidence: Record<string, number>;
  suggestion: string;
  /** cpu-contention: who took the CPU */
  preempted_by: { comm: string; pid: number; count: number }[];
  subjects: DiagnosisSubject[];
}

export interface Times {
  oncpu_ns: number;
  runq_wait_ns: number;
  sleep_ns: number;
  iowait_ns: number;
}

export interface ThreadInput extends Times {
  /** the part of iowait_ns the kernel marked as waiting for I/O (in_iowait) */
  io_wait_ns?: number;
  tid: number;
  pid: number;
  role: string;
  comm?: string;
  migrations?: number;
  faults_minor?: number;
  faults_major?: number;
  read_bytes?: number;
  reclaim_ns?: number;
}

export interface NumaThreadInput {
  tid: number;
  pid: number;
  comm: string;
  role: string;
  /** pages allocated on the node of the CPU the thread ran on, and elsewhere */
  local_allocs: number;
  remote_allocs: number;
  cross_node_migrations: number;
  /** the node of the CPUs it allocated most from (where it runs), if it allocated */
  run_node?: number;
}

/** The target's root process over the span, as /proc tells it (absent in older recordings). */
export interface RootProcessInput {
  pid: number;
  utime_ns: number;
  stime_ns: number;
  /** AnonHugePages of smaps_rollup at the end of the span */
  anon_huge_bytes?: number;
}

/** What the rules read; a report has all of it. */
export interface DiagnosisInput {
  duration_s: number;
  sched: Times & { switches_involuntary: number; preempted_by: { comm: string; pid: number; count: number }[] };
  threads: ThreadInput[];
  cpu_limits: ReportCpuLimits;
  /** processes by pid, for names (worker index, comm) */
  processes?: { pid: number; comm: string; role: string; worker_index?: number }[];
  root?: RootProcessInput;
  /** /sys/kernel/mm/transparent_hugepage/enabled's selected mode */
  thp_enabled?: string;
  /** block I/O over the span (io family): per device, and the device latency */
  io?: { devices: { name: string; read_bytes: number; write_bytes: number }[]; device_latency_us: { p50: number; p90: number; p99: number }; pagecache_misses: number };
  /** reclaim stalls over the span (faults family), and the memory cgroup limit over the root */
  reclaim?: { stalls: number; memory_limit?: { version: number; path: string; limit_bytes: number } };
  /** major faults per process and file over the span (faults family) */
  fault_files?: { pid: number; path: string; major_faults: number; timed: number; latency_ns: number }[];
  /** the target's major-fault latency (faults family) */
  major_latency_us?: { p50: number; p90: number; p99: number };
  /** NUMA: where the family runs */
  numa?: {
    cross_node_migrations: number | null;
    /** per thread over the span: its page allocations by where they landed, its moves across nodes */
    threads?: NumaThreadInput[];
    /** resident bytes per node of each live process, now */
    process_memory?: { pid: number; bytes: number[] }[];
  };
}

/** One rule: a diagnosis, or null when it does not apply. */
export type Rule = (r: DiagnosisInput, wallNs: number) => Diagnosis | null;
