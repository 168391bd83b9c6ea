// Who is who in a training job: every process and thread of the target gets
// a role. Decided from the cumulative sample (not one interval), so a pool
// thread that idled for a second keeps its role.
import { processKey, threadKey, threadProcessKey, type ProcessSample, type Sample, type ThreadSample } from "./sample.js";

export type Role = "trainer" | "dataloader" | "pin-memory" | "intra-op" | "other";
export const roleNames: readonly Role[] = ["trainer", "dataloader", "pin-memory", "intra-op", "other"];

export interface ProcessRole {
  role: Role;
  /** k of "DataLoader worker k": fork order among the trainer's workers over the session */
  worker_index?: number;
}

export interface Roles {
  /** by processKey(): a reused pid is another process, with a role of its own */
  processes: Map<string, ProcessRole>;
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
function isWorker(p: ProcessSample, trainer: ProcessSample | undefined, ran: (key: string) => boolean): boolean {
  // The parent was alive when it forked p, so no other process had its pid then.
  if (!trainer || p === trainer || p.ppid !== trainer.pid) return false;
  const runsTrainerCode = p.comm === trainer.comm || WORKER_NAME.test(p.comm);
  return runsTrainerCode && ran(keyOf(p));
}

const keyOf = (p: ProcessSample) => processKey(p.pid, p.start_ns ?? 0);

/**
 * Keys (processKey) of the processes with a thread that was ever on a CPU.
 *
 * A long run is mostly threads that exited long ago, which come first in
 * every sample and stay the same objects (Sample.exited_prefix): what they
 * say is remembered per session, keyed by the first of them, and only the
 * threads that exited since are looked at. A sample that does not continue
 * the remembered prefix (another session, an earlier sample) is read whole.
 */
function processesThatRan(sample: Sample): (key: string) => boolean {
  const threads = sample.threads;
  const k = sample.exited_prefix ?? 0;
  const exited = ranAmongExited(threads, k);
  const live = new Set<string>();
  for (let i = k; i < threads.length; i++) if (threads[i]!.oncpu_ns > 0) live.add(threadProcessKey(threads[i]!));
  return (key) => exited.has(key) || live.has(key);
}

interface ExitedRan {
  /** how many leading threads `pids` covers */
  count: number;
  /** the last of them, to tell the same list from another */
  last: ThreadSample;
  keys: Set<string>;
}

const exitedRan = new WeakMap<ThreadSample, ExitedRan>();

function ranAmongExited(threads: readonly ThreadSample[], k: number): ReadonlySet<string> {
  if (k === 0) return new Set();
  const memo = exitedRan.get(threads[0]!);
  const continues = memo !== undefined && memo.count <= k && threads[memo.count - 1] === memo.last;
  if (memo !== undefined && memo.count > k) return addRan(new Set(), threads, 0, k); // an earlier sample: not remembered
  const entry = continues ? memo : { count: 0, last: threads[0]!, keys: new Set<string>() };
  addRan(entry.keys, threads, entry.count, k);
  entry.count = k;
  entry.last = threads[k - 1]!;
  exitedRan.set(threads[0]!, entry);
  return entry.keys;
}

function addRan(keys: Set<string>, threads: readonly ThreadSample[], from: number, to: number): Set<string> {
  for (let i = from; i < to; i++) if (threads[i]!.oncpu_ns > 0) keys.add(threadProcessKey(threads[i]!));
  return keys;
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
  const ran = processesThatRan(sample);
  // the first process with the target's pid (the collector lists the root first; a later one reused its pid)
  const trainer = sample.processes.find((p) => p.pid === targetPid);
  const trainerKey = trainer ? keyOf(trainer) : processKey(targetPid, 0);

  const processes = new Map<string, ProcessRole>();
  let nextWorker = 0;
  // The collector lists processes in the order it learnt of them, which for
  // forks is fork order: worker indices follow it.
  for (const p of sample.processes) {
    const key = keyOf(p);
    if (p === trainer) processes.set(key, TRAINER);
    else if (isWorker(p, trainer, ran)) processes.set(key, { role: "dataloader", worker_index: nextWorker++ });
    else processes.set(key, OTHER);
  }

  const isTrainerThread = (t: ThreadSample) => t.pid === targetPid && threadProcessKey(t) === trainerKey;
  const main = sample.threads.findLast((t) => t.tid === targetPid && isTrainerThread(t));
  const busy = (t: ThreadSample) => {
    if (t.oncpu_ns < BUSY_MIN_NS) return false;
    const life = t.start_ns > 0 ? sample.time_ns - t.start_ns : Infinity;
    return t.oncpu_ns >= BUSY_SHARE * life || t.oncpu_ns >= BUSY_SHARE * (main?.oncpu_ns ?? 0);
  };
  const threads = new Map<string, Role>();
  for (const t of threadsToLabel) threads.set(threadKey(t), threadRole(t, targetPid, isTrainerThread, processes, busy));
  return { processes, threads };
}

function threadRole(
  t: ThreadSample,
  targetPid: number,
  isTrainerThread: (t: ThreadSample) => boolean,
  processes: Map<string, ProcessRole>,
  busy: (t: ThreadSample) => boolean,
): Role {
  if (!isTrainerThread(t)) return processes.get(threadProcessKey(t))?.role === "dataloader" ? "dataloader" : "other";
  if (t.tid === targetPid) return "trainer";
  if (PIN_NAME.test(t.comm)) return "pin-memory";
  if (POOL_NAME.test(t.comm) || busy(t)) return "intra-op";
  return "other";
}
