// reclaim-stalls: target threads stall in direct memory reclaim: the page
// cache full of dataset pushes the machine, or the job's memory cgroup
// limit, to the point where each allocation (a page-cache page for a read,
// a tensor) first frees pages itself.
import type { Rule } from "../diagnosis-types.js";
import { round, threadSubject } from "./common.js";

// Stalled time per second of wall time, summed over the target's threads.
export const RECLAIM_STALLS = { stalledPerSecond: 0.02, minStalls: 10, critical: 0.2 };

export const reclaimStalls: Rule = (r, wallNs) => {
  const reclaim = r.reclaim;
  if (!reclaim || reclaim.stalls < RECLAIM_STALLS.minStalls) return null;
  const stalled = r.threads.reduce((n, t) => n + (t.reclaim_ns ?? 0), 0);
  const perSecond = stalled / wallNs;
  if (perSecond < RECLAIM_STALLS.stalledPerSecond) return null;
  const seconds = wallNs / 1e9;
  const byRole = new Map<string, number>();
  for (const t of r.threads) if (t.reclaim_ns) byRole.set(t.role, (byRole.get(t.role) ?? 0) + t.reclaim_ns);
  const roles = [...byRole.entries()].sort((a, b) => b[1] - a[1]);
  const worst = r.threads.filter((t) => (t.reclaim_ns ?? 0) > 0).sort((a, b) => b.reclaim_ns! - a.reclaim_ns!);
  const limit = reclaim.memory_limit;
  const mib = (b: number) => Math.round(b / 2 ** 20);
  return {
    id: "reclaim-stalls",
    severity: perSecond >= RECLAIM_STALLS.critical ? "critical" : "warning",
    summary:
      `target threads stalled ${(stalled / 1e6).toFixed(0)} ms in direct memory reclaim (${reclaim.stalls} stalls, ${(perSecond * 1000).toFixed(0)} ms a second): ` +
      roles.map(([role, ns]) => `${role} ${(ns / 1e6).toFixed(0)} ms`).join(", ") +
      (limit ? `; the memory cgroup ${limit.path} (v${limit.version}) limits it to ${mib(limit.limit_bytes)} MiB` : "; no memory cgroup limit: the machine's memory is short"),
    evidence: {
      reclaim_s_per_s: round(perSecond),
      stalls: reclaim.stalls,
      stalls_per_s: round(reclaim.stalls / seconds),
      ...Object.fromEntries(roles.map(([role, ns]) => [`${role.replace(/[^a-z]/g, "_")}_reclaim_s`, round(ns / 1e9)])),
      ...(limit ? { memory_limit_mib: mib(limit.limit_bytes) } : {}),
    },
    suggestion:
      (limit ? "raise the memory cgroup's limit, or " : "") +
      "keep the page cache from filling with data read once: posix_fadvise(POSIX_FADV_DONTNEED) on dataset files after use (or O_DIRECT reads), " +
      "fewer prefetched batches (prefetch_factor) and workers, smaller shuffle buffers",
    preempted_by: [],
    subjects: [...(limit ? [{ kind: "cgroup" as const, name: limit.path }] : []), ...worst.slice(0, 3).map((t) => threadSubject(t))],
  };
};
