// The CPUs a process may use: its affinity mask and its cgroup v2 cpu.max.
// The oversubscription rule compares runnable threads with these.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { CpuLimits } from "../model/sample.js";
import { parseCpuList } from "./cpu-list.js";

/** "50000 100000" → 0.5; "max 100000" → undefined */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (!quota || quota === "max" || !period) return undefined;
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** A quota anywhere up the cgroup path limits the process: take the tightest. */
function cgroupCpus(pid: number, root = "/sys/fs/cgroup"): number | undefined {
  const line = read(`/proc/${pid}/cgroup`)?.split("\n").find((l) => l.startsWith("0::"));
  if (!line) return undefined;
  let tightest: number | undefined;
  for (let dir = line.slice(3).trim(); ; dir = dirname(dir)) {
    const quota = parseCpuMax(read(join(root, dir, "cpu.max")) ?? "max");
    if (quota !== undefined) tightest = Math.min(tightest ?? Infinity, quota);
    if (dir === "/" || dir === "." || dir === "") break;
  }
  return tightest;
}

/** null when the process is gone. */
export function readCpuLimits(pid: number): CpuLimits | null {
  const status = read(`/proc/${pid}/status`);
  const allowed = status && /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  if (!allowed) return null;
  const cgroup = cgroupCpus(pid);
  return { cpus_allowed: parseCpuList(allowed).length, ...(cgroup === undefined ? {} : { cgroup_cpus: cgroup }) };
}
