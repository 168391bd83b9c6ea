// Which BPF programs and links a process holds (from its fds' fdinfo) and
// whether the kernel still has them (bpftool), so tests can check that
// mltrace leaves nothing behind.
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

/** The programs `mltrace stat` or `top` attaches on a single-node machine. */
export const MLTRACE_PROGRAMS = [
  "mlt_drc_beg_btf",
  "mlt_drc_end_btf",
  "mlt_exec_btf",
  "mlt_exit_btf",
  "mlt_fault_pc_btf",
  "mlt_fork_btf",
  "mlt_io_start_btf",
  "mlt_major_fault",
  "mlt_mrc_beg_btf",
  "mlt_mrc_end_btf",
  "mlt_pc_add_btf",
  "mlt_pf_kern_btf",
  "mlt_pf_user_btf",
  "mlt_rename_btf",
  "mlt_rq_done_btf",
  "mlt_rq_issue_btf",
  "mlt_switch_btf",
];

/** Program and link ids the process holds. */
export function heldBy(pid: number): { programs: Set<number>; links: Set<number> } {
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

export function programsHeldBy(pid: number): Set<number> {
  return heldBy(pid).programs;
}

/** What bpftool sees loaded in the kernel: id → name (tracepoint for links). */
export function inKernel(what: "prog" | "link"): Map<number, string> {
  const out = spawnSync("bpftool", ["-j", what, "show"], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`bpftool ${what} show failed: ${out.stderr}`);
  return new Map((JSON.parse(out.stdout) as { id: number; name?: string; tp_name?: string }[]).map((e) => [e.id, e.name ?? e.tp_name ?? ""]));
}

export function loadedPrograms(): Map<number, string> {
  return inKernel("prog");
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
