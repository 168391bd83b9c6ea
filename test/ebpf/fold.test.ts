// Folding on a real run: a job forking 600 short processes, traced once as
// it is and once with the fold limit lowered to 60 (MLTRACE_FOLD_LIMIT), so
// that most of its processes are folded into totals. Both reports must
// count every process and thread, agree with the kernel's getrusage of the
// job (written by the workload itself), and give the processes still listed
// the worker index of their fork order.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltraceSync, root } from "../helpers/mltrace.js";

const churn = join(root, "build", "workloads", "fork_churn");
const CHILDREN = 600;

interface Truth {
  children: number[];
  cpu_ns: number;
  nvcsw: number;
  nivcsw: number;
}

function readTruth(path: string): Truth {
  const truth: Truth = { children: [], cpu_ns: 0, nvcsw: 0, nivcsw: 0 };
  for (const line of readFileSync(path, "utf8").trim().split("\n")) {
    const [what, ...numbers] = line.split(" ");
    if (what === "child") truth.children.push(Number(numbers[0]));
    else {
      truth.cpu_ns += Number(numbers[0]);
      truth.nvcsw += Number(numbers[1]);
      truth.nivcsw += Number(numbers[2]);
    }
  }
  return truth;
}

function traced(foldLimit?: number) {
  const dir = mkdtempSync(join(tmpdir(), "mltrace-fold-"));
  const results = join(dir, "rusage.txt");
  const out = join(dir, "report.json");
  const run = mltraceSync(["stat", "--json", "-o", out, "--", churn, String(CHILDREN), "4", "2000", results], foldLimit ? { MLTRACE_FOLD_LIMIT: String(foldLimit) } : {});
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  return { report: JSON.parse(readFileSync(out, "utf8")), truth: readTruth(results) };
}

const within = (actual: number, expected: number, fraction: number) => Math.abs(actual - expected) <= fraction * expected;

describeEbpf("folding exited processes on a real run", () => {
  it("counts and sums every process whether or not it was folded, and keeps worker indices", () => {
    const runs = { kept: traced(), folded: traced(60) };
    for (const [name, { report, truth }] of Object.entries(runs)) {
      const what = `${name}: ${JSON.stringify({ roles: report.roles.map((r: { role: string; processes: number; threads: number }) => [r.role, r.processes, r.threads]), target: report.target, folded: { ...report.folded, by_name: undefined }, sched: { oncpu_ns: report.sched.oncpu_ns, vcsw: report.sched.switches_voluntary, ivcsw: report.sched.switches_involuntary }, lost: report.lost_events, truth: { ...truth, children: truth.children.length } })}`;
      console.log(`fold (${name}): ${what}`);
      expect(truth.children, what).toHaveLength(CHILDREN);
      expect(report.lost_events, what).toBe(0);
      // every process and thread counted, listed or folded
      expect(report.target.processes, what).toBe(CHILDREN + 1);
      expect(report.target.threads, what).toBe(CHILDREN + 1);
      expect(report.processes.length + report.folded.processes, what).toBe(CHILDREN + 1);
      expect(report.threads.length + report.folded.threads, what).toBe(CHILDREN + 1);
      // the children are the trainer's DataLoader workers (same program, forked, ran)
      const workers = report.roles.find((r: { role: string }) => r.role === "dataloader");
      expect(workers, what).toMatchObject({ processes: CHILDREN, threads: CHILDREN });
      const foldedWorkers = report.folded.by_name.find((n: { role: string }) => n.role === "dataloader")?.processes ?? 0;
      expect(report.processes.filter((p: { role: string }) => p.role === "dataloader").length + foldedWorkers, what).toBe(CHILDREN);
      // the totals, folded part included, are the kernel's accounting of the job
      expect(within(report.sched.switches_voluntary, truth.nvcsw, 0.01), what).toBe(true);
      expect(within(report.sched.switches_involuntary, truth.nivcsw, 0.02), what).toBe(true);
      expect(within(report.sched.oncpu_ns, truth.cpu_ns, 0.02), what).toBe(true);
      // a listed child's worker index is its place in fork order
      const order = new Map(truth.children.map((pid, i) => [pid, i]));
      for (const p of report.processes.filter((q: { role: string }) => q.role === "dataloader")) expect(p.worker_index, `${name} ${p.pid}`).toBe(order.get(p.pid));
    }
    const { kept, folded } = runs;
    expect(kept.report.folded.processes).toBe(0);
    expect(kept.report.processes).toHaveLength(CHILDREN + 1);
    // most were folded (what exited since the last fold, a second at most, is still listed)
    expect(folded.report.folded.processes).toBeGreaterThan(CHILDREN / 2);
    expect(folded.report.folded.by_name.map((n: { comm: string }) => n.comm)).toEqual(["fork_churn"]);
  });
});
