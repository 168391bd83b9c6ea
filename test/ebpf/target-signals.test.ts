// What happens to a session when its target is killed, stopped and
// continued, or execs another program (README, "What ends a session").
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltrace, root, waitFor } from "../helpers/mltrace.js";

const taskfarm = join(root, "build", "workloads", "taskfarm");

/** The pid of mltrace's launched child once it runs `program` (past the gate). */
function launchedChild(mltracePid: number, program: string): number | undefined {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (ppid === mltracePid && cmdline[0]!.endsWith(program)) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

describeEbpf("the target's end and pauses", () => {
  it("SIGKILL of a launched command: the report ends with signal 9 and mltrace exits 137", async () => {
    const run = mltrace(["stat", "--json", "--", "sleep", "30"]);
    let child: number | undefined;
    await waitFor("the command to run", () => (child = launchedChild(run.child.pid!, "sleep")) !== undefined);
    process.kill(child!, "SIGKILL");
    expect(await run.exited).toBe(137);
    const report = JSON.parse(run.stdout());
    expect(report.target).toMatchObject({ pid: child, exit_signal: 9 });
    expect(report.processes[0]).toMatchObject({ pid: child, exited: true, exit_signal: 9 });
  }, 20_000);

  it("SIGKILL of a --pid target: the kernel's exit record ends the session with signal 9", async () => {
    const target = spawn("sleep", ["30"], { stdio: "ignore" });
    const run = mltrace(["stat", "--json", "--pid", String(target.pid)]);
    await waitFor("mltrace to attach", () => run.stderr().includes("tracing PID"));
    target.kill("SIGKILL");
    expect(await run.exited).toBe(0);
    const report = JSON.parse(run.stdout());
    expect(report.target).toMatchObject({ pid: target.pid, exit_signal: 9 });
    expect(report.processes[0]).toMatchObject({ exited: true, exit_signal: 9 });
  }, 20_000);

  it("SIGSTOP then SIGCONT: the session goes on, the stopped time is sleep, the CPU time is exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mltrace-stop-"));
    const results = join(dir, "tasks");
    const run = mltrace(["stat", "--json", "--", taskfarm, "--threads", "1", "--spin-ms", "600", "--results", results]);
    let child: number | undefined;
    await waitFor("the command to run", () => (child = launchedChild(run.child.pid!, "taskfarm")) !== undefined);
    await new Promise((r) => setTimeout(r, 100));
    const stoppedAt = process.hrtime.bigint();
    process.kill(child!, "SIGSTOP");
    await waitFor("the target to stop", () => /^T/.test(readFileSync(`/proc/${child}/stat`, "utf8").split(") ")[1]!));
    await new Promise((r) => setTimeout(r, 700));
    // still tracing: a stopped target has not ended
    expect(run.child.exitCode).toBeNull();
    process.kill(child!, "SIGCONT");
    const stoppedNs = Number(process.hrtime.bigint() - stoppedAt);
    expect(await run.exited).toBe(0);
    const report = JSON.parse(run.stdout());
    expect(report.target.exit_code).toBe(0);
    const [, tid, oncpu] = readFileSync(results, "utf8").trim().split(" ").map(Number);
    const spinner = report.threads.find((t: { tid: number }) => t.tid === tid);
    // It was stopped mid-spin (600 ms of its own CPU, 100 ms in): off-CPU
    // and not runnable for the whole stop, which mltrace counts as sleep.
    expect(spinner.sleep_ns + spinner.iowait_ns).toBeGreaterThanOrEqual(stoppedNs * 0.9);
    expect(spinner.oncpu_ns).toBeGreaterThanOrEqual(oncpu!);
    expect(spinner.oncpu_ns - oncpu!).toBeLessThan(5e6);
  }, 30_000);

  it("exec of another program: the same process, renamed, still the trainer, counted across the exec", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mltrace-exec-"));
    const results = join(dir, "tasks");
    const run = mltrace(["stat", "--json", "--", "sh", "-c", `sleep 0.1; exec ${taskfarm} --threads 1 --spin-ms 50 --results ${results}`]);
    expect(await run.exited).toBe(0);
    const report = JSON.parse(run.stdout());
    const [pid, tid, oncpu] = readFileSync(results, "utf8").trim().split(" ").map(Number);
    expect(report.target).toMatchObject({ pid, comm: "taskfarm", exit_code: 0 });
    const rootRow = report.processes.find((p: { pid: number }) => p.pid === pid);
    expect(rootRow).toMatchObject({ comm: "taskfarm", role: "trainer", threads: 2 });
    // the sleep the shell forked before the exec: another program, not a worker
    expect(report.processes.filter((p: { pid: number }) => p.pid !== pid).map((p: { comm: string; role: string }) => [p.comm, p.role])).toEqual([["sleep", "other"]]);
    const main = report.threads.find((t: { tid: number }) => t.tid === pid);
    expect(main).toMatchObject({ comm: "taskfarm", role: "trainer" });
    const spinner = report.threads.find((t: { tid: number }) => t.tid === tid);
    expect(spinner.oncpu_ns).toBeGreaterThanOrEqual(oncpu!);
    // the process's CPU is its threads', from before the exec (the shell) and after
    expect(rootRow.oncpu_ns).toBe(main.oncpu_ns + spinner.oncpu_ns);
  }, 20_000);
});
