// A pid the kernel hands out twice within one session names two processes:
// the model keeps them apart by (pid, start), in counters and in roles.
import { describe, expect, it } from "vitest";
import { buildReport, type ReportContext } from "../../src/model/report.js";
import { assignRoles } from "../../src/model/roles.js";
import { blankThread, processKey, type Sample, type ThreadSample } from "../../src/model/sample.js";

function thread(tid: number, pid: number, proc_start_ns: number, comm: string, oncpu_ns: number, exited = false): ThreadSample {
  const t = blankThread();
  Object.assign(t, { tid, pid, proc_start_ns, start_ns: proc_start_ns, comm, oncpu_ns, exited });
  return t;
}

// pid 200 was first a DataLoader worker of the trainer (100); it exited and
// the pid went to a shell that a worker started (ppid 300): not a worker.
const FIRST = 5_000_000;
const SECOND = 9_000_000;
const sample: Sample = {
  time_ns: 2e9,
  processes: [
    { pid: 100, start_ns: 0, ppid: 1, comm: "python3", exited: false },
    { pid: 200, start_ns: FIRST, ppid: 100, comm: "python3", exited: true, exit_status: 0 },
    { pid: 300, start_ns: 7_000_000, ppid: 100, comm: "python3", exited: false },
    { pid: 200, start_ns: SECOND, ppid: 300, comm: "sh", exited: false },
  ],
  threads: [
    thread(100, 100, 0, "python3", 900e6),
    thread(200, 200, FIRST, "python3", 300e6, true),
    thread(300, 300, 7_000_000, "python3", 100e6),
    thread(200, 200, SECOND, "sh", 20e6),
  ],
  neighbours: [],
  drops: { events_dropped: 0, threads_dropped: 0, targets_dropped: 0, neighbours_dropped: 0 },
  devices: [],
  numa_nodes: 1,
  families: ["sched"],
};

const ctx: ReportContext = {
  kind: "final",
  target: { pid: 100, comm: "python3", command: "python3 train.py" },
  host: { hostname: "h", kernel: "6.18", cpus: 2, numa_nodes: 1, hardware_pmu: false, attach_modes: {} },
  started_ns: 0,
};

describe("a reused pid", () => {
  it("is two processes, each with its own role", () => {
    const roles = assignRoles(sample, 100);
    expect(roles.processes.get(processKey(200, FIRST))).toEqual({ role: "dataloader", worker_index: 0 });
    expect(roles.processes.get(processKey(200, SECOND))).toEqual({ role: "other" });
    expect(roles.threads.get(`200@${FIRST}`)).toBe("dataloader");
    expect(roles.threads.get(`200@${SECOND}`)).toBe("other");
  });

  it("keeps each one's counters to itself", () => {
    const report = buildReport(null, sample, ctx);
    const rows = report.processes.filter((p) => p.pid === 200);
    expect(rows.map((p) => [p.comm, p.oncpu_ns, p.threads, p.role, p.exited])).toEqual([
      ["python3", 300e6, 1, "dataloader", true],
      ["sh", 20e6, 1, "other", false],
    ]);
    expect(report.target.processes).toBe(4);
  });

  it("is not skipped as exited in the next interval because the earlier one had exited", () => {
    const later: Sample = { ...sample, time_ns: 3e9, threads: sample.threads.map((t) => (t.comm === "sh" ? thread(200, 200, SECOND, "sh", 50e6) : t)) };
    const interval = buildReport(sample, later, { ...ctx, kind: "interval" });
    const shell = interval.processes.find((p) => p.pid === 200);
    expect(shell).toMatchObject({ comm: "sh", oncpu_ns: 30e6, exited: false });
    expect(interval.processes.filter((p) => p.pid === 200)).toHaveLength(1);
  });
});
