// The feed's messages as the dashboard sees them once decoded by reflection
// (schema/mltrace.proto, "The live feed"): field names as in the .proto,
// 64-bit integers as numbers, absent messages as null, proto3 `optional`
// fields absent (undefined) when unset. Only what the views read is typed.

export interface Bucket {
  le_us: number;
  count: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

export interface Neighbour {
  comm: string;
  pid: number;
  count: number;
}

export interface Target {
  pid: number;
  comm: string;
  processes: number;
  threads: number;
  command: string;
  exit_code?: number;
  exit_signal?: number;
}

export interface Host {
  hostname: string;
  kernel: string;
  cpus: number;
  numa_nodes: number;
  hardware_pmu: boolean;
  attach_modes: Record<string, string>;
}

interface TaskCounters {
  pid: number;
  comm: string;
  exited: boolean;
  role: string;
  oncpu_ns: number;
  runq_wait_ns: number;
  sleep_ns: number;
  iowait_ns: number;
  switches_voluntary: number;
  switches_involuntary: number;
  faults_minor: number;
  faults_major: number;
  read_bytes: number;
  write_bytes: number;
}

export interface ProcessStats extends TaskCounters {
  ppid: number;
  threads: number;
  exit_code?: number;
  exit_signal?: number;
  worker_index?: number;
}

export interface ThreadStats extends TaskCounters {
  tid: number;
}

export interface RoleStats {
  role: string;
  processes: number;
  threads: number;
  oncpu_ns: number;
  runq_wait_ns: number;
  sleep_ns: number;
  iowait_ns: number;
}

export interface Diagnosis {
  id: string;
  severity: string;
  summary: string;
  evidence: Record<string, number>;
  suggestion: string;
  preempted_by: Neighbour[];
}

export interface Report {
  kind: string;
  target: Target;
  duration_s: number;
  elapsed_s: number;
  sched: {
    oncpu_ns: number;
    runq_wait_ns: number;
    sleep_ns: number;
    iowait_ns: number;
    runq_latency_hist: Bucket[];
    offcpu_hist: Bucket[];
    runq_latency_us: Percentiles;
    offcpu_us: Percentiles;
  };
  faults: { available: boolean; minor: number; major: number; major_latency_hist: Bucket[]; major_latency_us: Percentiles } | null;
  io: {
    available: boolean;
    read_bytes: number;
    write_bytes: number;
    queue_latency_hist: Bucket[];
    device_latency_hist: Bucket[];
    queue_latency_us: Percentiles;
    device_latency_us: Percentiles;
  } | null;
  numa: {
    nodes: number;
    available: boolean;
    cross_node_migrations?: number;
    local_allocs?: number;
    remote_allocs?: number;
    miss_allocs?: number;
    page_migrations?: number;
  } | null;
  processes: ProcessStats[];
  threads: ThreadStats[];
  lost_events: number;
  host: Host | null;
  diagnoses: Diagnosis[];
  roles: RoleStats[];
}

export interface RoleHistory {
  role: string;
  oncpu: number[];
  runq: number[];
  offcpu: number[];
}

export interface Snapshot {
  target: Target | null;
  interval_s: number;
  uptime_s: number;
  interval: Report | null;
  final: Report | null;
  history: RoleHistory[];
  cpu_used_s: number;
  lost_events: number;
  self_cpu: number;
  seq: number;
  created_unix_ms: number;
}

export interface FeedStatus {
  frames_sent: number;
  frames_dropped: number;
  clients: number;
  pong: number;
}

export interface Hello {
  schema_version: number;
  capabilities: string[];
  host: Host | null;
  target: Target | null;
  interval_s: number;
  agent: string;
  status: FeedStatus | null;
}

export interface DiagnosisChange {
  raised: boolean;
  diagnosis: Diagnosis | null;
  seq: number;
}

export interface TargetExit {
  target: Target | null;
  final: Report | null;
}

/** One decoded FeedMessage: `body` names the member of the oneof that is set. */
export type FeedMessage =
  | { body: "hello"; hello: Hello }
  | { body: "snapshot"; snapshot: Snapshot }
  | { body: "diagnosis"; diagnosis: DiagnosisChange }
  | { body: "exit"; exit: TargetExit }
  | { body: "status"; status: FeedStatus };
