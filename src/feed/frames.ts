// The live feed's wire format (schema/mltrace.proto, "The live feed"): model
// snapshots to FeedMessage bytes and back. The agent encodes each frame once
// and sends the same bytes to every client; `top --connect` decodes here.
import { createRequire } from "node:module";
import protobuf from "protobufjs";
import type { Diagnosis } from "../model/diagnoses.js";
import type { TopSnapshot } from "../model/live.js";
import type { Report, TargetInfo } from "../model/report.js";
import { schemaRoot } from "../schema/schema.js";
import type { DiagnosisChange, FeedSnapshot, FeedStatus, Hello, HelloPreamble, TargetExit } from "./messages.js";

export type { DiagnosisChange, FeedSnapshot, FeedStatus, Hello, TargetExit } from "./messages.js";

/** Bumped on incompatible changes, with the subprotocol's name. */
export const SCHEMA_VERSION = 1;
export const SUBPROTOCOL = "mltrace.v1";
/** Close codes for a refused token (4000-4999 are the application's own), as HTTP's 401 and 403. */
export const CLOSE_TOKEN_REQUIRED = 4401;
export const CLOSE_WRONG_TOKEN = 4403;
export const CAPABILITIES = ["snapshot", "diagnosis", "exit", "ping", "status", "metrics"];

// The descriptor extension patches protobufjs's Root (toDescriptor); it is
// CommonJS only, hence require.
const descriptorExt = createRequire(import.meta.url)("protobufjs/ext/descriptor") as { FileDescriptorSet: protobuf.Type };

const feedType = () => schemaRoot().lookupType("mltrace.v1.FeedMessage");
const clientType = () => schemaRoot().lookupType("mltrace.v1.ClientMessage");

let descriptorBytes: Uint8Array | undefined;

/** The schema compiled into a FileDescriptorSet: built once, sent in every Hello. */
export function schemaDescriptor(): Uint8Array {
  if (!descriptorBytes) {
    const root = schemaRoot() as protobuf.Root & { toDescriptor(syntax: string): protobuf.Message };
    descriptorBytes = descriptorExt.FileDescriptorSet.encode(root.toDescriptor("proto3")).finish();
  }
  return descriptorBytes;
}

export type FeedBody =
  | { hello: Hello & HelloPreamble & { descriptor: Uint8Array } }
  | { snapshot: FeedSnapshot }
  | { diagnosis: DiagnosisChange }
  | { exit: TargetExit }
  | { status: FeedStatus };

function encodeFeed(body: object): Buffer {
  const type = feedType();
  const bytes = type.encode(type.fromObject(body)).finish();
  // A Buffer view of the same memory: ws sends Buffers without copying.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function helloFrame(hello: Hello): Buffer {
  return encodeFeed({ hello: { ...hello, schema_version: SCHEMA_VERSION, capabilities: CAPABILITIES, descriptor: schemaDescriptor() } });
}

export function snapshotFrame(snap: FeedSnapshot): Buffer {
  return encodeFeed({ snapshot: snap });
}

export function diagnosisFrame(raised: boolean, diagnosis: Diagnosis, seq: number): Buffer {
  return encodeFeed({ diagnosis: { raised, diagnosis, seq } });
}

export function exitFrame(target: TargetInfo, final: Report): Buffer {
  return encodeFeed({ exit: { target, final } });
}

export function statusFrame(status: FeedStatus): Buffer {
  return encodeFeed({ status });
}

/** The diagnoses a snapshot shows: the session's once it has ended, else the latest interval's. */
export function shownDiagnoses(snap: TopSnapshot): Diagnosis[] {
  return (snap.final ?? snap.interval)?.diagnoses ?? [];
}

/** Diagnoses that started or stopped firing between two snapshots, by id. */
export function diagnosisChanges(before: Diagnosis[], after: Diagnosis[]): { raised: boolean; diagnosis: Diagnosis }[] {
  const ids = (ds: Diagnosis[]) => new Set(ds.map((d) => d.id));
  const was = ids(before);
  const is = ids(after);
  return [
    ...after.filter((d) => !was.has(d.id)).map((diagnosis) => ({ raised: true, diagnosis })),
    ...before.filter((d) => !is.has(d.id)).map((diagnosis) => ({ raised: false, diagnosis })),
  ];
}

// ---- Decoding (clients: `top --connect`, tests) ----

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, bytes: Buffer, defaults: true, arrays: true, objects: true };

export function decodeFeed(bytes: Uint8Array): FeedBody {
  const type = feedType();
  const message = type.toObject(type.decode(bytes), { ...TO_OBJECT, oneofs: true }) as Record<string, unknown> & { body?: string };
  if (!message.body) throw new Error("feed message with no body");
  const body = message.body;
  const value = message[body] as Record<string, unknown>;
  if (body === "snapshot") return { snapshot: toTopSnapshot(value) };
  // Reflection checked the shape against the schema; the types say what it holds.
  return { [body]: value } as unknown as FeedBody;
}

/**
 * The one place protobuf's shapes become the TS model's: absent messages
 * (interval, final) are null, as the TUI expects; proto3 `optional` fields
 * come back absent, which is the model's undefined already.
 */
function toTopSnapshot(s: Record<string, unknown>): FeedSnapshot {
  return { ...(s as unknown as FeedSnapshot), interval: (s.interval as Report | null) ?? null, final: (s.final as Report | null) ?? null };
}

export function encodeClientMessage(body: { ping: { nonce: number } }): Uint8Array {
  const type = clientType();
  return type.encode(type.fromObject(body)).finish();
}

/** A client's control message, or an Error saying why it is not one. */
export function decodeClientMessage(bytes: Uint8Array): { ping: { nonce: number } } | Error {
  try {
    const type = clientType();
    const message = type.toObject(type.decode(bytes), { longs: Number, oneofs: true }) as { body?: string; ping?: { nonce?: number } };
    if (message.body !== "ping") return new Error("not a control message");
    return { ping: { nonce: message.ping?.nonce ?? 0 } };
  } catch (err) {
    return err as Error;
  }
}
