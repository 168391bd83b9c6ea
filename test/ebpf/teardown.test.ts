// No BPF program or link outlives mltrace, even when it is killed with -9:
// links are owned by its file descriptors and nothing is pinned.
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltrace, waitFor } from "../helpers/mltrace.js";

/** Program and link ids the process holds, from its fds' fdinfo. */
function heldBy(pid: number): { programs: Set<number>; links: Set<number> } {
  const programs = new Set<number>();
  const links = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
    } catch {
      continue;
    }
    const link = /^link_id:\s*(\d+)/m.exec(info);
    const prog = /^prog_id:\s*(\d+)/m.exec(info);
    if (link) links.add(Number(link[1]));
    else if (prog) programs.add(Number(prog[1]));
  }
  return { programs, links };
}

/** What bpftool sees loaded in the kernel, by id. */
function inKernel(what: "prog" | "link"): Map<number, string> {
  const out = spawnSync("bpftool", ["-j", what, "show"], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`bpftool ${what} show failed: ${out.stderr}`);
  return new Map((JSON.parse(out.stdout) as { id: number; name?: string; tp_name?: string }[]).map((e) => [e.id, e.name ?? e.tp_name ?? ""]));
}

describeEbpf("teardown", () => {
  for (const signal of ["SIGKILL", "SIGTERM"] as const) {
    it(`${signal} to mltrace mid-trace leaves none of its programs or links attached`, async () => {
      const sleeper = spawnSync("sh", ["-c", "sleep 60 >/dev/null 2>&1 & echo $!"], { encoding: "utf8" });
      const target = Number(sleeper.stdout.trim());
      try {
        const run = mltrace(["stat", "--pid", String(target)]);
        await waitFor("mltrace to attach", () => run.stderr().includes("tracing PID"));
        const held = heldBy(run.child.pid!);
        const programs = inKernel("prog");
        const links = inKernel("link");
        // bpftool sees what mltrace holds: its programs, each attached
        // through links (the major-fault program once per CPU).
        expect([...held.programs].map((id) => programs.get(id)).sort()).toEqual(
          [
            "mlt_exec_btf",
            "mlt_exit_btf",
            "mlt_fault_pc_btf",
            "mlt_fork_btf",
            "mlt_io_start_btf",
            "mlt_major_fault",
            "mlt_pc_add_btf",
            "mlt_pf_kern_btf",
            "mlt_pf_user_btf",
            "mlt_rename_btf",
            "mlt_rq_done_btf",
            "mlt_rq_issue_btf",
            "mlt_switch_btf",
          ],
        );
        expect(held.links.size).toBe(12 + availableParallelism());
        for (const id of held.links) expect(links.has(id)).toBe(true);

        run.child.kill(signal);
        await run.exited;
        // The kernel frees programs asynchronously once the last fd closes.
        await waitFor(
          "programs and links to be released",
          () => {
            const p = inKernel("prog");
            const l = inKernel("link");
            return [...held.programs].every((id) => !p.has(id)) && [...held.links].every((id) => !l.has(id));
          },
          5000,
        );
        if (signal === "SIGTERM") expect(run.stdout()).toContain("mltrace stat for");
      } finally {
        process.kill(target, "SIGKILL");
      }
    });
  }
});
