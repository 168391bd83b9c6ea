// Folding exited tasks (src/model/fold.ts) must not change any total a
// report shows: a generated long run, with DataLoader workers respawned
// every epoch, is read by two simulated sessions, one that keeps every task
// and one that folds past a small limit, and their reports are compared.
import { describe, expect, it } from "vitest";
import { exitedCounts, emptyFolded, foldTasks, planFold } from "../../src/model/fold.js";
import { buildReportWithInput, type Report, type ReportContext } from "../../src/model/report.js";
import { ExitedRoles } from "../../src/model/roles.js";
import { decodeReport, encodeReport, reportToJson } from "../../src/schema/schema.js";
import { statText } from "../../src/views/stat-text.js";
import { blankThread, threadKey, type FoldedTasks, type ProcessSample, type Sample, type ThreadSample } from "../../src/model/sample.js";

const SLOTS = 8;
const S = 1e9;
const STARTED = 1_000 * S;
const TRAINER = 100;

/** A small deterministic generator (mulberry32), so a failure is reproducible from its seed. */
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

interface WorldThread {
  t: ThreadSample;
  /** share of each second on a CPU, waiting for one, asleep, blocked */
  mix: [number, number, number, number];
  exitAt: number;
}

/**
 * The job: a trainer (main thread mostly waiting, two busy pool threads),
 * one persistent worker, workers respawned every epoch, a thread per epoch
 * in the trainer, a long-lived worker that exits late, short-lived children
 * that exec'd something else, and threads born and gone within a second.
 */
class World {
  step = 0;
  readonly processes: ProcessSample[] = [];
  readonly threads: WorldThread[] = [];
  private nextPid = TRAINER + 10;
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = rng(seed);
    this.fork(TRAINER, 1, "python3", [[0.1, 0.02, 0.85, 0.03]], Infinity, TRAINER);
    this.addThread(TRAINER, TRAINER + 1, "python3", [0.6, 0.3, 0.1, 0], Infinity);
    this.addThread(TRAINER, TRAINER + 2, "omp_worker", [0.5, 0.3, 0.2, 0], Infinity);
    this.fork(this.pid(), TRAINER, "python3", [[0.3, 0.1, 0.6, 0]], Infinity); // persistent worker
    this.fork(this.pid(), TRAINER, "python3", [[0.7, 0.25, 0.05, 0]], 45); // long-lived, busy, exits late
    this.fork(this.pid(), TRAINER, "python3", [[0.6, 0.3, 0.1, 0]], 20);
  }

  private pid(): number {
    return this.nextPid++;
  }

  private fork(pid: number, ppid: number, comm: string, mixes: WorldThread["mix"][], exitAt: number, tid = pid): void {
    this.processes.push({ pid, ppid, comm, exited: false });
    mixes.forEach((mix, i) => this.addThread(pid, i === 0 ? tid : this.pid(), comm, mix, exitAt));
  }

  private addThread(pid: number, tid: number, comm: string, mix: WorldThread["mix"], exitAt: number): void {
    const t = blankThread();
    t.tid = tid;
    t.pid = pid;
    t.comm = comm;
    t.start_ns = STARTED + this.step * S;
    for (const h of ["runq_hist", "offcpu_hist", "major_latency_hist", "queue_hist", "device_hist"] as const) t[h] = Array(SLOTS).fill(0);
    t.numa_placed = [0, 0, 0, 0];
    t.numa_wanted = [0, 0, 0, 0];
    this.threads.push({ t, mix, exitAt });
  }

  /** One second of the job. */
  advance(): void {
    this.step++;
    const r = this.random;
    if (this.step % 3 === 1) {
      // an epoch: fresh workers, each with one or two threads, and a trainer thread
      const workers = 2 + Math.floor(r() * 3);
      for (let i = 0; i < workers; i++) {
        const mixes: WorldThread["mix"][] = [[0.3 + 0.4 * r(), 0.2 * r(), 0.3, 0.05]];
        if (r() < 0.5) mixes.push([0.05, 0.01, 0.9, 0]);
        this.fork(this.pid(), TRAINER, "python3", mixes, this.step + 1 + Math.floor(r() * 3));
      }
      this.addThread(TRAINER, this.pid(), "python3", [0.2 * r(), 0.05, 0.7, 0], this.step + 3);
    }
    if (r() < 0.3) this.fork(this.pid(), TRAINER, "sh", [[0.05, 0.01, 0.5, 0.1]], this.step + 1);
    if (r() < 0.3) this.addThread(TRAINER, this.pid(), "python3", [0.01, 0, 0.2, 0], this.step); // gone within the second
    for (const w of this.threads) {
      if (w.t.exited) continue;
      const t = w.t;
      const [on, q, sl, io] = w.mix.map((x) => Math.round(x * S * (0.8 + 0.4 * r())));
      t.oncpu_ns += on!;
      t.runq_wait_ns += q!;
      t.sleep_ns += sl!;
      t.iowait_ns += io!;
      t.switches_voluntary += Math.floor(r() * 50);
      t.switches_involuntary += Math.floor(r() * 20);
      t.wakeups += Math.floor(r() * 40);
      t.migrations += Math.floor(r() * 5);
      t.faults_minor += Math.floor(r() * 300);
      t.faults_major += Math.floor(r() * 2);
      t.read_bytes += Math.floor(r() * 4096) * 16;
      t.read_ops += Math.floor(r() * 4);
      t.runq_hist[Math.floor(r() * SLOTS)]! += 1 + Math.floor(r() * 9);
      t.offcpu_hist[Math.floor(r() * SLOTS)]! += 1 + Math.floor(r() * 9);
      t.numa_placed[Math.floor(r() * 4)]! += Math.floor(r() * 100);
      if (w.exitAt <= this.step) t.exited = true;
    }
    for (const p of this.processes) {
      if (p.exited || p.pid === TRAINER) continue;
      if (this.threads.every((w) => w.t.pid !== p.pid || w.t.exited)) {
        p.exited = true;
        p.exit_status = 0;
      }
    }
  }
}

