// The faults family in user space: loads its programs on the scheduler's
// thread slots, attaches the major-fault program to every CPU, reads records.
import { native, type NativeBpfObject } from "../native/addon.js";
import { clearSlot, slotRecords, structDecoder } from "./decode.js";
import type { AttachMode, LoadedFamily } from "./family.js";
import type { FamilyRequest } from "./family-set.js";
import { onlineCpuList } from "./host.js";
import type { FaultCounters, FaultFileSample, FaultFilesSample } from "../model/sample.js";
import { MappedFiles } from "./mapped-files.js";

// include/uapi/linux/perf_event.h
const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_PAGE_FAULTS_MAJ = 6;

const faultSpec = {
  exceptions_user: "u64",
  exceptions_kernel: "u64",
  major_file: "u64",
  major_anon: "u64",
  major_unclassified: "u64",
  major_user: "u64",
  major_kernel: "u64",
  major_latency_hist: "u64[]",
  reclaim_ns: "u64",
  reclaim_stalls: "u64",
} as const;

const fileKeySpec = { tgid: "u32", dev: "u32", ino: "u64" } as const;
const fileSpec = { major_faults: "u64", timed: "u64", latency_ns: "u64", name: "str" } as const;

/** What this family adds to a thread (totals come with the scheduler's record). */
export type FaultRecord = Omit<FaultCounters, "faults_minor" | "faults_major"> & { major_latency_hist: number[] };

/** What the session asks of family.ts: optional, on the scheduler's thread slots. */
export const faultsFamily: FamilyRequest = { name: "faults", optional: true, reuse: ["thread_slot"] };

export class FaultProbes {
  readonly modes: Record<string, AttachMode>;
  private readonly object: NativeBpfObject;
  private readonly decoder = structDecoder("mlt_fault_thread", native().layouts.faults.thread, faultSpec);
  private readonly stride: number;
  private readonly fileKey = structDecoder("mlt_fault_file_key", native().layouts.faults.fileKey, fileKeySpec);
  private readonly file = structDecoder("mlt_fault_file", native().layouts.faults.file, fileSpec);
  private readonly paths = new MappedFiles();
  /** files of processes that have exited: taken out of the kernel's table (it is bounded), kept here */
  private readonly retired: FaultFileSample[] = [];

  /** `family`: loaded from `faultsFamily`, on the scheduler's thread slots. */
  constructor(private readonly family: LoadedFamily) {
    this.object = family.object;
    this.modes = { ...family.modes };
    try {
      for (const cpu of onlineCpuList()) {
        this.object.attachPerfEvent("mlt_major_fault", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, cpu);
      }
    } catch (err) {
      // the CPUs attached so far; the session then gives the family up
      this.object.detach("mlt_major_fault");
      throw err;
    }
    this.modes.major_fault = "perf_event" as AttachMode;
    this.stride = this.object.mapInfo("fault_records").valueStride;
  }

  /** Records of the scheduler's slots in use: writes that of `slots[index]` into a thread. */
  readSlots(slots: Uint32Array): <T extends FaultRecord>(index: number, into: T) => T {
    return slotRecords(this.object, "fault_records", slots, this.stride, this.decoder);
  }

  /**
   * Major faults per process and file. Entries of processes that have
   * exited (they fault no more) move from the kernel's table to here, so
   * the table holds only live processes' files.
   */
  readFiles(exited: (pid: number) => boolean, livePids: () => number[]): FaultFilesSample {
    const dump = this.object.mapDump("fault_files");
    const live: FaultFileSample[] = [];
    for (let i = 0; i < dump.count; i++) {
      const key = this.fileKey.decode(dump.keys, i * this.fileKey.size);
      const value = this.file.decode(dump.values, i * this.file.size);
      const gone = exited(key.tgid);
      const entry: FaultFileSample = {
        pid: key.tgid,
        dev: key.dev,
        ino: key.ino,
        // The process's own maps first, then any live target process's; else only the kernel's name of the file is left.
        path: this.paths.path(key.dev, key.ino, gone ? livePids() : [key.tgid]) ?? value.name,
        major_faults: value.major_faults,
        timed: value.timed,
        latency_ns: value.latency_ns,
      };
      if (gone) {
        this.retired.push(entry);
        this.object.mapDelete("fault_files", dump.keys.subarray(i * this.fileKey.size, (i + 1) * this.fileKey.size));
      } else {
        live.push(entry);
      }
    }
    const drops = this.object.mapLookup("fault_file_drops", Buffer.alloc(4));
    return { files: [...this.retired, ...live], dropped: drops ? Number(drops.readBigUInt64LE(0)) : 0 };
  }

  /** Zeroes a slot before the scheduler family hands it to a new thread. */
  clear(slot: number): void {
    clearSlot(this.object, "fault_records", this.decoder.size, slot);
  }

  close(): void {
    this.object.detach("mlt_major_fault");
    this.family.close();
  }
}
