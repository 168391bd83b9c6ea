// The model skips the threads that had already exited at the previous sample
// when the collector promises they come first (Sample.exited_prefix). That
// shortcut must change nothing: on generated sessions, every report built
// with the promise equals the one built from the same samples without it
// (where the model reads every thread).
import { describe, expect, it } from "vitest";
import { buildReport, type ReportContext } from "../../src/model/report.js";
import { blankThread, type ProcessSample, type Sample, type ThreadSample } from "../../src/model/sample.js";

const SLOTS = 32;

/** A small deterministic generator (mulberry32): the same seed, the same session. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Live {
  thread: ThreadSample;
}

/**
 * A session as the collector shapes it: a trainer (pid 100) that forks
 * workers which run a while and exit; each sample lists the exited threads
 * first, in exit order and as the same objects, then the live ones with
 * their cumulative counters grown.
 */
function session(seed: number, intervals: number): Sample[] {
  const random = rng(seed);
  const processes = new Map<number, ProcessSample>([[100, { pid: 100, ppid: 1, comm: "python3", exited: false }]]);
  const live: Live[] = [];
  const finished: ThreadSample[] = [];
  let nextPid = 200;
  const newThread = (tid: number, pid: number, comm: string): ThreadSample => ({
    ...blankThread(),
    tid,
    pid,
    comm,
    start_ns: tid * 1000,
    exited: false,
    runq_hist: Array(SLOTS).fill(0),
    offcpu_hist: Array(SLOTS).fill(0),
    major_latency_hist: Array(SLOTS).fill(0),
    queue_hist: Array(SLOTS).fill(0),
    device_hist: Array(SLOTS).fill(0),
  });
  live.push({ thread: newThread(100, 100, "python3") }, { thread: newThread(101, 100, "python3") });
  const samples: Sample[] = [];
  for (let i = 1; i <= intervals; i++) {
    if (random() < 0.6) {
      const pid = nextPid;
      nextPid += 10;
      processes.set(pid, { pid, ppid: 100, comm: random() < 0.5 ? "python3" : "pt_data_worker", exited: false });
      const threads = 1 + Math.floor(random() * 3);
      for (let k = 0; k < threads; k++) live.push({ thread: newThread(pid + k, pid, "python3") });
    }
    for (const l of live) {
      const t = l.thread;
      const ran = Math.floor(random() * 5_000_000);
      t.oncpu_ns += ran;
      t.runq_wait_ns += Math.floor(random() * 100_000);
      t.sleep_ns += Math.floor(random() * 900_000_000);
      t.switches_voluntary += Math.floor(random() * 50);
      t.switches_involuntary += Math.floor(random() * 5);
      t.wakeups += Math.floor(random() * 50);
      t.faults_minor += Math.floor(random() * 100);
      t.read_bytes += Math.floor(random() * 4) * 4096;
      t.runq_hist[Math.floor(random() * 10)] += 1;
      t.offcpu_hist[Math.floor(random() * 20)] += 1;
    }
    // Some workers exit: all their threads become exited, appended in order.
    for (const p of processes.values()) {
      if (p.pid === 100 || p.exited || random() > 0.3) continue;
      p.exited = true;
      p.exit_status = 0;
      for (let j = live.length - 1; j >= 0; j--) {
        if (live[j]!.thread.pid !== p.pid) continue;
        const t = live[j]!.thread;
        t.exited = true;
        finished.push(t);
        live.splice(j, 1);
      }
    }
    samples.push({
      time_ns: 1_000_000_000 + i * 1_000_000_000,
      // The live threads are copies (the collector rereads them), the exited ones the same objects.
      threads: [...finished, ...live.map((l) => ({ ...l.thread, runq_hist: [...l.thread.runq_hist], offcpu_hist: [...l.thread.offcpu_hist] }))],
      exited_prefix: finished.length,
      processes: [...processes.values()].map((p) => ({ ...p })),
      neighbours: [],
      drops: { events_dropped: 0, threads_dropped: 0, targets_dropped: 0, neighbours_dropped: 0 },
      devices: [],
      numa_nodes: 1,
      families: ["sched", "faults", "io"],
    });
  }
  return samples;
}

const ctx = (kind: "final" | "interval"): ReportContext => ({
  kind,
  target: { pid: 100, comm: "python3", command: "python3 train.py" },
  host: { hostname: "h", kernel: "6.18", cpus: 2, numa_nodes: 1, hardware_pmu: false, attach_modes: {} },
  started_ns: 1_000_000_000,
});

/** The same samples with the collector's promise taken away (and no object shared with the originals). */
function withoutPromise(samples: Sample[]): Sample[] {
  return samples.map((s) => {
    const copy = structuredClone(s);
    delete copy.exited_prefix;
    return copy;
  });
}

describe("the exited-thread fast path", () => {
  for (const seed of [1, 7, 42, 1234, 99991]) {
    it(`gives the full pass's reports, interval and final (seed ${seed})`, () => {
      const fast = session(seed, 60);
      const full = withoutPromise(fast);
      expect(fast.at(-1)!.exited_prefix).toBeGreaterThan(20);
      for (let i = 0; i < fast.length; i++) {
        const a = buildReport(i ? fast[i - 1]! : null, fast[i]!, ctx("interval"));
        const b = buildReport(i ? full[i - 1]! : null, full[i]!, ctx("interval"));
        expect(a).toEqual(b);
      }
      expect(buildReport(null, fast.at(-1)!, ctx("final"))).toEqual(buildReport(null, full.at(-1)!, ctx("final")));
    });
  }

  it("is exercised: an interval report leaves out the threads that had exited before it", () => {
    const fast = session(5, 40);
    const n = fast.length;
    const report = buildReport(fast[n - 2]!, fast[n - 1]!, ctx("interval"));
    const exitedBefore = fast[n - 2]!.exited_prefix!;
    expect(exitedBefore).toBeGreaterThan(0);
    expect(report.threads.length).toBe(fast[n - 1]!.threads.length - exitedBefore);
  });
});
