// Long runs: a job that respawns its DataLoader workers every epoch leaves
// thousands of exited processes and threads an hour. Past a limit, the
// session folds the oldest of them into totals (per role, per process name,
// and for the whole target) and lets the objects go, so its memory is
// bounded while every total a report shows stays what it would have been.
// Pure: the collector decides when, this module decides what and how.
import { addSlots } from "./histogram.js";
import { isBusy } from "./diagnoses.js";
import { assignRoles, OTHER, roleIsSettled } from "./roles.js";
import {
  arrayNames,
  threadCounterNames,
  threadKey,
  zeroCounters,
  type FoldedRole,
  type FoldedTasks,
  type FoldedThreadsOf,
  type Sample,
  type ThreadCounters,
  type ThreadSample,
} from "./sample.js";

/** Exited tasks a session keeps as they are before it folds (MLTRACE_FOLD_LIMIT lowers it for tests). */
export const DEFAULT_FOLD_LIMIT = 10_000;

export function emptyFolded(): FoldedTasks {
  return {
    processes: 0,
    threads: 0,
    workers: 0,
    counters: zeroCounters(),
    slots: { runq_hist: [], offcpu_hist: [], major_latency_hist: [], queue_hist: [], device_hist: [], numa_placed: [], numa_wanted: [] },
    roles: new Map(),
    names: new Map(),
    threads_of: new Map(),
    busy_candidates: [],
  };
}

export interface FoldPlan {
  /** pids of exited processes to fold, with all their threads */
  processes: Set<number>;
  /** exited threads to fold: those of `processes` and the oldest others */
  threads: ThreadSample[];
}

/** How many exited threads and processes `sample` lists. */
export function exitedCounts(sample: Sample): { threads: number; processes: number } {
  let threads = 0;
  for (const t of sample.threads) if (t.exited) threads++;
  let processes = 0;
  for (const p of sample.processes) if (p.exited) processes++;
  return { threads, processes };
}

/**
 * The oldest exited tasks of `sample` beyond `keep` of each kind. A process
 * is folded only once it and all its threads are seen exited, so a report
 * never shows a process whose threads are gone; a thread only once its role
 * is settled (roles.ts); the target's root process and main thread never
 * (the diagnoses read the main thread).
 */
export function planFold(sample: Sample, targetPid: number, keep: number): FoldPlan {
  const exitedThreads: ThreadSample[] = [];
  // processes with a thread alive, or exited without its lasting role yet (roles.ts)
  const unfinished = new Set<number>();
  for (const t of sample.threads) {
    if (t.exited) exitedThreads.push(t);
    if (!t.exited || !roleIsSettled(t)) unfinished.add(t.pid);
  }
  let exitedProcesses = 0;
  for (const p of sample.processes) if (p.exited) exitedProcesses++;

  const processes = new Set<number>();
  for (const p of sample.processes) {
    if (exitedProcesses - processes.size <= keep) break;
    if (p.exited && p.pid !== targetPid && !unfinished.has(p.pid)) processes.add(p.pid);
  }
  const threads: ThreadSample[] = [];
  const isMain = (t: ThreadSample) => t.tid === targetPid && t.pid === targetPid;
  // exited threads are listed in the order they exited: the oldest first
  let others = 0;
  const surplus = exitedThreads.length - keep;
  for (const t of exitedThreads) {
    if (processes.has(t.pid)) threads.push(t);
    else if (others < surplus && !isMain(t) && roleIsSettled(t)) {
      threads.push(t);
      others++;
    }
  }
  return { processes, threads };
}

function addCounters(into: ThreadCounters, from: ThreadCounters): void {
  for (const name of threadCounterNames) into[name] += from[name];
}

function roleEntry(folded: FoldedTasks, role: string): FoldedRole {
  let entry = folded.roles.get(role);
  if (entry === undefined) {
    entry = { role, processes: 0, threads: 0, oncpu_ns: 0, runq_wait_ns: 0, sleep_ns: 0, iowait_ns: 0 };
    folded.roles.set(role, entry);
  }
  return entry;
}

function threadsOf(map: Map<number, FoldedThreadsOf>, pid: number): FoldedThreadsOf {
  let entry = map.get(pid);
  if (entry === undefined) {
    entry = { counters: zeroCounters(), threads: 0, ran: false, roles: new Set() };
    map.set(pid, entry);
  }
  return entry;
}

/**
 * Adds `plan`'s tasks, as `sample` shows them, to `into`. `sample` must be
 * the latest sample that listed them (their roles and worker indices are
 * read from it). Returns, per process of `sample` that stays listed, how
 * many of the DataLoader workers folded now were forked before it, and how
 * many were folded in all (forked before any process `sample` did not
 * list): the collector adds that to each listed process's
 * `folded_workers_before` (absent: `into.workers` before this fold), so
 * worker indices do not move when earlier workers leave the list.
 */
export function foldTasks(
  into: FoldedTasks,
  sample: Sample,
  targetPid: number,
  startedNs: number,
  plan: FoldPlan,
): { workersBefore: Map<number, number>; workers: number } {
  const roles = assignRoles(sample, targetPid, plan.threads);
  // as a whole-session report computes its wall time (report.ts duration_s)
  const elapsedNs = ((sample.time_ns - startedNs) / 1e9) * 1e9;
  into.busy_candidates = into.busy_candidates.filter((c) => isBusy(c.wants_ns, elapsedNs));

  const ofFoldedProcesses = new Map<number, FoldedThreadsOf>();
  for (const t of plan.threads) {
    const role = roles.threads.get(threadKey(t)) ?? "other";
    into.threads++;
    addCounters(into.counters, t);
    for (const h of arrayNames) addSlots(into.slots[h], t[h]);
    const r = roleEntry(into, role);
    r.threads++;
    r.oncpu_ns += t.oncpu_ns;
    r.runq_wait_ns += t.runq_wait_ns;
    r.sleep_ns += t.sleep_ns;
    r.iowait_ns += t.iowait_ns;
    const wants = t.oncpu_ns + t.runq_wait_ns;
    if (isBusy(wants, elapsedNs)) into.busy_candidates.push({ role, wants_ns: wants });
    const of = threadsOf(plan.processes.has(t.pid) ? ofFoldedProcesses : into.threads_of, t.pid);
    addCounters(of.counters, t);
    of.threads++;
    of.ran ||= t.oncpu_ns > 0;
    of.roles.add(role);
  }

  const workersBefore = new Map<number, number>();
  let workersFolded = 0;
  for (const p of sample.processes) {
    if (!plan.processes.has(p.pid)) {
      workersBefore.set(p.pid, workersFolded);
      continue;
    }
    const role = (roles.processes.get(p.pid) ?? OTHER).role;
    if (role === "dataloader") workersFolded++;
    const own = threadsOf(ofFoldedProcesses, p.pid);
    const earlier = into.threads_of.get(p.pid);
    if (earlier !== undefined) {
      addCounters(own.counters, earlier.counters);
      own.threads += earlier.threads;
      for (const r of earlier.roles) own.roles.add(r);
      into.threads_of.delete(p.pid);
    }
    for (const r of own.roles) roleEntry(into, r).processes++;
    const key = `${p.comm}\0${role}`;
    let name = into.names.get(key);
    if (name === undefined) {
      name = { comm: p.comm, role, processes: 0, threads: 0, counters: zeroCounters() };
      into.names.set(key, name);
    }
    name.processes++;
    name.threads += own.threads;
    addCounters(name.counters, own.counters);
    into.processes++;
  }
  into.workers += workersFolded;
  return { workersBefore, workers: workersFolded };
}
