// The literals that give every counter object one shape (src/model/sample.ts)
// are written out by hand: they must list exactly the counters the model sums.
import { describe, expect, it } from "vitest";
import { arrayNames, blankThread, threadCounterNames, zeroCounters } from "../../src/model/sample.js";

describe("counter literals", () => {
  it("zeroCounters has every counter, each zero, and nothing else", () => {
    expect(Object.keys(zeroCounters()).sort()).toEqual([...threadCounterNames].sort());
    expect(Object.values(zeroCounters()).every((v) => v === 0)).toBe(true);
  });
  it("blankThread has every counter and array, fresh arrays each time", () => {
    const a = blankThread();
    expect(Object.keys(a).sort()).toEqual(["tid", "pid", "comm", "start_ns", "proc_start_ns", "exited", ...threadCounterNames, ...arrayNames].sort());
    const b = blankThread();
    for (const h of arrayNames) expect(a[h]).not.toBe(b[h]);
  });
});
