// Who is who in a training job: every process and thread of the target gets
// a role. Decided from the cumulative sample (not one interval), so a pool
// thread that idled for a second keeps its role.
import { threadKey, type ProcessSample, type Sample, type ThreadSample } from "./sample.js";

export type Role = "trainer" | "dataloader" | "pin-memory" | "intra-op" | "other";
export const roleNames: readonly Role[] = ["trainer", "dataloader", "pin-memory", "intra-op", "other"];

export interface ProcessRole {
  role: Role;
  /** k of "DataLoader worker k": fork order among the trainer's workers over the session */
  worker_index?: number;
}

export interface Roles {
  processes: Map<number, ProcessRole>;
  /** by threadKey() */
  threads: Map<string, Role>;
}

// PyTorch >= 2.1 names its threads (pt_data_worker, pt_data_pin); older
// releases (Debian's 1.13) leave them as "python3", hence the behaviour
// rules below. Names other runtimes give their pools are accepted too.
const WORKER_NAME = /pt_data_worker|dataloader|data_worker/i;
const PIN_NAME = /pin_memory|pt_data_pin|pin-memory|pt_pin/i;
const POOL_NAME = /^(omp_|gomp|intra|pool|mkl|tbb|pt_intra|pt_thread)/i;

/** A thread of the trainer that ran at least this long... */
const BUSY_MIN_NS = 10e6;
/**
 * ...and was on a CPU at least this share of its life, or of the main
 * thread's CPU, is part of its pool. Either alone is fragile: a pool thread
 * of a trainer starved by other processes spends most of its life waiting,
 * and a main thread that imported torch for seconds dwarfs any pool.
 * Queue feeders and watchdogs stay far below both.
 */
const BUSY_SHARE = 0.05;

/**
 * A DataLoader worker is forked by the trainer and keeps running the
 * trainer's code (no exec: same comm, or a worker's name), and it does work
 * (ran on a CPU). A child that exec'd another program (a shell, nvidia-smi,
 * a compiler) is "other".
 */
function isWorker(p: ProcessSample, trainer: ProcessSample | undefined, ran: (pid: number) => boolean): boolean {
  if (!trainer || p.ppid !== trainer.pid) return false;
  const runsTrainerCode = p.comm === trainer.comm || WORKER_NAME.test(p.comm);
  return runsTrainerCode && ran(p.pid);
}

/**
 * Pids of the processes with a thread that was ever on a CPU.
 *
 * A long run is mostly threads that exited long ago, which come first in
 * every sample and stay the same objects (Sample.exited_prefix): what they
 * say is remembered per session, keyed by the first of them, and only the
 * threads that exited since are looked at. A sample that does not continue
 * the remembered prefix (another session, an earlier sample) is read whole.
 */
function processesThatRan(sample: Sample): (pid: number) => boolean {
  const threads = sample.threads;
  const k = sample.exited_prefix ?? 0;
  const exited = ranAmongExited(threads, k);
  const live = new Set<number>();
  for (let i = k; i < threads.length; i++) if (threads[i]!.oncpu_ns > 0) live.add(threads[i]!.pid);
  const folded = sample.folded?.threads_of;
  return (pid) => exited.has(pid) || live.has(pid) || folded?.get(pid)?.ran === true;
}

interface ExitedRan {
  /** how many leading threads `pids` covers */
  count: number;
  /** the last of them, to tell the same list from another */
  last: ThreadSample;
  pids: Set<number>;
}

const exitedRan = new WeakMap<ThreadSample, ExitedRan>();

function ranAmongExited(threads: readonly ThreadSample[], k: number): ReadonlySet<number> {
  if (k === 0) return new Set();
  const memo = exitedRan.get(threads[0]!);
  const continues = memo !== undefined && memo.count <= k && threads[memo.count - 1] === memo.last;
  if (memo !== undefined && memo.count > k) return addRan(new Set(), threads, 0, k); // an earlier sample: not remembered
  const entry = continues ? memo : { count: 0, last: threads[0]!, pids: new Set<number>() };
  addRan(entry.pids, threads, entry.count, k);
  entry.count = k;
  entry.last = threads[k - 1]!;
  exitedRan.set(threads[0]!, entry);
  return entry.pids;
}

function addRan(pids: Set<number>, threads: readonly ThreadSample[], from: number, to: number): Set<number> {
  for (let i = from; i < to; i++) if (threads[i]!.oncpu_ns > 0) pids.add(threads[i]!.pid);
  return pids;
}

// Shared, never changed: most processes get one of these, and a long run
// has thousands of processes to label every interval.
const TRAINER: ProcessRole = Object.freeze({ role: "trainer" });
export const OTHER: ProcessRole = Object.freeze({ role: "other" });

/**
 * Roles of every process of `sample`, and of `threads` (by default all of
 * its threads): a report labels only the threads it lists, and a long run
 * has many more threads that exited long ago.
 */
