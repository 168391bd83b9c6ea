// Acceptance 1 of the spine: mltrace's per-process numbers equal what each
// process reads from the kernel with getrusage(RUSAGE_SELF) at its exit.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltraceSync, pipeline } from "../helpers/mltrace.js";
import { parseRusage } from "../helpers/rusage.js";

function within(actual: number, expected: number, fraction: number): boolean {
  return Math.abs(actual - expected) <= fraction * expected;
}

for (const mode of ["tp_btf", "raw_tp"] as const) {
  describeEbpf(`truth against getrusage (${mode})`, () => {
    it("switch counts within 1% and on-CPU time within 2% for every process", () => {
      const dir = mkdtempSync(join(tmpdir(), "mltrace-truth-"));
      const results = join(dir, "rusage.txt");
      const run = mltraceSync(
        // All on one CPU: five busy threads then preempt each other for
        // certain, so involuntary switches are plentiful whatever else the
        // machine is doing, and 1% of them is more than a switch or two.
        ["stat", "--json", "--", "taskset", "-c", "0", pipeline, "--workers", "2", "--threads", "3", "--step-us", "6000", "--load-us", "3000", "--batches", "200", "--results", results],
        { MLTRACE_ATTACH: mode },
      );
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      const report = JSON.parse(run.stdout);
      const tracepointModes = Object.entries(report.host.attach_modes).filter(([name]) => name !== "major_fault");
      expect(tracepointModes.length).toBeGreaterThanOrEqual(5);
      for (const [name, used] of tracepointModes) expect(used, name).toBe(mode);

      const truth = parseRusage(readFileSync(results, "utf8"));
      const figures = truth.map((t) => {
        const p = report.processes.find((q: { pid: number }) => q.pid === t.pid) ?? {};
        return {
          process: `${t.role} ${t.pid}`,
          "vcsw mltrace/getrusage": `${p.switches_voluntary}/${t.nvcsw}`,
          "ivcsw mltrace/getrusage": `${p.switches_involuntary}/${t.nivcsw}`,
          "on-CPU ms mltrace/getrusage": `${(p.oncpu_ns / 1e6).toFixed(1)}/${(t.cpu_ns / 1e6).toFixed(1)}`,
          "runq ms mltrace/schedstat": t.role === "worker" ? `${(p.runq_wait_ns / 1e6).toFixed(1)}/${(t.run_delay_ns / 1e6).toFixed(1)}` : "-",
        };
      });
      console.log(`truth (${mode}):\n${JSON.stringify(figures, null, 1)}`);
      expect(truth.map((t) => t.role).sort()).toEqual(["trainer", "worker", "worker"]);
      expect(report.processes).toHaveLength(3);
      for (const t of truth) {
        const p = report.processes.find((q: { pid: number }) => q.pid === t.pid);
        const what = `${t.role} ${t.pid}: mltrace ${JSON.stringify({ v: p?.switches_voluntary, iv: p?.switches_involuntary, cpu: p?.oncpu_ns })} vs getrusage ${JSON.stringify(t)}`;
        expect(p, what).toBeDefined();
        // Enough of each kind of event that 1% means something.
        expect(t.nvcsw, what).toBeGreaterThan(200);
        expect(t.nivcsw, what).toBeGreaterThan(150);
        expect(within(p.switches_voluntary, t.nvcsw, 0.01), what).toBe(true);
        expect(within(p.switches_involuntary, t.nivcsw, 0.01), what).toBe(true);
        expect(within(p.oncpu_ns, t.cpu_ns, 0.02), what).toBe(true);
        if (t.role === "worker") {
          // Single-threaded: its thread's schedstat run_delay is the process's.
          expect(t.run_delay_ns, what).toBeGreaterThan(10e6);
          expect(within(p.runq_wait_ns, t.run_delay_ns, 0.02), `${what} runq ${p.runq_wait_ns}`).toBe(true);
        }
      }
      // The trainer's three threads were seen and summed into it.
      const trainer = truth.find((t) => t.role === "trainer")!;
      expect(report.threads.filter((t: { pid: number }) => t.pid === trainer.pid)).toHaveLength(3);
      expect(report.target.exit_code).toBe(0);
      expect(report.lost_events).toBe(0);
    });
  });
}
