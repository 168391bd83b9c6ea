// The dashboard's bootstrap: a Hello's descriptor read by hand, then every
// message decoded by reflection, exactly as the agent encodes them.
import { createRequire } from "node:module";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { codecFromHello, fields, helloDescriptor } from "../../dashboard/wire.js";
import { SCHEMA_PATH } from "../../src/schema/schema.js";

const descriptorExt = createRequire(import.meta.url)("protobufjs/ext/descriptor") as { FileDescriptorSet: protobuf.Type };

function agentSide() {
  const root = new protobuf.Root();
  root.loadSync(SCHEMA_PATH, { keepCase: true });
  const descriptor = descriptorExt.FileDescriptorSet.encode((root as unknown as { toDescriptor(s: string): protobuf.Message }).toDescriptor("proto3")).finish();
  const feed = root.lookupType("mltrace.v1.FeedMessage");
  const encode = (body: Record<string, unknown>) => feed.encode(feed.fromObject(body)).finish();
  const hello = encode({
    hello: { schema_version: 1, capabilities: ["snapshot"], interval_s: 1, agent: "node-a", descriptor, host: { hostname: "node-a", cpus: 2 }, target: { pid: 42, comm: "python3" } },
  });
  return { root, descriptor, encode, hello };
}

describe("dashboard wire bootstrap", () => {
  it("finds the descriptor in a Hello by field numbers alone", () => {
    const { hello, descriptor } = agentSide();
    expect(helloDescriptor(hello)).toEqual(descriptor);
  });

  it("decodes every feed message by reflection from that descriptor", () => {
    const { hello, encode } = agentSide();
    const codec = codecFromHello(hello);
    const h = codec.decode(hello);
    expect(h.body).toBe("hello");
    if (h.body === "hello") {
      expect(h.hello.agent).toBe("node-a");
      expect(h.hello.host?.cpus).toBe(2);
      // an optional field left unset stays absent, not 0
      expect(h.hello.target?.exit_code).toBeUndefined();
    }
    const snap = codec.decode(encode({ snapshot: { seq: 2 ** 40, uptime_s: 3.5, history: [{ role: "trainer", oncpu: [0.5, 0.7] }] } }));
    expect(snap.body).toBe("snapshot");
    if (snap.body === "snapshot") {
      expect(snap.snapshot.seq).toBe(2 ** 40); // uint64 as a plain number
      expect(snap.snapshot.history[0]!.oncpu).toEqual([0.5, 0.7]);
      expect(snap.snapshot.interval).toBeNull();
    }
    const diag = codec.decode(encode({ diagnosis: { raised: true, seq: 3, diagnosis: { id: "input-bound", evidence: { trainer_wait_share: 0.62, workers: 4 } } } }));
    // maps come back as maps (a descriptor spells them as repeated entries)
    expect(diag.body === "diagnosis" && diag.diagnosis.diagnosis?.evidence).toEqual({ trainer_wait_share: 0.62, workers: 4 });
    const exit = codec.decode(encode({ exit: { target: { pid: 42, exit_code: 0 } } }));
    expect(exit.body === "exit" && exit.exit.target?.exit_code).toBe(0);
  });

  it("encodes pings the agent can read", () => {
    const { root, hello } = agentSide();
    const client = root.lookupType("mltrace.v1.ClientMessage");
    const ping = client.toObject(client.decode(codecFromHello(hello).encodePing(7)), { longs: Number });
    expect(ping).toEqual({ ping: { nonce: 7 } });
  });

  it("refuses a first message that is not a Hello with a schema", () => {
    const { encode } = agentSide();
    expect(() => helloDescriptor(encode({ snapshot: { seq: 1 } }))).toThrow(/not a Hello/);
    expect(() => helloDescriptor(encode({ hello: { agent: "x" } }))).toThrow(/no schema/);
    expect(() => [...fields(new Uint8Array([0x0a, 0x05, 1]))]).toThrow(/runs past/);
  });
});
