// The -v phase line: laps of the main thread that add up to its total.
import { describe, expect, it } from "vitest";
import { Phases } from "../../src/phases.js";

/** [name, ms] pairs and the total from a line, as bench/startup.mjs reads it. */
function parse(line: string, label: string): { laps: [string, number][]; total: number; remarks: string[] } {
  const [times, ...remarks] = line.slice(`${label}: `.length).split("; ");
  const parts = times!.split(", ").map((p) => {
    const m = /^(.*) (\d+) ms$/.exec(p);
    expect(m, p).not.toBeNull();
    return [m![1]!, Number(m![2])] as [string, number];
  });
  const total = parts.pop()!;
  expect(total[0]).toBe("total");
  return { laps: parts, total: total[1], remarks };
}

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe("Phases", () => {
  it("times laps from its start, adds up laps of one name, and totals them", () => {
    const start = performance.now();
    const phases = new Phases("startup", start);
    busy(5);
    phases.lap("first");
    busy(3);
    phases.lap("second");
    busy(4);
    phases.lap("first");
    const elapsed = performance.now() - start;
    const { laps, total, remarks } = parse(phases.line(), "startup");
    expect(laps.map(([name]) => name)).toEqual(["first", "second"]);
    expect(laps[0]![1]).toBeGreaterThanOrEqual(9 - 1);
    expect(laps[1]![1]).toBeGreaterThanOrEqual(3 - 1);
    // Each figure is rounded on its own: the sum is within half a ms per lap.
    expect(Math.abs(laps.reduce((sum, [, ms]) => sum + ms, 0) - total)).toBeLessThanOrEqual(laps.length * 0.5);
    expect(total).toBeLessThanOrEqual(Math.ceil(elapsed));
    expect(remarks).toEqual([]);
  });

  it("takes a lap that ended earlier, and says its remarks after the times", () => {
    const phases = new Phases("end", 100);
    phases.lapUntil("before", 130);
    phases.remark("why: a, b");
    const { laps, total, remarks } = parse(phases.line(), "end");
    expect(laps).toEqual([["before", 30]]);
    expect(total).toBe(30);
    expect(remarks).toEqual(["why: a, b"]);
  });
});
