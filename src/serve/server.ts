// `mltrace serve`'s HTTP and WebSocket server: the dashboard's files at /,
// the feed at /feed, Prometheus text at /metrics. Every request passes the
// same gate first: a Host that is really this machine, then the token; an
// upgrade also needs an allowed Origin and the mltrace.v1 subprotocol.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
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
import { closedByWs, FeedHub } from "./hub.js";
import { allowedHosts, bracketed, hostAllowed, originAllowed, type OriginPolicy } from "./origin.js";
import { localLocation, requestTarget } from "./request-target.js";
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
  /** PEM certificate (chain) and key: https and wss with node's own TLS; plain http and ws without */
  tls?: { cert: Buffer; key: Buffer };
  /** where the dashboard's files are; build/dashboard/ of the package by default */
  staticDir?: string;
  /**
   * A fault of mltrace's own while answering a client (the client got a 500
   * or a closed socket; the server carries on). Also counted in /metrics.
   */
  onInternalError?: (err: unknown) => void;
}

export interface FeedServer {
  /** http://HOST:PORT (https:// with TLS) with the actual port */
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

/**
 * What the dashboard may do (README: Dashboard): its own scripts and styles
 * only (no inline script or style, no plugins), WebSockets to any agent
 * (other agents are on other hosts), and never inside another site's frame.
 * 'unsafe-eval' because protobufjs builds each type's decoder with
 * new Function(): the page learns the schema from the Hello at run time,
 * and protobufjs has no decoder that is not generated code.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** On every answer: the dashboard's files, the metrics, the refusals. */
const SECURITY_HEADERS = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  // The token must not leave in a Referer, even from the ?token= URL.
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  // frame-ancestors for browsers that predate it
  "X-Frame-Options": "DENY",
};

function plain(res: ServerResponse, status: number, line: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8", ...headers });
  res.end(`${line}\n`);
}

