import { describe, expect, it } from "vitest";
import { buildReport, type ReportContext } from "../../src/model/report.js";
import { decodeWaitStatus } from "../../src/model/wait-status.js";
import { blankThread, type Sample, type ThreadSample } from "../../src/model/sample.js";
import { decodeReport, encodeReport, reportToJson } from "../../src/schema/schema.js";

const SLOTS = 32;

function thread(tid: number, pid: number, over: Partial<ThreadSample> = {}): ThreadSample {
  return {
    ...blankThread(),
    tid,
    pid,
    comm: `t${tid}`,
    start_ns: 0,
    exited: false,
    runq_hist: Array(SLOTS).fill(0),
    offcpu_hist: Array(SLOTS).fill(0),
    major_latency_hist: Array(SLOTS).fill(0),
    queue_hist: Array(SLOTS).fill(0),
    device_hist: Array(SLOTS).fill(0),
    ...over,
  };
}

function sample(time_ns: number, threads: ThreadSample[], exitedWorker = false): Sample {
  return {
    time_ns,
    threads,
    processes: [
      { pid: 100, ppid: 1, comm: "trainer", exited: false },
      { pid: 200, ppid: 100, comm: "worker", exited: exitedWorker, ...(exitedWorker ? { exit_status: 3 << 8 } : {}) },
    ],
    neighbours: [
      { pid: 9, comm: "hog", count: 10 },
      { pid: 8, comm: "cron", count: 2 },
    ],
    drops: { events_dropped: 0, threads_dropped: 1, targets_dropped: 0, neighbours_dropped: 0 },
    devices: [{ major: 254, minor: 0, name: "vda", read_ops: 4, read_bytes: 4096, write_ops: 0, write_bytes: 0 }],
    numa_nodes: 1,
    families: ["sched", "faults", "io"],
  };
}

const ctx: ReportContext = {
  kind: "final",
  target: { pid: 100, comm: "trainer", command: "trainer --fast" },
  host: { hostname: "h", kernel: "6.18", cpus: 2, numa_nodes: 1, hardware_pmu: false, attach_modes: { sched_switch: "tp_btf" } },
  started_ns: 1_000_000_000,
};

