// A feed server in the test process (port 0, snapshots published by hand
// from the model helpers) and clients for it: decoding ones, raw sockets.
import { connect, type Socket } from "node:net";
import protobuf from "protobufjs";
import { WebSocket } from "ws";
import { decodeFeed, SUBPROTOCOL, type FeedBody } from "../../src/feed/frames.js";
import { SnapshotChannel } from "../../src/model/channel.js";
import type { LiveModel } from "../../src/model/live.js";
import { startFeedServer, type FeedServer, type ServerConfig } from "../../src/serve/server.js";
import { model, sample } from "./snapshots.js";

export const TOKEN = "test-token-0123456789abcdef";
const host = { hostname: "testhost", kernel: "6.18", cpus: 2, numa_nodes: 1, hardware_pmu: false, attach_modes: {} };

export interface TestServer {
  server: FeedServer;
  /** host:port */
  address: string;
  /** publishes the next second of the hand-made run */
  tick(): void;
  close(): Promise<void>;
}

export async function testServer(options: Partial<ServerConfig> = {}): Promise<TestServer> {
  const server = await startFeedServer({ host: "127.0.0.1", port: 0, token: TOKEN, allowHosts: [], allowOrigins: [], ...options });
  const m: LiveModel = model();
  const channel = new SnapshotChannel(m.current);
  server.serve(channel, host);
  let k = 0;
  return {
    server,
    address: `127.0.0.1:${server.port}`,
    tick: () => channel.publish(m.addSample(sample(++k), 0.01)),
    close: () => server.close(),
  };
}

export interface FeedReader {
  ws: WebSocket;
  messages: FeedBody[];
  /** resolves with the close code */
  closed: Promise<number>;
  snapshots(): number[];
}

/** A client that decodes every frame; `opened` resolves once the upgrade succeeded. */
export function reader(address: string, options: { token?: string; protocols?: string[]; headers?: Record<string, string> } = {}): FeedReader & { opened: Promise<void> } {
  const headers = { ...(options.token !== undefined ? { Authorization: `Bearer ${options.token}` } : {}), ...options.headers };
  const ws = new WebSocket(`ws://${address}/feed`, options.protocols ?? [SUBPROTOCOL], { headers });
  const messages: FeedBody[] = [];
  ws.on("message", (data: Buffer) => messages.push(decodeFeed(data)));
  ws.on("error", () => {});
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  const opened = new Promise<void>((resolve, reject) => {
    ws.on("open", () => resolve());
    ws.on("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.on("error", reject);
  });
  opened.catch(() => {});
  const snapshots = () => messages.flatMap((m) => ("snapshot" in m ? [m.snapshot.seq] : []));
  return { ws, messages, closed, opened, snapshots };
}

/** A WebSocket upgrade request written by hand, so any header can be wrong. */
function upgradeHead(path: string, headers: Record<string, string>): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** The status code of an upgrade that was refused (or 101), and all the bytes that came back. */
export function rawUpgrade(
  address: string,
  headers: Record<string, string>,
  path = "/feed",
  { untilClosed = false } = {},
): Promise<{ status: number; response: string }> {
  const [hostname, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname!, () => socket.write(upgradeHead(path, headers)));
    let response = "";
    socket.on("data", (d) => {
      response += d.toString("latin1");
      // Accepted: the head is all we wanted (a refusal is ended by the server),
      // unless the caller waits for what follows until the server closes.
      if (!untilClosed && response.startsWith("HTTP/1.1 101") && response.includes("\r\n\r\n")) socket.destroy();
    });
    socket.setTimeout(2000, () => socket.destroy());
    socket.on("error", reject);
    socket.on("close", () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(response)?.[1] ?? 0), response }));
  });
}

/** A socket that completes the upgrade and then never reads: a stuck client at the TCP level. */
export function stuckClient(address: string, token: string): Promise<Socket> {
  const [hostname, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const headers = { Host: address, "Sec-WebSocket-Protocol": SUBPROTOCOL, Authorization: `Bearer ${token}` };
    const socket = connect(Number(port), hostname!, () => socket.write(upgradeHead("/feed", headers)));
    socket.once("data", (d) => {
      if (!d.toString("latin1").startsWith("HTTP/1.1 101")) return reject(new Error(`upgrade refused: ${d.toString("latin1").split("\r\n")[0]}`));
      // Stop reading: the kernel's buffers fill, then the agent's.
      socket.pause();
      resolve(socket);
    });
    socket.on("error", () => {});
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Field `field` (length-delimited) of a protobuf message, read by hand as a client without the schema must. */
export function lengthDelimited(bytes: Uint8Array, field: number): Uint8Array {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === field && (tag & 7) === 2) return reader.bytes();
    reader.skipType(tag & 7);
  }
  throw new Error(`no field ${field}`);
}

/**
 * What a client with no copy of the .proto does (the feed contract): take the
 * descriptor out of the Hello (FeedMessage field 1, Hello field 6) and decode
 * every frame by reflection with it.
 */
export function reflectionDecoder(helloBytes: Uint8Array): (bytes: Uint8Array) => Record<string, any> {
  const descriptor = lengthDelimited(lengthDelimited(helloBytes, 1), 6);
  const root = (protobuf.Root as unknown as { fromDescriptor(b: Uint8Array): protobuf.Root }).fromDescriptor(descriptor);
  const Feed = root.lookupType("mltrace.v1.FeedMessage");
  return (bytes) => Feed.toObject(Feed.decode(bytes), { longs: Number, enums: String, defaults: true, arrays: true });
}

/** Writes `bytes` on a fresh connection, half-closes, and returns all that came back until the server closed. */
export function rawExchange(address: string, bytes: string | Buffer, timeoutMs = 2000): Promise<Buffer> {
  const [hostname, port] = address.split(":");
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname!, () => socket.end(bytes));
    socket.on("data", (d) => chunks.push(d));
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on("error", () => {});
    socket.on("close", () => resolve(Buffer.concat(chunks)));
  });
}
