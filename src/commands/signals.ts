// The signals that ask mltrace to stop (SIGINT, SIGTERM, SIGHUP), handled
// through one place by stat, serve and top. While a handler is installed,
// node's default (die at once: report unwritten, terminal left raw) is off.
// stat and top keep theirs for the whole run (stat counts Ctrl-Cs, top
// quits once and restores the terminal); serve takes the first signal only.

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

/**
 * The next stop signal. Its handlers go with it, so a second signal during
 * the shutdown that follows has node's default effect again: a way out of a
 * shutdown that hangs (the kernel still takes the probes back).
 */
export function nextStopSignal(): Promise<StopSignal> {
  return new Promise((resolve) => {
    const dispose = onStopSignals((signal) => {
      dispose();
      resolve(signal);
    });
  });
}
