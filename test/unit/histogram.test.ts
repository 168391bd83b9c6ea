import { describe, expect, it } from "vitest";
import { percentiles, quantileUs, subtractSlots, toBuckets } from "../../src/model/histogram.js";

describe("log2 histograms", () => {
  it("labels each slot with its exclusive upper bound and trims empty tails", () => {
    const slots = [1, 0, 3, 0, 0];
    expect(toBuckets(slots)).toEqual([
      { le_us: 1, count: 1 },
      { le_us: 2, count: 0 },
      { le_us: 4, count: 3 },
    ]);
    expect(toBuckets([0, 0, 0])).toEqual([]);
  });

  it("finds quantiles inside the right bucket", () => {
    // 100 samples in [512, 1024) us and 1 in [0, 1) us.
    const slots = Array(32).fill(0);
    slots[0] = 1;
    slots[10] = 100;
    const p50 = quantileUs(slots, 0.5);
    expect(p50).toBeGreaterThanOrEqual(512);
    expect(p50).toBeLessThan(1024);
    expect(quantileUs(slots, 0.001)).toBeLessThan(1);
    const { p90, p99 } = percentiles(slots);
    expect(p90).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(1024);
  });

  it("gives 0 for an empty histogram rather than a made-up latency", () => {
    expect(quantileUs(Array(32).fill(0), 0.99)).toBe(0);
  });

  it("subtracts cumulative samples slot by slot", () => {
    expect(subtractSlots([5, 7, 9], [1, 7, 2])).toEqual([4, 0, 7]);
    expect(subtractSlots([5, 7], undefined)).toEqual([5, 7]);
  });
});