describe("buildReport", () => {
  const hist = Array(SLOTS).fill(0);
  hist[3] = 4;
  const cur = sample(3_000_000_000, [
    thread(100, 100, { oncpu_ns: 700, switches_voluntary: 5, runq_hist: hist }),
    thread(101, 100, { oncpu_ns: 300, switches_involuntary: 2 }),
    thread(200, 200, { oncpu_ns: 50, sleep_ns: 40, exited: true }),
  ], true);

  it("sums threads into processes and the whole target", () => {
    const r = buildReport(null, cur, ctx);
    expect(r.duration_s).toBe(2);
    expect(r.sched.oncpu_ns).toBe(1050);
    expect(r.sched.switches_voluntary).toBe(5);
    const trainer = r.processes.find((p) => p.pid === 100)!;
    expect(trainer).toMatchObject({ threads: 2, oncpu_ns: 1000, switches_involuntary: 2 });
    const worker = r.processes.find((p) => p.pid === 200)!;
    expect(worker).toMatchObject({ exited: true, exit_code: 3, oncpu_ns: 50, sleep_ns: 40 });
    expect(r.target).toMatchObject({ processes: 2, threads: 3 });
    expect(r.sched.runq_latency_hist).toEqual([
      { le_us: 1, count: 0 },
      { le_us: 2, count: 0 },
      { le_us: 4, count: 0 },
      { le_us: 8, count: 4 },
    ]);
    expect(r.sched.preempted_by.map((n) => n.comm)).toEqual(["hog", "cron"]);
    expect(r.lost_events).toBe(1);
  });

  it("reports an interval as the difference of two cumulative samples", () => {
    const prev = sample(2_000_000_000, [thread(100, 100, { oncpu_ns: 600, switches_voluntary: 1 }), thread(101, 100, { oncpu_ns: 300 })]);
    const r = buildReport(prev, cur, { ...ctx, kind: "interval" });
    expect(r.kind).toBe("INTERVAL");
    expect(r.duration_s).toBe(1);
    expect(r.elapsed_s).toBe(2);
    expect(r.sched.oncpu_ns).toBe(100 + 0 + 50);
    expect(r.sched.switches_voluntary).toBe(4);
    expect(r.sched.preempted_by).toEqual([]);
    expect(r.lost_events).toBe(0);
  });

  it("leaves out of an interval what had already exited before it", () => {
    const prev = sample(2_000_000_000, [thread(200, 200, { oncpu_ns: 50, sleep_ns: 40, exited: true })], true);
    const r = buildReport(prev, cur, { ...ctx, kind: "interval" });
    expect(r.processes.map((p) => p.pid)).toEqual([100]);
    expect(r.threads.map((t) => t.tid)).toEqual([100, 101]);
  });

  it("tells a reused tid from the thread that had it before", () => {
    const a = thread(300, 100, { start_ns: 5, oncpu_ns: 10, exited: true });
    const b = thread(300, 100, { start_ns: 9, oncpu_ns: 20 });
    const r = buildReport(null, sample(3_000_000_000, [a, b]), ctx);
    expect(r.threads.filter((t) => t.tid === 300)).toHaveLength(2);
    expect(r.target.threads).toBe(2);
  });

  it("sums page faults per process and splits major faults by backing", () => {
    const lat = Array(SLOTS).fill(0);
    lat[7] = 3;
    const s = sample(3_000_000_000, [
      thread(100, 100, { faults_minor: 10, faults_major: 3, major_file: 2, major_anon: 1, major_latency_hist: lat }),
      thread(101, 100, { faults_minor: 5 }),
      thread(200, 200, { faults_minor: 7, faults_major: 1, major_anon: 1, exited: true }),
    ]);
    const r = buildReport(null, s, ctx);
    expect(r.faults).toMatchObject({ available: true, minor: 22, major: 4, major_file: 2, major_anon: 2 });
    expect(r.faults.major_latency_hist.at(-1)).toEqual({ le_us: 128, count: 3 });
    expect(r.processes.find((p) => p.pid === 100)).toMatchObject({ faults_minor: 15, faults_major: 3 });
    expect(r.threads.find((t) => t.tid === 200)).toMatchObject({ faults_minor: 7, faults_major: 1 });
    expect(buildReport(null, { ...s, families: ["sched"] }, ctx).faults.available).toBe(false);
  });

  it("charges block I/O to threads and processes, and per device by interval", () => {
    const dev = Array(SLOTS).fill(0);
    dev[9] = 2;
    const cur = sample(3_000_000_000, [
      thread(100, 100, { read_ops: 2, read_bytes: 8192, pagecache_misses: 3, device_hist: dev }),
      thread(200, 200, { write_ops: 1, write_bytes: 4096 }),
    ]);
    const r = buildReport(null, cur, ctx);
    expect(r.io).toMatchObject({ available: true, read_ops: 2, read_bytes: 8192, write_ops: 1, write_bytes: 4096, pagecache_misses: 3 });
    expect(r.io.device_latency_hist.at(-1)).toEqual({ le_us: 512, count: 2 });
    expect(r.processes.find((p) => p.pid === 200)).toMatchObject({ read_bytes: 0, write_bytes: 4096 });
    expect(r.io.devices).toEqual([{ major: 254, minor: 0, name: "vda", read_ops: 4, read_bytes: 4096, write_ops: 0, write_bytes: 0 }]);
    const later = { ...cur, time_ns: 4_000_000_000, devices: [{ ...cur.devices[0]!, read_ops: 6, read_bytes: 8192 }] };
    expect(buildReport(cur, later, { ...ctx, kind: "interval" }).io.devices[0]).toMatchObject({ read_ops: 2, read_bytes: 4096 });
  });

  it("decodes wait statuses like a shell", () => {
    expect(decodeWaitStatus(0)).toEqual({ exit_code: 0 });
    expect(decodeWaitStatus(127 << 8)).toEqual({ exit_code: 127 });
    expect(decodeWaitStatus(9)).toEqual({ exit_signal: 9 });
  });
});

