// One tracing session: attach, target a process tree (an existing PID or a
// launched command), read cumulative samples, notice the target's end.
import type { ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { basename } from "node:path";
import { UserError } from "../errors.js";
import { threadKey, type CpuLimits, type FoldedTasks, type NumaSample, type ProcessSample, type Sample, type ThreadSample } from "../model/sample.js";
import { DEFAULT_FOLD_LIMIT, emptyFolded, exitedCounts, foldTasks, planFold } from "../model/fold.js";
import { ExitedRoles } from "../model/roles.js";
import type { TargetInfo } from "../model/report.js";
import { launchGated, resolveCommand } from "./launch.js";
import { readCpuLimits } from "./limits.js";
import { checkPrivileges } from "./privileges.js";
import { listThreads, processTree, readCmdline, readProcStat } from "./proc.js";
import { SchedProbes } from "./sched-probes.js";
import { FaultProbes } from "./faults-probes.js";
import { IoProbes } from "./io-probes.js";
import { NumaProbes } from "./numa-probes.js";
import { readProcessNodeMemory, readTopology } from "./numa-topology.js";
import { numaNodes } from "./host.js";

export type TargetSpec = { pid: number } | { argv: string[] };

export interface TargetEnd {
  exit_code?: number;
  exit_signal?: number;
}

export interface SessionOptions {
  /** called for things the user should know but that do not stop tracing */
  warn?: (message: string) => void;
}

const monotonicNs = () => Number(process.hrtime.bigint());

// After the target ends, its threads' final switch-outs may still be on their
// way (exit_notify() wakes the parent before do_task_dead()).
const SETTLE_POLL_MS = 10;
const SETTLE_LIMIT_MS = 500;

/** Exited threads or processes kept one by one; past it the oldest are folded (src/model/fold.ts). */
function foldLimit(): number {
  const n = Number(process.env.MLTRACE_FOLD_LIMIT);
  return Number.isInteger(n) && n >= 2 ? n : DEFAULT_FOLD_LIMIT;
}

export class TraceSession {
  readonly target: TargetInfo;
  readonly startedNs: number;
  /** Settles when the root process of the target exits. */
  readonly ended: Promise<TargetEnd>;
  private readonly probes: SchedProbes;
  /** Optional families: tracing goes on without one the kernel refuses. */
  private readonly faults?: FaultProbes;
  private readonly io?: IoProbes;
  private readonly numa?: NumaProbes;
  private readonly processes = new Map<number, ProcessSample>();
  private readonly finished = new Map<string, ThreadSample>();
  /** exited tasks no longer kept one by one; absent until the first fold */
  private folded?: FoldedTasks;
  private readonly foldLimit = foldLimit();
  private readonly exitedRoles = new ExitedRoles();
  /** the latest sample handed out: what a fold reads its tasks from */
  private lastSample?: Sample;
  private readonly child?: ChildProcess;
  private endTarget!: (end: TargetEnd) => void;
  private failTarget!: (err: Error) => void;
  private closed = false;
  /** the root's last known limits: kept once it has exited */
  private cpuLimits?: CpuLimits;

  constructor(spec: TargetSpec, options: SessionOptions = {}) {
    // Everything a user can get wrong is checked before touching the kernel.
    if ("argv" in spec) resolveCommand(spec.argv[0]!);
    const root = "pid" in spec ? readProcStat(spec.pid) : null;
    if ("pid" in spec && !root) throw new UserError(`no process with PID ${spec.pid}`);
    const privileges = checkPrivileges();
    if (privileges.problem) throw new UserError(privileges.problem, 77);

    this.ended = new Promise<TargetEnd>((resolve, reject) => {
      this.endTarget = resolve;
      this.failTarget = reject;
    });
    this.probes = new SchedProbes();
    try {
      try {
        this.faults = new FaultProbes(this.probes.bpfObject);
      } catch (err) {
        options.warn?.(`page-fault details unavailable (${(err as Error).message}); fault totals still counted`);
      }
      try {
        this.io = new IoProbes(this.probes.bpfObject);
      } catch (err) {
        options.warn?.(`block I/O unavailable (${(err as Error).message})`);
      }
      // One node: every allocation is local and no migration crosses a
      // node, so there is nothing to measure (MLTRACE_NUMA=on loads it anyway).
      if (numaNodes() > 1 || process.env.MLTRACE_NUMA === "on") {
        try {
          this.numa = new NumaProbes(this.probes.bpfObject, readTopology());
        } catch (err) {
          options.warn?.(`NUMA placement unavailable (${(err as Error).message})`);
        }
      }
      this.probes.onProcessEvents(
        (event) => this.onProcessEvent(event),
        (message) => options.warn?.(message),
      );
      this.startedNs = monotonicNs();
      if ("pid" in spec) {
        this.target = { pid: spec.pid, comm: root!.comm, command: readCmdline(spec.pid) ?? root!.comm };
        this.adoptTree(spec.pid);
        if (!readProcStat(spec.pid)) this.endTarget({});
      } else {
        const gated = launchGated(spec.argv);
        this.child = gated.child;
        this.target = { pid: gated.pid, comm: basename(spec.argv[0]!).slice(0, 15), command: spec.argv.join(" ") };
        this.probes.addTarget(gated.pid);
        // Held at the gate, it has only run the shell that waits there:
        // count from its birth, as time(1) and getrusage do.
        this.probes.addThread(gated.pid, gated.pid, this.target.comm, true);
        this.processes.set(gated.pid, { pid: gated.pid, ppid: process.pid, comm: this.target.comm, exited: false });
        gated.child.once("error", (err) => this.failTarget(err));
        gated.child.once("exit", (code, signal) => {
          const status = code !== null ? (code & 0xff) << 8 : signalNumber(signal);
          this.markExited(gated.pid, status);
          this.endTarget(code !== null ? { exit_code: code } : { exit_signal: signalNumber(signal) });
        });
        gated.release();
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The launched command's process, if any (to forward signals to). */
  get launched(): ChildProcess | undefined {
    return this.child;
  }

  get attachModes(): Record<string, string> {
    return { ...this.probes.modes, ...this.faults?.modes, ...this.io?.modes, ...this.numa?.modes };
  }

  /**
   * Puts every process of the tree into the kernel filter, then their
   * threads. Anything forked after its parent is in the filter is followed by
   * the kernel, so rescanning until nothing new appears closes the race.
   */
  private adoptTree(root: number): void {
    for (let pass = 0; pass < 5; pass++) {
      const fresh = processTree(root).filter((p) => !this.processes.has(p.pid));
      if (fresh.length === 0) break;
      for (const p of fresh) {
        this.probes.addTarget(p.pid);
        this.processes.set(p.pid, { pid: p.pid, ppid: p.ppid, comm: p.comm, exited: false });
      }
      for (const p of fresh) {
        for (const tid of listThreads(p.pid)) {
          const stat = readProcStat(p.pid, tid);
          if (stat) this.probes.addThread(tid, p.pid, stat.comm);
        }
      }
    }
  }

  private onProcessEvent(event: { kind: string; pid: number; ppid: number; status: number; comm: string }): void {
    const known = this.processes.get(event.pid);
    if (event.kind === "fork") {
      this.processes.set(event.pid, { pid: event.pid, ppid: event.ppid, comm: event.comm, exited: false });
    } else if (event.kind === "exec" && known) {
      known.comm = event.comm;
    } else if (event.kind === "exit") {
      this.markExited(event.pid, event.status);
      if (event.pid === this.target.pid && !this.child) this.endTarget(decodeStatus(event.status));
    }
  }

  private markExited(pid: number, status: number): void {
    const p = this.processes.get(pid);
    if (!p) return;
    p.exited = true;
    p.exit_status ??= status;
  }

  /** Reads every map once; dead threads move from the kernel to here. */
  sample(): Sample {
    this.foldExited();
    const time_ns = monotonicNs();
    const { slots, threads } = this.probes.readThreads();
    // The other families' counters are written into the same objects (no
    // copy: this runs for every live thread every interval); a family not
    // loaded leaves its fields at zero. slot, phase and tgid stay on the
    // object, unused by the model.
    const faultsInto = this.faults?.readSlots(slots);
    const ioInto = this.io?.readSlots(slots);
    const numaInto = this.numa?.readSlots(slots);
    const live: ThreadSample[] = [];
    const exitedNow: ThreadSample[] = [];
    for (let i = 0; i < threads.length; i++) {
      const thread = threads[i]!;
      faultsInto?.(i, thread);
      ioInto?.(i, thread);
      numaInto?.(i, thread);
      if (thread.exited) {
        this.finished.set(threadKey(thread), thread);
        exitedNow.push(thread);
        this.probes.forgetThread(thread.slot, (s) => {
          this.faults?.clear(s);
          this.io?.clear(s);
          this.numa?.clear(s);
        });
      } else {
        live.push(thread);
      }
    }
    this.cpuLimits = readCpuLimits(this.target.pid) ?? this.cpuLimits;
    const sample: Sample = {
      time_ns,
      ...(this.cpuLimits ? { cpu_limits: { ...this.cpuLimits } } : {}),
      // exited threads first, in the order they exited (a Map keeps insertion order)
      threads: [...this.finished.values(), ...live],
      exited_prefix: this.finished.size,
      processes: [...this.processes.values()].map((p) => ({ ...p })),
      neighbours: this.probes.readNeighbours(),
      drops: this.probes.readDrops(),
      devices: this.io?.readDevices() ?? [],
      numa_nodes: numaNodes(),
      ...(this.numa ? { numa: this.numaSample() } : {}),
      families: ["sched", ...(this.faults ? ["faults"] : []), ...(this.io ? ["io"] : []), ...(this.numa ? ["numa"] : [])],
      ...(this.folded ? { folded: this.folded } : {}),
    };
    // Roles of exited threads are settled here, in the sample where they
    // and their process first appear exited, whoever reads the samples (roles.ts).
    this.exitedRoles.label(sample, this.target.pid, exitedNow);
    this.lastSample = sample;
    return sample;
  }

  /**
   * Past the limit, folds the oldest exited tasks of the previous sample:
   * every report between that sample and a later one has nothing more to
   * say about them, and a whole-session report reads their totals.
   */
  private foldExited(): void {
    const last = this.lastSample;
    if (last === undefined) return;
    const exited = exitedCounts(last);
    if (exited.threads <= this.foldLimit && exited.processes <= this.foldLimit) return;
    // A tenth at a time: the kept tasks (and the memory they hold) stay near
    // the limit instead of swinging between half of it and all of it.
    const plan = planFold(last, this.target.pid, this.foldLimit - Math.max(1, Math.floor(this.foldLimit / 10)));
    this.folded ??= emptyFolded();
    const foldedBefore = this.folded.workers;
    const { workersBefore, workers } = foldTasks(this.folded, last, this.target.pid, this.startedNs, plan);
    for (const t of plan.threads) this.finished.delete(threadKey(t));
    for (const pid of plan.processes) this.processes.delete(pid);
    if (workers === 0) return;
    // processes learnt of since that sample were forked after every folded one
    for (const p of this.processes.values()) p.folded_workers_before = (p.folded_workers_before ?? foldedBefore) + (workersBefore.get(p.pid) ?? workers);
  }

  private numaSample(): NumaSample {
    const nodes = readTopology();
    const count = Math.max(1, ...nodes.map((n) => n.node + 1));
    const process_memory = [...this.processes.values()]
      .filter((p) => !p.exited)
      .flatMap((p) => {
        const bytes = readProcessNodeMemory(p.pid, count);
        return bytes ? [{ pid: p.pid, bytes }] : [];
      });
    return { nodes, matrix_nodes: this.numa!.matrixNodes, process_memory };
  }

  /** The last sample, once threads of exited processes have switched out for good. */
  async finalSample(): Promise<Sample> {
    const deadline = Date.now() + SETTLE_LIMIT_MS;
    for (;;) {
      const sample = this.sample();
      const exited = new Set(sample.processes.filter((p) => p.exited).map((p) => p.pid));
      const settling = sample.threads.some((t) => !t.exited && exited.has(t.pid));
      if (!settling || Date.now() >= deadline) return sample;
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.faults?.close();
    this.io?.close();
    this.numa?.close();
    this.probes?.close();
  }
}

function decodeStatus(status: number): TargetEnd {
  const signal = status & 0x7f;
  return signal === 0 ? { exit_code: (status >> 8) & 0xff } : { exit_signal: signal };
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (constants.signals[signal] ?? 0) : 0;
}
