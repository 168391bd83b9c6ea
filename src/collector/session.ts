// One tracing session: attach, target a process tree (an existing PID or a
// launched command), read cumulative samples, notice the target's end.
import type { ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { basename } from "node:path";
import { UserError } from "../errors.js";
import { processKey, threadKey, threadProcessKey, type CpuLimits, type FaultFilesSample, type MemoryLimitSample, type RootProcessSample, type NumaSample, type ProcessSample, type Sample, type ThreadSample } from "../model/sample.js";
import { decodeWaitStatus, encodeWaitStatus } from "../model/wait-status.js";
import type { TargetInfo } from "../model/report.js";
import { launchGated, resolveCommand, type GatedChild } from "./launch.js";
import { CpuLimitsReader } from "./limits.js";
import { readThpEnabled, RootProcessReader } from "./root-process.js";
import { readMemoryLimit } from "./cgroup-memory.js";
import { checkPrivileges } from "./privileges.js";
import { listThreads, processTree, readCmdline, readProcStat } from "./proc.js";
import type { LoadedFamily } from "./family.js";
import { startFamilies, type FamilyRequest } from "./family-set.js";
import { SchedProbes, schedFamily, type ProcEvent } from "./sched-probes.js";
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
// Exits whose process is unknown wait for its threads' records at most this many at once (a bound, not a limit ever met: each is matched at the next sample).
const MAX_UNMATCHED_EXITS = 65536;

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
  /** by processKey: a reused pid is another entry */
  private readonly processes = new Map<string, ProcessSample>();
  /** the root's key (it predates the session or was launched by us: start 0) */
  private rootKey = "";
  private readonly finished = new Map<string, ThreadSample>();
  /** exit statuses of processes not yet listed (their fork record was lost), by processKey */
  private readonly unmatchedExits = new Map<string, number>();
  /** pids adoptTree has put in the filter (or tried to) */
  private readonly adopted = new Set<number>();
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
        // For the test of a death at the gate (test/ebpf/kill-loop.test.ts): the command is spawned, not released.
        if (process.env.MLTRACE_INJECT_FAULT === "die-at-gate") process.kill(process.pid, "SIGKILL");
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
        this.rootKey = processKey(spec.pid, 0);
        this.takeZeros(spec.pid);
        this.adoptTree(spec.pid);
        if (!readProcStat(spec.pid)) this.endTarget({});
        startup.lap("/proc walk");
      } else {
        const gated_ = gated!;
        this.child = gated_.child;
        this.target = { pid: gated_.pid, comm: basename(spec.argv[0]!).slice(0, 15), command: spec.argv.join(" ") };
        const identity = this.probes.addTarget(gated_.pid) ?? 0;
        this.rootKey = processKey(gated_.pid, identity);
        // Held at the gate, it has only run the shell that waits there:
        // count from its birth, as time(1) and getrusage do.
        this.probes.addThread(gated_.pid, gated_.pid, identity, this.target.comm, true);
        this.processes.set(this.rootKey, { pid: gated_.pid, start_ns: identity, ppid: process.pid, comm: this.target.comm, exited: false });
        gated_.child.once("error", (err) => this.failTarget(err));
        gated_.child.once("exit", (code, signal) => {
          const end = code !== null ? { exit_code: code } : { exit_signal: signalNumber(signal) };
          this.markExited(this.rootKey, encodeWaitStatus(end));
          this.endTarget(end);
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
      const fresh = processTree(root).filter((p) => !this.adopted.has(p.pid));
      if (fresh.length === 0) break;
      const identities = new Map<number, number>();
      for (const p of fresh) {
        this.adopted.add(p.pid);
        const identity = this.probes.addTarget(p.pid);
        if (identity === undefined) continue; // the target map is full: counted as a loss
        identities.set(p.pid, identity);
        this.processes.set(processKey(p.pid, identity), { pid: p.pid, start_ns: identity, ppid: p.ppid, comm: p.comm, exited: false });
      }
      for (const [pid, identity] of identities) {
        for (const tid of listThreads(pid)) {
          const stat = readProcStat(pid, tid);
          if (stat) this.probes.addThread(tid, pid, identity, stat.comm);
        }
      }
    }
  }

  private onProcessEvent(event: ProcEvent): void {
    const key = processKey(event.pid, event.procStartNs);
    const known = this.processes.get(key);
    if (event.kind === "fork") {
      if (known) {
        // a sample met its threads before this record came: it knows better
        known.ppid = event.ppid;
        if (!known.exited) known.comm = event.comm;
      } else {
        this.processes.set(key, { pid: event.pid, start_ns: event.procStartNs, ppid: event.ppid, comm: event.comm, exited: false });
      }
    } else if (event.kind === "exec" && known) {
      known.comm = event.comm;
    } else if (event.kind === "exit") {
      this.markExited(key, event.status);
      if (key === this.rootKey && !this.child) this.endTarget(decodeWaitStatus(event.status));
    }
  }

  private markExited(key: string, status: number | undefined): void {
    const p = this.processes.get(key);
    if (!p) {
      // its fork record was lost: the process is listed from its threads at the next sample
      if (status !== undefined && this.unmatchedExits.size < MAX_UNMATCHED_EXITS) this.unmatchedExits.set(key, status);
      return;
    }
    p.exited = true;
    if (status !== undefined) p.exit_status ??= status;
  }

  /**
   * What the ring could not say, from the kernel's maps. A thread whose
   * process has no entry: the fork record is late (it is on its way) or was
   * lost; the process is listed from its threads, its parent unknown (0)
   * until a fork record says otherwise. Once records were lost, a process
   * with no live thread whose pid left the kernel's filter (or is there
   * under another identity) has exited, its status unknown.
   */
  private reconcile(read: readonly ThreadSample[], live: readonly ThreadSample[], eventsLost: number): void {
    for (const t of read) {
      const key = threadProcessKey(t);
      if (this.processes.has(key)) continue;
      const leader = read.find((u) => u.tid === t.pid && u.proc_start_ns === t.proc_start_ns);
      this.processes.set(key, { pid: t.pid, start_ns: t.proc_start_ns, ppid: 0, comm: (leader ?? t).comm, exited: false });
      const status = this.unmatchedExits.get(key);
      if (status !== undefined) {
        this.unmatchedExits.delete(key);
        this.markExited(key, status);
      }
    }
    if (eventsLost === 0) return;
    const running = new Set<string>();
    for (const t of live) running.add(threadProcessKey(t));
    for (const [key, p] of this.processes) {
      if (p.exited || running.has(key) || this.probes.targetIdentity(p.pid) === p.start_ns) continue;
      this.markExited(key, undefined);
      if (key === this.rootKey && !this.child) this.endTarget({});
    }
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
    const drops = this.probes.readDrops();
    this.reconcile(threads, live, drops.events_dropped);
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
      drops,
      devices: this.io?.readDevices() ?? [],
      ...(this.faults ? { fault_files: this.faultFiles() } : {}),
      numa_nodes: numaNodes(),
      ...(this.numa ? { numa: this.numaSample() } : {}),
      families: ["sched", ...(this.faults ? ["faults"] : []), ...(this.io ? ["io"] : []), ...(this.numa ? ["numa"] : [])],
    };
  }

  /**
   * Per-file major faults. A pid has exited (its entries leave the kernel's
   * table) once a process of that pid is known to have exited and none
   * lives; a pid not known yet (its fork record still on its way) stays.
   */
  private faultFiles(): FaultFilesSample {
    const live = new Set<number>();
    const exited = new Set<number>();
    for (const p of this.processes.values()) (p.exited ? exited : live).add(p.pid);
    return this.faults!.readFiles((pid) => exited.has(pid) && !live.has(pid), () => [...live]);
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
    // The ring's last records (forks and exits of the final moments) may
    // still be on their way: take them in before the last read. Bounded, in
    // case the poll thread has failed (its error was reported).
    await Promise.race([this.probes.flushEvents(), new Promise((r) => setTimeout(r, SETTLE_LIMIT_MS))]);
    for (;;) {
      const sample = this.sample();
      const exited = new Set(sample.processes.filter((p) => p.exited).map((p) => processKey(p.pid, p.start_ns)));
      const settling = sample.threads.some((t) => !t.exited && exited.has(threadProcessKey(t)));
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

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (constants.signals[signal] ?? 0) : 0;
}
