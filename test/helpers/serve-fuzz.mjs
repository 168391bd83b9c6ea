// Property-based fuzzing of `mltrace serve`'s HTTP and WebSocket server
// (README: Tests), shared by test/serve/fuzz.test.ts (5,000 cases) and
// bench/fuzz-serve.mjs (100,000). Plain JavaScript so the bench runs it on
// the built server without a TypeScript loader.
//
// Each case is one connection: a request written as raw bytes (built from
// parts that are each valid, odd or broken, then maybe mutated byte by byte)
// and, after an upgrade, raw WebSocket frames. The properties, checked after
// every case:
//   - a client that does not know the token got no data: no metrics, no
//     dashboard file, no Hello or Snapshot (after a 101, a close frame only);
//   - nothing reached the server's fault guard and nothing was thrown at the
//     event loop;
//   - the server still answers a well-formed authorised request.
import { Agent, request } from "node:http";
import { Agent as TlsAgent, request as tlsRequest } from "node:https";
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import fc from "fast-check";
import { WebSocket } from "ws";

const CRLF = "\r\n";
const SUBPROTOCOL = "mltrace.v1";

// ---- Request parts ----

/** Token characters (what the server accepts in a token), for wrong tokens that are nowhere near the right one. */
const tokenChars = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-");
const wrongToken = fc.string({ unit: tokenChars, minLength: 0, maxLength: 80 });
/** Any byte, as one latin1 character of the request (the wire is bytes, node reads headers as latin1). */
const anyByte = fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b));
const bytesString = (maxLength) => fc.string({ unit: anyByte, maxLength });
const printable = (maxLength) => fc.string({ unit: "binary-ascii", maxLength });

const segment = fc.oneof(
  fc.constantFrom("", ".", "..", "%2e%2e", "%2E.", "%2F", "%5C", "\\", "%", "%z", "%zz", "%c3%28", "%ff%fe", "%e0%a4%a", "%00", "%0d%0a", "feed", "metrics", "index.html", "app.js", ".hidden", "a;b", "@", ":", "~"),
  fc.string({ unit: fc.constantFrom(..."abcXYZ019-._~!$&'()*+,;=:@%/"), maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }).map(encodeURIComponent),
  bytesString(6),
);

const query = (ctx) =>
  fc.oneof(
    { weight: 10, arbitrary: fc.constant("") },
    fc.constantFrom("?", "?token", "?token=", "?token=%", "?token=%zz", "?x=1&&&=", "?token=a&token=b", "?%=%"),
    wrongToken.map((t) => `?token=${t}`),
    fc.constant(`?token=${ctx.token}`),
    fc.constant(`?x=1&token=${ctx.token}&token=nope`),
    printable(30).map((q) => `?${q}`),
  );

const host = (ctx) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(ctx.address, ctx.address, `localhost:${ctx.port}`, `LOCALHOST:${ctx.port}`, `[::1]:${ctx.port}`) },
    fc.constantFrom("evil.example", `evil.example:${ctx.port}`, "", ":", `${ctx.address}.evil.example`, "[", `[${ctx.address}]`),
    printable(40),
    bytesString(20),
  );

