// A row of block characters for a series, shared by the TUI's panels.
const BLOCKS = "▁▂▃▄▅▆▇█";

/** The last `width` values as blocks (padded with spaces in front), scaled to `max` (at least the series' own max). */
export function sparkline(values: number[], width: number, max = 0): string {
  const shown = values.slice(-width);
  let top = Math.max(max, 1e-9);
  for (const v of shown) top = Math.max(top, v);
  let line = "";
  for (const v of shown) line += BLOCKS[Math.min(BLOCKS.length - 1, Math.max(0, Math.round((v / top) * (BLOCKS.length - 1))))];
  return line.padStart(width, " ");
}