describe("the schema", () => {
  const r = buildReport(null, sample(3_000_000_000, [thread(100, 100, { oncpu_ns: 5 })]), ctx);

  it("gives JSON with every key the stat --json contract names", () => {
    const json = reportToJson(r) as any;
    expect(Object.keys(json)).toEqual(expect.arrayContaining(["target", "duration_s", "sched", "processes", "threads", "lost_events"]));
    expect(Object.keys(json.target)).toEqual(expect.arrayContaining(["pid", "comm", "processes", "threads", "exit_code"]));
    expect(json.target.exit_code).toBeNull();
    const counters = ["oncpu_ns", "runq_wait_ns", "sleep_ns", "iowait_ns", "switches_voluntary", "switches_involuntary", "wakeups", "migrations"];
    expect(Object.keys(json.sched)).toEqual(expect.arrayContaining([...counters, "runq_latency_hist", "preempted_by"]));
    expect(Object.keys(json.processes[0])).toEqual(expect.arrayContaining(["pid", "ppid", "comm", ...counters, "faults_minor", "faults_major"]));
    expect(Object.keys(json.threads[0])).toEqual(expect.arrayContaining(["tid", "pid", "comm", ...counters, "faults_minor", "faults_major"]));
    expect(Object.keys(json.faults)).toEqual(expect.arrayContaining(["minor", "major", "major_file", "major_anon", "major_latency_hist"]));
    expect(json.sched.preempted_by[0]).toEqual({ comm: "hog", pid: 9, count: 10 });
  });

  it("carries roles, per-role totals, CPU limits and diagnoses", () => {
    const busy = sample(3_000_000_000, [
      thread(100, 100, { oncpu_ns: 0.1e9, sleep_ns: 1.9e9 }),
      thread(200, 200, { comm: "trainer", oncpu_ns: 1.9e9, sleep_ns: 0.1e9 }),
    ]);
    busy.processes[1]!.comm = "trainer"; // forked, not exec'd: a DataLoader worker
    busy.cpu_limits = { cpus_allowed: 1, cgroup_cpus: 0.5 };
    const json = reportToJson(buildReport(null, busy, ctx)) as any;
    expect(json.processes.map((p: any) => [p.role, p.worker_index])).toEqual([["trainer", null], ["dataloader", 0]]);
    expect(json.threads.map((t: any) => t.role)).toEqual(["trainer", "dataloader"]);
    expect(json.roles.map((x: any) => [x.role, x.oncpu_ns])).toEqual([["trainer", 0.1e9], ["dataloader", 1.9e9]]);
    const noCgroup = { cgroup_version: null, cgroup_path: null, cgroup_periods: null, cgroup_throttled_periods: null, cgroup_throttled_ns: null };
    expect(json.cpu_limits).toEqual({ cpus_allowed: 1, cgroup_cpus: 0.5, usable_cpus: 0.5, ...noCgroup });
    expect(json.diagnoses.map((d: any) => d.id)).toEqual(["input-bound"]);
    expect(Object.keys(json.diagnoses[0])).toEqual(expect.arrayContaining(["id", "severity", "summary", "evidence", "suggestion"]));
    expect(json.diagnoses[0].evidence.trainer_waiting_share).toBe(0.95);
  });

  it("gives a cgroup quota's throttling over the report's span", () => {
    const cgroup = (periods: number, throttled: number, ns: number) => ({ version: 1 as const, path: "/job", quota_cpus: 0.5, nr_periods: periods, nr_throttled: throttled, throttled_ns: ns });
    const first = sample(2_000_000_000, [thread(100, 100, { oncpu_ns: 1e8 })]);
    first.cpu_limits = { cpus_allowed: 2, cgroup_cpus: 0.5, cgroup: cgroup(10, 9, 4e8) };
    const second = sample(3_000_000_000, [thread(100, 100, { oncpu_ns: 6e8 })]);
    second.cpu_limits = { cpus_allowed: 2, cgroup_cpus: 0.5, cgroup: cgroup(20, 18, 9e8) };
    const interval = reportToJson(buildReport(first, second, { ...ctx, kind: "interval" })) as any;
    expect(interval.cpu_limits).toEqual({ cpus_allowed: 2, cgroup_cpus: 0.5, usable_cpus: 0.5, cgroup_version: 1, cgroup_path: "/job", cgroup_periods: 10, cgroup_throttled_periods: 9, cgroup_throttled_ns: 5e8 });
    // The final report counts from attach, where the collector put the counters' zero.
    expect((reportToJson(buildReport(null, second, ctx)) as any).cpu_limits.cgroup_throttled_periods).toBe(18);
  });

  it("round-trips a report through protobuf", () => {
    const back = decodeReport(encodeReport(r)) as any;
    expect(back.sched.oncpu_ns).toBe(5);
    expect(back.processes.map((p: { pid: number }) => p.pid)).toEqual([100, 200]);
    expect(back.host.attach_modes).toEqual({ sched_switch: "tp_btf" });
  });

  it("refuses a report the schema does not describe", () => {
    expect(() => reportToJson({ ...r, duration_s: "long" as unknown as number })).toThrow(/schema/);
  });
});
