// Reading /proc: used once at attach to find the processes and threads that
// already exist (everything after that is followed in the kernel).
import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
}

/** /proc/<pid>/stat, or null when the process is gone. */
export function readProcStat(pid: number, tid?: number): ProcStat | null {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  // comm may hold spaces and parentheses: it ends at the last ')'.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const rest = text.slice(close + 2).split(" ");
  return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), state: rest[0]!, ppid: Number(rest[1]) };
}

export function listThreads(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter(Number.isInteger);
  } catch {
    return [];
  }
}

export function listPids(): number[] {
  return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
}

/** The process and all its descendants alive now, parents before children. */
export function processTree(root: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  let rootStat: ProcStat | null = null;
  for (const pid of listPids()) {
    const stat = readProcStat(pid);
    if (!stat) continue;
    if (pid === root) rootStat = stat;
    const siblings = children.get(stat.ppid) ?? [];
    siblings.push(stat);
    children.set(stat.ppid, siblings);
  }
  if (!rootStat) return [];
  const out: ProcStat[] = [];
  const queue = [rootStat];
  while (queue.length) {
    const next = queue.shift()!;
    out.push(next);
    queue.push(...(children.get(next.pid) ?? []));
  }
  return out;
}

/** The full command line, for reports; falls back to comm. */
export function readCmdline(pid: number): string | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter(Boolean).join(" ") || null;
  } catch {
    return null;
  }
}
