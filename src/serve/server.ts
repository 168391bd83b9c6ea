// `mltrace serve`'s HTTP and WebSocket server: the dashboard's files at /,
// the feed at /feed, Prometheus text at /metrics. Every request passes the
// same gate first: a Host that is really this machine, then the token; an
// upgrade also needs an allowed Origin and the mltrace.v1 subprotocol.
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import { WebSocketServer } from "ws";
import { UserError } from "../errors.js";
import { CLOSE_TOKEN_REQUIRED, CLOSE_WRONG_TOKEN, SUBPROTOCOL } from "../feed/frames.js";
import type { SnapshotSource } from "../model/channel.js";
import type { HostInfo } from "../model/report.js";
import { packageRoot } from "../package-root.js";
import { authorize, offeredSubprotocols, presentedToken, tokenCookie, tokenMatches } from "./auth.js";
import { DEFAULT_LIMITS, type QueueLimits } from "./client-queue.js";
import { FeedHub } from "./hub.js";
import { allowedHosts, bracketed, hostAllowed, originAllowed, type OriginPolicy } from "./origin.js";
import { sendStatic } from "./static.js";

export interface ServerConfig {
  host: string;
  /** 0: any free port */
  port: number;
  token: string;
  allowOrigins: string[];
  allowHosts: string[];
  limits?: QueueLimits;
  statusEveryMs?: number;
  /** where the dashboard's files are; build/dashboard/ of the package by default */
  staticDir?: string;
}

export interface FeedServer {
  /** http://HOST:PORT with the actual port */
  readonly url: string;
  readonly port: number;
  /** Starts feeding `source`'s snapshots to clients (until then requests get 503). */
  serve(source: SnapshotSource, host: HostInfo): FeedHub;
  /** Waits (at most `ms`) for every client to have been sent everything, then ends the connections. */
  finish(ms: number): Promise<void>;
  close(): Promise<void>;
}

// Clients send only Pings (a few bytes): anything bigger is not ours.
const MAX_CLIENT_PAYLOAD = 1024;
const STATUS_EVERY_MS = 5000;

const SECURITY_HEADERS = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  // The token must not leave in a Referer, even from the ?token= URL.
  "Referrer-Policy": "no-referrer",
};

function plain(res: ServerResponse, status: number, line: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8", ...headers });
  res.end(`${line}\n`);
}

/** Refuses an upgrade with a plain HTTP answer: the socket never becomes a WebSocket. */
function refuseUpgrade(socket: Duplex, status: number, line: string): void {
  const body = `${line}\n`;
  const extra = status === 401 ? "WWW-Authenticate: Bearer\r\n" : "";
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function listen(server: ReturnType<typeof createServer>, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const where = `${bracketed(host)}:${port}`;
      const why = err.code === "EADDRINUSE" ? "address in use" : err.code === "EADDRNOTAVAIL" ? "no such address on this machine" : err.code === "EACCES" ? "permission denied" : err.message;
      reject(new UserError(`cannot listen on ${where}: ${why}`, 1));
    });
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}

/**
 * Listens first, serves later: a bad --listen or a port in use fails before
 * anything is launched or traced.
 */
