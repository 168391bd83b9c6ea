// The scheduler family in user space: seeds the filter, reads the maps,
// decodes the process lifecycle events.
import { readFileSync } from "node:fs";
import { native, type NativeBpfObject } from "../native/addon.js";
import { slotRecords, structDecoder, sumPerCpu, u32Key } from "./decode.js";
import type { AttachMode, LoadedFamily } from "./family.js";
import type { FamilyRequest } from "./family-set.js";
import { blankThread, type DropCounts, type NeighbourSample, type ThreadSample } from "../model/sample.js";

const BPF_ANY = 0;
const BPF_NOEXIST = 1;

/**
 * Map sizes below the defaults of probes/sched.h, from hidden environment
 * variables read once before load: the tests of the overflow paths (a full
 * ring, no free slot, a full target map) reach them with a few hundred tasks
 * instead of tens of thousands. Never larger than the defaults: the other
 * families' per-slot arrays are sized for MLT_MAX_THREADS.
 */
function shrunkMaps(defaults: { threads: number; targets: number; ringBytes: number }): { name: string; entries: number }[] {
  const read = (variable: string, most: number, check: (n: number) => boolean, what: string) => {
    const value = process.env[variable];
    if (value === undefined || value === "") return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > most || !check(n)) throw new Error(`${variable} must be ${what} at most ${most}, not ${JSON.stringify(value)}`);
    return n;
  };
  const page = 4096;
  const threads = read("MLTRACE_MAX_THREADS", defaults.threads, () => true, "a whole number");
  const targets = read("MLTRACE_MAX_TARGETS", defaults.targets, () => true, "a whole number");
  // libbpf and the kernel want a ring of a power of two pages
  const ring = read("MLTRACE_RING_BYTES", defaults.ringBytes, (n) => n >= page && (n & (n - 1)) === 0, "a power of two of at least 4096,");
  return [
    ...(threads ? [{ name: "records", entries: threads }, { name: "free_slots", entries: threads }] : []),
    ...(targets ? [{ name: "targets", entries: targets }] : []),
    ...(ring ? [{ name: "events", entries: ring }] : []),
  ];
}

/** Highest tid + 1 the kernel hands out: the size of the tid-indexed filter. */
function pidMax(): number {
  try {
    return Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim()) || 4194304;
  } catch {
    return 4194304; // PID_MAX_LIMIT on 64-bit
  }
}

const threadSpec = {
  tid: "u32",
  tgid: "u32",
  comm: "str",
  start_ns: "u64",
  proc_start_ns: "u64",
  oncpu_ns: "u64",
  runq_wait_ns: "u64",
  sleep_ns: "u64",
  iowait_ns: "u64",
  switches_voluntary: "u64",
  switches_involuntary: "u64",
  wakeups: "u64",
  migrations: "u64",
  faults_minor: "u64",
  faults_major: "u64",
  io_wait_ns: "u64",
  runq_hist: "u64[]",
  offcpu_hist: "u64[]",
  phase: "u32",
} as const;

const neighbourSpec = { count: "u64", comm: "str" } as const;
const eventSpec = { kind: "u32", pid: "u32", ppid: "u32", exit_code: "s32", ts_ns: "u64", proc_start_ns: "u64", comm: "str" } as const;

/** A thread as the collector reads it: the model's fields, plus the sched record's own. */
export type CollectedThread = ThreadSample & { tgid: number; phase: number; slot: number };

/** Every field present from the start, so every thread read has one shape (see src/model/sample.ts). */
function blankCollectedThread(): CollectedThread {
  // Added by name, not as `{ ...blankThread(), tgid: 0, ... }`: V8 builds
  // that literal by a slow path, tens of microseconds per thread.
  const t = blankThread() as CollectedThread;
  t.tgid = 0;
  t.phase = 0;
  t.slot = 0;
  return t;
}

export type ProcEventKind = "fork" | "exec" | "exit";

export interface ProcEvent {
  kind: ProcEventKind;
  pid: number;
  ppid: number;
  /** wait(2) status, for "exit" */
  status: number;
  /** with pid, names the process (probes/sched.h, mlt_proc_event) */
  procStartNs: number;
  tsNs: number;
  comm: string;
}

