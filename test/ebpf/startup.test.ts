// `-v` says what starting to trace cost, phase by phase (bench/startup.mjs
// reads the same lines); without -v nothing is said. The programs the load
// phase counts are the ones the kernel then holds for mltrace.
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { cli } from "../helpers/mltrace.js";
import { MLTRACE_PROGRAMS } from "../helpers/bpf-held.js";

interface Line {
  laps: Map<string, number>;
  total: number;
  remarks: string[];
}

function phaseLine(stderr: string, label: string): Line {
  const lines = stderr.split("\n").filter((l) => l.startsWith(`mltrace: ${label}: `));
  expect(lines, stderr).toHaveLength(1);
  const [times, ...remarks] = lines[0]!.slice(`mltrace: ${label}: `.length).split("; ");
  const laps = new Map<string, number>();
  for (const part of times!.split(", ")) {
    const m = /^(.*) (\d+) ms$/.exec(part);
    expect(m, part).not.toBeNull();
    laps.set(m![1]!, Number(m![2]));
  }
  const total = laps.get("total")!;
  laps.delete("total");
  return { laps, total, remarks };
}

/** Runs `node dist/cli.js ARGS`, timing it from here (wall ms). */
function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const start = performance.now();
  const r = spawnSync("node", [cli, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { ...r, wallMs: performance.now() - start };
}

describeEbpf("startup phases (-v)", () => {
  it("adds up each phase of starting and ending to totals that fit in the run, all families in one load", () => {
    const r = run(["-v", "stat", "-o", "/dev/null", "--", "true"]);
    expect(r.status, r.stderr).toBe(0);
    const startup = phaseLine(r.stderr, "startup");
    const end = phaseLine(r.stderr, "end");
    const names = [...startup.laps.keys()];
    for (const phase of ["node", "cli", "addon", "modules", "open", "btf", "launch", "attach", "seed"]) expect(names).toContain(phase);
    // Loaded together (no remark, no per-family load), counting every
    // program mltrace holds but the perf-event one attached per CPU after.
    expect(startup.remarks).toEqual([]);
    const load = names.find((n) => n.startsWith("load "));
    expect(load).toBe(`load ${MLTRACE_PROGRAMS.length - 1} programs`);
    expect([...end.laps.keys()]).toEqual(["final sample", "report", "print", "detach"]);
    for (const line of [startup, end]) {
      const sum = [...line.laps.values()].reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - line.total)).toBeLessThanOrEqual(line.laps.size * 0.5);
    }
    // Node's clock starts with the process, after the exec this test saw:
    // both totals fit in the wall time measured here.
    expect(startup.total + end.total).toBeLessThan(r.wallMs);
  });

  it("says nothing without -v", () => {
    const r = run(["stat", "-o", "/dev/null", "--", "true"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
  });

  it("loads family by family with MLTRACE_LOAD=separate, and says so", () => {
    const r = run(["-v", "stat", "--", "true"], { MLTRACE_LOAD: "separate" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("mltrace stat for 'true'");
    const startup = phaseLine(r.stderr, "startup");
    expect(startup.laps.has("load per family")).toBe(true);
    expect(startup.remarks).toEqual(["each family loaded from its own object: MLTRACE_LOAD=separate"]);
    const bad = run(["stat", "--", "true"], { MLTRACE_LOAD: "sometimes" });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe('mltrace: MLTRACE_LOAD must be combined or separate, not "sometimes"');
  });
});
