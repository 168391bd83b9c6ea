// The feed's frames: a snapshot survives the wire as the TUI needs it, a
// client with no .proto decodes everything from the Hello's descriptor, and
// diagnoses are reported when they start and stop.
import { describe, expect, it } from "vitest";
import {
  decodeClientMessage,
  decodeFeed,
  diagnosisChanges,
  encodeClientMessage,
  helloFrame,
  snapshotFrame,
} from "../../src/feed/frames.js";
import type { Diagnosis } from "../../src/model/diagnoses.js";
import { reflectionDecoder } from "../helpers/feed.js";
import { exitedSnapshot, runningSnapshot, emptySnapshot } from "../helpers/snapshots.js";

const host = { hostname: "h", kernel: "6.18", cpus: 2, numa_nodes: 1, hardware_pmu: false, attach_modes: { sched: "tp_btf" } };
const status = { frames_sent: 0, frames_dropped: 0, clients: 1 };

describe("feed frames", () => {
  it("a running snapshot round-trips with what the TUI reads, and absent reports are null", () => {
    const snap = runningSnapshot(3, 5);
    const body = decodeFeed(snapshotFrame({ ...snap, seq: 7, created_unix_ms: 1234.5 }));
    if (!("snapshot" in body)) throw new Error("not a snapshot");
    const s = body.snapshot;
    expect(s.seq).toBe(7);
    expect(s.created_unix_ms).toBe(1234.5);
    expect(s.final).toBeNull();
    expect(s.interval?.kind).toBe("INTERVAL");
    // uint64 on the wire: the hand-made samples' fractional nanoseconds are truncated
    const wholeNs = (roles: object[]) => roles.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "number" ? Math.round(v) : v])));
    expect(wholeNs(s.interval!.roles)).toEqual(wholeNs(snap.interval!.roles));
    expect(s.history).toEqual(snap.history);
    expect(s.lost_events).toBe(5);
    expect(s.target.exit_code).toBeUndefined();
    const empty = decodeFeed(snapshotFrame({ ...emptySnapshot(), seq: 1, created_unix_ms: 0 }));
    expect("snapshot" in empty && empty.snapshot.interval).toBeNull();
  });

  it("an exited snapshot keeps its exit code, and a code of 0 is not lost as a default", () => {
    const snap = exitedSnapshot();
    const body = decodeFeed(snapshotFrame({ ...snap, seq: 4, created_unix_ms: 0 }));
    if (!("snapshot" in body)) throw new Error("not a snapshot");
    expect(body.snapshot.final?.target.exit_code).toBe(3);
    expect(body.snapshot.final?.kind).toBe("FINAL");
    const zero = { ...snap, target: { ...snap.target, exit_code: 0 } };
    const z = decodeFeed(snapshotFrame({ ...zero, seq: 5, created_unix_ms: 0 }));
    expect("snapshot" in z && z.snapshot.target.exit_code).toBe(0);
  });

  it("a client with no .proto decodes every message by reflection from the Hello's descriptor", () => {
    const hello = helloFrame({ host, agent: "h", target: runningSnapshot().target, interval_s: 1, status });
    const decode = reflectionDecoder(hello);
    const h = decode(hello);
    expect(h.hello.schema_version).toBe(1);
    expect(h.hello.capabilities).toContain("snapshot");
    expect(h.hello.host.hostname).toBe("h");
    const s = decode(snapshotFrame({ ...runningSnapshot(3), seq: 3, created_unix_ms: 1 }));
    expect(s.snapshot.seq).toBe(3);
    expect(s.snapshot.interval.roles.map((r: { role: string }) => r.role)).toEqual(["trainer", "dataloader", "intra-op"]);
  });

  it("reports a diagnosis when it appears and when it goes, once each", () => {
    const d = (id: Diagnosis["id"]) => ({ id, severity: "warning", summary: id, evidence: {}, suggestion: "", preempted_by: [] }) as Diagnosis;
    expect(diagnosisChanges([], [d("input-bound")])).toEqual([{ raised: true, diagnosis: d("input-bound") }]);
    expect(diagnosisChanges([d("input-bound")], [d("input-bound")])).toEqual([]);
    expect(diagnosisChanges([d("input-bound")], [d("cpu-contention")]).map((c) => [c.raised, c.diagnosis.id])).toEqual([
      [true, "cpu-contention"],
      [false, "input-bound"],
    ]);
  });

  it("client messages: a ping decodes; garbage and an empty message are errors", () => {
    expect(decodeClientMessage(encodeClientMessage({ ping: { nonce: 9 } }))).toEqual({ ping: { nonce: 9 } });
    expect(decodeClientMessage(new Uint8Array([0xff, 0xff, 0xff]))).toBeInstanceOf(Error);
    expect(decodeClientMessage(new Uint8Array([]))).toBeInstanceOf(Error);
  });
});
