// The NUMA family in user space: loads its programs on the scheduler's
// thread slots, tells the kernel which node each CPU is on, reads records.
import { native, type NativeBpfObject } from "../native/addon.js";
import { clearSlot, slotRecords, structDecoder, u32Key } from "./decode.js";
import type { AttachMode, LoadedFamily } from "./family.js";
import type { FamilyRequest } from "./family-set.js";
import type { NodeInfo } from "./numa-topology.js";

const threadSpec = {
  cross_node_migrations: "u64",
  balancing_moves: "u64",
  balancing_swaps: "u64",
  page_migrations: "u64",
  numa_placed: "u64[]",
  numa_wanted: "u64[]",
} as const;

export interface NumaRecord {
  cross_node_migrations: number;
  balancing_moves: number;
  balancing_swaps: number;
  page_migrations: number;
  /** row-major [cpu node][page node] and [preferred node][page node] */
  numa_placed: number[];
  numa_wanted: number[];
}

/** What the session asks of family.ts: optional, on the scheduler's thread slots. */
export const numaFamily: FamilyRequest = { name: "numa", optional: true, reuse: ["thread_slot"] };

export class NumaProbes {
  readonly modes: Record<string, AttachMode>;
  /** nodes the kernel records tell apart (probes/numa.h) */
  readonly matrixNodes = native().layouts.numa.thread.nodes;
  private readonly object: NativeBpfObject;
  // The matrices land on a thread under the model's names.
  private readonly decoder = structDecoder("mlt_numa_thread", native().layouts.numa.thread, threadSpec, { numa_placed: "placed", numa_wanted: "wanted" });
  private readonly stride: number;

  /** `family`: loaded from `numaFamily`, on the scheduler's thread slots. */
  constructor(private readonly family: LoadedFamily, topology: NodeInfo[]) {
    // Attached before the CPU → node map is filled, but the session adds
    // no thread to the shared filter until every family is loaded, so no
    // event is attributed with an empty map.
    this.object = family.object;
    this.modes = family.modes;
    for (const { node, cpus } of topology) {
      for (const cpu of cpus) {
        this.object.mapUpdate("cpu_node", u32Key(cpu), u32Key(node), 0);
      }
    }
    this.stride = this.object.mapInfo("numa_records").valueStride;
  }

  /** Records of the scheduler's slots in use: writes that of `slots[index]` into a thread. */
  readSlots(slots: Uint32Array): <T extends NumaRecord>(index: number, into: T) => T {
    return slotRecords(this.object, "numa_records", slots, this.stride, this.decoder);
  }

  clear(slot: number): void {
    clearSlot(this.object, "numa_records", this.decoder.size, slot);
  }

  close(): void {
    this.family.close();
  }
}
