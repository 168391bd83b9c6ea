// Decoding probe structs from raw bytes, by the offsets the addon reports
// from probes/*.h. TypeScript states only each field's kind; sizes are checked.
import type { StructLayout } from "../native/addon.js";

export type FieldKind = "u32" | "s32" | "u64" | "str" | "u64[]";
export type StructSpec = Record<string, FieldKind>;

export type Decoded<S extends StructSpec> = {
  [K in keyof S]: S[K] extends "str" ? string : S[K] extends "u64[]" ? number[] : number;
};

export interface StructDecoder<S extends StructSpec> {
  size: number;
  /** A new object with the struct's fields. */
  decode(buf: Buffer, at?: number): Decoded<S>;
  /** Writes the struct's fields into `into`, which already has all of them (see below). */
  decodeInto<T extends Decoded<S>>(into: T, buf: Buffer, at?: number): T;
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

/**
 * `headerNames` names a property's field in the C header where the two
 * differ, so a family's record can land on a thread under the model's names.
 */
export function structDecoder<S extends StructSpec>(
  name: string,
  layout: StructLayout,
  spec: S,
  headerNames: Partial<Record<keyof S, string>> = {},
): StructDecoder<S> {
  const fields = Object.entries(spec).map(([property, kind]) => {
    const field = headerNames[property] ?? property;
    const where = layout.fields[field];
    if (!where) throw new Error(`probe header has no field ${name}.${field}: rebuild with \`npm run setup\``);
    const [offset, size] = where;
    const want = fixedSizes[kind];
    if ((want !== undefined && size !== want) || (kind === "u64[]" && size % 8 !== 0)) {
      throw new Error(`probe header field ${name}.${field} is ${size} bytes, not a ${kind}: rebuild with \`npm run setup\``);
    }
    return { property, kind, offset, size };
  });
  function decodeInto<T>(out: T, buf: Buffer, at = 0): T {
    const o = out as Record<string, unknown>;
    for (const { property, kind, offset, size } of fields) {
      const p = at + offset;
      switch (kind) {
        case "u32":
          o[property] = buf.readUInt32LE(p);
          break;
        case "s32":
          o[property] = buf.readInt32LE(p);
          break;
        case "u64":
          o[property] = u64(buf, p);
          break;
        case "str":
          o[property] = cString(buf, p, size);
          break;
        case "u64[]": {
          const values: number[] = [];
          for (let i = 0; i < size; i += 8) values.push(u64(buf, p + i));
          o[property] = values;
          break;
        }
      }
    }
    return out;
  }
  return {
    size: layout.size,
    // A new object, field by field: fine for the small structs decoded this
    // way; wide ones (per-thread records) go into objects built with all
    // their fields (decodeInto), see src/model/sample.ts.
    decode: (buf, at = 0) => decodeInto({} as Decoded<S>, buf, at),
    decodeInto,
  };
}

/** Sums a per-CPU u64 value laid out at `stride` bytes per CPU. */
export function sumPerCpu(buf: Buffer, stride: number): number {
  let total = 0;
  for (let at = 0; at + 8 <= buf.length; at += stride) total += u64(buf, at);
  return total;
}

/**
 * The records of the given slots of a per-thread array (one snapshot, copied
 * through the addon's mapping): returns a function that writes the record of
 * `slots[index]` into a thread object that already has its fields.
 */
export function slotRecords<S extends StructSpec>(
  object: { mapSnapshotSlots(name: string, slots: Uint32Array): Buffer },
  map: string,
  slots: Uint32Array,
  stride: number,
  decoder: StructDecoder<S>,
): <T extends Decoded<S>>(index: number, into: T) => T {
  const data = object.mapSnapshotSlots(map, slots);
  return (index, into) => {
    if (index >= slots.length) throw new Error(`record ${index} of ${map} was not read`);
    return decoder.decodeInto(into, data, index * stride);
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