/** What the session asks of family.ts: required, and the owner of the shared tid filter. */
export const schedFamily: FamilyRequest = {
  name: "sched",
  optional: false,
  beforeLoad: (object) => {
    object.setMaxEntries("thread_slot", pidMax());
    const c = native().layouts.sched.constants;
    for (const { name, entries } of shrunkMaps({ threads: c.MAX_THREADS!, targets: c.MAX_TARGETS!, ringBytes: c.EVENTS_BYTES! })) {
      object.setMaxEntries(name, entries);
    }
  },
};

function u64Of(buf: Buffer): number {
  return Number(buf.readBigUInt64LE(0));
}

export class SchedProbes {
  readonly modes: Record<string, AttachMode>;
  private readonly object: NativeBpfObject;
  private readonly layouts = native().layouts.sched;
  private readonly constants = this.layouts.constants;
  private readonly threadDecoder = structDecoder("mlt_sched_thread", this.layouts.thread, threadSpec);
  private readonly neighbourDecoder = structDecoder("mlt_neighbour", this.layouts.neighbour, neighbourSpec);
  private readonly eventDecoder = structDecoder("mlt_proc_event", this.layouts.procEvent, eventSpec);
  private closed = false;
  private readonly flushes: (() => void)[] = [];

  private readonly recordStride: number;
  private readonly slotCount: number;
  /** threads found at attach that got no slot */
  private seedDrops = 0;
  /** processes found at attach that found the target map full */
  private seedTargetDrops = 0;

  /** `family`: loaded from `schedFamily`. */
  constructor(private readonly family: LoadedFamily) {
    this.object = family.object;
    this.modes = family.modes;
    const records = this.object.mapInfo("records");
    this.recordStride = records.valueStride;
    this.slotCount = records.maxEntries;
  }

  /** The loaded object, for families that share its `targets` map. */
  get bpfObject(): NativeBpfObject {
    return this.object;
  }

  /**
   * Puts a process found in /proc into the filter and returns its identity
   * (probes/sched.h): 0, or the kernel's own if the fork handler added it
   * first (it was forked after its parent was in the filter). Undefined when
   * the target map is full: a loss, counted.
   */
  addTarget(tgid: number): number | undefined {
    const key = u32Key(tgid);
    const existing = this.object.mapLookup("targets", key);
    if (existing) return u64Of(existing);
    try {
      this.object.mapUpdate("targets", key, Buffer.alloc(8), BPF_NOEXIST);
    } catch (err) {
      // EEXIST: the kernel added it since the lookup (its value wins below)
      if ((err as { code?: string }).code !== "EEXIST") {
        this.seedTargetDrops++;
        return undefined;
      }
    }
    const value = this.object.mapLookup("targets", key);
    return value ? u64Of(value) : undefined;
  }

  /** The identity the kernel's filter holds for a pid, undefined if the pid is not a target (any more). */
  targetIdentity(tgid: number): number | undefined {
    const value = this.object.mapLookup("targets", u32Key(tgid));
    return value ? u64Of(value) : undefined;
  }

  /**
   * Seeds a thread that existed before attach; one forked later is added by
   * the kernel. (Should the kernel add it between our check and our write,
   * the slot it took is never read: a leak of one slot, not a double count.)
   *
   * `fromBirth`: count everything the thread did since it was created (a
   * command we launched, held before exec), not just what follows attach.
   */
  addThread(tid: number, tgid: number, procStartNs: number, comm: string, fromBirth = false): void {
    if ((this.object.mapLookup("thread_slot", u32Key(tid))?.readUInt32LE(0) ?? 0) !== 0) return;
    const slot = this.takeSlot();
    if (!slot) {
      this.seedDrops++; // no free slot: a loss, reported with the kernel's own
      return;
    }
    const value = Buffer.alloc(this.threadDecoder.size);
    const fields = this.layouts.thread.fields;
    value.writeUInt32LE(tid, fields.tid![0]);
    value.writeUInt32LE(tgid, fields.tgid![0]);
    value.writeBigUInt64LE(BigInt(procStartNs), fields.proc_start_ns![0]);
    value.write(comm.slice(0, this.constants.COMM_LEN! - 1), fields.comm![0], "utf8");
    // A zero baseline is the thread's own counters at creation.
    if (fromBirth) value.writeUInt32LE(this.constants.THREAD_BASELINE!, fields.flags![0]);
    this.object.mapUpdate("records", slot, value, BPF_ANY);
    this.object.mapUpdate("thread_slot", u32Key(tid), u32Key(slot.readUInt32LE(0) + 1), BPF_ANY);
  }

