// The faults family in user space: loads its programs on the scheduler's
// thread slots, attaches the major-fault program to every CPU, reads records.
import { native, type NativeBpfObject } from "../native/addon.js";
import { clearSlot, slotRecords, structDecoder } from "./decode.js";
import { loadFamily, type AttachMode } from "./family.js";
import { onlineCpuList } from "./host.js";
import type { FaultCounters } from "../model/sample.js";

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
} as const;

/** What this family adds to a thread (totals come with the scheduler's record). */
export type FaultRecord = Omit<FaultCounters, "faults_minor" | "faults_major"> & { major_latency_hist: number[] };

export class FaultProbes {
  readonly modes: Record<string, AttachMode>;
  private readonly object: NativeBpfObject;
  private readonly decoder = structDecoder("mlt_fault_thread", native().layouts.faults.thread, faultSpec);
  private readonly stride: number;

  /** `sched`: the loaded scheduler family, whose thread slots we share. */
  constructor(sched: NativeBpfObject, mode?: AttachMode) {
    const family = loadFamily("faults", { mode, reuse: [{ map: "thread_slot", from: sched }] });
    this.object = family.object;
    this.modes = family.modes;
    try {
      for (const cpu of onlineCpuList()) {
        this.object.attachPerfEvent("mlt_major_fault", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, cpu);
      }
    } catch (err) {
      this.object.close();
      throw err;
    }
    this.modes.major_fault = "perf_event" as AttachMode;
    this.stride = this.object.mapInfo("fault_records").valueStride;
  }

  /** Records of the scheduler's slots in use: writes that of `slots[index]` into a thread. */
  readSlots(slots: Uint32Array): <T extends FaultRecord>(index: number, into: T) => T {
    return slotRecords(this.object, "fault_records", slots, this.stride, this.decoder);
  }

  /** Zeroes a slot before the scheduler family hands it to a new thread. */
  clear(slot: number): void {
    clearSlot(this.object, "fault_records", this.decoder.size, slot);
  }

  close(): void {
    this.object.close();
  }
}
