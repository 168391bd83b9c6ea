// The server's gate (README: mltrace serve, Security), on a real server on
// port 0: the token on every route and method, Host and Origin on the
// upgrade, and what a misbehaving client can and cannot do to the others.
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { CLOSE_TOKEN_REQUIRED, CLOSE_WRONG_TOKEN, SUBPROTOCOL, encodeClientMessage } from "../../src/feed/frames.js";
import { TOKEN, rawExchange, rawUpgrade, reader, sleep, testServer, type TestServer } from "../helpers/feed.js";
import { waitFor } from "../helpers/mltrace.js";

let t: TestServer;
let staticDir: string;
let internalErrors: unknown[];

beforeEach(async () => {
  staticDir = mkdtempSync(join(tmpdir(), "mltrace-dashboard-"));
  writeFileSync(join(staticDir, "index.html"), "<!doctype html><title>dashboard</title>");
  writeFileSync(join(staticDir, "app.js"), "console.log(1)");
  internalErrors = [];
  t = await testServer({ staticDir, allowOrigins: ["http://dash.example:8080"], onInternalError: (e) => internalErrors.push(e) });
  t.tick();
});

afterEach(async () => {
  await t.close();
  // Every answer here is a designed one: none may come from the fault guard.
  expect(internalErrors).toEqual([]);
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const [host, port] = t.address.split(":");
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), method, path, headers }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(method === "POST" || method === "PUT" ? "x=1" : undefined);
  });
}

const ROUTES = ["/", "/index.html", "/app.js", "/metrics", "/feed", "/nothing-here", "/../../etc/passwd"];
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"];

it("refuses every route and method without the token (401) and with a wrong one (403), saying no more than why", async () => {
  for (const path of ROUTES) {
    for (const method of METHODS) {
      const none = await http(method, path);
      expect(none.status, `${method} ${path}`).toBe(401);
      const wrong = await http(method, path, { Authorization: "Bearer wrong-token-0123456789" });
      expect(wrong.status, `${method} ${path}`).toBe(403);
      const wrongCookie = await http(method, path, { Cookie: "mltrace_token=wrong-token-0123456789" });
      expect(wrongCookie.status, `${method} ${path}`).toBe(403);
      for (const a of [none, wrong, wrongCookie]) {
        if (method !== "HEAD") expect(a.body.trim().split("\n")).toHaveLength(1);
        expect(a.body).not.toMatch(/mltrace_|dashboard|pipeline/);
      }
    }
  }
  // a wrong ?token= sets no cookie
  const wrongQuery = await http("GET", "/?token=nope-nope-nope-nope");
  expect(wrongQuery.status).toBe(403);
  expect(wrongQuery.headers["set-cookie"]).toBeUndefined();
});

it("refuses a WebSocket without the token, with a wrong one, and never sends it a frame", async () => {
  // A well-formed feed request hears it from the close code (a browser cannot
  // see an upgrade's HTTP status): 4401 without a token, 4403 with a wrong one.
  const wrongCookie = { headers: { Cookie: "mltrace_token=wrong-token-0123456789" } };
  const cases = [{}, { token: "wrong-token-0123456789" }, { protocols: [SUBPROTOCOL, "mltrace.token.wrong-token-0123456789"] }, wrongCookie];
  for (const options of cases) {
    const c = reader(t.address, options);
    const code = await c.closed;
    expect(code, JSON.stringify(options)).toBe(Object.keys(options).length === 0 ? CLOSE_TOKEN_REQUIRED : CLOSE_WRONG_TOKEN);
    t.tick();
    await sleep(50);
    expect(c.messages).toHaveLength(0);
  }
  // raw: after the 101, one close frame and not one byte of data
  const raw = await rawUpgrade(t.address, { Host: t.address, "Sec-WebSocket-Protocol": SUBPROTOCOL }, "/feed", { untilClosed: true });
  expect(raw.status).toBe(101);
  const frames = raw.response.slice(raw.response.indexOf("\r\n\r\n") + 4);
  expect(frames.charCodeAt(0)).toBe(0x88); // FIN + close: the first and only frame
  expect(frames.slice(4)).toBe("auth refused: token required");
  // not a feed request (no subprotocol): the plain HTTP refusal
  const bare = await rawUpgrade(t.address, { Host: t.address });
  expect(bare.status).toBe(401);
  expect(bare.response).toMatch(/\r\n\r\ntoken required\n$/);
});

