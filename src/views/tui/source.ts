// The TUI's side of a snapshot source (src/model/channel.ts): a hook that
// follows it, frozen while paused.
import { useEffect, useState } from "react";
import type { SnapshotSource } from "../../model/channel.js";
import type { TopSnapshot } from "../../model/live.js";

export { SnapshotChannel, type SnapshotSource } from "../../model/channel.js";

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
