// Fitting text into a terminal's width: every panel builds plain lines and
// cuts them here, so nothing wraps (a wrapped line would push the frame past
// the screen and make Ink redraw everything, i.e. flicker).
export function fit(line: string, width: number): string {
  return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
}

/** Share of wall time as "12.3" (per cent, no sign), "-" when unknown. */
export function pct(ns: number, wallNs: number): string {
  return wallNs > 0 ? ((100 * ns) / wallNs).toFixed(1) : "-";
}

export function cpus(x: number): string {
  return x.toFixed(2);
}