it("prefers the token a WebSocket names over a cookie another agent on this host set", async () => {
  // cookies ignore ports: a dashboard from another agent's port sends that agent's cookie too
  const c = reader(t.address, { protocols: [SUBPROTOCOL, `mltrace.token.${TOKEN}`], headers: { Cookie: "mltrace_token=another-agents-token-012345" } });
  await c.opened;
  t.tick();
  await waitFor("a snapshot", () => c.snapshots().length > 0);
  c.ws.close();
});

it("accepts the token as bearer, cookie (set by ?token=) or subprotocol, and selects only mltrace.v1", async () => {
  expect((await http("GET", "/metrics", { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  const redirect = await http("GET", `/app.js?token=${TOKEN}&x=1`);
  expect(redirect.status).toBe(303);
  expect(redirect.headers.location).toBe("/app.js?x=1");
  const cookie = String(redirect.headers["set-cookie"]);
  expect(cookie).toMatch(/^mltrace_token=[^;]+; HttpOnly; SameSite=Strict; Path=\//);
  const page = await http("GET", "/", { Cookie: cookie.split(";")[0]! });
  expect(page.status).toBe(200);
  expect(page.headers["content-type"]).toMatch(/^text\/html/);
  expect(page.body).toContain("<title>dashboard</title>");
  // the page may run only its own scripts, embed no plugin, and never be framed
  const csp = String(page.headers["content-security-policy"]).split(/;\s*/);
  expect(csp).toEqual(expect.arrayContaining(["script-src 'self' 'unsafe-eval'", "object-src 'none'", "frame-ancestors 'none'", "default-src 'none'"]));
  expect(csp.join(";")).not.toMatch(/unsafe-inline|\*/);
  expect(page.headers["x-frame-options"]).toBe("DENY");
  expect((await http("GET", "/app.js", { Cookie: cookie.split(";")[0]! })).headers["content-type"]).toMatch(/^text\/javascript/);

  const bySubprotocol = reader(t.address, { protocols: [SUBPROTOCOL, `mltrace.token.${TOKEN}`] });
  await bySubprotocol.opened;
  expect(bySubprotocol.ws.protocol).toBe(SUBPROTOCOL);
  const byCookie = reader(t.address, { headers: { Cookie: `mltrace_token=${TOKEN}`, Origin: `http://${t.address}` } });
  await byCookie.opened;
  bySubprotocol.ws.close();
  byCookie.ws.close();
});

it("answers 404 for what is not there or outside the dashboard's folder, 405 for writes, after the token", async () => {
  const auth = { Authorization: `Bearer ${TOKEN}` };
  for (const path of ["/nothing-here", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/.hidden", "/a/../../x"]) {
    expect((await http("GET", path, auth)).status, path).toBe(404);
  }
  expect((await http("POST", "/metrics", auth)).status).toBe(405);
  expect((await http("GET", "/feed", auth)).status).toBe(426);
});

it("refuses a foreign Host (DNS rebinding) on HTTP and the upgrade, and a foreign Origin on the upgrade", async () => {
  const auth = { Authorization: `Bearer ${TOKEN}` };
  expect((await http("GET", "/metrics", { ...auth, Host: `evil.example:${t.server.port}` })).status).toBe(403);
  expect((await http("GET", "/metrics", { ...auth, Host: `localhost:${t.server.port}` })).status).toBe(200);
  const upgrade = { ...auth, "Sec-WebSocket-Protocol": SUBPROTOCOL };
  expect((await rawUpgrade(t.address, { ...upgrade, Host: `evil.example:${t.server.port}` })).status).toBe(403);
  expect((await rawUpgrade(t.address, { ...upgrade, Host: t.address, Origin: "http://evil.example" })).status).toBe(403);
  // our own origin, a listed one, and none at all (not a browser) are fine
  expect((await rawUpgrade(t.address, { ...upgrade, Host: t.address, Origin: `http://${t.address}` })).status).toBe(101);
  expect((await rawUpgrade(t.address, { ...upgrade, Host: t.address, Origin: "http://dash.example:8080" })).status).toBe(101);
  expect((await rawUpgrade(t.address, { ...upgrade, Host: t.address })).status).toBe(101);
  // without the subprotocol, not a feed client
  expect((await rawUpgrade(t.address, { ...auth, Host: t.address })).status).toBe(400);
});

it("closes a connection that sends an oversize frame", async () => {
  const c = reader(t.address, { token: TOKEN });
  await c.opened;
  c.ws.send(Buffer.alloc(64 * 1024, 1));
  expect(await c.closed).toBe(1009);
});

it("closes only the client that sends a malformed message; the others keep receiving", async () => {
  const bad = reader(t.address, { token: TOKEN });
  const good = reader(t.address, { token: TOKEN });
  await Promise.all([bad.opened, good.opened]);
  bad.ws.send(Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01]));
  expect(await bad.closed).toBe(1008);
  const text = reader(t.address, { token: TOKEN });
  await text.opened;
  text.ws.send("hello?");
  expect(await text.closed).toBe(1008);

  const before = good.snapshots().length;
  t.tick();
  t.tick();
  await waitFor("two more snapshots for the good client", () => good.snapshots().length === before + 2, 2000);
  // and it still gets answers: a ping is answered by a status with the nonce
  good.ws.send(encodeClientMessage({ ping: { nonce: 42 } }));
  await waitFor("the pong", () => good.messages.some((m) => "status" in m && m.status.pong === 42), 2000);
  good.ws.close();
});

it("survives the requests that once ended it, and answers each as designed", async () => {
  const status = (bytes: Buffer) => Number(/^HTTP\/1\.1 (\d+)/.exec(bytes.toString("latin1"))?.[1] ?? 0);
  const upgrade = (path: string, headers: string[]) =>
    `GET ${path} HTTP/1.1\r\nHost: ${t.address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`;
  // new URL("//", base) threw in the upgrade handler, before the token was checked
  expect(status(await rawExchange(t.address, upgrade("//", [])))).toBe(401);
  expect(status(await rawExchange(t.address, upgrade("//", [`Authorization: Bearer ${TOKEN}`, `Sec-WebSocket-Protocol: ${SUBPROTOCOL}`])))).toBe(404);
  // decodeURIComponent("%") threw: a cookie that is not valid percent-encoding is a wrong token
  const badCookie = await rawExchange(t.address, upgrade("/feed", ["Cookie: mltrace_token=%", `Sec-WebSocket-Protocol: ${SUBPROTOCOL}`]));
  expect(status(badCookie)).toBe(101);
  expect(badCookie.toString("latin1")).toContain("auth refused: wrong token");
  expect((await http("GET", "/", { Cookie: "mltrace_token=%; mltrace_token=%E0%A4%A" })).status).toBe(403);
  // "//host/path" is a path on this server, not a host: not /metrics, and never a redirect elsewhere
  expect((await http("GET", "//evil.example/metrics", { Authorization: `Bearer ${TOKEN}` })).status).toBe(404);
  const redirect = await http("GET", `//evil.example/?token=${TOKEN}`);
  expect(redirect.status).toBe(303);
  expect(redirect.headers.location).toBe("/evil.example/");
  // absolute-form targets are read, and their host must be this machine's as Host must
  const absolute = (url: string) => `GET ${url} HTTP/1.1\r\nHost: ${t.address}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`;
  expect(status(await rawExchange(t.address, absolute(`http://${t.address}/metrics`)))).toBe(200);
  expect(status(await rawExchange(t.address, absolute("http://evil.example/metrics")))).toBe(403);
  expect(status(await rawExchange(t.address, `OPTIONS * HTTP/1.1\r\nHost: ${t.address}\r\n\r\n`))).toBe(400);
  // CONNECT is no route: said so (node alone drops the connection without a word)
  expect(status(await rawExchange(t.address, `CONNECT ${t.address} HTTP/1.1\r\nHost: ${t.address}\r\n\r\n`))).toBe(405);
  // node's parser refuses these; the answer says so instead of a silent close
  expect(status(await rawExchange(t.address, "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"))).toBe(400);
  expect(status(await rawExchange(t.address, `GET / HTTP/1.1\r\nHost: ${t.address}\r\nX: ${"a".repeat(20_000)}\r\n\r\n`))).toBe(431);
  // and a client on a refused upgrade that keeps writing garbage frames is closed, not an uncaught 'error'
  const garbage = Buffer.concat([Buffer.from(upgrade("/feed", [`Sec-WebSocket-Protocol: ${SUBPROTOCOL}`])), Buffer.from([0x8f, 0x80, 0, 0, 0, 0])]);
  expect(status(await rawExchange(t.address, garbage))).toBe(101);
  expect((await http("GET", "/metrics", { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
});
