// Targeting: --pid follows children forked after attach; nothing outside the
// target tree is reported as part of it; the target's exit ends the session.
import { spawn } from "node:child_process";
import { afterEach, expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltrace, waitFor } from "../helpers/mltrace.js";

// Waits for a line on stdin, forks a child that works ~0.3 s, reaps it, and
// exits with status 3. Pinned to CPU 0.
const forkLater = `
import os, sys, time
sys.stdin.readline()
pid = os.fork()
if pid == 0:
    end = time.process_time() + 0.3
    while time.process_time() < end: pass
    os._exit(0)
os.waitpid(pid, 0)
sys.exit(3)
`;

// Busy on CPU 1, outside the target.
const busy = `
import time
end = time.time() + 20
while time.time() < end: pass
`;

const started: { kill: (s?: NodeJS.Signals) => boolean }[] = [];
afterEach(() => started.splice(0).forEach((p) => p.kill("SIGKILL")));

describeEbpf("--pid targeting", () => {
  it("follows a child forked after attach, ignores a busy outsider, ends when the target exits", async () => {
    const outsider = spawn("taskset", ["-c", "1", "/usr/bin/python3", "-c", busy], { stdio: "ignore" });
    const target = spawn("taskset", ["-c", "0", "/usr/bin/python3", "-c", forkLater], { stdio: ["pipe", "ignore", "ignore"] });
    started.push(outsider, target);

    const run = mltrace(["stat", "--json", "--pid", String(target.pid)]);
    await waitFor("mltrace to attach", () => run.stderr().includes("tracing PID"));
    target.stdin!.write("go\n");
    const code = await run.exited;
    expect(code, run.stderr()).toBe(0);

    const report = JSON.parse(run.stdout());
    expect(report.target.pid).toBe(target.pid);
    expect(report.target.exit_code).toBe(3);
    const child = report.processes.find((p: { ppid: number }) => p.ppid === target.pid);
    expect(child, JSON.stringify(report.processes)).toBeDefined();
    expect(child.exited).toBe(true);
    expect(child.exit_code).toBe(0);
    // It burned 0.3 s of CPU; mltrace saw it from its fork.
    expect(child.oncpu_ns).toBeGreaterThan(0.25e9);
    expect(report.threads.some((t: { pid: number }) => t.pid === child.pid)).toBe(true);

    const pids = [
      ...report.processes.map((p: { pid: number }) => p.pid),
      ...report.threads.flatMap((t: { tid: number; pid: number }) => [t.tid, t.pid]),
      ...report.sched.preempted_by.map((n: { pid: number }) => n.pid),
    ];
    expect(pids).not.toContain(outsider.pid);
    expect(new Set(report.processes.map((p: { pid: number }) => p.pid))).toEqual(new Set([target.pid, child.pid]));
  });
});