/** What src/collector/session.ts does with the world's threads and processes, with its fold limit. */
class SimulatedSession {
  readonly finished = new Map<string, ThreadSample>();
  readonly processes = new Map<number, ProcessSample>();
  folded?: FoldedTasks;
  private last?: Sample;
  private readonly exitedRoles = new ExitedRoles();
  maxKept = 0;

  constructor(private readonly limit: number) {}

  sample(world: World): Sample {
    this.fold();
    for (const p of world.processes) {
      if (!this.seen.has(p.pid)) {
        this.seen.add(p.pid);
        this.processes.set(p.pid, { ...p });
      }
      const known = this.processes.get(p.pid); // absent once folded
      if (known && p.exited) Object.assign(known, { exited: true, exit_status: p.exit_status });
    }
    const live: ThreadSample[] = [];
    const exitedNow: ThreadSample[] = [];
    for (const w of world.threads) {
      const key = threadKey(w.t);
      if (this.finished.has(key) || this.foldedKeys.has(key)) continue;
      // a copy per session: each keeps its exited threads as its own objects
      const copy = { ...w.t, runq_hist: [...w.t.runq_hist], offcpu_hist: [...w.t.offcpu_hist], numa_placed: [...w.t.numa_placed] };
      if (copy.exited) {
        this.finished.set(key, copy);
        exitedNow.push(copy);
      } else live.push(copy);
    }
    const sample: Sample = {
      time_ns: STARTED + world.step * S,
      threads: [...this.finished.values(), ...live],
      exited_prefix: this.finished.size,
      processes: [...this.processes.values()].map((p) => ({ ...p })),
      neighbours: [{ pid: 9, comm: "hog", count: world.step * 7 }],
      drops: { events_dropped: 0, threads_dropped: 0, targets_dropped: 0, neighbours_dropped: 0 },
      devices: [],
      numa_nodes: 2,
      families: ["sched", "faults", "io"],
      ...(this.folded ? { folded: this.folded } : {}),
    };
    this.exitedRoles.label(sample, TRAINER, exitedNow);
    this.last = sample;
    const exited = exitedCounts(sample);
    this.maxKept = Math.max(this.maxKept, exited.threads, exited.processes);
    return sample;
  }

  private readonly seen = new Set<number>();
  private readonly foldedKeys = new Set<string>();

  private fold(): void {
    const last = this.last;
    if (last === undefined) return;
    const exited = exitedCounts(last);
    if (exited.threads <= this.limit && exited.processes <= this.limit) return;
    const plan = planFold(last, TRAINER, this.limit - Math.max(1, Math.floor(this.limit / 10)));
    this.folded ??= emptyFolded();
    const foldedBefore = this.folded.workers;
    const { workersBefore, workers } = foldTasks(this.folded, last, TRAINER, STARTED, plan);
    for (const t of plan.threads) {
      this.finished.delete(threadKey(t));
      this.foldedKeys.add(threadKey(t)); // the world still lists them; the kernel would not
    }
    for (const pid of plan.processes) this.processes.delete(pid);
    if (workers === 0) return;
    for (const p of this.processes.values()) p.folded_workers_before = (p.folded_workers_before ?? foldedBefore) + (workersBefore.get(p.pid) ?? workers);
  }
}

const ctx = (kind: ReportContext["kind"]): ReportContext => ({
  kind,
  target: { pid: TRAINER, comm: "python3", command: "python3 train.py" },
  host: { hostname: "h", kernel: "6.18", cpus: 2, numa_nodes: 2, hardware_pmu: false, attach_modes: {} },
  started_ns: STARTED,
});

/** Everything but the lists folding shortens and the count of what it folded. */
function totals(r: Report) {
  const { processes, threads, folded, ...rest } = r;
  return rest;
}

