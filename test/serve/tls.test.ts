// `serve --tls-cert/--tls-key` (README: mltrace serve, TLS) with a private
// CA and a server certificate made by openssl for this test: the feed over
// wss and /metrics over https for a client that trusts the CA, refused by
// one that does not (no CA, a wrong CA), the Secure cookie and the https
// Origin; then the fuzz suite over TLS, and plain bytes on the TLS port.
// With eBPF: `mltrace serve` itself over TLS, and the warning for a remote
// address without it.
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { UserError } from "../../src/errors.js";
import { FeedClient, feedUrl } from "../../src/feed/client.js";
import { SUBPROTOCOL } from "../../src/feed/frames.js";
import type { TopSnapshot } from "../../src/model/live.js";
import { describeEbpf } from "../helpers/ebpf.js";
import { TOKEN, rawExchange, testServer, type TestServer } from "../helpers/feed.js";
import { mltrace, pipeline, waitFor, type Running } from "../helpers/mltrace.js";
import { fuzzServe } from "../helpers/serve-fuzz.mjs";
import { makeCertificates, type TestCertificates } from "../helpers/tls.js";

let certs: TestCertificates;
let ca: Buffer;

beforeAll(() => {
  certs = makeCertificates();
  ca = readFileSync(certs.ca);
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function https(port: number, path: string, options: { ca?: Buffer; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: options.headers, ...(options.ca ? { ca: options.ca } : {}) }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error("the https request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** The error a client's connection failed with, as a UserError's message. */
async function refusal(client: FeedClient): Promise<string> {
  try {
    await client.connect();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  } finally {
    client.close();
  }
  throw new Error("the connection was not refused");
}

describe("the server over TLS", () => {
  let t: TestServer;
  const faults: unknown[] = [];

  beforeAll(async () => {
    t = await testServer({ tls: { cert: readFileSync(certs.cert), key: readFileSync(certs.key) }, onInternalError: (e) => faults.push(e) });
    t.tick();
  });

  afterAll(async () => {
    await t?.close();
    expect(faults).toEqual([]);
  });

  it("feeds a wss client that trusts the CA, by address and by name", async () => {
    expect(t.server.url).toBe(`https://${t.address}`);
    for (const address of [t.address, `localhost:${t.server.port}`]) {
      const client = new FeedClient(feedUrl(`wss://${address}`), TOKEN, ca);
      await client.connect();
      const seen: TopSnapshot[] = [];
      client.subscribe((s) => seen.push(s));
      t.tick();
      t.tick();
      await waitFor("two snapshots over wss", () => seen.length >= 2, 5000);
      expect(seen.at(-1)!.target.comm).toBe("pipeline");
      expect(seen.at(-1)!.uptime_s).toBeGreaterThan(seen[0]!.uptime_s);
      client.close();
    }
  });

  it("is refused by a client without the CA, with a wrong CA, or that came for another name", async () => {
    const url = feedUrl(`wss://${t.address}`);
    expect(await refusal(new FeedClient(url, TOKEN))).toMatch(/certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); give the CA that signed it with --ca FILE/);
    expect(await refusal(new FeedClient(url, TOKEN, readFileSync(certs.wrongCa)))).toMatch(/certificate is not trusted .*--ca FILE/);
    // a certificate the CA signed, but for other names
    const elsewhere = await testServer({ tls: { cert: readFileSync(certs.elsewhere), key: readFileSync(certs.key) } });
    try {
      expect(await refusal(new FeedClient(feedUrl(`wss://${elsewhere.address}`), TOKEN, ca))).toMatch(/certificate is not for 127\.0\.0\.1 \(.*IP: 127\.0\.0\.1 is not in the cert's list: 10\.9\.8\.7/);
    } finally {
      await elsewhere.close();
    }
    await expect(https(t.server.port, "/metrics", { headers: { Authorization: `Bearer ${TOKEN}` } })).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    await expect(https(t.server.port, "/metrics", { ca: readFileSync(certs.wrongCa), headers: { Authorization: `Bearer ${TOKEN}` } })).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
  });

  it("answers https /metrics with the bearer, refuses it without, and sets a Secure cookie", async () => {
    const metrics = await https(t.server.port, "/metrics", { ca, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^mltrace_snapshots_total \d+$/m);
    expect((await https(t.server.port, "/metrics", { ca })).status).toBe(401);
    const redirect = await https(t.server.port, `/?token=${TOKEN}`, { ca });
    expect(redirect.status).toBe(303);
    expect(String(redirect.headers["set-cookie"])).toMatch(/; Secure$/);
  });

  it("upgrades a page from its own https origin, not from the http one", async () => {
    const open = (origin: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`wss://${t.address}/feed`, [SUBPROTOCOL], { ca, headers: { Authorization: `Bearer ${TOKEN}`, Origin: origin } });
        ws.on("open", () => (ws.close(), resolve(101)));
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode!));
        ws.on("error", () => {});
      });
    expect(await open(`https://${t.address}`)).toBe(101);
    expect(await open(`http://${t.address}`)).toBe(403);
  });

  it("survives plain HTTP, a plain WebSocket and garbage on its TLS port, and 300 fuzz cases over TLS", async () => {
    const plain = await rawExchange(t.address, `GET /metrics HTTP/1.1\r\nHost: ${t.address}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    expect(plain.toString("latin1")).not.toContain("mltrace_");
    await rawExchange(t.address, Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00]));
    expect(await refusal(new FeedClient(feedUrl(`ws://${t.address}`), TOKEN))).toMatch(/cannot connect/);
    const ctx = { address: t.address, port: t.server.port, token: TOKEN, ca, markers: ["mltrace_", "testhost"], tick: t.tick, faults: () => faults };
    const stats = await fuzzServe(ctx, { numRuns: 300, seed: 12 });
    expect(stats.withData).toBeGreaterThan(0);
    expect((await https(t.server.port, "/metrics", { ca, headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it("a wss client to a plain server is told there is no TLS there", async () => {
    const plainServer = await testServer();
    try {
      expect(await refusal(new FeedClient(feedUrl(`wss://${plainServer.address}`), TOKEN, ca))).toMatch(/no TLS there .*a plain agent is ws:\/\//);
    } finally {
      await plainServer.close();
    }
  });
});

/** SIGTERM, then SIGKILL if it has not exited within 10 s: a stuck agent fails the test instead of hanging it. */
async function stop(agent: Running): Promise<void> {
  agent.child.kill("SIGTERM");
  const killer = setTimeout(() => agent.child.kill("SIGKILL"), 10_000);
  await agent.exited;
  clearTimeout(killer);
}

/** `p`, or an error naming `what` after `ms`. */
function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describeEbpf("mltrace serve over TLS", () => {
  it("serves the pipeline's feed over wss and /metrics over https; a remote address without TLS is warned about", async () => {
    const agent = mltrace(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--tls-cert", certs.cert, "--tls-key", certs.key, "--interval", "0.3", "--", pipeline, "--workers", "1", "--threads", "1", "--batches", "100000"]);
    try {
      await waitFor("the dashboard line", () => /dashboard https:\/\/127\.0\.0\.1:\d+\//.test(agent.stderr()), 20_000);
      const port = Number(/dashboard https:\/\/127\.0\.0\.1:(\d+)\//.exec(agent.stderr())![1]);
      expect(agent.stderr()).toContain(`feed wss://127.0.0.1:${port}/feed, metrics https://127.0.0.1:${port}/metrics`);
      expect(agent.stderr()).not.toMatch(/warning/);
      const client = new FeedClient(feedUrl(`wss://127.0.0.1:${port}`), TOKEN, ca);
      await within("the agent's Hello over wss", 15_000, client.connect());
      const seen: TopSnapshot[] = [];
      client.subscribe((s) => seen.push(s));
      await waitFor("two snapshots of the pipeline", () => seen.filter((s) => s.interval?.roles.some((r) => r.role === "trainer")).length >= 2, 20_000);
      client.close();
      const metrics = await https(port, "/metrics", { ca, headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(metrics.body).toMatch(/^mltrace_sched_oncpu_seconds_total\{role="trainer"\} [\d.]+$/m);
    } finally {
      await stop(agent);
    }

    const remote = mltrace(["serve", "--listen", "0.0.0.0:0", "--allow-remote", "--token", TOKEN, "--", "sleep", "30"]);
    try {
      await waitFor("the warning", () => /warning/.test(remote.stderr()), 20_000);
      expect(remote.stderr()).toMatch(/^mltrace: warning: plain HTTP on 0\.0\.0\.0: the token and the data cross the network in clear.*--tls-cert and --tls-key/m);
    } finally {
      await stop(remote);
    }
  });
});