  /** A slot as the fork handler takes one (probes/sched.bpf.c take_slot): given back, else fresh. */
  private takeSlot(): Buffer | null {
    const given = this.object.queuePop("free_slots");
    if (given) return given;
    const fresh = this.object.mapFetchAdd("fresh_slots");
    return fresh < this.slotCount ? u32Key(fresh) : null;
  }

  /**
   * Every traced thread's counters, read through the mmap()ed records: the
   * slots in use (found in place by their tid), then only those copied.
   * threads[i] is the record of slots[i]; other families' records of the
   * same slots are written into these objects (session.ts).
   */
  readThreads(): { slots: Uint32Array; threads: CollectedThread[] } {
    const slots = this.object.mapUsedSlots("records", this.layouts.thread.fields.tid![0]);
    const recordInto = slotRecords(this.object, "records", slots, this.recordStride, this.threadDecoder);
    const dead = this.constants.PHASE_DEAD;
    const threads: CollectedThread[] = [];
    for (let i = 0; i < slots.length; i++) {
      const t = recordInto(i, blankCollectedThread());
      t.pid = t.tgid;
      t.exited = t.phase === dead;
      t.slot = slots[i]!;
      threads.push(t);
    }
    return { slots, threads };
  }

  /**
   * Frees a dead thread's slot once user space holds its final counters.
   * `clearOthers` zeroes other families' records of that slot first, so the
   * next thread to get it starts from zero everywhere.
   */
  forgetThread(slot: number, clearOthers: (slot: number) => void = () => {}): void {
    this.object.mapUpdate("records", u32Key(slot), Buffer.alloc(this.threadDecoder.size), BPF_ANY);
    clearOthers(slot);
    this.object.queuePush("free_slots", u32Key(slot));
  }

  readNeighbours(): NeighbourSample[] {
    const dump = this.object.mapDump("neighbours");
    const size = this.neighbourDecoder.size;
    const out: NeighbourSample[] = [];
    for (let i = 0; i < dump.count; i++) {
      const n = this.neighbourDecoder.decode(dump.values, i * size);
      out.push({ pid: dump.keys.readUInt32LE(i * 4), comm: n.comm, count: n.count });
    }
    return out;
  }

  readDrops(): DropCounts {
    const stride = this.object.mapInfo("counters").valueStride;
    const read = (index: number) => sumPerCpu(this.object.mapLookup("counters", u32Key(index)) ?? Buffer.alloc(0), stride);
    return {
      events_dropped: read(this.constants.CTR_EVENTS_DROPPED!),
      threads_dropped: read(this.constants.CTR_THREADS_DROPPED!) + this.seedDrops,
      targets_dropped: read(this.constants.CTR_TARGETS_DROPPED!) + this.seedTargetDrops,
      neighbours_dropped: read(this.constants.CTR_NEIGHBOURS_DROPPED!),
    };
  }

  /** Starts the poll thread; `onEvent` runs on the main thread, in order. */
  onProcessEvents(onEvent: (event: ProcEvent) => void, onError: (message: string) => void): void {
    const c = this.constants;
    const kinds = new Map<number, ProcEventKind>([
      [c.EV_FORK!, "fork"],
      [c.EV_EXEC!, "exec"],
      [c.EV_EXIT!, "exit"],
    ]);
    this.object.pollRing(
      "events",
      (batch) => {
        if (batch.byteLength === 0) {
          // a flush's marker: every record before it has been delivered
          for (const done of this.flushes.splice(0)) done();
          return;
        }
        const buf = Buffer.from(batch);
        for (let at = 0; at + 8 <= buf.length; ) {
          const size = buf.readUInt32LE(at);
          const e = this.eventDecoder.decode(buf, at + 8);
          const kind = kinds.get(e.kind);
          if (kind) onEvent({ kind, pid: e.pid, ppid: e.ppid, status: e.exit_code, tsNs: e.ts_ns, procStartNs: e.proc_start_ns, comm: e.comm });
          at += 8 + Math.ceil(size / 8) * 8;
        }
      },
      (message) => onError(message),
    );
  }

  /** Resolves once every ring record written before the call has been handed to onProcessEvents' callback. */
  flushEvents(): Promise<void> {
    return new Promise((resolve) => {
      this.flushes.push(resolve);
      this.object.flushRing();
    });
  }

  close(): void {
    if (this.closed) return;
    for (const done of this.flushes.splice(0)) done();
    this.closed = true;
    this.family.close();
  }
}
