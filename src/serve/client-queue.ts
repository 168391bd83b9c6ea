// One client's share of the feed, bounded. Frames go straight to the socket
// (ws.send never blocks); what the client has not read yet piles up in its
// socket's buffer, which ws reports as bufferedAmount. Past the bound a frame
// is dropped for this client only (counted; its FeedStatus says so, and the
// seq gap shows it), and a client that stays past the bound for `stuckMs` is
// cut off. Tracing never waits: nothing here awaits the client.
import { WebSocket } from "ws";

export interface QueueLimits {
  /** bytes that may wait for this client beyond what the kernel's socket buffer holds */
  maxBufferedBytes: number;
  /** a client that drops frames and has not caught up for this long is disconnected */
  stuckMs: number;
}

export const DEFAULT_LIMITS: QueueLimits = { maxBufferedBytes: 2 << 20, stuckMs: 10_000 };

export class ClientQueue {
  sent = 0;
  dropped = 0;
  /** when this client last had nothing waiting */
  private caughtUpAt = Date.now();

  constructor(
    readonly ws: WebSocket,
    private readonly limits: QueueLimits,
    private readonly onDrop: () => void,
  ) {}

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends `frame` unless the client is too far behind; `always` is for the Hello, which opens an empty buffer. */
  offer(frame: Buffer, always = false): boolean {
    if (!this.open) return false;
    const behind = this.ws.bufferedAmount;
    const now = Date.now();
    if (behind === 0) this.caughtUpAt = now;
    // A frame bigger than the bound itself still goes to a client that is keeping up.
    if (!always && behind > 0 && behind + frame.length > this.limits.maxBufferedBytes) {
      this.dropped++;
      this.onDrop();
      if (now - this.caughtUpAt >= this.limits.stuckMs) this.ws.terminate();
      return false;
    }
    this.sent++;
    this.ws.send(frame, { binary: true });
    return true;
  }
}
