// Roles on a real PyTorch job (Debian's python3-torch 1.13, which names no
// threads): they come from ancestry and behaviour.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltraceSync, root } from "../helpers/mltrace.js";

describeEbpf("PyTorch roles", () => {
  it("labels the main thread trainer, 2 DataLoader workers per epoch, and the intra-op pool", () => {
    const out = join(mkdtempSync(join(tmpdir(), "mltrace-")), "report.json");
    const r = mltraceSync(["stat", "--json", "-o", out, "--", "/usr/bin/python3", join(root, "test", "workloads", "torch_roles.py")]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("done");
    const report = JSON.parse(readFileSync(out, "utf8"));
    const trainer = report.target.pid;
    const byPid = (pid: number) => report.processes.find((p: { pid: number }) => p.pid === pid);
    expect(byPid(trainer).role).toBe("trainer");

    const workers = report.processes.filter((p: { role: string }) => p.role === "dataloader");
    // two epochs of a non-persistent loader with num_workers=2
    expect(workers.map((w: { worker_index: number }) => w.worker_index)).toEqual([0, 1, 2, 3]);
    for (const w of workers) expect(w.ppid).toBe(trainer);

    const threadsOf = (pid: number) => report.threads.filter((t: { pid: number }) => t.pid === pid);
    const main = threadsOf(trainer).find((t: { tid: number }) => t.tid === trainer);
    expect(main.role).toBe("trainer");
    // torch.set_num_threads(2): one OpenMP pool thread beside the main thread
    const pool = threadsOf(trainer).filter((t: { role: string }) => t.role === "intra-op");
    expect(pool.length, JSON.stringify(threadsOf(trainer))).toBeGreaterThanOrEqual(1);
    // multiprocessing's queue feeder threads are not CPU-busy: "other", not pool
    expect(threadsOf(trainer).filter((t: { role: string }) => t.role === "other").length).toBeGreaterThanOrEqual(1);
    for (const w of workers) for (const t of threadsOf(w.pid)) expect(t.role).toBe("dataloader");
  });
});
