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
  /** a client that has had every frame dropped for this long is disconnected */
  stuckMs: number;
}

export const DEFAULT_LIMITS: QueueLimits = { maxBufferedBytes: 2 << 20, stuckMs: 10_000 };

export class ClientQueue {
  sent = 0;
  dropped = 0;
  /** when the current run of drops began; 0 while frames go through */
  private droppingSince = 0;

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
    // A frame bigger than the bound itself still goes to a client that is keeping up.
    const behind = this.ws.bufferedAmount;
    if (!always && behind > 0 && behind + frame.length > this.limits.maxBufferedBytes) {
      this.dropped++;
      this.onDrop();
      const now = Date.now();
      if (this.droppingSince === 0) this.droppingSince = now;
      else if (now - this.droppingSince >= this.limits.stuckMs) this.ws.terminate();
      return false;
    }
    this.droppingSince = 0;
    this.sent++;
    this.ws.send(frame, { binary: true });
    return true;
  }
}