const path = (ctx) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom("/", "/index.html", "/app.js", "/metrics", "/feed", "/feed", "/nothing", "/.hidden", "/../etc/passwd") },
    { weight: 4, arbitrary: fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join("/")}`) },
    { weight: 2, arbitrary: fc.constantFrom("//", "///", "//feed", "//metrics", "//evil.example/metrics", "/\\evil.example", "\\\\", "/%2f%2fevil.example") },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom("http://", "https://", "ws://", "HTTP://", "http:", "http:///", "file://", "http://user:pw@"), host(ctx), fc.constantFrom("/metrics", "/feed", "/", "", "?token=x")).map((p) => p.join("")) },
    { weight: 1, arbitrary: fc.constantFrom("*", "", " ", "feed", "metrics", "?", "#", "/#frag", "/feed#x") },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom("/", "/feed/", "//"), fc.integer({ min: 1, max: 20_000 }), fc.constantFrom("a", "%", "/", "%2e")).map(([p, n, c]) => p + c.repeat(n)) },
    { weight: 1, arbitrary: bytesString(40) },
  ).chain((p) => query(ctx).map((q) => p + q));

const method = fc.oneof(
  { weight: 16, arbitrary: fc.constant("GET") },
  { weight: 4, arbitrary: fc.constantFrom("HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE", "PRI") },
  { weight: 1, arbitrary: fc.constantFrom("get", "G ET", "", "GET\0", "\u0080GET") },
  { weight: 1, arbitrary: printable(10) },
);

const version = fc.oneof(
  { weight: 20, arbitrary: fc.constant("HTTP/1.1") },
  { weight: 1, arbitrary: fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "", "http/1.1", "HTTP/1.10", "HTTP/9.9") },
);

/** How the request presents a token: the right one (in each place it may go), a wrong or malformed one, or none. */
const credential = (ctx) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant([]) },
    { weight: 8, arbitrary: fc.constantFrom([`Authorization: Bearer ${ctx.token}`], [`Cookie: mltrace_token=${ctx.token}`], [`Sec-WebSocket-Protocol: ${SUBPROTOCOL}, mltrace.token.${ctx.token}`], [`authorization: bearer   ${ctx.token}  `]) },
    { weight: 3, arbitrary: wrongToken.chain((t) => fc.constantFrom([`Authorization: Bearer ${t}`], [`Cookie: mltrace_token=${t}`], [`Sec-WebSocket-Protocol: ${SUBPROTOCOL}, mltrace.token.${t}`])) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        ["Authorization: Bearer"],
        ["Authorization: Bearer "],
        ["Authorization: Basic dXNlcjpwdw=="],
        ["Authorization: Bearer a b"],
        ["Authorization:"],
        ["Authorization: Bearer x", "Authorization: Bearer y"],
        ["Cookie: mltrace_token=%"],
        ["Cookie: mltrace_token=%E0%A4%A"],
        ["Cookie: mltrace_token"],
        ["Cookie: =; ;;; mltrace_token=\"\""],
        ["Cookie: mltrace_token=\"%ff\"", "Cookie: mltrace_token=%"],
        ["Cookie: a=b; mltrace_token=%zz; mltrace_token=x"],
        ["Sec-WebSocket-Protocol: mltrace.token."],
        ["Sec-WebSocket-Protocol: mltrace.token.%, mltrace.v1"],
      ),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom("Authorization", "Cookie", "Sec-WebSocket-Protocol"), bytesString(60)).map(([k, v]) => [`${k}: ${v}`]) },
  );

/** The headers of a WebSocket upgrade, each right or perturbed; or none (a plain request). */
const upgradeHeaders = (ctx) =>
  fc.option(
    fc.record({
      upgrade: fc.constantFrom("Upgrade: websocket", "Upgrade: websocket", "Upgrade: websocket", "Upgrade: WebSocket", "Upgrade: h2c", "Upgrade:", "Upgrade: websocket, x"),
      connection: fc.constantFrom("Connection: Upgrade", "Connection: Upgrade", "Connection: Upgrade", "Connection: keep-alive, Upgrade", "Connection: close", "Connection: upgrade"),
      key: fc.oneof(
        { weight: 12, arbitrary: fc.constant("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==") },
        { weight: 1, arbitrary: fc.constantFrom("Sec-WebSocket-Key: short", "Sec-WebSocket-Key:", "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==", null) },
        { weight: 1, arbitrary: bytesString(30).map((k) => `Sec-WebSocket-Key: ${k}`) },
      ),
      version: fc.constantFrom("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", "Sec-WebSocket-Version: 99", "Sec-WebSocket-Version: x", null),
      protocol: fc.constantFrom(`Sec-WebSocket-Protocol: ${SUBPROTOCOL}`, `Sec-WebSocket-Protocol: ${SUBPROTOCOL}`, `Sec-WebSocket-Protocol: ${SUBPROTOCOL}`, `Sec-WebSocket-Protocol: ${SUBPROTOCOL}`, `Sec-WebSocket-Protocol: ${SUBPROTOCOL}, ${SUBPROTOCOL}`, "Sec-WebSocket-Protocol: mltrace.v2", "Sec-WebSocket-Protocol: a b, (c)", "Sec-WebSocket-Protocol:", null),
      extensions: fc.constantFrom(null, null, "Sec-WebSocket-Extensions: permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99", "Sec-WebSocket-Extensions: ;;,=", "Sec-WebSocket-Extensions: x; y=\"z"),
      origin: fc.constantFrom(null, null, `Origin: http://${ctx.address}`, `Origin: https://${ctx.address}`, "Origin: http://evil.example", "Origin: null", "Origin: ", "Origin: http://dash.example:8080"),
    }).map((h) => Object.values(h).filter((v) => v !== null)),
    { freq: 2 },
  );

