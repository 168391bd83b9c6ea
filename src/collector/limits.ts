// The CPUs a process may use: its affinity mask and its cgroup's CPU quota
// (v1 or v2), with the quota's throttling counted since tracing began. The
// oversubscription and cpu-throttled rules read these.
import { readOrNull as read } from "./read-file.js";
import type { CgroupCpuSample, CpuLimits } from "../model/sample.js";
import { readCgroupCpu, rereadCgroupCpu } from "./cgroup-cpu.js";
import { parseCpuList } from "./cpu-list.js";

export { parseCpuMax } from "./cgroup-cpu.js";


/** null when the process is gone. */
export function readCpuLimits(pid: number): CpuLimits | null {
  const status = read(`/proc/${pid}/status`);
  const allowed = status && /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  if (!allowed) return null;
  const cgroup = readCgroupCpu(pid);
  return { cpus_allowed: parseCpuList(allowed).length, ...(cgroup ? { cgroup_cpus: cgroup.quota_cpus, cgroup } : {}) };
}

/**
 * cpu.stat counts from the cgroup's creation; samples count from attach, as
 * every other counter does: the cgroup the process is in at attach has its
 * reading then as its zero. A cgroup the process joins later counts from its
 * creation (nothing earlier was read), which for a cgroup made for the job
 * is the same thing.
 */
export class CpuLimitsReader {
  private readonly baselines = new Map<string, CgroupCpuSample>();
  private last: CpuLimits | null = null;

  /** Takes the zero of the cgroup `pid` is in now. */
  attach(pid: number): void {
    const now = readCpuLimits(pid)?.cgroup;
    if (now) this.baselines.set(key(now), now);
  }

  /**
   * The limits now; once the process is gone, the last ones seen, with the
   * throttling of their cgroup read again (what happened up to the end).
   */
  read(pid: number): CpuLimits | null {
    let limits = readCpuLimits(pid);
    if (limits) this.last = { ...limits };
    else if (this.last?.cgroup) {
      const again = rereadCgroupCpu(this.last.cgroup);
      limits = { ...this.last, ...(again ? { cgroup: again } : {}) };
    }
    const now = limits?.cgroup;
    if (!limits || !now) return limits;
    const base = this.baselines.get(key(now));
    if (base) {
      limits.cgroup = {
        ...now,
        nr_periods: now.nr_periods - base.nr_periods,
        nr_throttled: now.nr_throttled - base.nr_throttled,
        throttled_ns: now.throttled_ns - base.throttled_ns,
      };
    }
    return limits;
  }
}

const key = (c: CgroupCpuSample) => `${c.version}:${c.path}`;
