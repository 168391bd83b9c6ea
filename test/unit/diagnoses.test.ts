import { describe, expect, it } from "vitest";
import { diagnose, threadFacts, type DiagnosisInput } from "../../src/model/diagnoses.js";

const ms = 1e6;
type T = { tid: number; pid: number; role: string; oncpu_ns: number; runq_wait_ns: number; sleep_ns: number; iowait_ns: number };
const t = (tid: number, pid: number, role: string, oncpu: number, runq: number, sleep: number, io = 0): T => ({
  tid, pid, role, oncpu_ns: oncpu * ms, runq_wait_ns: runq * ms, sleep_ns: sleep * ms, iowait_ns: io * ms,
});

function input(threads: T[], over: Partial<DiagnosisInput["sched"]> = {}, usable = 2): DiagnosisInput {
  const sum = (k: "oncpu_ns" | "runq_wait_ns" | "sleep_ns" | "iowait_ns") => threads.reduce((n, x) => n + x[k], 0);
  return {
    duration_s: 1,
    sched: {
      oncpu_ns: sum("oncpu_ns"), runq_wait_ns: sum("runq_wait_ns"), sleep_ns: sum("sleep_ns"), iowait_ns: sum("iowait_ns"),
      switches_involuntary: 100, preempted_by: [], ...over,
    },
    ...threadFacts(threads, 1),
    cpu_limits: { cpus_allowed: usable, usable_cpus: usable },
  };
}

const ids = (i: DiagnosisInput) => diagnose(i).map((d) => d.id);

describe("diagnose", () => {
  it("says nothing about a healthy interval", () => {
    expect(ids(input([t(1, 1, "trainer", 950, 20, 30), t(2, 2, "dataloader", 300, 10, 690)]))).toEqual([]);
  });

  it("input-bound: the trainer waits while workers work, and says where the workers' time goes", () => {
    const [d] = diagnose(input([t(1, 1, "trainer", 100, 0, 880, 20), t(2, 2, "dataloader", 900, 50, 50), t(3, 3, "dataloader", 800, 100, 100)]));
    expect(d!.id).toBe("input-bound");
    expect(d!.severity).toBe("critical");
    expect(d!.evidence.trainer_waiting_share).toBe(0.9);
    expect(d!.evidence.workers).toBe(2);
    expect(d!.evidence.worker_oncpu_share).toBe(0.85);
    expect(d!.suggestion).toContain("num_workers");
    // workers that wait for a CPU need CPUs, not more workers
    const [starved] = diagnose(input([t(1, 1, "trainer", 100, 0, 900), t(2, 2, "dataloader", 600, 300, 100)]));
    expect(starved!.suggestion).toContain("wait for a CPU");
    // no workers: a trainer that sleeps is not input-bound
    expect(ids(input([t(1, 1, "trainer", 100, 0, 900)]))).toEqual([]);
  });

  it("cpu-contention: runnable but waiting, with outsiders taking the CPU", () => {
    const threads = [t(1, 1, "trainer", 500, 450, 50)];
    const hog = [{ comm: "hog", pid: 77, count: 90 }];
    const [d] = diagnose(input(threads, { preempted_by: hog }, 2));
    expect(d!.id).toBe("cpu-contention");
    expect(d!.preempted_by).toEqual(hog);
    expect(d!.summary).toContain("hog (77)");
    // the same wait with nobody outside to blame is not contention
    expect(ids(input(threads))).toEqual([]);
  });

  it("oversubscription: more runnable threads than usable CPUs", () => {
    const pool = [1, 2, 3, 4, 5, 6].map((i) => t(i, 1, i === 1 ? "trainer" : "intra-op", 160, 800, 40));
    const [d] = diagnose(input(pool, {}, 1));
    expect(d!.id).toBe("oversubscription");
    expect(d!.evidence.usable_cpus).toBe(1);
    expect(d!.evidence.busy_threads).toBe(6);
    // the same threads fit on 8 CPUs
    expect(ids(input(pool.map((x) => ({ ...x, oncpu_ns: 900 * ms, runq_wait_ns: 20 * ms })), {}, 8))).toEqual([]);
  });

  it("judges nothing on a too-short interval", () => {
    expect(diagnose({ ...input([t(1, 1, "trainer", 0, 0, 90), t(2, 2, "dataloader", 90, 0, 0)]), duration_s: 0.05 })).toEqual([]);
  });
});
