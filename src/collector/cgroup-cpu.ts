// A process's cgroup CPU quota and how often the kernel throttled it, from
// either cgroup version: v2's cpu.max and cpu.stat (nr_throttled,
// throttled_usec), v1's cpu.cfs_quota_us/cpu.cfs_period_us and cpu.stat
// (nr_throttled, throttled_time in ns). Hosts mount them side by side (this
// one has the v1 cpu controller and a v2 hierarchy without controllers), so
// the mount points come from mountinfo, not a fixed /sys/fs/cgroup.
// Parsers are separate from reads, for tests.
import { readOrNull as read } from "./read-file.js";
import { join, posix } from "node:path";
import type { CgroupCpuSample } from "../model/sample.js";

export interface CgroupMounts {
  /** where the v2 hierarchy is mounted, if it is */
  v2?: string;
  /** where the v1 hierarchy carrying the cpu controller is mounted, if one does */
  v1cpu?: string;
  /** ... and the one carrying the memory controller */
  v1memory?: string;
}

/** The cgroup mounts of /proc/self/mountinfo (fields: … mount-point … - fstype source super-options). */
export function parseMountinfo(text: string): CgroupMounts {
  const mounts: CgroupMounts = {};
  for (const line of text.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const mountPoint = left.split(" ")[4];
    const [fstype, , options] = right.split(" ");
    if (!mountPoint) continue;
    if (fstype === "cgroup2") mounts.v2 ??= unescapeMount(mountPoint);
    else if (fstype === "cgroup") {
      const controllers = (options ?? "").split(",");
      if (controllers.includes("cpu")) mounts.v1cpu ??= unescapeMount(mountPoint);
      if (controllers.includes("memory")) mounts.v1memory ??= unescapeMount(mountPoint);
    }
  }
  return mounts;
}

/** mountinfo writes spaces and other odd bytes as octal escapes (\040). */
function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export interface ProcCgroups {
  /** the path in the v2 hierarchy ("0::/path") */
  v2?: string;
  /** the path in the v1 hierarchy that has the cpu controller ("N:cpu,cpuacct:/path") */
  v1cpu?: string;
  /** ... and the memory controller */
  v1memory?: string;
}

export function parseProcCgroup(text: string): ProcCgroups {
  const out: ProcCgroups = {};
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id, controllers, path] = m;
    if (id === "0" && controllers === "") out.v2 = path;
    else {
      if (controllers!.split(",").includes("cpu")) out.v1cpu = path;
      if (controllers!.split(",").includes("memory")) out.v1memory = path;
    }
  }
  return out;
}

/** "50000 100000" → 0.5 CPUs; "max 100000" → undefined */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (!quota || quota === "max" || !period) return undefined;
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

/** v1: cfs_quota_us of -1 is no limit. */
export function parseCfsQuota(quotaUs: string, periodUs: string): number | undefined {
  const q = Number(quotaUs.trim());
  const p = Number(periodUs.trim());
  return q > 0 && p > 0 ? q / p : undefined;
}

/** cpu.stat's throttling counters, time in ns whichever version wrote them. */
export function parseCpuStat(text: string, version: 1 | 2): { nr_periods: number; nr_throttled: number; throttled_ns: number } {
  const field = (name: string) => Number(new RegExp(`^${name}\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return {
    nr_periods: field("nr_periods"),
    nr_throttled: field("nr_throttled"),
    throttled_ns: version === 2 ? field("throttled_usec") * 1000 : field("throttled_time"),
  };
}


let mounts: CgroupMounts | undefined;
export function cgroupMounts(): CgroupMounts {
  mounts ??= parseMountinfo(read("/proc/self/mountinfo") ?? "");
  return mounts;
}

/** The cgroup directories from the process's own up to its hierarchy's root. */
export function upwards(mount: string, path: string): string[] {
  const dirs: string[] = [];
  for (let dir = posix.normalize(path || "/"); ; dir = posix.dirname(dir)) {
    dirs.push(join(mount, dir));
    if (dir === "/" || dir === ".") break;
  }
  return dirs;
}

/**
 * A quota anywhere up the path limits the process: the tightest one is the
 * limit, and its cpu.stat says how often it was hit. v2 where a cpu.max
 * exists (the controller is enabled there), else v1's cpu controller.
 */
export function readCgroupCpu(pid: number): CgroupCpuSample | undefined {
  const text = read(`/proc/${pid}/cgroup`);
  if (!text) return undefined;
  const paths = parseProcCgroup(text);
  const m = cgroupMounts();
  let best: { dir: string; quota: number; version: 1 | 2; path: string } | undefined;
  if (m.v2 && paths.v2 !== undefined) {
    for (const dir of upwards(m.v2, paths.v2)) {
      const quota = parseCpuMax(read(join(dir, "cpu.max")) ?? "max");
      if (quota !== undefined && (!best || quota < best.quota)) best = { dir, quota, version: 2, path: dir.slice(m.v2.length) || "/" };
    }
  }
  if (!best && m.v1cpu && paths.v1cpu !== undefined) {
    for (const dir of upwards(m.v1cpu, paths.v1cpu)) {
      const quotaUs = read(join(dir, "cpu.cfs_quota_us"));
      const periodUs = read(join(dir, "cpu.cfs_period_us"));
      const quota = quotaUs && periodUs ? parseCfsQuota(quotaUs, periodUs) : undefined;
      if (quota !== undefined && (!best || quota < best.quota)) best = { dir, quota, version: 1, path: dir.slice(m.v1cpu.length) || "/" };
    }
  }
  if (!best) return undefined;
  const stat = parseCpuStat(read(join(best.dir, "cpu.stat")) ?? "", best.version);
  return { version: best.version, path: best.path, quota_cpus: best.quota, ...stat };
}

/** cpu.stat of a cgroup seen before, read again (after its process is gone, its counters still tell the end). */
export function rereadCgroupCpu(seen: CgroupCpuSample): CgroupCpuSample | undefined {
  const mount = seen.version === 2 ? cgroupMounts().v2 : cgroupMounts().v1cpu;
  const text = mount ? read(join(mount, seen.path, "cpu.stat")) : null;
  return text ? { ...seen, ...parseCpuStat(text, seen.version) } : undefined;
}