const extraHeader = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom("Accept: */*", "User-Agent: fuzz/1", "Accept-Encoding: gzip", "Cache-Control: no-cache") },
  fc.constantFrom("Connection: close", "Content-Length: 5", "Content-Length: -1", "Content-Length: 1, 2", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked, identity", "Expect: 100-continue", "X-Forwarded-For: 10.0.0.1", "Host: evil.example"),
  fc.constantFrom(" folded: continuation", "Bad Header: x", ": empty name", "NoColon", "X:\0nul", "X: a\rb", "X-\u00ff: latin1", "X: \u00ff\u00fe"),
  fc.tuple(fc.constantFrom("X-Big", "Cookie", "User-Agent", "Accept"), fc.integer({ min: 1, max: 24_000 })).map(([k, n]) => `${k}: ${"a".repeat(n)}`),
  fc.tuple(printable(12), printable(40)).map(([k, v]) => `${k}: ${v}`),
  bytesString(50),
);

const body = fc.oneof(
  { weight: 6, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.constantFrom("x=1", "0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", "zz\r\n", "GET /metrics HTTP/1.1\r\n\r\n") },
  { weight: 1, arbitrary: bytesString(100) },
);

// ---- WebSocket frames (RFC 6455 section 5.2), written by hand so any field can be wrong ----

/** A ClientMessage{ping{nonce}} as protobuf bytes, by hand (field 1 length-delimited, nonce field 1 varint). */
function pingMessage(nonce) {
  const varint = [];
  let n = BigInt(nonce);
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) b |= 0x80;
    varint.push(b);
  } while (n > 0n);
  return Buffer.from([0x0a, varint.length + 1, 0x08, ...varint]);
}

const payload = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(pingMessage) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.alloc(0), Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01]), Buffer.from([0x0a, 0x05]), Buffer.from([0x12, 0x00]), Buffer.from("hello?")) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 3000 }).map((n) => Buffer.alloc(n, 0x41)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(1000, 1001, 1002, 1005, 1006, 1015, 999, 2999, 4401, 5000, 65535), fc.constantFrom("", "bye", "\xff\xfe")).map(([code, why]) => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(why, "latin1")])) },
);

const frame = fc.record({
  fin: fc.boolean({ trueWeight: 4 }),
  rsv: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
  opcode: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0x0, 0x1, 0x2, 0x2, 0x2, 0x8, 0x9, 0xa) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  masked: fc.boolean({ trueWeight: 8 }),
  /** what the length field says: the payload's own length, or a lie (shorter, longer, the 64-bit extremes) */
  length: fc.oneof({ weight: 8, arbitrary: fc.constant("true") }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 125, 126, 65535, 65536, 2 ** 31, 2 ** 53 + 1, "2^63", "2^64-1") }),
  payload,
});