export function assignRoles(sample: Sample, targetPid: number, threadsToLabel: readonly ThreadSample[] = sample.threads): Roles {
  return labelThreads(sample, targetPid, threadsToLabel, false);
}

/** `settleAll`: give every exited thread of `threadsToLabel` its lasting role, ready or not (see roleIsSettled). */
function labelThreads(sample: Sample, targetPid: number, threadsToLabel: readonly ThreadSample[], settleAll: boolean): Roles {
  const ran = processesThatRan(sample);
  const trainer = sample.processes.find((p) => p.pid === targetPid);

  const processes = new Map<number, ProcessRole>();
  const exitedProcesses = new Set<number>();
  let listedWorkers = 0;
  const foldedWorkers = sample.folded?.workers ?? 0;
  // The collector lists processes in the order it learnt of them, which for
  // forks is fork order: worker indices follow it, counting the workers
  // before each that were folded (src/model/fold.ts) and are no longer listed.
  for (const p of sample.processes) {
    if (p.pid === targetPid) processes.set(p.pid, TRAINER);
    else if (isWorker(p, trainer, ran)) processes.set(p.pid, { role: "dataloader", worker_index: (p.folded_workers_before ?? foldedWorkers) + listedWorkers++ });
    else processes.set(p.pid, OTHER);
    if (p.exited) exitedProcesses.add(p.pid);
  }

  const main = sample.threads.findLast((t) => t.tid === targetPid && t.pid === targetPid);
  const busy = (t: ThreadSample) => {
    if (t.oncpu_ns < BUSY_MIN_NS) return false;
    const life = t.start_ns > 0 ? sample.time_ns - t.start_ns : Infinity;
    return t.oncpu_ns >= BUSY_SHARE * life || t.oncpu_ns >= BUSY_SHARE * (main?.oncpu_ns ?? 0);
  };
  // What decides an exited thread's role is final once the collector has
  // heard of its process's exit (every event of that process came before),
  // or at once for the target's own threads (its role is fixed). Until then
  // a fork or exec the collector has not read yet could change it.
  const ready = (t: ThreadSample) => settleAll || t.pid === targetPid || exitedProcesses.has(t.pid);
  const threads = new Map<string, Role>();
  for (const t of threadsToLabel) {
    let role = t.exited ? exitedRoles.get(t) : undefined;
    if (role === undefined) {
      role = threadRole(t, targetPid, processes, busy);
      if (t.exited && ready(t)) exitedRoles.set(t, role);
    }
    threads.set(threadKey(t), role);
  }
  return { processes, threads };
}

/**
 * A thread keeps the role it was given in the first sample where it and its
 * process were seen exited (the target's threads: where it was seen
 * exited): what decides a role (its share of a life that keeps growing, of
 * the main thread's CPU, whether its process ran) can change after it has
 * gone, and a report must not depend on when, or whether, the session
 * folded it (fold.ts). The collector keeps an exited thread as one object
 * and has ExitedRoles label it.
 */
const exitedRoles = new WeakMap<ThreadSample, Role>();

/** Whether `t` has its lasting role (only such threads may be folded). */
export function roleIsSettled(t: ThreadSample): boolean {
  return exitedRoles.has(t);
}

/** Samples an exited thread waits for its process's exit before its role is settled anyway (a process the collector never heard of). */
const SETTLE_WAIT_SAMPLES = 5;

/**
 * The collector's side of exitedRoles: called with every sample, and the
 * threads that exited since the previous one, whoever reads the samples.
 */
export class ExitedRoles {
  private readonly waiting = new Map<ThreadSample, number>();

  label(sample: Sample, targetPid: number, exitedNow: readonly ThreadSample[]): void {
    for (const t of exitedNow) this.waiting.set(t, 0);
    if (this.waiting.size === 0) return;
    const overdue: ThreadSample[] = [];
    const rest: ThreadSample[] = [];
    for (const [t, waited] of this.waiting) (waited + 1 >= SETTLE_WAIT_SAMPLES ? overdue : rest).push(t);
    if (overdue.length > 0) labelThreads(sample, targetPid, overdue, true);
    if (rest.length > 0) labelThreads(sample, targetPid, rest, false);
    for (const t of overdue) this.waiting.delete(t);
    for (const t of rest) {
      if (exitedRoles.has(t)) this.waiting.delete(t);
      else this.waiting.set(t, this.waiting.get(t)! + 1);
    }
  }
}

function threadRole(t: ThreadSample, targetPid: number, processes: Map<number, ProcessRole>, busy: (t: ThreadSample) => boolean): Role {
  if (t.pid !== targetPid) return processes.get(t.pid)?.role === "dataloader" ? "dataloader" : "other";
  if (t.tid === targetPid) return "trainer";
  if (PIN_NAME.test(t.comm)) return "pin-memory";
  if (POOL_NAME.test(t.comm) || busy(t)) return "intra-op";
  return "other";
}
