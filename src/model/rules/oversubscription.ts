// oversubscription: more target threads want a CPU, on average, than the
// target may use (its affinity, its cgroup quota, the CPUs online).
import type { Rule } from "../diagnosis-types.js";
import { formatCpus, round } from "./common.js";

export const OVERSUBSCRIPTION = { ratio: 1.5, critical: 3, extraThreads: 1, runqShare: 0.2 };

export const oversubscription: Rule = (r, wallNs) => {
  const s = r.sched;
  const usable = r.cpu_limits.usable_cpus;
  const wanted = s.oncpu_ns + s.runq_wait_ns;
  if (usable <= 0 || wanted === 0) return null;
  const runnable = wanted / wallNs;
  const runqShare = s.runq_wait_ns / wanted;
  const t = OVERSUBSCRIPTION;
  if (runnable < t.ratio * usable || runnable - usable < t.extraThreads || runqShare < t.runqShare) return null;
  const busy = r.threads.filter((th) => (th.oncpu_ns + th.runq_wait_ns) / wallNs >= 0.5);
  const count = (role: string) => busy.filter((th) => th.role === role).length;
  const limits = [`${r.cpu_limits.cpus_allowed} in its affinity`];
  const quota = r.cpu_limits.cgroup_cpus;
  if (quota !== undefined) limits.push(`cgroup quota ${quota.toFixed(2)} CPUs`);
  return {
    id: "oversubscription",
    severity: runnable >= t.critical * usable ? "critical" : "warning",
    summary:
      `on average ${runnable.toFixed(1)} target threads wanted a CPU but the target may use ${formatCpus(usable)} (${limits.join(", ")}); ` +
      `${busy.length} threads were busy: ${count("trainer") + count("intra-op")} trainer/intra-op, ${count("dataloader")} DataLoader`,
    evidence: {
      runnable_threads: round(runnable),
      usable_cpus: round(usable),
      cpus_allowed: r.cpu_limits.cpus_allowed,
      ...(quota === undefined ? {} : { cgroup_cpus: round(quota) }),
      busy_threads: busy.length,
      runq_share: round(runqShare),
    },
    suggestion: `make intra-op threads × processes fit ${formatCpus(usable)}: lower torch.set_num_threads / OMP_NUM_THREADS (each DataLoader worker usually needs 1), fewer num_workers, or allow more CPUs`,
    preempted_by: [],
    subjects: quota !== undefined && r.cpu_limits.cgroup_path !== undefined ? [{ kind: "cgroup", name: r.cpu_limits.cgroup_path }] : [],
  };
};
