// The dashboard's derivations: straggler choice, role shares, histogram bars,
// and what is "not measured".
import { describe, expect, it } from "vitest";
import { chooseStraggler, histogramBars, histograms, roleRows, trainerWait, trainerWaitSeries, unmeasured } from "../../dashboard/derive.js";
import type { Report, RoleHistory } from "../../dashboard/types.js";

const trainer = (oncpu: number[], runq: number[], offcpu: number[]): RoleHistory[] => [{ role: "trainer", oncpu, runq, offcpu }];

/** A report with just what the derivations read (the rest of the model's fields do not matter here). */
function report(over: Partial<Report> = {}): Report {
  const p = { p50: 0, p90: 0, p99: 0 };
  return {
    kind: "INTERVAL",
    target: { pid: 1, comm: "t", processes: 1, threads: 1, command: "t" },
    duration_s: 2,
    elapsed_s: 2,
    sched: { oncpu_ns: 0, runq_wait_ns: 0, sleep_ns: 0, iowait_ns: 0, runq_latency_hist: [], offcpu_hist: [], runq_latency_us: p, offcpu_us: p },
    faults: { available: true, minor: 1, major: 0, major_latency_hist: [], major_latency_us: p },
    io: { available: false, read_bytes: 0, write_bytes: 0, queue_latency_hist: [], device_latency_hist: [], queue_latency_us: p, device_latency_us: p },
    numa: { nodes: 1, available: false },
    processes: [],
    threads: [],
    lost_events: 0,
    host: null,
    diagnoses: [],
    roles: [],
    ...over,
  } as unknown as Report;
}

describe("trainer waiting share", () => {
  it("sums the last intervals of the trainer role: (runq + off-CPU) / all its time", () => {
    const w = trainerWait(trainer([9, 0.5, 0.5], [9, 0.1, 0.3], [9, 0.4, 0.2]), 2)!;
    expect(w.intervals).toBe(2);
    expect(w.share).toBeCloseTo(1.0 / 2.0);
    expect(w.runqShare).toBeCloseTo(0.4 / 2.0);
    expect(w.offcpuShare).toBeCloseTo(0.6 / 2.0);
  });

  it("has nothing to say without a trainer or without time", () => {
    expect(trainerWait([{ role: "dataloader", oncpu: [1], runq: [0], offcpu: [0] }])).toBeNull();
    expect(trainerWait(trainer([0], [0], [0]))).toBeNull();
    expect(trainerWait(trainer([], [], []))).toBeNull();
  });

  it("gives per-interval shares for the chart, NaN where the trainer did nothing", () => {
    const s = trainerWaitSeries(trainer([0.5, 0], [0.25, 0], [0.25, 0]));
    expect(s.runq[0]).toBeCloseTo(0.25);
    expect(s.offcpu[0]).toBeCloseTo(0.25);
    expect(s.runq[1]).toBeNaN();
  });
});

describe("straggler", () => {
  const wait = (share: number) => ({ share, runqShare: share / 2, offcpuShare: share / 2, intervals: 10 });

  it("is the agent whose trainer waits the largest share, with its lead over the next", () => {
    const s = chooseStraggler([
      { key: "a", wait: wait(0.2) },
      { key: "b", wait: wait(0.6) },
      { key: "c", wait: null },
      { key: "d", wait: wait(0.3) },
    ])!;
    expect(s.key).toBe("b");
    expect(s.runnerUp.key).toBe("d");
    expect(s.lead).toBeCloseTo(0.3);
    expect(s.clear).toBe(true);
  });

  it("needs two agents with a trainer, and calls a small lead no clear straggler", () => {
    expect(chooseStraggler([{ key: "a", wait: wait(0.9) }, { key: "b", wait: null }])).toBeNull();
    const close = chooseStraggler([{ key: "a", wait: wait(0.31) }, { key: "b", wait: wait(0.3) }])!;
    expect(close.key).toBe("a");
    expect(close.clear).toBe(false);
  });
});

describe("role rows", () => {
  it("gives each role's time in CPUs over the interval's wall time, in the TUI's role order", () => {
    const rows = roleRows(report({
      roles: [
        { role: "dataloader", processes: 2, threads: 2, oncpu_ns: 3e9, runq_wait_ns: 0, sleep_ns: 1e9, iowait_ns: 0 },
        { role: "trainer", processes: 1, threads: 1, oncpu_ns: 1e9, runq_wait_ns: 0.5e9, sleep_ns: 0.25e9, iowait_ns: 0.25e9 },
      ],
    }));
    expect(rows.map((r) => r.role)).toEqual(["trainer", "dataloader"]);
    expect(rows[0]).toMatchObject({ oncpu: 0.5, runq: 0.25, offcpu: 0.25 });
    expect(rows[1]).toMatchObject({ oncpu: 1.5, offcpu: 0.5 });
  });
});

describe("histogram bars", () => {
  it("cuts empty buckets at both ends and scales to the tallest", () => {
    const bars = histogramBars([
      { le_us: 1, count: 0 },
      { le_us: 2, count: 2 },
      { le_us: 4, count: 0 },
      { le_us: 8, count: 6 },
      { le_us: 16, count: 0 },
    ]);
    expect(bars.map((b) => [b.lowUs, b.highUs, b.count])).toEqual([[1, 2, 2], [2, 4, 0], [4, 8, 6]]);
    expect(bars[2]!.fraction).toBe(1);
    expect(bars[0]!.share).toBeCloseTo(0.25);
    expect(histogramBars([{ le_us: 1, count: 0 }])).toEqual([]);
  });

  it("says not measured for a family that is off, rather than drawing zeros", () => {
    const r = report();
    const hs = histograms(r);
    expect(hs.map((h) => h.title)).toEqual(["Run-queue latency", "Off-CPU time", "Major fault latency", "Block I/O device latency"]);
    expect(hs[2]!.buckets).toEqual([]);
    expect(hs[3]!.buckets).toBeNull();
    expect(hs[3]!.notMeasured).toMatch(/io family/);
    expect(unmeasured(r)).toEqual({ faults: null, io: "io family not loaded", numa: "single NUMA node" });
    expect(unmeasured(report({ numa: { nodes: 2, available: true, local_allocs: 5, memory_per_node: [] } })).numa).toBeNull();
  });
});
