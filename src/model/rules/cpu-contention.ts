// cpu-contention: target threads are runnable but wait for a CPU, and
// processes outside the target account for a good share of the preemptions.
// Not where the target's own cgroup quota throttled it: then the wait is the
// quota's doing, and whoever ran meanwhile is not to blame (cpu-throttled).
import type { Rule } from "../diagnosis-types.js";
import { pct, round, throttledShare } from "./common.js";
import { CPU_THROTTLED } from "./cpu-throttled.js";

export const CPU_CONTENTION = { runqShare: 0.25, critical: 0.5, runqCpus: 0.1, outsideShare: 0.25 };

export const cpuContention: Rule = (r, wallNs) => {
  const s = r.sched;
  const wanted = s.oncpu_ns + s.runq_wait_ns;
  if (wanted === 0 || throttledShare(r) >= CPU_THROTTLED.throttledShare) return null;
  const runqShare = s.runq_wait_ns / wanted;
  const runqCpus = s.runq_wait_ns / wallNs;
  const outside = s.preempted_by.reduce((n, p) => n + p.count, 0);
  const outsideShare = outside / Math.max(s.switches_involuntary, 1);
  const t = CPU_CONTENTION;
  if (runqShare < t.runqShare || runqCpus < t.runqCpus || outside === 0 || outsideShare < t.outsideShare) return null;
  const top = s.preempted_by.slice(0, 3);
  const names = top.map((p) => `${p.comm} (${p.pid}) ${p.count}×`).join(", ");
  return {
    id: "cpu-contention",
    severity: runqShare >= t.critical ? "critical" : "warning",
    summary: `target threads waited for a CPU ${pct(runqShare)} of the time they wanted one; taken by ${names}`,
    evidence: {
      runq_share: round(runqShare),
      runq_cpus: round(runqCpus),
      outside_preemptions: outside,
      involuntary_switches: s.switches_involuntary,
      outside_share: round(Math.min(outsideShare, 1)),
    },
    suggestion: "other processes compete for the target's CPUs: move them elsewhere (taskset, cpusets), lower their priority (nice), or give the job dedicated cores",
    preempted_by: s.preempted_by,
    subjects: top.map((p) => ({ kind: "process", name: p.comm, pid: p.pid })),
  };
};
