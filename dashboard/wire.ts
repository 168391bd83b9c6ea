// From the first binary message of a connection to a decoder for all of
// them. The Hello carries the schema compiled (a FileDescriptorSet), so the
// page needs no copy of the .proto: it reads FeedMessage field 1 (hello) →
// Hello field 6 (descriptor) by hand (feed contract: those two numbers never
// change), builds the types by reflection and decodes everything with them.
import protobuf from "protobufjs";
import "protobufjs/ext/descriptor"; // adds Root.fromDescriptor
import type { FeedMessage } from "./types";

const HELLO_FIELD = 1;
const DESCRIPTOR_FIELD = 6;

interface Field {
  number: number;
  wireType: number;
  /** the bytes of a length-delimited field */
  bytes?: Uint8Array;
}

/** Reads one varint at `pos`; returns it (as a JS number: exact to 2^53) and the next position. */
function varint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new Error("varint longer than 10 bytes");
}

/** The top-level fields of one encoded message, in order. */
export function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, afterTag] = varint(buf, pos);
    const number = Math.floor(tag / 8);
    const wireType = tag & 7;
    pos = afterTag;
    switch (wireType) {
      case 0:
        pos = varint(buf, pos)[1];
        yield { number, wireType };
        break;
      case 1:
        pos += 8;
        yield { number, wireType };
        break;
      case 2: {
        const [length, start] = varint(buf, pos);
        if (start + length > buf.length) throw new Error(`field ${number} runs past the message`);
        pos = start + length;
        yield { number, wireType, bytes: buf.subarray(start, pos) };
        break;
      }
      case 5:
        pos += 4;
        yield { number, wireType };
        break;
      default:
        throw new Error(`unsupported wire type ${wireType} (field ${number})`);
    }
    if (pos > buf.length) throw new Error(`field ${number} runs past the message`);
  }
}

function lengthDelimited(buf: Uint8Array, number: number): Uint8Array | undefined {
  for (const f of fields(buf)) if (f.number === number && f.bytes) return f.bytes;
  return undefined;
}

/** The FileDescriptorSet inside a FeedMessage that is a Hello; throws when it is anything else. */
export function helloDescriptor(frame: Uint8Array): Uint8Array {
  const hello = lengthDelimited(frame, HELLO_FIELD);
  if (!hello) throw new Error("the first message is not a Hello");
  const descriptor = lengthDelimited(hello, DESCRIPTOR_FIELD);
  if (!descriptor || descriptor.length === 0) throw new Error("the Hello carries no schema descriptor");
  return descriptor;
}

export interface FeedCodec {
  decode(frame: Uint8Array): FeedMessage;
  encodePing(nonce: number): Uint8Array;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true, oneofs: true };

type WithFromDescriptor = { fromDescriptor(descriptor: Uint8Array): protobuf.Root };

/**
 * protobufjs rebuilds a `map<K, V>` field from a descriptor as a repeated
 * entry message (the descriptor's own encoding of maps, option map_entry),
 * so evidence would decode as [{key, value}]. Turn those back into maps.
 */
function restoreMaps(ns: protobuf.NamespaceBase): void {
  for (const child of ns.nestedArray) {
    if (child instanceof protobuf.Type) {
      for (const f of [...child.fieldsArray]) {
        const entry = f.resolve().resolvedType;
        if (!f.repeated || !(entry instanceof protobuf.Type) || !entry.options?.map_entry) continue;
        const key = entry.fields.key;
        const value = entry.fields.value;
        if (!key || !value) continue;
        child.remove(f);
        child.add(new protobuf.MapField(f.name, f.id, key.type, value.resolvedType?.fullName ?? value.type));
      }
    }
    if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) restoreMaps(child);
  }
}

/** Decoders built from the schema a Hello carries. */
export function codecFromHello(frame: Uint8Array): FeedCodec {
  const root = (protobuf.Root as unknown as WithFromDescriptor).fromDescriptor(helloDescriptor(frame));
  restoreMaps(root);
  root.resolveAll();
  const feed = root.lookupType("mltrace.v1.FeedMessage");
  const client = root.lookupType("mltrace.v1.ClientMessage");
  return {
    decode: (bytes) => feed.toObject(feed.decode(bytes), TO_OBJECT) as unknown as FeedMessage,
    encodePing: (nonce) => client.encode(client.fromObject({ ping: { nonce } })).finish(),
  };
}
