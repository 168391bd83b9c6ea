// Model snapshots for frame tests, built through the real live model from
// hand-made cumulative samples (a trainer with a pool thread, two workers).
import { LiveModel, type TopSnapshot } from "../../src/model/live.js";
import { blankThread, type Sample, type ThreadSample } from "../../src/model/sample.js";

const host = { hostname: "h", kernel: "6.18", cpus: 2, numa_nodes: 1, hardware_pmu: false, attach_modes: {} };
export const target = { pid: 100, comm: "pipeline", command: "pipeline --slow-loader" };

function thread(tid: number, pid: number, comm: string, k: number, shares: [number, number, number]): ThreadSample {
  const [on, runq, sleep] = shares;
  return {
    ...blankThread(),
    tid, pid, comm, start_ns: 0, exited: false,
    oncpu_ns: k * on * 1e9, runq_wait_ns: k * runq * 1e9, sleep_ns: k * sleep * 1e9, iowait_ns: 0,
    switches_voluntary: k * 400, switches_involuntary: k * 20, wakeups: k * 400, migrations: 0,
    runq_hist: [0, 0, k * 10, k * 40, k * 5], offcpu_hist: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, k * 30, k * 3],
  };
}

/** Second k of an input-bound run: the trainer mostly sleeps, workers compute. */
export function sample(k: number, lost = 0): Sample {
  return {
    time_ns: k * 1e9,
    threads: [
      thread(100, 100, "pipeline", k, [0.1, 0.02, 0.88]),
      thread(101, 100, "pool-1", k, [0.08, 0.02, 0.9]),
      thread(200, 200, "pipeline", k, [0.8, 0.15, 0.05]),
      thread(201, 201, "pipeline", k, [0.7, 0.2, 0.1]),
    ],
    processes: [
      { pid: 100, ppid: 1, comm: "pipeline", exited: false },
      { pid: 200, ppid: 100, comm: "pipeline", exited: false },
      { pid: 201, ppid: 100, comm: "pipeline", exited: false },
    ],
    neighbours: [],
    drops: { events_dropped: lost, threads_dropped: 0, targets_dropped: 0, neighbours_dropped: 0 },
    cpu_limits: { cpus_allowed: 2 },
    devices: [],
    numa_nodes: 1,
    families: ["sched"],
  };
}

export function model(): LiveModel {
  return new LiveModel(() => ({ target, host, started_ns: 0 }), 1);
}

export function emptySnapshot(): TopSnapshot {
  return model().current;
}

export function runningSnapshot(seconds = 3, lost = 0): TopSnapshot {
  const m = model();
  let snap = m.current;
  for (let k = 1; k <= seconds; k++) snap = m.addSample(sample(k, k === seconds ? lost : 0), 0.012);
  return snap;
}

export function exitedSnapshot(): TopSnapshot {
  const m = model();
  for (let k = 1; k <= 3; k++) m.addSample(sample(k), 0.01);
  const last = sample(4);
  for (const p of last.processes) p.exited = true;
  for (const t of last.threads) t.exited = true;
  return m.finish(last, { ...target, exit_code: 3 });
}
