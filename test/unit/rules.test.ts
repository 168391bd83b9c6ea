// The rules added for issue 14 and how input-bound judges the workers, on
// inputs built by hand (each rule also runs on a real workload in
// test/ebpf/diagnoses-limits.test.ts).
import { describe, expect, it } from "vitest";
import { diagnose, type DiagnosisInput } from "../../src/model/diagnoses.js";

const ms = 1e6;
type T = DiagnosisInput["threads"][number];
const t = (tid: number, pid: number, role: string, oncpu: number, runq: number, sleep: number, io = 0, over: Partial<T> = {}): T => ({
  tid, pid, role, comm: role, oncpu_ns: oncpu * ms, runq_wait_ns: runq * ms, sleep_ns: sleep * ms, iowait_ns: io * ms, ...over,
});

function input(threads: T[], over: Partial<DiagnosisInput> = {}): DiagnosisInput {
  const sum = (k: "oncpu_ns" | "runq_wait_ns" | "sleep_ns" | "iowait_ns") => threads.reduce((n, x) => n + x[k], 0);
  return {
    duration_s: 1,
    sched: { oncpu_ns: sum("oncpu_ns"), runq_wait_ns: sum("runq_wait_ns"), sleep_ns: sum("sleep_ns"), iowait_ns: sum("iowait_ns"), switches_involuntary: 100, preempted_by: [] },
    threads,
    cpu_limits: { cpus_allowed: 2, usable_cpus: 2 },
    ...over,
  };
}

const find = (i: DiagnosisInput, id: string) => diagnose(i).find((d) => d.id === id);

describe("input-bound judges a worker by the threads doing its work", () => {
  // One loader thread blocked most of the time, three helper threads asleep all along.
  const worker = (pid: number) => [
    t(pid, pid, "dataloader", 130, 40, 640, 190),
    t(pid + 1, pid, "dataloader", 0, 0, 1000),
    t(pid + 2, pid, "dataloader", 1, 0, 999),
    t(pid + 3, pid, "dataloader", 0, 0, 1000),
  ];
  const trainer = t(1, 1, "trainer", 100, 0, 900);

  it("leaves the sleeping helpers out", () => {
    const d = find(input([trainer, ...worker(10), ...worker(20)], { processes: [
      { pid: 1, comm: "python3", role: "trainer" },
      { pid: 10, comm: "python3", role: "dataloader", worker_index: 0 },
      { pid: 20, comm: "python3", role: "dataloader", worker_index: 1 },
    ] }), "input-bound")!;
    expect(d.evidence.workers).toBe(2);
    expect(d.evidence.working_threads).toBe(2);
    expect(d.evidence.worker_blocked_share).toBe(0.19);
    expect(d.evidence.worker_oncpu_share).toBe(0.13);
    expect(d.subjects).toEqual([
      { kind: "thread", name: "trainer (trainer)", pid: 1, tid: 1 },
      { kind: "process", name: "dataloader 0", pid: 10 },
      { kind: "process", name: "dataloader 1", pid: 20 },
    ]);
  });

  it("says blocked when the loader is blocked, though its helpers sleep", () => {
    const loader = (pid: number) => [t(pid, pid, "dataloader", 100, 0, 100, 800), t(pid + 1, pid, "dataloader", 0, 0, 1000), t(pid + 2, pid, "dataloader", 0, 0, 1000)];
    const d = find(input([trainer, ...loader(10)]), "input-bound")!;
    expect(d.evidence.worker_blocked_share).toBe(0.8);
    expect(d.suggestion).toContain("blocked on I/O");
  });

  it("keeps every thread that works about as hard as the busiest", () => {
    const d = find(input([trainer, t(10, 10, "dataloader", 500, 0, 500), t(11, 10, "dataloader", 300, 0, 700), t(12, 10, "dataloader", 100, 0, 900)]), "input-bound")!;
    expect(d.evidence.working_threads).toBe(2);
  });
});

describe("cpu-throttled", () => {
  const busy = [t(1, 1, "trainer", 500, 400, 100)];
  const quota = (periods: number, throttled: number, ns: number) => ({
    cpus_allowed: 2, cgroup_cpus: 0.5, usable_cpus: 0.5, cgroup_version: 1, cgroup_path: "/job", cgroup_periods: periods, cgroup_throttled_periods: throttled, cgroup_throttled_ns: ns,
  });

  it("fires with the quota, the share of periods throttled and the time held off", () => {
    const d = find(input(busy, { cpu_limits: quota(10, 9, 450 * ms) }), "cpu-throttled")!;
    expect(d.severity).toBe("critical");
    expect(d.evidence).toMatchObject({ quota_cpus: 0.5, periods: 10, throttled_periods: 9, throttled_share: 0.9, throttled_s_per_s: 0.45, wanting_threads: 0.9, cgroup_version: 1 });
    expect(d.subjects).toEqual([{ kind: "cgroup", name: "/job" }]);
    expect(d.summary).toContain("0.50 CPUs");
    expect(d.suggestion).toContain("set_num_threads");
  });

  it("is a warning below half the periods, silent below a fifth or on too few periods, and absent without a quota", () => {
    expect(find(input(busy, { cpu_limits: quota(10, 3, 50 * ms) }), "cpu-throttled")!.severity).toBe("warning");
    expect(find(input(busy, { cpu_limits: quota(10, 1, 10 * ms) }), "cpu-throttled")).toBeUndefined();
    expect(find(input(busy, { cpu_limits: quota(4, 4, 200 * ms) }), "cpu-throttled")).toBeUndefined();
    expect(find(input(busy), "cpu-throttled")).toBeUndefined();
  });

  it("keeps cpu-contention from blaming whoever ran while the quota held the target off", () => {
    const preempted_by = [{ comm: "hog", pid: 77, count: 90 }];
    const sched = { ...input(busy).sched, preempted_by };
    expect(find(input(busy, { sched }), "cpu-contention")).toBeDefined();
    expect(find(input(busy, { sched, cpu_limits: quota(10, 9, 450 * ms) }), "cpu-contention")).toBeUndefined();
  });
});

