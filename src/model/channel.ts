// How views learn about data: a source they subscribe to. Live tracing, a
// remote agent's feed, a replay or a test all implement it; views never know
// which. Kept free of React so the server can use it without loading a UI.
import type { TopSnapshot } from "./live.js";

export interface SnapshotSource {
  current(): TopSnapshot;
  /** returns the unsubscribe function */
  subscribe(listener: (snap: TopSnapshot) => void): () => void;
}

/** A source fed by hand: the engine publishes to it once per interval. */
export class SnapshotChannel implements SnapshotSource {
  private listeners = new Set<(snap: TopSnapshot) => void>();
  constructor(private snap: TopSnapshot) {}
  current(): TopSnapshot {
    return this.snap;
  }
  subscribe(listener: (snap: TopSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  publish(snap: TopSnapshot): void {
    this.snap = snap;
    for (const l of this.listeners) l(snap);
  }
}
