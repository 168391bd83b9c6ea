// Probe structs decoded from bytes laid out by hand, as the addon reports
// offsets from probes/*.h: values, renamed fields, records written into a
// thread that already has them, and layouts that do not match.
import { describe, expect, it } from "vitest";
import { slotRecords, structDecoder } from "../../src/collector/decode.js";
import type { StructLayout } from "../../src/native/addon.js";
import { blankThread } from "../../src/model/sample.js";

// struct { u32 tid; s32 code; u64 big; char comm[8]; u64 hist[3]; }
const layout: StructLayout = { size: 48, fields: { tid: [0, 4], code: [4, 4], big: [8, 8], comm: [16, 8], hist: [24, 24] } };

function record(tid: number, code: number, big: number, comm: string, hist: number[]): Buffer {
  const buf = Buffer.alloc(layout.size);
  buf.writeUInt32LE(tid, 0);
  buf.writeInt32LE(code, 4);
  buf.writeBigUInt64LE(BigInt(big), 8);
  buf.write(comm, 16, 8, "utf8");
  hist.forEach((v, i) => buf.writeBigUInt64LE(BigInt(v), 24 + 8 * i));
  return buf;
}

const spec = { tid: "u32", code: "s32", big: "u64", comm: "str", hist: "u64[]" } as const;

describe("structDecoder", () => {
  it("decodes every kind, u64 exactly up to 2^53", () => {
    const d = structDecoder("t", layout, spec);
    expect(d.decode(record(7, -3, 2 ** 53 - 1, "python3", [1, 0, 2 ** 40]))).toEqual({
      tid: 7,
      code: -3,
      big: 2 ** 53 - 1,
      comm: "python3",
      hist: [1, 0, 2 ** 40],
    });
  });

  it("reads a comm that fills its array without a NUL", () => {
    expect(structDecoder("t", layout, spec).decode(record(1, 0, 0, "12345678", [])).comm).toBe("12345678");
  });

  it("writes into an object under the names it is given, leaving its other fields", () => {
    const d = structDecoder("t", layout, { runq_hist: "u64[]", oncpu_ns: "u64" }, { runq_hist: "hist", oncpu_ns: "big" });
    const thread = blankThread();
    thread.tid = 99;
    const same = d.decodeInto(thread, record(1, 0, 5e12, "x", [4, 5, 6]));
    expect(same).toBe(thread);
    expect([thread.tid, thread.oncpu_ns, thread.runq_hist, thread.sleep_ns]).toEqual([99, 5e12, [4, 5, 6], 0]);
    expect(Object.keys(thread)).toEqual(Object.keys(blankThread())); // no field added
  });

  it("refuses a header without a field, or with one of another size", () => {
    expect(() => structDecoder("mlt_x", layout, { nope: "u64" })).toThrow("probe header has no field mlt_x.nope");
    expect(() => structDecoder("mlt_x", layout, { tid: "u64" })).toThrow("mlt_x.tid is 4 bytes, not a u64");
    expect(() => structDecoder("mlt_x", layout, { x: "u32" }, { x: "big" })).toThrow("mlt_x.big is 8 bytes, not a u32");
  });
});

describe("slotRecords", () => {
  it("writes the record of slots[i] into a thread, from one snapshot of the map", () => {
    const stride = 48;
    const snapshot = Buffer.concat([record(10, 0, 111, "a", []), record(20, 0, 222, "b", [])]);
    const asked: Uint32Array[] = [];
    const object = {
      mapSnapshotSlots(name: string, slots: Uint32Array) {
        expect(name).toBe("records");
        asked.push(slots);
        return snapshot;
      },
    };
    const d = structDecoder("t", layout, { tid: "u32", oncpu_ns: "u64" }, { oncpu_ns: "big" });
    const into = slotRecords(object, "records", Uint32Array.of(5, 9), stride, d);
    const second = into(1, blankThread());
    const first = into(0, blankThread());
    expect([first.tid, first.oncpu_ns, second.tid, second.oncpu_ns]).toEqual([10, 111, 20, 222]);
    expect(asked).toHaveLength(1);
    expect(() => into(2, blankThread())).toThrow("record 2 of records was not read");
  });
});
