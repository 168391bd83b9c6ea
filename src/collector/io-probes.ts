// The block I/O family in user space: loads its programs on the scheduler's
// thread slots, reads per-thread records and per-device totals.
import { native, type NativeBpfObject } from "../native/addon.js";
import { clearSlot, slotRecords, structDecoder } from "./decode.js";
import type { AttachMode, LoadedFamily } from "./family.js";
import type { FamilyRequest } from "./family-set.js";
import type { IoCounters, IoDeviceSample } from "../model/sample.js";

const threadSpec = {
  read_ops: "u64",
  read_bytes: "u64",
  write_ops: "u64",
  write_bytes: "u64",
  pagecache_misses: "u64",
  queue_hist: "u64[]",
  device_hist: "u64[]",
} as const;

const deviceSpec = { read_ops: "u64", read_bytes: "u64", write_ops: "u64", write_bytes: "u64", name: "str" } as const;

export type IoRecord = IoCounters & { queue_hist: number[]; device_hist: number[] };

/** What the session asks of family.ts: optional, on the scheduler's thread slots. */
export const ioFamily: FamilyRequest = { name: "io", optional: true, reuse: ["thread_slot"] };

export class IoProbes {
  readonly modes: Record<string, AttachMode>;
  private readonly object: NativeBpfObject;
  private readonly threadDecoder = structDecoder("mlt_io_thread", native().layouts.io.thread, threadSpec);
  private readonly deviceDecoder = structDecoder("mlt_io_device", native().layouts.io.device, deviceSpec);
  private readonly stride: number;

  /** `family`: loaded from `ioFamily`, on the scheduler's thread slots. */
  constructor(private readonly family: LoadedFamily) {
    this.object = family.object;
    this.modes = family.modes;
    this.stride = this.object.mapInfo("io_records").valueStride;
  }

  /** Records of the scheduler's slots in use: writes that of `slots[index]` into a thread. */
  readSlots(slots: Uint32Array): <T extends IoRecord>(index: number, into: T) => T {
    return slotRecords(this.object, "io_records", slots, this.stride, this.threadDecoder);
  }

  readDevices(): IoDeviceSample[] {
    const dump = this.object.mapDump("devices");
    const out: IoDeviceSample[] = [];
    for (let i = 0; i < dump.count; i++) {
      const dev = dump.keys.readUInt32LE(i * 4);
      const d = this.deviceDecoder.decode(dump.values, i * this.deviceDecoder.size);
      out.push({ ...d, major: dev >>> 20, minor: dev & 0xfffff });
    }
    return out;
  }

  /** Zeroes a slot before the scheduler family hands it to a new thread. */
  clear(slot: number): void {
    clearSlot(this.object, "io_records", this.threadDecoder.size, slot);
  }

  close(): void {
    this.family.close();
  }
}
