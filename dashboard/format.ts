// Formatting: the CLI's (src/views/format.ts) so a number reads the same in
// the terminal and the browser, plus the few the page adds.
export { bytes, count, duration, micros, perSecond } from "../src/views/format.js";

/** Threads' time / wall time: 1.00 = one CPU's worth. */
export function cpus(x: number): string {
  return x.toFixed(2);
}

/** A 0..1 share as "12.3%". */
export function share(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** Share of wall time as "12.3%", "–" when the wall time is unknown. */
export function ofWall(ns: number, wallNs: number): string {
  return wallNs > 0 ? share(ns / wallNs) : "–";
}
