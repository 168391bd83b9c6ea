// Decoding probe structs from raw bytes, by the offsets the addon reports
// from probes/*.h. TypeScript states only each field's kind; sizes are checked.
import type { StructLayout } from "../native/addon.js";

export type FieldKind = "u32" | "s32" | "u64" | "str" | "u64[]";
export type StructSpec = Record<string, FieldKind>;

type Decoded<S extends StructSpec> = {
  [K in keyof S]: S[K] extends "str" ? string : S[K] extends "u64[]" ? number[] : number;
};

export interface StructDecoder<S extends StructSpec> {
  size: number;
  decode(buf: Buffer, at?: number): Decoded<S>;
}

const fixedSizes: Partial<Record<FieldKind, number>> = { u32: 4, s32: 4, u64: 8 };

/** Up to the first NUL, as the kernel's fixed-size comm arrays are filled. */
export function cString(buf: Buffer, start: number, size: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString("utf8", start, end < 0 || end > start + size ? start + size : end);
}

/** u64 counters as JS numbers: exact below 2^53 (104 days of nanoseconds). */
function u64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x1_0000_0000;
}

export function structDecoder<S extends StructSpec>(name: string, layout: StructLayout, spec: S): StructDecoder<S> {
  const fields = Object.entries(spec).map(([field, kind]) => {
    const where = layout.fields[field];
    if (!where) throw new Error(`probe header has no field ${name}.${field}: rebuild with \`npm run setup\``);
    const [offset, size] = where;
    const want = fixedSizes[kind];
    if ((want !== undefined && size !== want) || (kind === "u64[]" && size % 8 !== 0)) {
      throw new Error(`probe header field ${name}.${field} is ${size} bytes, not a ${kind}: rebuild with \`npm run setup\``);
    }
    return { field, kind, offset, size };
  });
  return {
    size: layout.size,
    decode(buf: Buffer, at = 0) {
      const out: Record<string, unknown> = {};
      for (const { field, kind, offset, size } of fields) {
        const p = at + offset;
        switch (kind) {
          case "u32":
            out[field] = buf.readUInt32LE(p);
            break;
          case "s32":
            out[field] = buf.readInt32LE(p);
            break;
          case "u64":
            out[field] = u64(buf, p);
            break;
          case "str":
            out[field] = cString(buf, p, size);
            break;
          case "u64[]": {
            const values: number[] = [];
            for (let i = 0; i < size; i += 8) values.push(u64(buf, p + i));
            out[field] = values;
            break;
          }
        }
      }
      return out as Decoded<S>;
    },
  };
}

/** Sums a per-CPU u64 value laid out at `stride` bytes per CPU. */
export function sumPerCpu(buf: Buffer, stride: number): number {
  let total = 0;
  for (let at = 0; at + 8 <= buf.length; at += stride) total += u64(buf, at);
  return total;
}

/**
 * Records of the given slots of a per-thread array (one snapshot, copied
 * through the addon's mapping), by slot.
 */
export function slotRecords<T>(
  object: { mapSnapshotSlots(name: string, slots: Uint32Array): Buffer },
  map: string,
  slots: Uint32Array,
  stride: number,
  decode: (buf: Buffer, at: number) => T,
): (slot: number) => T {
  const data = object.mapSnapshotSlots(map, slots);
  const index = new Map<number, number>();
  slots.forEach((slot, i) => index.set(slot, i));
  return (slot) => {
    const i = index.get(slot);
    if (i === undefined) throw new Error(`slot ${slot} of ${map} was not read`);
    return decode(data, i * stride);
  };
}

/** A u32 map key or value, as the kernel lays it out (little-endian here). */
export function u32Key(value: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(value);
  return key;
}

/** Zeroes one slot of a per-thread array, before the slot serves a new thread. */
export function clearSlot(
  object: { mapUpdate(name: string, key: Uint8Array, value: Uint8Array, flags: number): void },
  map: string,
  size: number,
  slot: number,
): void {
  object.mapUpdate(map, u32Key(slot), Buffer.alloc(size), 0);
}
