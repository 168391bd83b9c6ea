import { expect, it } from "vitest";
import { parseCpuList } from "../../src/collector/cpu-list.js";
import { parseCpuMax } from "../../src/collector/limits.js";

it("counts an affinity list and reads a cgroup v2 cpu.max", () => {
  expect(parseCpuList("0-3,8,10-11\n")).toHaveLength(7);
  expect(parseCpuList("1")).toEqual([1]);
  expect(parseCpuMax("50000 100000\n")).toBe(0.5);
  expect(parseCpuMax("250000 100000")).toBe(2.5);
  expect(parseCpuMax("max 100000")).toBeUndefined();
});