function run(seed: number, steps: number, limit: number) {
  const world = new World(seed);
  const session = new SimulatedSession(limit);
  let prev: Sample | null = null;
  const intervals = [];
  for (let i = 0; i < steps; i++) {
    world.advance();
    const cur = session.sample(world);
    intervals.push(buildReportWithInput(prev, cur, ctx("interval")));
    prev = cur;
  }
  const final = buildReportWithInput(null, session.sample(world), ctx("final"));
  return { intervals, final, session };
}

describe("folding exited tasks", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`changes no total, role or diagnosis input (seed ${seed})`, () => {
      const kept = run(seed, 60, 1_000_000);
      const folding = run(seed, 60, 16);
      // it did fold, and kept no more than its limit of each
      expect(kept.final.report.folded.processes).toBe(0);
      expect(folding.final.report.folded.processes).toBeGreaterThan(50);
      expect(folding.final.report.folded.threads).toBeGreaterThan(100);
      expect(folding.session.maxKept).toBeLessThanOrEqual(16 + 16);
      expect(kept.session.maxKept).toBeGreaterThan(100);

      // interval reports: everything identical, the rows too (folded tasks had exited before the interval)
      for (let i = 0; i < kept.intervals.length; i++) {
        const a = kept.intervals[i]!;
        const b = folding.intervals[i]!;
        expect(totals(b.report), `interval ${i}`).toEqual(totals(a.report));
        expect(b.report.processes, `interval ${i}`).toEqual(a.report.processes);
        expect(b.report.threads, `interval ${i}`).toEqual(a.report.threads);
        expect(b.diagnosisInput, `interval ${i}`).toEqual(a.diagnosisInput);
      }

      // the whole session: the same totals, roles, diagnoses and their inputs
      const a = kept.final;
      const b = folding.final;
      expect(totals(b.report)).toEqual(totals(a.report));
      expect(b.diagnosisInput).toEqual(a.diagnosisInput);
      expect(a.report.diagnoses.length).toBeGreaterThan(0);
      expect(a.diagnosisInput.busy.dataloader).toBeGreaterThan(0); // a folded busy thread counted
      expect(b.report.target.processes).toBe(a.report.processes.length);
      expect(b.report.target.threads).toBe(a.report.threads.length);

      // listed processes are the same rows (worker indices included) ...
      const listed = new Map(b.report.processes.map((p) => [p.pid, p]));
      for (const p of a.report.processes.filter((p) => listed.has(p.pid))) expect(listed.get(p.pid)).toEqual(p);
      // ... and the others are summed per name and role
      const expected = new Map<string, Record<string, number>>();
      for (const p of a.report.processes.filter((p) => !listed.has(p.pid))) {
        const key = `${p.comm} ${p.role}`;
        const e = expected.get(key) ?? { processes: 0, threads: 0, oncpu_ns: 0, runq_wait_ns: 0, sleep_ns: 0, iowait_ns: 0, faults_minor: 0, read_bytes: 0, switches_voluntary: 0 };
        e.processes!++;
        for (const k of Object.keys(e).filter((k) => k !== "processes")) e[k]! += (p as unknown as Record<string, number>)[k]!;
        expected.set(key, e);
      }
      const got = new Map(b.report.folded.by_name.map((n) => [`${n.comm} ${n.role}`, n]));
      expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [key, e] of expected) expect(got.get(key)).toMatchObject(e);
      expect(b.report.folded.processes).toBe(a.report.processes.length - b.report.processes.length);
    });
  }

  it("keeps worker indices of workers listed after folded ones", () => {
    const kept = run(7, 30, 1_000_000);
    const folding = run(7, 30, 8);
    const index = (r: Report) => new Map(r.processes.filter((p) => p.worker_index !== undefined).map((p) => [p.pid, p.worker_index]));
    const all = index(kept.final.report);
    const listed = index(folding.final.report);
    expect(listed.size).toBeGreaterThan(0);
    expect(folding.final.report.folded.by_name.find((n) => n.role === "dataloader")?.processes).toBeGreaterThan(5);
    for (const [pid, k] of listed) expect(k).toBe(all.get(pid));
    // the persistent worker, forked first, stays worker 0 after later ones folded
    expect(listed.get(TRAINER + 10)).toBe(0);
    expect(Math.max(...listed.values())).toBe(Math.max(...all.values()));
  });

  it("says what it folded, in the text report and through the schema", () => {
    const { report } = run(2, 40, 12).final;
    const f = report.folded;
    expect(f.processes).toBeGreaterThan(0);
    const text = statText(report);
    expect(text).toContain(` Folded: ${f.processes} exited processes and ${f.threads} exited threads are not listed above`);
    for (const n of f.by_name) expect(text).toMatch(new RegExp(`\\n   ${n.comm} +${n.role} +${n.processes} +${n.threads} `));
    const json = reportToJson(report) as { folded: typeof f };
    expect(json.folded).toEqual(f);
    expect((decodeReport(encodeReport(report)) as { folded: typeof f }).folded).toEqual(f);
    // an interval report counts them but lists no names
    const interval = run(2, 40, 12).intervals.at(-1)!.report;
    expect(interval.folded.processes).toBeGreaterThan(0);
    expect(interval.folded.by_name).toEqual([]);
  });
});
