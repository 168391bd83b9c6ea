// `mltrace top --connect`: a snapshot source fed by a remote agent's feed.
// The TUI cannot tell it from local tracing, except for the notice it shows
// while the connection is down (it reconnects on its own).
import { WebSocket } from "ws";
import { UserError } from "../errors.js";
import { SnapshotChannel, type SnapshotSource } from "../model/channel.js";
import type { TopSnapshot } from "../model/live.js";
import { CLOSE_TOKEN_REQUIRED, CLOSE_WRONG_TOKEN, decodeFeed, SUBPROTOCOL, type Hello } from "./frames.js";

// Agents send big frames (every thread of a large job); the default 100 MiB of ws is fine, this is a bound.
const MAX_FRAME = 64 << 20;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;

/** ws://HOST:PORT[/feed] checked; the path defaults to /feed. */
export function feedUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`--connect wants a URL like ws://127.0.0.1:7070, not "${value}"`, 1);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new UserError(`--connect wants a ws:// or wss:// URL, not "${value}"`, 1);
  if (url.pathname === "/") url.pathname = "/feed";
  return url;
}

// What OpenSSL says when it cannot build a trusted chain to the agent's certificate.
const UNTRUSTED = new Set(["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_UNTRUSTED", "CERT_SIGNATURE_FAILURE"]);

/** A failed connection in words, TLS's reasons with what to do about them. */
export function connectionFailure(err: NodeJS.ErrnoException, url: URL): string {
  const code = err.code ?? "";
  if (UNTRUSTED.has(code)) return `the agent's certificate is not trusted (${code}); give the CA that signed it with --ca FILE`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `the agent's certificate is not for ${url.hostname} (${err.message})`;
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") return `the agent's certificate is out of date (${code})`;
  if (url.protocol === "wss:" && (code === "EPROTO" || /wrong version number|packet length too long/.test(err.message))) return `no TLS there (${err.message.trim()}); a plain agent is ws://`;
  return code || err.message;
}

function emptySnapshot(hello: Hello): TopSnapshot {
  return { target: hello.target, interval_s: hello.interval_s, uptime_s: 0, interval: null, final: null, history: [], cpu_used_s: 0, lost_events: 0, self_cpu: 0 };
}

export class FeedClient implements SnapshotSource {
  private channel?: SnapshotChannel;
  private ws?: WebSocket;
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer?: NodeJS.Timeout;
  /** the agent closed normally after its target exited: nothing to reconnect to */
  private agentDone = false;

  constructor(
    private readonly url: URL,
    private readonly token: string,
    /** PEM: the CA a wss:// agent's certificate must chain to, instead of the system's */
    private readonly ca?: Buffer,
  ) {}

  /** The first connection: resolves at the agent's Hello; refused, unreachable or not an agent is a UserError. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new UserError(`cannot connect to ${this.url.href}: ${why}`, 1));
      this.open(resolve, fail);
    });
  }

  private open(onHello: () => void, onFail: (why: string) => void): void {
    const ws = new WebSocket(this.url, [SUBPROTOCOL], {
      headers: { Authorization: `Bearer ${this.token}` },
      maxPayload: MAX_FRAME,
      perMessageDeflate: false,
      ...(this.ca ? { ca: this.ca } : {}),
    });
    this.ws = ws;
    let greeted = false;
    ws.on("unexpected-response", (_req, res) => {
      const why = res.statusCode === 401 ? "401, the agent wants a token" : res.statusCode === 403 ? `403, refused (${res.statusMessage}; wrong token, Host or Origin)` : `HTTP ${res.statusCode} ${res.statusMessage}`;
      ws.terminate();
      onFail(why);
    });
    ws.on("error", (err: NodeJS.ErrnoException) => onFail(connectionFailure(err, this.url)));
    ws.on("message", (data: Buffer) => {
      let body;
      try {
        body = decodeFeed(data);
      } catch {
        return; // a frame this version cannot read: skip it, the next snapshot replaces it
      }
      if ("hello" in body) {
        greeted = true;
        this.retryMs = RETRY_MIN_MS;
        if (!this.channel) this.channel = new SnapshotChannel(emptySnapshot(body.hello));
        else this.channel.publish({ ...this.channel.current(), notice: undefined });
        onHello();
      } else if ("snapshot" in body) {
        this.channel?.publish(body.snapshot);
      } else if ("exit" in body) {
        this.agentDone = true;
      }
    });
    ws.on("close", (code: number) => {
      if (this.closed) return;
      if (code === CLOSE_TOKEN_REQUIRED || code === CLOSE_WRONG_TOKEN) {
        // the agent will say the same on every retry: not worth reconnecting
        this.closed = true;
        const why = code === CLOSE_TOKEN_REQUIRED ? "401, the agent wants a token" : "403, wrong token";
        // a restarted agent with another token: the data stays, and the header says why it stopped
        return this.channel ? this.notice(`refused by the agent (${why}); not reconnecting`) : onFail(why);
      }
      if (!greeted && !this.channel) return onFail("the connection closed before the agent said hello");
      if (this.agentDone) return;
      this.notice("disconnected, reconnecting");
      this.retryTimer = setTimeout(() => this.reconnect(), this.retryMs);
      this.retryMs = Math.min(2 * this.retryMs, RETRY_MAX_MS);
    });
  }

  private reconnect(): void {
    if (this.closed) return;
    this.open(() => {}, (why) => this.notice(`disconnected (${why}), reconnecting`));
  }

  private notice(text: string): void {
    if (this.channel) this.channel.publish({ ...this.channel.current(), notice: text });
  }

  current(): TopSnapshot {
    if (!this.channel) throw new Error("FeedClient.current() before connect()");
    return this.channel.current();
  }

  subscribe(listener: (snap: TopSnapshot) => void): () => void {
    if (!this.channel) throw new Error("FeedClient.subscribe() before connect()");
    return this.channel.subscribe(listener);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.ws?.terminate();
  }
}
