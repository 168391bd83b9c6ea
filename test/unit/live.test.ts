// The live model's running totals against the cumulative samples they come from.
import { describe, expect, it } from "vitest";
import { model, sample } from "../helpers/snapshots.js";
import { inCpus, roleShares } from "../../src/model/role-shares.js";
import type { Sample } from "../../src/model/sample.js";

const onCpuSeconds = (s: Sample) => s.threads.reduce((n, t) => n + t.oncpu_ns, 0) / 1e9;

describe("LiveModel", () => {
  it("keeps the target's CPU used equal to every thread's on-CPU time, exited and reused tids included", () => {
    const m = model();
    const samples: Sample[] = [];
    for (let k = 1; k <= 6; k++) {
      const s = sample(k);
      // worker 201 exits after second 3; its tid comes back as a new thread at second 5
      if (k >= 4) {
        const gone = { ...sample(3).threads[3]!, exited: true };
        s.threads = [gone, ...s.threads.filter((t) => t.tid !== 201)];
        s.exited_prefix = 1;
        if (k >= 5) s.threads.push({ ...sample(k - 4).threads[3]!, start_ns: 4.5e9 });
      }
      samples.push(s);
    }
    for (const s of samples) {
      const snap = m.addSample(s, 0);
      expect(snap.cpu_used_s).toBeCloseTo(onCpuSeconds(s), 9);
    }
  });

  it("keeps each role's history as its times over the interval in CPUs, 0 for an interval it was absent from", () => {
    const m = model();
    let snap = m.addSample(sample(1), 0);
    snap = m.addSample(sample(2), 0);
    // second 3: the workers (pids 200, 201) ran nothing
    const quiet = sample(3);
    for (const t of quiet.threads) if (t.pid !== 100) Object.assign(t, sample(2).threads.find((x) => x.tid === t.tid));
    snap = m.addSample(quiet, 0);
    const report = snap.interval!;
    for (const h of snap.history) {
      const now = report.roles.find((r) => r.role === h.role);
      expect(h.oncpu.at(-1)).toBe(roleShares(now, report.duration_s).oncpu);
      expect(h.runq.at(-1)).toBe(roleShares(now, report.duration_s).runq);
      expect(h.offcpu.at(-1)).toBe(roleShares(now, report.duration_s).offcpu);
    }
    // the trainer's main thread: 0.1 s on a CPU and 0.88 s asleep per second of the sample clock
    const trainer = snap.history.find((h) => h.role === "trainer")!;
    expect(trainer.oncpu).toEqual([0.1, 0.1, 0.1].map((x) => expect.closeTo(x, 9)));
    expect(trainer.offcpu.at(-1)).toBeCloseTo(0.88, 9);
    const workers = snap.history.find((h) => h.role === "dataloader")!;
    expect(workers.oncpu[1]).toBeCloseTo(1.5, 9);
    expect(workers.oncpu.at(-1)).toBe(0);
  });

  it("a role's share of an interval of no duration is 0, not a division by zero", () => {
    const times = { oncpu_ns: 5e8, runq_wait_ns: 1e8, sleep_ns: 2e8, iowait_ns: 2e8 };
    expect(roleShares(times, 0)).toEqual({ oncpu: 0, runq: 0, offcpu: 0 });
    expect(roleShares(undefined, 1)).toEqual({ oncpu: 0, runq: 0, offcpu: 0 });
    expect(roleShares(times, 0.5)).toEqual({ oncpu: 1, runq: 0.2, offcpu: 0.8 });
    expect(inCpus(3e9, 2)).toBe(1.5);
  });
});
