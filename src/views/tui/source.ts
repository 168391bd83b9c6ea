// The one way the TUI learns about data: a source it subscribes to. Live
// tracing, a replay or a test all implement it; components never know which.
import { useEffect, useState } from "react";
import type { TopSnapshot } from "../../model/live.js";

export interface SnapshotSource {
  current(): TopSnapshot;
  /** returns the unsubscribe function */
  subscribe(listener: (snap: TopSnapshot) => void): () => void;
}

/** A source fed by hand: `mltrace top` publishes to it once per interval. */
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

/** The latest snapshot; frozen while `paused` (tracing itself goes on). */
export function useSnapshot(source: SnapshotSource, paused: boolean): TopSnapshot {
  const [snap, setSnap] = useState(source.current());
  useEffect(() => {
    if (paused) return undefined;
    setSnap(source.current());
    return source.subscribe(setSnap);
  }, [source, paused]);
  return snap;
}
