// A row of block characters for a series, shared by the TUI's panels.
const BLOCKS = "▁▂▃▄▅▆▇█";

/** The last `width` values, scaled to `max` (at least the series' own max). */
export function sparkline(values: number[], width: number, max = 0): string {
  const shown = values.slice(-width);
  const top = Math.max(max, ...shown, 1e-9);
  const line = shown.map((v) => BLOCKS[Math.min(BLOCKS.length - 1, Math.max(0, Math.round((v / top) * (BLOCKS.length - 1))))]).join("");
  return line.padStart(width, " ");
}
