import { expect, it } from "vitest";
import { countCpuList, parseCpuMax } from "../../src/collector/limits.js";

it("counts an affinity list and reads a cgroup v2 cpu.max", () => {
  expect(countCpuList("0-3,8,10-11\n")).toBe(7);
  expect(countCpuList("1")).toBe(1);
  expect(parseCpuMax("50000 100000\n")).toBe(0.5);
  expect(parseCpuMax("250000 100000")).toBe(2.5);
  expect(parseCpuMax("max 100000")).toBeUndefined();
});