function encodeFrame(f) {
  const real = f.payload.length;
  const length = f.length === "true" ? real : f.length;
  const big = length === "2^63" ? 2n ** 63n : length === "2^64-1" ? 2n ** 64n - 1n : BigInt(length);
  let head;
  if (big < 126n) head = Buffer.from([0, Number(big)]);
  else if (big < 65536n) head = Buffer.from([0, 126, Number(big >> 8n), Number(big & 0xffn)]);
  else {
    head = Buffer.alloc(10);
    head[1] = 127;
    head.writeBigUInt64BE(big, 2);
  }
  head[0] = (f.fin ? 0x80 : 0) | (f.rsv << 4) | f.opcode;
  if (!f.masked) return Buffer.concat([head, f.payload]);
  head[1] |= 0x80;
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(f.payload.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}

/** Sequences a client may send, and ones it must not: fragments interleaved with control frames, control frames fragmented. */
const frames = fc.oneof(
  { weight: 3, arbitrary: fc.array(frame, { minLength: 1, maxLength: 5 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(payload, payload, fc.constantFrom(0x1, 0x2), fc.constantFrom(0x9, 0x8, 0x1)).map(([a, b, first, middle]) => [
      { fin: false, rsv: 0, opcode: first, masked: true, length: "true", payload: a },
      { fin: false, rsv: 0, opcode: middle, masked: true, length: "true", payload: Buffer.from("x") },
      { fin: true, rsv: 0, opcode: 0x0, masked: true, length: "true", payload: b },
    ]),
  },
).map((fs) => Buffer.concat(fs.map(encodeFrame)));

// ---- Mutation of the whole byte string ----

const mutation = fc.record({
  kind: fc.constantFrom("flip", "insert", "delete", "duplicate", "truncate", "crlf"),
  at: fc.nat(),
  span: fc.integer({ min: 1, max: 64 }),
  byte: fc.integer({ min: 0, max: 255 }),
});

function mutate(buf, m) {
  if (buf.length === 0) return buf;
  const at = m.at % buf.length;
  const end = Math.min(buf.length, at + m.span);
  switch (m.kind) {
    case "flip": {
      const out = Buffer.from(buf);
      out[at] ^= m.byte || 1;
      return out;
    }
    case "insert":
      return Buffer.concat([buf.subarray(0, at), Buffer.alloc(m.span, m.byte), buf.subarray(at)]);
    case "delete":
      return Buffer.concat([buf.subarray(0, at), buf.subarray(end)]);
    case "duplicate":
      return Buffer.concat([buf.subarray(0, end), buf.subarray(at, end), buf.subarray(end)]);
    case "truncate":
      return buf.subarray(0, at);
    case "crlf":
      return Buffer.concat([buf.subarray(0, at), Buffer.from(CRLF), buf.subarray(at)]);
  }
  return buf;
}

/**
 * One case: the bytes written on one connection, and whether the client
 * knows the token (the right token appears in what it wrote before mutation:
 * wrong tokens are drawn from other strings, so no mutation can make one right).
 */
const mutations = fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }) });

/** Every part odd or broken at once, each with its own odds. */
const wild = (ctx) =>
  fc.record({
      method,
      path: path(ctx),
      version,
      host: fc.oneof({ weight: 8, arbitrary: host(ctx).map((h) => [`Host: ${h}`]) }, { weight: 1, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.tuple(host(ctx), host(ctx)).map(([a, b]) => [`Host: ${a}`, `Host: ${b}`]) }),
      credential: credential(ctx),
      upgrade: upgradeHeaders(ctx),
      extra: fc.array(extraHeader, { maxLength: 3 }),
      newline: fc.oneof({ weight: 12, arbitrary: fc.constant(CRLF) }, { weight: 1, arbitrary: fc.constantFrom("\n", "\r") }),
      body,
      frames: fc.option(frames, { freq: 3, nil: null }),
      mutations,
      expected: fc.constant(null),
    });

/**
 * A request a real client would send to a real route, with the right token,
 * a wrong or broken one or none, a real upgrade or none: past the gate this
 * reaches the routes and, after a 101, ws's frame parser and the hub.
 */
const wellFormed = (ctx) =>
  fc.record({
    // a plain request (null) or a feed upgrade
    upgrade: fc.option(fc.constant(["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", `Sec-WebSocket-Protocol: ${SUBPROTOCOL}`]), { freq: 2 }),
    method: fc.constantFrom("GET", "GET", "GET", "HEAD", "POST"),
    route: fc.constantFrom("/", "/index.html", "/app.js", "/metrics", "/metrics", "/nothing"),
    version: fc.constant("HTTP/1.1"),
    host: fc.constantFrom([`Host: ${ctx.address}`], [`Host: localhost:${ctx.port}`], [`Host: evil.example:${ctx.port}`]),
    credential: fc.oneof({ weight: 3, arbitrary: fc.constant([`Authorization: Bearer ${ctx.token}`]) }, { weight: 2, arbitrary: credential(ctx) }),
    extra: fc.constant([]),
    newline: fc.constant(CRLF),
    body: fc.constant(""),
    frames: fc.option(frames, { freq: 5, nil: null }),
    mutations,
  }).map(({ route, ...c }) => ({ ...c, ...(c.upgrade ? { method: "GET", path: "/feed" } : { path: route }), expected: designedAnswer(ctx, c, route) }));

