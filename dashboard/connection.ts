// One agent's WebSocket: connect (with the token as a subprotocol when the
// agent is not the page's own), learn the schema from the Hello, decode each
// frame, ping now and then, and reconnect with backoff. It reports; the
// page's state lives in AgentState.
import type { Connection } from "./agent-state";
import type { FeedMessage } from "./types";
import { codecFromHello, type FeedCodec } from "./wire";

export const SUBPROTOCOL = "mltrace.v1";
/** Close codes an agent uses for a missing or wrong token (no Hello is sent). */
export const AUTH_CLOSE_CODES = new Set([4401, 4403]);
const PING_EVERY_MS = 5000;
const BACKOFF_MS = [1000, 2000, 5000, 10000];

export interface ConnectionEvents {
  message(m: FeedMessage, pings: Map<number, number>): void;
  state(c: Connection): void;
  problem(text: string): void;
}

export class AgentConnection {
  private socket: WebSocket | null = null;
  private codec: FeedCodec | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pinger: ReturnType<typeof setInterval> | null = null;
  private readonly pings = new Map<number, number>();
  private nonce = 0;
  private stopped = false;

  /** `token` null: the page's own agent, authenticated by its cookie. */
  constructor(
    readonly url: string,
    private readonly token: string | null,
    private readonly on: ConnectionEvents,
  ) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onopen = s.onmessage = s.onclose = s.onerror = null;
      s.close(1000, "dashboard closed the agent");
    }
  }

  private open(): void {
    this.attempt++;
    this.codec = null;
    this.on.state({ kind: "connecting", attempt: this.attempt });
    const protocols = this.token ? [SUBPROTOCOL, `mltrace.token.${this.token}`] : [SUBPROTOCOL];
    // A page that came over https may not open ws:// (mixed content): the
    // browser refuses before connecting, and would say only "SecurityError".
    if (location.protocol === "https:" && this.url.startsWith("ws:")) {
      this.on.state({ kind: "disconnected", reason: "this page came over https: the browser opens only wss:// agents", retryAtMs: null });
      return;
    }
    let s: WebSocket;
    try {
      s = new WebSocket(this.url, protocols);
    } catch (e) {
      this.on.state({ kind: "auth-refused", reason: `bad URL or token: ${(e as Error).message}` });
      return;
    }
    s.binaryType = "arraybuffer";
    this.socket = s;
    let opened = false;
    s.onopen = () => {
      opened = true;
    };
    s.onmessage = (ev) => {
      if (!(ev.data instanceof ArrayBuffer)) return this.on.problem("text frame from the agent (expected binary protobuf)");
      const bytes = new Uint8Array(ev.data);
      try {
        if (!this.codec) {
          this.codec = codecFromHello(bytes);
          this.attempt = 0;
          this.on.state({ kind: "live" });
          this.startPinging();
        }
        this.on.message(this.codec.decode(bytes), this.pings);
      } catch (e) {
        this.on.problem(`undecodable frame: ${(e as Error).message}`);
        if (!this.codec) s.close(4000, "no usable Hello");
      }
    };
    s.onclose = (ev) => {
      this.socket = null;
      this.clearTimers();
      if (this.stopped) return;
      if (AUTH_CLOSE_CODES.has(ev.code)) {
        this.on.state({ kind: "auth-refused", reason: ev.reason || `closed with ${ev.code}` });
        return;
      }
      const reason = opened ? `closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ""})` : "refused or unreachable";
      const wait = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length) - 1] ?? BACKOFF_MS[0]!;
      this.on.state({ kind: "disconnected", reason, retryAtMs: Date.now() + wait });
      this.timer = setTimeout(() => this.open(), wait);
    };
  }

  private startPinging(): void {
    this.pinger = setInterval(() => {
      if (!this.codec || this.socket?.readyState !== WebSocket.OPEN) return;
      const nonce = ++this.nonce;
      this.pings.set(nonce, Date.now());
      // an unanswered ping must not stay forever
      for (const [n] of this.pings) if (n < nonce - 5) this.pings.delete(n);
      this.socket.send(this.codec.encodePing(nonce));
    }, PING_EVERY_MS);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.pinger) clearInterval(this.pinger);
    this.timer = this.pinger = null;
    this.pings.clear();
  }
}