/** Refuses an upgrade (or a CONNECT) with a plain HTTP answer written on its socket: it never becomes a WebSocket. */
function refuseOnSocket(socket: Duplex, status: number, line: string): void {
  const body = `${line}\n`;
  const extra = status === 401 ? "WWW-Authenticate: Bearer\r\n" : "";
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
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
  const secure = config.tls !== undefined;
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

  /** A Host header, and the host of an absolute-form target too, must be this machine. */
  const hostsAllowed = (req: IncomingMessage, targetHost: string | undefined) =>
    hostAllowed(hosts, req.headers.host) && (targetHost === undefined || hostAllowed(hosts, targetHost));

  function internalError(err: unknown): void {
    hub?.metrics.internalErrors.inc();
    config.onInternalError?.(err);
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = requestTarget(req.url);
    if (!hostsAllowed(req, target?.host)) return plain(res, 403, "Host not allowed");
    if (!target) return plain(res, 400, "bad request");
    const read = req.method === "GET" || req.method === "HEAD";
    // ?token= on a GET: set the cookie and send the browser on without the token in its address bar.
    const queryToken = target.query.get("token");
    if (read && queryToken !== null) {
      if (!tokenMatches(config.token, queryToken)) return plain(res, 403, "wrong token");
      target.query.delete("token");
      return plain(res, 303, "see other", { Location: localLocation(target.pathname, target.query), "Set-Cookie": tokenCookie(config.token, secure) });
    }
    const auth = authorize(config.token, presentedToken(req, false));
    if (!auth.ok) return plain(res, auth.status, auth.reason, auth.status === 401 ? { "WWW-Authenticate": "Bearer" } : {});
    if (!read) return plain(res, 405, "method not allowed", { Allow: "GET, HEAD" });
    if (!hub) return plain(res, 503, "starting");
    if (target.pathname === "/metrics") {
      const text = await hub.metrics.text();
      res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": hub.metrics.contentType });
      return void res.end(req.method === "HEAD" ? undefined : text);
    }
    if (target.pathname === "/feed") return plain(res, 426, "WebSocket upgrade required", { Upgrade: "websocket" });
    if (!(await sendStatic(staticDir, target.pathname, res, req.method === "HEAD", SECURITY_HEADERS))) plain(res, 404, "not found");
  }

  /** `owner.ws` is set once the socket is ws's: from then on only ws writes to it, and a fault just closes it. */
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, owner: { ws: boolean }): void {
    const target = requestTarget(req.url);
    if (!hostsAllowed(req, target?.host)) return refuseOnSocket(socket, 403, "Host not allowed");
    if (!originAllowed(policy, req.headers.origin, req.headers.host)) return refuseOnSocket(socket, 403, "Origin not allowed");
    const auth = authorize(config.token, presentedToken(req, true));
    const feedPath = target?.pathname === "/feed";
    const speaksFeed = offeredSubprotocols(req).includes(SUBPROTOCOL);
    if (!auth.ok) {
      // A page never sees the HTTP status of a refused upgrade: to a browser
      // a 403 and a closed port look alike. A well-formed feed request is
      // told with the close code instead (4401/4403 mirror 401/403), before
      // anything else is sent; anything else gets the HTTP status.
      if (!feedPath || !speaksFeed) return refuseOnSocket(socket, auth.status, auth.reason);
      owner.ws = true;
      return wss.handleUpgrade(req, socket, head, (ws) => {
        // What the client sends before it reads our close frame still reaches
        // ws's parser, and a bad frame is an 'error' (unheard, it would end
        // the agent). ws has closed the connection itself by then.
        ws.on("error", closedByWs);
        ws.close(auth.status === 401 ? CLOSE_TOKEN_REQUIRED : CLOSE_WRONG_TOKEN, `auth refused: ${auth.reason}`);
      });
    }
    if (!target) return refuseOnSocket(socket, 400, "bad request");
    if (!feedPath) return refuseOnSocket(socket, 404, "not found");
    if (!speaksFeed) return refuseOnSocket(socket, 400, `subprotocol ${SUBPROTOCOL} required`);
    const feed = hub;
    if (!feed) return refuseOnSocket(socket, 503, "starting");
    owner.ws = true;
    wss.handleUpgrade(req, socket, head, (ws) => feed.attach(ws));
  }

  const onEachRequest = (req: IncomingMessage, res: ServerResponse) => {
    onRequest(req, res).catch((err) => {
      internalError(err);
      // Nothing may escape here either: a rejection nobody handles ends node.
      try {
        if (!res.headersSent) return plain(res, 500, "internal error");
      } catch {}
      res.destroy();
    });
  };
  // https.Server is an http.Server over TLS: the same events, the same handlers.
  const server: Server = config.tls ? createTlsServer({ cert: config.tls.cert, key: config.tls.key }, onEachRequest) : createServer(onEachRequest);
  // The same guard for upgrades: an upgrade is not a request, and an exception
  // in its handler would reach the event loop and end the agent.
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const owner = { ws: false };
    try {
      onUpgrade(req, socket, head, owner);
    } catch (err) {
      internalError(err);
      if (!owner.ws && !socket.destroyed) refuseOnSocket(socket, 500, "internal error");
      else socket.destroy();
    }
  });
  // CONNECT (a proxy's method) is no route here; unheard, node drops the connection without a word.
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    socket.on("error", () => socket.destroy());
    refuseOnSocket(socket, 405, "method not allowed");
  });
  // A request node's parser refused (bad syntax, headers too big): say so
  // unless a response is already under way on that connection, then close it.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.writable && (socket as Socket).bytesWritten === 0 && err.code !== "ECONNRESET") {
      const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  });

  const address = await listen(server, config.host, config.port);
  // After listen(): accept() can still fail (EMFILE when out of descriptors).
  // That refuses one connection; unheard, it would end the agent.
  server.on("error", internalError);
  policy = { listenHost: config.host, port: address.port, allowHosts: config.allowHosts, allowOrigins: config.allowOrigins, secure };
  hosts = allowedHosts(policy);

  return {
    url: `${secure ? "https" : "http"}://${bracketed(config.host)}:${address.port}`,
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