/**
 * What the server is designed to answer a well-formed request (README:
 * mltrace serve, Security), where its credential is one of the plain cases:
 * the status, and for a refused feed upgrade the close code after the 101.
 */
function designedAnswer(ctx, c, route) {
  const credential = c.credential.length === 0 ? "none" : c.credential[0] === `Authorization: Bearer ${ctx.token}` && c.credential.length === 1 ? "right" : null;
  if (credential === null) return null;
  if (c.host[0].includes("evil.example")) return { status: 403 };
  if (c.upgrade) return credential === "none" ? { status: 101, close: 4401 } : { status: 101 };
  if (credential === "none") return { status: 401 };
  if (c.method === "POST") return { status: 405 };
  return { status: route === "/nothing" ? 404 : 200 };
}

export function caseArbitrary(ctx) {
  const ours = [ctx.address, `localhost:${ctx.port}`, `LOCALHOST:${ctx.port}`, `[::1]:${ctx.port}`];
  return fc
    .oneof({ weight: 1, arbitrary: wild(ctx) }, { weight: 1, arbitrary: wellFormed(ctx) })
    .map((c) => {
      const lines = [`${c.method} ${c.path} ${c.version}`, ...c.host, ...c.credential, ...(c.upgrade ?? []), ...c.extra];
      const head = Buffer.from(lines.join(c.newline) + c.newline + c.newline + c.body, "latin1");
      const clean = c.frames && c.upgrade ? Buffer.concat([head, c.frames]) : head;
      const bytes = c.mutations.reduce(mutate, clean);
      const knowsToken = clean.includes(ctx.token);
      const hostLines = lines.filter((l) => /^host:/i.test(l.trimStart()));
      // No Host line names this server: what DNS rebinding looks like. Mixed ones are left alone (which one wins is node's choice).
      const foreignHost = hostLines.every((l) => !ours.includes(l.slice(l.indexOf(":") + 1).trim()));
      const foreignOrigin = (c.upgrade ?? []).some((l) => /^Origin: (http:\/\/evil\.example|null|)$/.test(l));
      return {
        bytes,
        knowsToken,
        foreignHost,
        foreignOrigin,
        mutated: c.mutations.length > 0,
        upgrade: c.upgrade !== null,
        parts: c,
        // fast-check prints this for a counterexample: the bytes as one readable string
        [fc.toStringMethod]: () => `bytes written (latin1): ${JSON.stringify(bytes.toString("latin1"))}`,
      };
    });
}

// ---- Running a case and judging the answer ----

/**
 * Writes `bytes` and collects what comes back until the server closes (or
 * `timeoutMs`). The write side is closed at once, or (`awaitAnswer`) once
 * an answer came and went quiet: node's server drops a request whose client
 * half-closed before the answer was ready (static files, /metrics), so the
 * designed-answer check must wait. A refusal is written before any await in
 * the server, so closing at once still sees every refusal.
 */
export function exchange(ctx, bytes, { awaitAnswer = false, timeoutMs = 3000 } = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    let timedOut = false;
    let quiet;
    const send = () => (awaitAnswer ? socket.write(bytes) : socket.end(bytes));
    // ctx.ca: the server speaks TLS, and this CA signed its certificate
    const socket = ctx.ca ? tlsConnect({ port: ctx.port, host: "127.0.0.1", ca: ctx.ca }, send) : connect(ctx.port, "127.0.0.1", send);
    socket.on("data", (d) => {
      chunks.push(d);
      if (!awaitAnswer) return;
      clearTimeout(quiet);
      quiet = setTimeout(() => socket.end(), 2);
    });
    socket.setTimeout(timeoutMs, () => {
      timedOut = true;
      socket.destroy();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(quiet);
      resolve({ response: Buffer.concat(chunks), timedOut });
    });
  });
}

