// The kernel hands one pid to two processes of the same session (forced
// through the initial namespace's ns_last_pid, whose pids are the ones BPF
// sees): mltrace reports two processes, each with its own counters, exit
// status and role.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltraceSync, root } from "../helpers/mltrace.js";

const pidreuse = join(root, "build", "workloads", "pidreuse");

describeEbpf("pid reuse", () => {
  it("two processes with one pid keep their own counters, status and role", () => {
    const dir = mkdtempSync(join(tmpdir(), "mltrace-pidreuse-"));
    const results = join(dir, "results");
    const run = mltraceSync(["stat", "--json", "--", pidreuse, "--results", results, "--a-ms", "200", "--b-ms", "50"]);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    const own = Object.fromEntries(
      readFileSync(results, "utf8").trim().split("\n").map((line) => {
        const [who, pid, oncpu] = line.split(" ");
        return [who!, { pid: Number(pid), oncpu: Number(oncpu) }];
      }),
    );
    // The workload got the pid twice (it checks getpid() in B).
    expect(own.B!.pid).toBe(own.A!.pid);
    const rows = report.processes.filter((p: { pid: number }) => p.pid === own.A!.pid);
    console.log(`pid ${own.A!.pid}: ${JSON.stringify(rows.map((p: Record<string, unknown>) => [p.comm, p.role, p.exit_code, p.oncpu_ns]))}; own schedstat A ${own.A!.oncpu}, B ${own.B!.oncpu}`);
    expect(rows).toHaveLength(2);
    const [a, b] = rows;
    // A: a child running the trainer's program that worked: a DataLoader worker.
    expect(a).toMatchObject({ comm: "pidreuse", role: "dataloader", worker_index: 0, exit_code: 3, threads: 1, exited: true });
    // B: the same pid, then exec'd a shell: another program, not a worker.
    expect(b).toMatchObject({ comm: "sh", role: "other", exit_code: 5, threads: 1, exited: true });
    // Each one's CPU is its own (schedstat read by each just before it
    // exited or exec'd; the rest is the exit path, or the shell after exec).
    expect(a.oncpu_ns).toBeGreaterThanOrEqual(own.A!.oncpu);
    expect(a.oncpu_ns - own.A!.oncpu).toBeLessThan(5e6);
    expect(b.oncpu_ns).toBeGreaterThanOrEqual(own.B!.oncpu);
    expect(b.oncpu_ns - own.B!.oncpu).toBeLessThan(20e6);
    // and their threads are apart too
    const threads = report.threads.filter((t: { tid: number }) => t.tid === own.A!.pid);
    expect(threads.map((t: { role: string }) => t.role)).toEqual(["dataloader", "other"]);
    expect(report.lost_events).toBe(0);
  }, 30_000);
});
