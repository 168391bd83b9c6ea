// The signals that ask mltrace to stop, handled the same way by stat, serve
// and top: while a handler is installed node's default (die at once, with
// the terminal in raw mode and the report unwritten) is off for all three,
// and every delivery reaches the handler, not only the first.

export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Calls `handler` on each SIGINT, SIGTERM and SIGHUP until the returned function removes it. */
export function onStopSignals(handler: (signal: StopSignal) => void): () => void {
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = () => handler(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}

/** The first stop signal; later ones are absorbed (so a second Ctrl-C does not cut the shutdown short) until `dispose`. */
export function firstStopSignal(): { signal: Promise<StopSignal>; dispose: () => void } {
  let resolve!: (signal: StopSignal) => void;
  const signal = new Promise<StopSignal>((r) => (resolve = r));
  const dispose = onStopSignals((s) => resolve(s));
  return { signal, dispose };
}
