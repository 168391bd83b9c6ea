// The feed's fan-out: every published snapshot becomes frames, encoded once,
// and the same bytes go to every client through its bounded queue. Called
// synchronously from the engine's publish; it never waits for a client.
import type { WebSocket } from "ws";
import {
  decodeClientMessage,
  diagnosisChanges,
  diagnosisFrame,
  exitFrame,
  helloFrame,
  shownDiagnoses,
  snapshotFrame,
  statusFrame,
  type FeedStatus,
} from "../feed/frames.js";
import type { TopSnapshot } from "../model/live.js";
import type { HostInfo } from "../model/report.js";
import { ClientQueue, type QueueLimits } from "./client-queue.js";
import { FeedMetrics } from "./metrics.js";

/**
 * For a WebSocket's 'error' (a frame that breaks the protocol): ws has sent
 * its close frame with the reason and ends the socket once the client
 * answers, or after its close timeout. Ending it here instead would, over
 * TLS, drop that close frame before it is written.
 */
export function closedByWs(): void {}

export interface HubOptions {
  host: HostInfo;
  agent: string;
  limits: QueueLimits;
  /** how often every client gets a FeedStatus unasked */
  statusEveryMs: number;
}

export class FeedHub {
  private readonly clients = new Set<ClientQueue>();
  private seq = 0;
  private latest: TopSnapshot;
  /** the last snapshot and exit frames, so a client joining late sees the state at once */
  private lastSnapshot?: Buffer;
  private lastExit?: Buffer;
  readonly metrics = new FeedMetrics(() => this.clients.size);
  private readonly statusTimer: NodeJS.Timeout;

  constructor(first: TopSnapshot, private readonly options: HubOptions) {
    this.latest = first;
    this.statusTimer = setInterval(() => {
      for (const c of this.clients) this.send(c, statusFrame(this.status(c)));
    }, options.statusEveryMs);
    this.statusTimer.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  private status(c: ClientQueue, pong?: number): FeedStatus {
    return { frames_sent: c.sent, frames_dropped: c.dropped, clients: this.clients.size, ...(pong !== undefined ? { pong } : {}) };
  }

  private send(c: ClientQueue, frame: Buffer, always = false): void {
    if (c.offer(frame, always)) this.metrics.framesSent.inc();
  }

  private broadcast(frame: Buffer): void {
    for (const c of this.clients) this.send(c, frame);
  }

  /** A connection that passed the server's checks: a Hello, then every frame from now on. */
  attach(ws: WebSocket): void {
    const client = new ClientQueue(ws, this.options.limits, () => this.metrics.framesDropped.inc());
    this.clients.add(client);
    ws.on("close", () => this.clients.delete(client));
    ws.on("error", closedByWs);
    ws.on("message", (data, isBinary) => {
      const message = isBinary ? decodeClientMessage(data as Buffer) : new Error("text message");
      // Only control messages are expected: anything else ends this connection, and only it.
      if (message instanceof Error) ws.close(1008, "ClientMessage expected");
      else this.send(client, statusFrame(this.status(client, message.ping.nonce)));
    });
    const { host, agent } = this.options;
    this.send(client, helloFrame({ host, agent, target: this.latest.target, interval_s: this.latest.interval_s, status: this.status(client) }), true);
    if (this.lastExit) this.send(client, this.lastExit);
    if (this.lastSnapshot) this.send(client, this.lastSnapshot);
  }

  /** One snapshot from the engine: diagnosis changes, the exit, the snapshot, to every client. */
  publish(snap: TopSnapshot): void {
    const before = this.latest;
    this.latest = snap;
    this.metrics.observe(snap);
    this.seq++;
    this.metrics.snapshots.inc();
    for (const change of diagnosisChanges(shownDiagnoses(before), shownDiagnoses(snap))) {
      this.broadcast(diagnosisFrame(change.raised, change.diagnosis, this.seq));
    }
    if (snap.final && !this.lastExit) {
      this.lastExit = exitFrame(snap.target, snap.final);
      this.broadcast(this.lastExit);
    }
    this.lastSnapshot = snapshotFrame({ ...snap, seq: this.seq, created_unix_ms: Date.now() });
    this.broadcast(this.lastSnapshot);
  }

  /** Resolves once every client's socket has taken all it was sent, or after `ms`. */
  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && [...this.clients].some((c) => c.open && c.ws.bufferedAmount > 0)) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Ends every connection with `code` (1000: the agent is done; 1001: going away). */
  disconnectAll(code: number, reason: string): void {
    for (const c of this.clients) c.ws.close(code, reason);
  }

  close(): void {
    clearInterval(this.statusTimer);
  }
}
