// numa-remote: a target thread's memory is on another node than the one it
// runs on: its new pages land remote, its resident memory sits on a remote
// node, or it keeps being moved across nodes. Every access then crosses the
// interconnect. Needs the NUMA family (machines with several nodes).
import type { Rule } from "../diagnosis-types.js";
import { pct, processName, round, threadSubject } from "./common.js";

// Judged only on threads that allocated at least this many pages (16 MiB) in the span.
export const NUMA_REMOTE = { minAllocs: 4096, remoteShare: 0.5, critical: 0.9, crossNodePerSecond: 5, minMemoryBytes: 64 * 2 ** 20, remoteMemoryShare: 0.5 };

export const numaRemote: Rule = (r, wallNs) => {
  const numa = r.numa;
  if (!numa?.threads) return null;
  const seconds = wallNs / 1e9;
  const allocating = numa.threads.filter((t) => t.local_allocs + t.remote_allocs >= NUMA_REMOTE.minAllocs);
  const remoteShare = (t: { local_allocs: number; remote_allocs: number }) => t.remote_allocs / (t.local_allocs + t.remote_allocs);
  const remote = allocating.filter((t) => remoteShare(t) >= NUMA_REMOTE.remoteShare).sort((a, b) => b.remote_allocs - a.remote_allocs);
  const movers = numa.threads.filter((t) => t.cross_node_migrations / seconds >= NUMA_REMOTE.crossNodePerSecond).sort((a, b) => b.cross_node_migrations - a.cross_node_migrations);
  // Resident memory away from the node a process's threads allocate from.
  const misplaced = (numa.process_memory ?? []).flatMap((p) => {
    const nodes = numa.threads!.filter((t) => t.pid === p.pid && t.run_node !== undefined).map((t) => t.run_node!);
    if (nodes.length === 0) return [];
    const home = mode(nodes);
    const total = p.bytes.reduce((a, b) => a + b, 0);
    const away = total - (p.bytes[home] ?? 0);
    return total >= NUMA_REMOTE.minMemoryBytes && away / total >= NUMA_REMOTE.remoteMemoryShare ? [{ pid: p.pid, home, total, away }] : [];
  });
  if (remote.length === 0 && movers.length === 0 && misplaced.length === 0) return null;
  const worst = remote[0];
  const parts: string[] = [];
  if (worst) {
    parts.push(
      `${remote.length} thread${remote.length > 1 ? "s" : ""} got most new pages from a remote node (${worst.comm} ${worst.tid}: ${pct(remoteShare(worst))} of ${worst.local_allocs + worst.remote_allocs} pages` +
        (worst.run_node === undefined ? "" : `, running on node ${worst.run_node}`) + ")",
    );
  }
  if (misplaced[0]) parts.push(`${processName(r, misplaced[0].pid)} has ${pct(misplaced[0].away / misplaced[0].total)} of its ${Math.round(misplaced[0].total / 2 ** 20)} MiB resident off node ${misplaced[0].home}, where it runs`);
  if (movers[0]) parts.push(`${movers.length} thread${movers.length > 1 ? "s" : ""} moved across nodes ${Math.round(movers[0].cross_node_migrations / seconds)} times a second (${movers[0].comm} ${movers[0].tid})`);
  const allRemote = allocating.reduce((n, t) => n + t.remote_allocs, 0);
  const allLocal = allocating.reduce((n, t) => n + t.local_allocs, 0);
  const share = allRemote + allLocal > 0 ? allRemote / (allRemote + allLocal) : 0;
  const subjects = [...remote, ...movers].filter((t, i, all) => all.findIndex((x) => x.tid === t.tid) === i).slice(0, 3).map((t) => threadSubject(t));
  return {
    id: "numa-remote",
    severity: worst && remoteShare(worst) >= NUMA_REMOTE.critical ? "critical" : "warning",
    summary: parts.join("; "),
    evidence: {
      remote_share: round(share),
      remote_allocs: allRemote,
      local_allocs: allLocal,
      remote_threads: remote.length,
      cross_node_migrations_per_s: round((numa.cross_node_migrations ?? 0) / seconds),
      ...(misplaced[0] ? { remote_memory_share: round(misplaced[0].away / misplaced[0].total) } : {}),
    },
    suggestion:
      "keep each process's threads and memory on one node: numactl --cpunodebind=N --membind=N for the job, one process (rank) per node, " +
      "and DataLoader workers pinned to the CPUs of their trainer's node (worker_init_fn with os.sched_setaffinity)",
    preempted_by: [],
    subjects: subjects.length > 0 ? subjects : misplaced.slice(0, 3).map((m) => ({ kind: "process" as const, name: processName(r, m.pid), pid: m.pid })),
  };
};

function mode(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
}