/** The WebSocket frames a server sent after its 101, as far as they are complete: [opcode, payload]. */
export function serverFrames(afterHead) {
  const out = [];
  let pos = 0;
  while (pos + 2 <= afterHead.length) {
    const opcode = afterHead[pos] & 0x0f;
    let length = afterHead[pos + 1] & 0x7f;
    let start = pos + 2;
    if (length === 126) {
      if (start + 2 > afterHead.length) break;
      length = afterHead.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      if (start + 8 > afterHead.length) break;
      length = Number(afterHead.readBigUInt64BE(start));
      start += 8;
    }
    out.push([opcode, afterHead.subarray(start, Math.min(afterHead.length, start + length))]);
    pos = start + length;
  }
  return out;
}

/**
 * Why `response` holds data a client without the token must not see, or null.
 * Markers: what only data carries (metric names, the dashboard files' own
 * text, the Hello's host name); after a 101, any frame but a close is data.
 */
export function leak(ctx, response) {
  const text = response.toString("latin1");
  for (const marker of ctx.markers) if (text.includes(marker)) return `the answer contains "${marker}"`;
  const upgraded = text.indexOf("HTTP/1.1 101");
  if (upgraded >= 0) {
    const headEnd = text.indexOf("\r\n\r\n", upgraded);
    if (headEnd < 0) return null;
    for (const [opcode] of serverFrames(response.subarray(headEnd + 4))) if (opcode !== 0x8) return `a WebSocket frame with opcode ${opcode} after the 101`;
  }
  return null;
}

/** What an authorised client got: data (a 200 body or feed frames), for the count that shows the fuzzer reaches past the gate. */
function gotData(response) {
  const text = response.toString("latin1");
  if (/^HTTP\/1\.[01] 200 /m.test(text)) return true;
  const i = text.indexOf("HTTP/1.1 101");
  if (i < 0) return false;
  const headEnd = text.indexOf("\r\n\r\n", i);
  return headEnd >= 0 && serverFrames(response.subarray(headEnd + 4)).some(([op]) => op === 0x2);
}

/** Why `response` is not the designed answer `expected`, or null. */
function misanswered(expected, response) {
  const text = response.toString("latin1");
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0);
  if (status !== expected.status) return `status ${status || "none"}, designed ${expected.status}`;
  if (expected.close === undefined) return null;
  const close = serverFrames(response.subarray(text.indexOf("\r\n\r\n") + 4)).find(([op]) => op === 0x8);
  const code = close && close[1].length >= 2 ? close[1].readUInt16BE(0) : 0;
  return code === expected.close ? null : `close code ${code || "none"}, designed ${expected.close}`;
}

// ---- The liveness checks ----