export async function startFeedServer(config: ServerConfig): Promise<FeedServer> {
  let hub: FeedHub | undefined;
  let unsubscribe = () => {};
  const staticDir = config.staticDir ?? join(packageRoot, "build", "dashboard");
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_PAYLOAD,
    // Compression would cost CPU and memory per client; frames are encoded once for all.
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  // Filled in once listening: the Host check needs the actual port.
  let policy: OriginPolicy;
  let hosts = new Set<string>();

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(hosts, req.headers.host)) return plain(res, 403, "Host not allowed");
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://mltrace.invalid");
    } catch {
      return plain(res, 400, "bad request");
    }
    const read = req.method === "GET" || req.method === "HEAD";
    // ?token= on a GET: set the cookie and send the browser on without the token in its address bar.
    const queryToken = url.searchParams.get("token");
    if (read && queryToken !== null) {
      if (!tokenMatches(config.token, queryToken)) return plain(res, 403, "wrong token");
      url.searchParams.delete("token");
      return plain(res, 303, "see other", { Location: `${url.pathname}${url.search}`, "Set-Cookie": tokenCookie(config.token) });
    }
    const auth = authorize(config.token, presentedToken(req, false));
    if (!auth.ok) return plain(res, auth.status, auth.reason, auth.status === 401 ? { "WWW-Authenticate": "Bearer" } : {});
    if (!read) return plain(res, 405, "method not allowed", { Allow: "GET, HEAD" });
    if (!hub) return plain(res, 503, "starting");
    if (url.pathname === "/metrics") {
      const text = await hub.metrics.text();
      res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": hub.metrics.contentType });
      return void res.end(req.method === "HEAD" ? undefined : text);
    }
    if (url.pathname === "/feed") return plain(res, 426, "WebSocket upgrade required", { Upgrade: "websocket" });
    if (!(await sendStatic(staticDir, url.pathname, res, req.method === "HEAD"))) plain(res, 404, "not found");
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    if (!hostAllowed(hosts, req.headers.host)) return refuseUpgrade(socket, 403, "Host not allowed");
    if (!originAllowed(policy, req.headers.origin, req.headers.host)) return refuseUpgrade(socket, 403, "Origin not allowed");
    const auth = authorize(config.token, presentedToken(req, true));
    const feedPath = new URL(req.url ?? "/", "http://mltrace.invalid").pathname === "/feed";
    const speaksFeed = offeredSubprotocols(req).includes(SUBPROTOCOL);
    if (!auth.ok) {
      // A page never sees the HTTP status of a refused upgrade: to a browser
      // a 403 and a closed port look alike. A well-formed feed request is
      // told with the close code instead (4401/4403 mirror 401/403), before
      // anything else is sent; anything else gets the HTTP status.
      if (!feedPath || !speaksFeed) return refuseUpgrade(socket, auth.status, auth.reason);
      return wss.handleUpgrade(req, socket, head, (ws) => ws.close(auth.status === 401 ? CLOSE_TOKEN_REQUIRED : CLOSE_WRONG_TOKEN, `auth refused: ${auth.reason}`));
    }
    if (!feedPath) return refuseUpgrade(socket, 404, "not found");
    if (!speaksFeed) return refuseUpgrade(socket, 400, `subprotocol ${SUBPROTOCOL} required`);
    const feed = hub;
    if (!feed) return refuseUpgrade(socket, 503, "starting");
    wss.handleUpgrade(req, socket, head, (ws) => feed.attach(ws));
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch(() => {
      if (!res.headersSent) plain(res, 500, "internal error");
      else res.destroy();
    });
  });
  server.on("upgrade", onUpgrade);
  // Never let a broken client connection take the agent down.
  server.on("clientError", (_err, socket) => socket.destroy());

  const address = await listen(server, config.host, config.port);
  policy = { listenHost: config.host, port: address.port, allowHosts: config.allowHosts, allowOrigins: config.allowOrigins };
  hosts = allowedHosts(policy);

  return {
    url: `http://${bracketed(config.host)}:${address.port}`,
    port: address.port,
    serve(source, host) {
      const feed = new FeedHub(source.current(), {
        host,
        agent: host.hostname,
        limits: config.limits ?? DEFAULT_LIMITS,
        statusEveryMs: config.statusEveryMs ?? STATUS_EVERY_MS,
      });
      unsubscribe = source.subscribe((snap) => feed.publish(snap));
      hub = feed;
      return feed;
    },
    async finish(ms) {
      unsubscribe();
      await hub?.drain(ms);
      hub?.disconnectAll(1000, "target exited");
    },
    close() {
      unsubscribe();
      hub?.close();
      hub?.disconnectAll(1001, "agent stopping");
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
