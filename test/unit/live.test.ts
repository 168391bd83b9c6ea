// The live model's running totals against the cumulative samples they come from.
import { describe, expect, it } from "vitest";
import { model, sample } from "../helpers/snapshots.js";
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
});
