// cpu-throttled: the target's cgroup has a CPU quota and the kernel held the
// target off the CPU for part of many of its periods. The quota, not the
// machine's CPU count, is what the job must be sized to.
import type { Rule } from "../diagnosis-types.js";
import { formatCpus, pct, round, throttledShare } from "./common.js";

// At least this many quota periods in the span (100 ms each by default): fewer say too little.
export const CPU_THROTTLED = { minPeriods: 5, throttledShare: 0.2, critical: 0.5 };

export const cpuThrottled: Rule = (r, wallNs) => {
  const l = r.cpu_limits;
  const periods = l.cgroup_periods ?? 0;
  if (l.cgroup_cpus === undefined || periods < CPU_THROTTLED.minPeriods) return null;
  const share = throttledShare(r);
  if (share < CPU_THROTTLED.throttledShare) return null;
  const throttledPerS = (l.cgroup_throttled_ns ?? 0) / wallNs;
  const wanting = (r.sched.oncpu_ns + r.sched.runq_wait_ns) / wallNs;
  const quota = l.cgroup_cpus;
  const where = `cgroup ${l.cgroup_path ?? "?"} (v${l.cgroup_version ?? "?"})`;
  return {
    id: "cpu-throttled",
    severity: share >= CPU_THROTTLED.critical ? "critical" : "warning",
    summary:
      `${where} limits the target to ${formatCpus(quota)}: the kernel throttled it in ${pct(share)} of its periods ` +
      `(${l.cgroup_throttled_periods} of ${periods}, ${throttledPerS.toFixed(2)} s held off per second) while on average ${wanting.toFixed(1)} target threads wanted a CPU`,
    evidence: {
      quota_cpus: round(quota),
      periods,
      throttled_periods: l.cgroup_throttled_periods ?? 0,
      throttled_share: round(share),
      throttled_s_per_s: round(throttledPerS),
      wanting_threads: round(wanting),
      cgroup_version: l.cgroup_version ?? 0,
    },
    suggestion:
      `raise the cgroup's CPU limit, or size the job to it: torch.set_num_threads / OMP_NUM_THREADS and num_workers to fit ${formatCpus(quota)} ` +
      `(torch.get_num_threads() counts the machine's CPUs, not the quota)`,
    preempted_by: [],
    subjects: [{ kind: "cgroup", name: l.cgroup_path ?? "?" }],
  };
};
