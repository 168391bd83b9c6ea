// One tracing session: attach, target a process tree (an existing PID or a
// launched command), read cumulative samples, notice the target's end.
import type { ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { basename } from "node:path";
import { UserError } from "../errors.js";
import { threadKey, type CpuLimits, type MemoryLimitSample, type RootProcessSample, type NumaSample, type ProcessSample, type Sample, type ThreadSample } from "../model/sample.js";
import type { TargetInfo } from "../model/report.js";
import { launchGated, resolveCommand, type GatedChild } from "./launch.js";
import { CpuLimitsReader } from "./limits.js";
import { readThpEnabled, RootProcessReader } from "./root-process.js";
import { readMemoryLimit } from "./cgroup-memory.js";
import { checkPrivileges } from "./privileges.js";
import { listThreads, processTree, readCmdline, readProcStat } from "./proc.js";
import type { LoadedFamily } from "./family.js";
import { startFamilies, type FamilyRequest } from "./family-set.js";
import { SchedProbes, schedFamily } from "./sched-probes.js";
import { FaultProbes, faultsFamily } from "./faults-probes.js";
import { IoProbes, ioFamily } from "./io-probes.js";
import { NumaProbes, numaFamily } from "./numa-probes.js";
import { readProcessNodeMemory, readTopology } from "./numa-topology.js";
import { numaNodes } from "./host.js";
import { startup } from "../phases.js";

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

/** What the user is told when an optional family is not there. */
const UNAVAILABLE: Record<string, (reason: string) => string> = {
  faults: (reason) => `page-fault details unavailable (${reason}); fault totals still counted`,
  io: (reason) => `block I/O unavailable (${reason})`,
  numa: (reason) => `NUMA placement unavailable (${reason})`,
};

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
  private readonly child?: ChildProcess;
  private endTarget!: (end: TargetEnd) => void;
  private failTarget!: (err: Error) => void;
  private closed = false;
  /** the root's last known limits: kept once it has exited */
  private cpuLimits?: CpuLimits;
  private readonly limitsReader = new CpuLimitsReader();
  private readonly rootReader = new RootProcessReader();
  /** the root's last reading: kept once it has exited */
  private rootProcess?: RootProcessSample;
  private readonly thpEnabled = readThpEnabled();
  /** the root's last known memory limit: kept once it has exited */
  private memoryLimit?: MemoryLimitSample;

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
    // One node: every allocation is local and no migration crosses a
    // node, so there is nothing to measure (MLTRACE_NUMA=on loads it anyway).
    const withNuma = numaNodes() > 1 || process.env.MLTRACE_NUMA === "on";
    const requests: FamilyRequest[] = [schedFamily, faultsFamily, ioFamily, ...(withNuma ? [numaFamily] : [])];
    startup.lap("checks");
    const loading = startFamilies(requests);
    // The command starts (held at its gate) while the probes load; should
    // tracing not start, it dies there without having run.
    let gated: GatedChild | undefined;
    let released = false;
    const abandon = () => {
      if (!released) gated?.child.kill("SIGKILL");
    };
    let loaded;
    try {
      if ("argv" in spec) {
        gated = launchGated(spec.argv);
        startup.lap("launch");
      }
    } finally {
      loaded = loading.finish();
    }
    if (loaded.separately !== null) {
      startup.lap("load per family");
      startup.remark(`each family loaded from its own object: ${loaded.separately}`);
    }
    const unavailable = (name: string, err: unknown) => options.warn?.(UNAVAILABLE[name]!((err as Error).message));
    for (const { name, error } of loaded.failures) unavailable(name, error);
    /** An optional family's user side; a failure there gives the family up, not the session. */
    const optional = <T>(name: string, make: (family: LoadedFamily) => T): T | undefined => {
      const family = loaded.families.get(name);
      if (!family) return undefined;
      try {
        return make(family);
      } catch (err) {
        family.close();
        unavailable(name, err);
        return undefined;
      }
    };
    try {
      this.probes = new SchedProbes(loaded.families.get("sched")!);
    } catch (err) {
      for (const family of loaded.families.values()) family.close();
      abandon();
      throw err;
    }
    try {
      this.faults = optional("faults", (family) => new FaultProbes(family));
      this.io = optional("io", (family) => new IoProbes(family));
      this.numa = optional("numa", (family) => new NumaProbes(family, readTopology()));
      this.probes.onProcessEvents(
        (event) => this.onProcessEvent(event),
        (message) => options.warn?.(message),
      );
      startup.lap("families");
      this.startedNs = monotonicNs();
      if ("pid" in spec) {
        this.target = { pid: spec.pid, comm: root!.comm, command: readCmdline(spec.pid) ?? root!.comm };
        this.takeZeros(spec.pid);
        this.adoptTree(spec.pid);
        if (!readProcStat(spec.pid)) this.endTarget({});
        startup.lap("/proc walk");
      } else {
        const gated_ = gated!;
        this.child = gated_.child;
        this.target = { pid: gated_.pid, comm: basename(spec.argv[0]!).slice(0, 15), command: spec.argv.join(" ") };
        this.probes.addTarget(gated_.pid);
        // Held at the gate, it has only run the shell that waits there:
        // count from its birth, as time(1) and getrusage do.
        this.probes.addThread(gated_.pid, gated_.pid, this.target.comm, true);
        this.processes.set(gated_.pid, { pid: gated_.pid, ppid: process.pid, comm: this.target.comm, exited: false });
        gated_.child.once("error", (err) => this.failTarget(err));
        gated_.child.once("exit", (code, signal) => {
          const status = code !== null ? (code & 0xff) << 8 : signalNumber(signal);
          this.markExited(gated_.pid, status);
          this.endTarget(code !== null ? { exit_code: code } : { exit_signal: signalNumber(signal) });
        });
        this.takeZeros(gated_.pid);
        gated_.release();
        released = true;
        startup.lap("seed");
      }
    } catch (err) {
      this.close();
      abandon();
      throw err;
    }
  }

  /** Counters that /proc and cgroupfs kept before attach start from their value now. */
  private takeZeros(pid: number): void {
    this.limitsReader.attach(pid);
    this.rootReader.read(pid);
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
    for (let i = 0; i < threads.length; i++) {
      const thread = threads[i]!;
      faultsInto?.(i, thread);
      ioInto?.(i, thread);
      numaInto?.(i, thread);
      if (thread.exited) {
        this.finished.set(threadKey(thread), thread);
        this.probes.forgetThread(thread.slot, (s) => {
          this.faults?.clear(s);
          this.io?.clear(s);
          this.numa?.clear(s);
        });
      } else {
        live.push(thread);
      }
    }
    this.cpuLimits = this.limitsReader.read(this.target.pid) ?? this.cpuLimits;
    this.rootProcess = this.rootReader.read(this.target.pid) ?? this.rootProcess;
    this.memoryLimit = readMemoryLimit(this.target.pid) ?? this.memoryLimit;
    return {
      time_ns,
      ...(this.cpuLimits ? { cpu_limits: { ...this.cpuLimits, ...(this.cpuLimits.cgroup ? { cgroup: { ...this.cpuLimits.cgroup } } : {}) } } : {}),
      ...(this.rootProcess ? { root_process: { ...this.rootProcess } } : {}),
      ...(this.thpEnabled ? { thp_enabled: this.thpEnabled } : {}),
      ...(this.memoryLimit ? { memory_limit: { ...this.memoryLimit } } : {}),
      // exited threads first, in the order they exited (a Map keeps insertion order)
      threads: [...this.finished.values(), ...live],
      exited_prefix: this.finished.size,
      processes: [...this.processes.values()].map((p) => ({ ...p })),
      neighbours: this.probes.readNeighbours(),
      drops: this.probes.readDrops(),
      devices: this.io?.readDevices() ?? [],
      ...(this.faults ? { fault_files: this.faults.readFiles(
              (pid) => this.processes.get(pid)?.exited ?? false,
              () => [...this.processes.values()].filter((p) => !p.exited).map((p) => p.pid),
            ) } : {}),
      numa_nodes: numaNodes(),
      ...(this.numa ? { numa: this.numaSample() } : {}),
      families: ["sched", ...(this.faults ? ["faults"] : []), ...(this.io ? ["io"] : []), ...(this.numa ? ["numa"] : [])],
    };
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
