// A real PyTorch DataLoader (Debian's python3-torch), traced with --pid
// after it started: the worker processes it forks are followed and listed.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltrace, root, waitFor } from "../helpers/mltrace.js";

describeEbpf("PyTorch DataLoader", () => {
  it("lists the DataLoader's worker processes under --pid", async () => {
    const trainer = spawn("/usr/bin/python3", [join(root, "test", "workloads", "torch_loader.py")], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    trainer.stdout!.on("data", (d) => (out += d));
    try {
      await waitFor("torch to import", () => out.includes("ready"), 60_000);
      const run = mltrace(["stat", "--json", "--pid", String(trainer.pid)]);
      await waitFor("mltrace to attach", () => run.stderr().includes("tracing PID"));
      trainer.stdin!.write("go\n");
      expect(await run.exited, run.stderr()).toBe(0);
      expect(out).toContain("done");

      const report = JSON.parse(run.stdout());
      expect(report.target.exit_code).toBe(0);
      const workers = report.processes.filter((p: { ppid: number }) => p.ppid === trainer.pid);
      // Two epochs of a non-persistent loader: two workers each.
      expect(workers.length, JSON.stringify(report.processes)).toBe(4);
      for (const w of workers) {
        expect(w.exited).toBe(true);
        expect(w.oncpu_ns).toBeGreaterThan(0);
        expect(w.switches_voluntary).toBeGreaterThan(0);
      }
      // The trainer's main thread and its intra-op pool were traced too.
      expect(report.threads.filter((t: { pid: number }) => t.pid === trainer.pid).length).toBeGreaterThan(1);
    } finally {
      trainer.kill("SIGKILL");
    }
  });
});