describe("cpu-migrations", () => {
  const hopping = (n: number) => [t(1, 1, "trainer", 900, 50, 50, 0, { migrations: n }), t(2, 1, "intra-op", 800, 50, 150, 0, { migrations: n })];

  it("is information when busy threads move often, a warning when the moves cross nodes", () => {
    const d = find(input(hopping(120)), "cpu-migrations")!;
    expect(d.severity).toBe("info");
    expect(d.evidence).toMatchObject({ busy_threads: 2, migrations_per_s: 120, max_migrations_per_s: 120 });
    expect(d.subjects.map((s) => s.tid)).toEqual([1, 2]);
    expect(find(input(hopping(120), { numa: { cross_node_migrations: 40 } }), "cpu-migrations")!.severity).toBe("warning");
  });

  it("is silent for few moves or idle threads", () => {
    expect(find(input(hopping(10)), "cpu-migrations")).toBeUndefined();
    expect(find(input([t(1, 1, "trainer", 100, 0, 900, 0, { migrations: 500 })]), "cpu-migrations")).toBeUndefined();
  });
});

describe("fault-churn", () => {
  const trainer = (faults: number) => [t(1, 1, "trainer", 900, 0, 100, 0, { faults_minor: faults }), t(2, 1, "intra-op", 100, 0, 900, 0, { faults_minor: 0 })];
  const root = (user: number, kernel: number) => ({ pid: 1, utime_ns: user * ms, stime_ns: kernel * ms, anon_huge_bytes: 0 });

  it("fires on many minor faults with the kernel's share of the trainer's CPU", () => {
    const d = find(input(trainer(80_000), { root: root(600, 400), thp_enabled: "madvise" }), "fault-churn")!;
    expect(d.severity).toBe("critical");
    expect(d.evidence).toMatchObject({ minor_faults_per_s: 80_000, kernel_cpu_share: 0.4, anon_huge_mib: 0 });
    expect(d.summary).toContain("madvise");
    expect(d.suggestion).toContain("MALLOC_MMAP_THRESHOLD_");
    expect(d.subjects).toEqual([{ kind: "process", name: "pid 1", pid: 1 }]);
  });

  it("is silent when faults are few, cost the kernel little, or the CPU split is unknown", () => {
    expect(find(input(trainer(15_000), { root: root(600, 400) }), "fault-churn")).toBeUndefined();
    expect(find(input(trainer(80_000), { root: root(850, 150) }), "fault-churn")).toBeUndefined();
    expect(find(input(trainer(80_000)), "fault-churn")).toBeUndefined();
  });
});

describe("numa-remote", () => {
  const nt = (tid: number, local: number, remote: number, moves = 0, run_node: number | undefined = 0) => ({
    tid, pid: 1, comm: "python3", role: "trainer", local_allocs: local, remote_allocs: remote, cross_node_migrations: moves, ...(run_node === undefined ? {} : { run_node }),
  });
  const base = [t(1, 1, "trainer", 900, 0, 100)];

  it("fires when a thread's new pages land on another node, critical when nearly all do", () => {
    const d = find(input(base, { numa: { cross_node_migrations: 0, threads: [nt(1, 100, 16_000)] } }), "numa-remote")!;
    expect(d.severity).toBe("critical");
    expect(d.evidence).toMatchObject({ remote_share: 0.994, remote_allocs: 16_000, local_allocs: 100, remote_threads: 1 });
    expect(d.subjects).toEqual([{ kind: "thread", name: "python3 (trainer)", pid: 1, tid: 1 }]);
    expect(d.summary).toContain("running on node 0");
    expect(find(input(base, { numa: { cross_node_migrations: 0, threads: [nt(1, 6_000, 10_000)] } }), "numa-remote")!.severity).toBe("warning");
  });

  it("fires for resident memory off the node the process runs on, and for moves across nodes", () => {
    const memory = find(input(base, { numa: { cross_node_migrations: 0, threads: [nt(1, 10, 0)], process_memory: [{ pid: 1, bytes: [16 * 2 ** 20, 200 * 2 ** 20] }] } }), "numa-remote")!;
    expect(memory.evidence.remote_memory_share).toBe(0.926);
    const moves = find(input(base, { numa: { cross_node_migrations: 40, threads: [nt(1, 10, 0, 40)] } }), "numa-remote")!;
    expect(moves.evidence.cross_node_migrations_per_s).toBe(40);
  });

  it("is silent for local placement, small allocations and without the NUMA family", () => {
    expect(find(input(base, { numa: { cross_node_migrations: 0, threads: [nt(1, 16_000, 100)], process_memory: [{ pid: 1, bytes: [200 * 2 ** 20, 0] }] } }), "numa-remote")).toBeUndefined();
    expect(find(input(base, { numa: { cross_node_migrations: 0, threads: [nt(1, 10, 1000)] } }), "numa-remote")).toBeUndefined();
    expect(find(input(base), "numa-remote")).toBeUndefined();
  });
});
