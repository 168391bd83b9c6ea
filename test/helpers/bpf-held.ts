// Which BPF programs a process holds (from its fds' fdinfo) and whether the
// kernel still has them (bpftool), so tests can check that mltrace leaves
// nothing behind.
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

export function programsHeldBy(pid: number): Set<number> {
  const programs = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
    } catch {
      continue;
    }
    const prog = /^prog_id:\s*(\d+)/m.exec(info);
    if (prog && !/^link_id:/m.test(info)) programs.add(Number(prog[1]));
  }
  return programs;
}

/** Program ids → names, as bpftool lists them. */
export function loadedPrograms(): Map<number, string> {
  const out = spawnSync("bpftool", ["-j", "prog", "show"], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`bpftool prog show failed: ${out.stderr}`);
  return new Map((JSON.parse(out.stdout) as { id: number; name?: string }[]).map((e) => [e.id, e.name ?? ""]));
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