/** A keep-alive GET /metrics with the token: 200 and the metrics text, or it throws. */
export function metricsAlive(ctx) {
  ctx.agent ??= ctx.ca ? new TlsAgent({ keepAlive: true, maxSockets: 1, ca: ctx.ca }) : new Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise((resolve, reject) => {
    const options = { host: "127.0.0.1", port: ctx.port, path: "/metrics", agent: ctx.agent, headers: { Host: ctx.address, Authorization: `Bearer ${ctx.token}` } };
    const req = (ctx.ca ? tlsRequest : request)(options, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => (res.statusCode === 200 && text.includes("mltrace_snapshots_total") ? resolve(text) : reject(new Error(`GET /metrics answered ${res.statusCode}: ${text.slice(0, 200)}`))));
    });
    req.setTimeout(5000, () => req.destroy(new Error("GET /metrics timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** A real feed client with the token: it must get a Hello and a snapshot (binary frames), or this throws. */
export function feedAlive(ctx) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${ctx.ca ? "wss" : "ws"}://${ctx.address}/feed`, [SUBPROTOCOL], { headers: { Authorization: `Bearer ${ctx.token}` }, ...(ctx.ca ? { ca: ctx.ca } : {}) });
    let frames = 0;
    const timer = setTimeout(() => fail(new Error("no Hello and snapshot within 5 s")), 5000);
    const fail = (err) => {
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    ws.on("message", (data, isBinary) => {
      if (!isBinary) return fail(new Error("a text frame from the feed"));
      if (++frames < 2) return;
      clearTimeout(timer);
      ws.close();
      resolve();
    });
    ws.on("error", fail);
    ws.on("unexpected-response", (_req, res) => fail(new Error(`the feed answered HTTP ${res.statusCode}`)));
  });
}

/**
 * Runs `numRuns` cases against the server at ctx (address, port, token,
 * markers, tick: publishes a snapshot, faults: what the server's fault guard
 * saw). Throws fast-check's report (with the seed and the shrunk case) on the
 * first case that breaks a property; returns counts otherwise.
 */
export async function fuzzServe(ctx, { numRuns, seed, feedEvery = 100, onProgress }) {
  const thrown = [];
  const onThrown = (err) => thrown.push(err);
  process.on("uncaughtException", onThrown);
  process.on("unhandledRejection", onThrown);
  const stats = { cases: 0, knowsToken: 0, withData: 0, upgrades: 0, withFrames: 0, framesPastTheGate: 0, designedChecked: 0, mutated: 0, timedOut: 0, leaksChecked: 0 };
  const started = Date.now();
  try {
    await fc.assert(
      fc.asyncProperty(caseArbitrary(ctx), async (c) => {
        stats.cases++;
        if (stats.cases % 50 === 0) ctx.tick();
        // Only what this case caused: a shrinking run must not inherit an earlier case's fault.
        const faultsBefore = ctx.faults().length;
        const thrownBefore = thrown.length;
        const designed = !c.mutated && c.parts.expected ? c.parts.expected : null;
        const { response, timedOut } = await exchange(ctx, c.bytes, { awaitAnswer: designed !== null });
        if (timedOut) stats.timedOut++;
        if (c.knowsToken) stats.knowsToken++;
        if (c.knowsToken && gotData(response)) stats.withData++;
        if (c.upgrade) stats.upgrades++;
        if (c.parts.frames && c.upgrade) stats.withFrames++;
        if (c.parts.frames && c.upgrade && c.knowsToken && gotData(response)) stats.framesPastTheGate++;
        if (c.mutated) stats.mutated++;
        // With the token but a foreign Host (DNS rebinding), nothing either, unless mutation changed what the Host was;
        // and a foreign Origin is never upgraded.
        if (!c.knowsToken || (!c.mutated && c.foreignHost)) {
          stats.leaksChecked++;
          const why = leak(ctx, response);
          if (why) throw new Error(`a client without the token (or with a foreign Host) got data: ${why}\n${response.toString("latin1").slice(0, 600)}`);
        }
        if (!c.mutated && c.foreignOrigin && response.includes("HTTP/1.1 101")) throw new Error("a foreign Origin was upgraded");
        if (designed) {
          stats.designedChecked++;
          const why = misanswered(designed, response);
          if (why) throw new Error(`a well-formed request got the wrong answer: ${why}\n${response.toString("latin1").slice(0, 600)}`);
        }
        await metricsAlive(ctx);
        if (stats.cases % feedEvery === 0) await feedAlive(ctx);
        const faults = ctx.faults().slice(faultsBefore);
        if (faults.length > 0) throw new Error(`the server's fault guard caught: ${faults.map((e) => e?.stack ?? e).join("\n")}`);
        if (thrown.length > thrownBefore) throw new Error(`thrown at the event loop: ${thrown.slice(thrownBefore).map((e) => e?.stack ?? e).join("\n")}`);
        if (onProgress && stats.cases % 1000 === 0) onProgress(stats, Date.now() - started);
      }),
      { numRuns, seed, endOnFailure: false },
    );
    await feedAlive(ctx);
  } finally {
    process.off("uncaughtException", onThrown);
    process.off("unhandledRejection", onThrown);
    ctx.agent?.destroy();
    ctx.agent = undefined;
  }
  return { ...stats, ms: Date.now() - started };
}
