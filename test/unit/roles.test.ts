import { describe, expect, it } from "vitest";
import { assignRoles } from "../../src/model/roles.js";
import { processKey, type Sample, type ThreadSample } from "../../src/model/sample.js";

function thread(tid: number, pid: number, comm: string, oncpu_ms: number): ThreadSample {
  return {
    tid, pid, comm, start_ns: 0, exited: false, oncpu_ns: oncpu_ms * 1e6, runq_wait_ns: 0, sleep_ns: 0, iowait_ns: 0,
    switches_voluntary: 0, switches_involuntary: 0, wakeups: 0, migrations: 0, runq_hist: [], offcpu_hist: [],
  };
}

const sample: Sample = {
  time_ns: 1e9,
  processes: [
    { pid: 10, ppid: 1, comm: "python3", exited: false },
    { pid: 20, ppid: 10, comm: "python3", exited: true },
    { pid: 21, ppid: 10, comm: "sh", exited: false },
    { pid: 22, ppid: 10, comm: "pt_data_worker", exited: false },
    { pid: 30, ppid: 20, comm: "python3", exited: false },
  ],
  threads: [
    thread(10, 10, "python3", 500),
    thread(11, 10, "python3", 400), // busy: an OpenMP pool thread named like its process
    thread(12, 10, "python3", 1), // a queue feeder thread
    thread(13, 10, "pt_data_pin", 5),
    thread(14, 10, "omp_worker", 0),
    thread(20, 20, "python3", 100),
    thread(23, 20, "python3", 1),
    thread(21, 21, "sh", 3),
    thread(22, 22, "pt_data_worker", 50),
    thread(30, 30, "python3", 10),
  ],
  neighbours: [],
  drops: { events_dropped: 0, threads_dropped: 0, targets_dropped: 0, neighbours_dropped: 0 },
};

describe("assignRoles", () => {
  const roles = assignRoles(sample, 10);
  it("finds the trainer and its DataLoader workers by ancestry, not by exec'd children", () => {
    expect(roles.processes.get(processKey(10, 0))).toEqual({ role: "trainer" });
    expect(roles.processes.get(processKey(20, 0))).toEqual({ role: "dataloader", worker_index: 0 });
    expect(roles.processes.get(processKey(21, 0))).toEqual({ role: "other" });
    expect(roles.processes.get(processKey(22, 0))).toEqual({ role: "dataloader", worker_index: 1 });
    // a grandchild is not one of the trainer's workers
    expect(roles.processes.get(processKey(30, 0))).toEqual({ role: "other" });
  });
  it("labels the trainer's threads by name and by how busy they are", () => {
    const role = (tid: number) => roles.threads.get(`${tid}@0`);
    expect([10, 11, 12, 13, 14].map(role)).toEqual(["trainer", "intra-op", "other", "pin-memory", "intra-op"]);
    expect([20, 23, 22, 21, 30].map(role)).toEqual(["dataloader", "dataloader", "dataloader", "other", "other"]);
  });
  it("does not call a worker that never ran a DataLoader worker", () => {
    const idle = { ...sample, threads: sample.threads.filter((t) => t.pid !== 20) };
    expect(assignRoles(idle, 10).processes.get(processKey(20, 0))).toEqual({ role: "other" });
    expect(assignRoles(idle, 10).processes.get(processKey(22, 0))).toEqual({ role: "dataloader", worker_index: 0 });
  });
});

describe("assignRoles over a session's samples", () => {
  // Workers forked one after another; each exits before the next sample, and
  // the exited threads come first and stay the same objects (exited_prefix).
  const trainer = thread(10, 10, "python3", 500);
  const worker = (pid: number, oncpu_ms: number) => ({ ...thread(pid, pid, "python3", oncpu_ms), exited: true, start_ns: pid });
  const workers = [worker(20, 5), worker(21, 0), worker(22, 7), worker(23, 9), worker(24, 0), worker(25, 3)];
  const sampleAt = (exited: number): Sample => ({
    time_ns: 1e9,
    processes: [{ pid: 10, ppid: 1, comm: "python3", exited: false }, ...workers.map((w, i) => ({ pid: w.pid, ppid: 10, comm: "python3", exited: i < exited }))],
    // the live ones are new objects in every sample, as the collector reads
    // them, and have not run yet: counters only grow, so an earlier sample
    // can say a worker never ran where a later one says it did
    threads: [...workers.slice(0, exited), ...workers.slice(exited).map((w) => ({ ...w, exited: false, oncpu_ns: 0 })), { ...trainer }],
    exited_prefix: exited,
    neighbours: [],
    drops: { events_dropped: 0, threads_dropped: 0, targets_dropped: 0, neighbours_dropped: 0 },
  });
  // the same samples read without the promise: every thread looked at
  const fromScratch = (s: Sample) => assignRoles({ ...s, exited_prefix: 0 }, 10).processes;

  it("gives the same roles as reading every thread, going forwards and back", () => {
    const order = [1, 2, 2, 4, 6, 3, 6, 0, 5];
    for (const exited of order) {
      const s = sampleAt(exited);
      expect(assignRoles(s, 10).processes, `after ${exited} exited`).toEqual(fromScratch(s));
    }
    expect([...assignRoles(sampleAt(6), 10).processes.values()].map((r) => r.worker_index)).toEqual([undefined, 0, undefined, 1, 2, undefined, 3]);
  });

  it("reads threads that are not the remembered objects afresh (a recording read back)", () => {
    assignRoles(sampleAt(6), 10); // remembers workers 20-25
    // equal threads in new objects, one of them changed: nothing remembered applies
    const copy = sampleAt(6);
    copy.threads = copy.threads.map((t) => ({ ...t }));
    copy.threads[3]!.oncpu_ns = 0;
    expect(assignRoles(copy, 10).processes).toEqual(fromScratch(copy));
    expect(assignRoles(copy, 10).processes.get(processKey(23, 0))).toEqual({ role: "other" });
  });
});
