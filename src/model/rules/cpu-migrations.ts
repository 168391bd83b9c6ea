// cpu-migrations: busy target threads move between CPUs often enough to
// lose their caches each time. Information only, unless the moves cross
// NUMA nodes (then their memory is remote after every move).
import type { Rule } from "../diagnosis-types.js";
import { round, threadSubject } from "./common.js";

// A thread is busy at half a CPU; moves are judged per busy thread per second.
export const CPU_MIGRATIONS = { busyShare: 0.5, perSecond: 50, crossNodePerSecond: 5 };

export const cpuMigrations: Rule = (r, wallNs) => {
  const seconds = wallNs / 1e9;
  const busy = r.threads.filter((t) => t.oncpu_ns / wallNs >= CPU_MIGRATIONS.busyShare && t.migrations !== undefined);
  if (busy.length === 0) return null;
  const rates = busy.map((t) => t.migrations! / seconds);
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  if (mean < CPU_MIGRATIONS.perSecond) return null;
  const crossNode = r.numa?.cross_node_migrations ?? null;
  const crossPerS = crossNode === null ? null : crossNode / seconds;
  const acrossNodes = crossPerS !== null && crossPerS >= CPU_MIGRATIONS.crossNodePerSecond;
  const worst = busy.map((t, i) => ({ t, rate: rates[i]! })).sort((a, b) => b.rate - a.rate);
  return {
    id: "cpu-migrations",
    severity: acrossNodes ? "warning" : "info",
    summary:
      `${busy.length} busy target thread${busy.length > 1 ? "s" : ""} moved between CPUs ${Math.round(mean)} times a second on average` +
      ` (most: ${worst[0]!.t.comm ?? worst[0]!.t.role} ${worst[0]!.t.tid}, ${Math.round(worst[0]!.rate)}/s)` +
      (crossPerS === null ? "" : `; ${crossPerS.toFixed(1)} moves a second crossed NUMA nodes`),
    evidence: {
      busy_threads: busy.length,
      migrations_per_s: round(mean),
      max_migrations_per_s: round(worst[0]!.rate),
      ...(crossPerS === null ? {} : { cross_node_migrations_per_s: round(crossPerS) }),
    },
    suggestion:
      "pin the busy threads: taskset or numactl --physcpubind for the job, OMP_PROC_BIND=close with OMP_PLACES=cores for intra-op threads, " +
      "and a DataLoader worker_init_fn that calls os.sched_setaffinity for each worker",
    preempted_by: [],
    subjects: worst.slice(0, 3).map(({ t }) => threadSubject(t)),
  };
};
