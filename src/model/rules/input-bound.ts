// input-bound: the trainer's main thread sleeps (for the next batch) while
// the DataLoader workers produce. Where the workers' time goes says what to
// change, and a worker is judged by the threads that do its work: a worker
// process also has helper threads (queue feeders, idle intra-op pools) that
// sleep all along, and summed in they would outvote the one thread that
// loads and make every slow loader read "asleep".
import type { Rule, ThreadInput } from "../diagnosis-types.js";
import { pct, processSubject, round, sumTimes, threadSubject } from "./common.js";

export const INPUT_BOUND = { waitingShare: 0.5, critical: 0.8, workerRunqShare: 0.25, workingThreadShare: 0.5 };

const busyNs = (t: ThreadInput) => t.oncpu_ns + t.runq_wait_ns + t.iowait_ns;

/**
 * The threads doing a worker's work: those whose time on a CPU, waiting for
 * one or blocked is at least half the busiest thread's. A worker that did
 * nothing but sleep keeps its busiest thread.
 */
export function workingThreads(threads: ThreadInput[]): ThreadInput[] {
  const byPid = new Map<number, ThreadInput[]>();
  for (const t of threads) {
    const list = byPid.get(t.pid);
    if (list) list.push(t);
    else byPid.set(t.pid, [t]);
  }
  const out: ThreadInput[] = [];
  for (const list of byPid.values()) {
    const most = Math.max(...list.map(busyNs));
    if (most === 0) {
      out.push(list[0]!);
      continue;
    }
    for (const t of list) if (busyNs(t) >= INPUT_BOUND.workingThreadShare * most) out.push(t);
  }
  return out;
}

/**
 * The threads producing batches: each DataLoader worker's working threads,
 * or the trainer's main thread itself when there are no workers
 * (num_workers=0). Empty without a trainer and workers.
 */
export function producingThreads(threads: ThreadInput[]): { producers: ThreadInput[]; workers: boolean } {
  const workers = threads.filter((t) => t.role === "dataloader");
  if (workers.length > 0) return { producers: workingThreads(workers), workers: true };
  const trainer = threads.find((t) => t.role === "trainer");
  return { producers: trainer ? [trainer] : [], workers: false };
}

export const inputBound: Rule = (r, wallNs) => {
  const main = r.threads.find((t) => t.role === "trainer");
  const workerThreads = r.threads.filter((t) => t.role === "dataloader");
  const workerPids = [...new Set(workerThreads.map((t) => t.pid))];
  if (!main || workerPids.length === 0) return null;
  const waiting = (main.sleep_ns + main.iowait_ns) / wallNs;
  const working = workingThreads(workerThreads);
  const w = sumTimes(working);
  if (waiting < INPUT_BOUND.waitingShare || w.oncpu_ns === 0) return null;
  const share = (x: number) => x / Math.max(w.total, 1);
  // Workers short of CPU comes first: "add workers" would make it worse.
  const cpuShort = share(w.runq_wait_ns) >= INPUT_BOUND.workerRunqShare;
  const options: [number, string][] = [
    [cpuShort ? 1 : share(w.runq_wait_ns), "the workers wait for a CPU: give the job more CPUs, or fewer intra-op threads (torch.set_num_threads) so workers get a CPU"],
    [share(w.iowait_ns), "the workers are blocked on I/O: faster storage, a warm page cache, or larger sequential reads"],
    [share(w.sleep_ns), "the workers sleep: check locks and IPC between them and the trainer (prefetch_factor, persistent_workers, queue sizes)"],
    [share(w.oncpu_ns), "the workers are busy on CPU: add DataLoader workers (num_workers) if CPUs are free, make __getitem__ cheaper (decode, augment), or cache preprocessed samples"],
  ];
  const suggestion = options.reduce((a, b) => (b[0] > a[0] ? b : a))[1];
  const n = workerPids.length;
  return {
    id: "input-bound",
    severity: waiting >= INPUT_BOUND.critical ? "critical" : "warning",
    summary:
      `trainer main thread waited ${pct(waiting)} of the time while ${n} DataLoader worker${n > 1 ? "s" : ""} produced batches; ` +
      `the ${working.length} thread${working.length > 1 ? "s" : ""} doing their work: ${pct(share(w.oncpu_ns))} on CPU, ${pct(share(w.runq_wait_ns))} waiting for a CPU, ` +
      `${pct(share(w.sleep_ns))} asleep, ${pct(share(w.iowait_ns))} blocked`,
    evidence: {
      trainer_waiting_share: round(waiting),
      trainer_oncpu_share: round(main.oncpu_ns / wallNs),
      workers: n,
      working_threads: working.length,
      worker_oncpu_share: round(share(w.oncpu_ns)),
      worker_runq_share: round(share(w.runq_wait_ns)),
      worker_sleep_share: round(share(w.sleep_ns)),
      worker_blocked_share: round(share(w.iowait_ns)),
    },
    suggestion,
    preempted_by: [],
    subjects: [threadSubject(main), ...workerPids.map((pid) => processSubject(r, pid))],
  };
};
