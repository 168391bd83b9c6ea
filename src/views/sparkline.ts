// A row of block characters for a series, shared by the TUI's panels.
const BLOCKS = "▁▂▃▄▅▆▇█";

/**
 * The last `width` values, scaled to `max` (at least the series' own max),
 * as level digits "0".."7" (padded with spaces). Plain ASCII: Ink measures
 * such text without its grapheme segmenter, so a panel lays a history out in
 * levels and draws it as blocks (levelsToBlocks) when the line is written.
 */
export function sparkLevels(values: number[], width: number, max = 0): string {
  const shown = values.slice(-width);
  const top = Math.max(max, ...shown, 1e-9);
  const line = shown.map((v) => String(Math.min(BLOCKS.length - 1, Math.max(0, Math.round((v / top) * (BLOCKS.length - 1)))))).join("");
  return line.padStart(width, " ");
}

/** Level digits to blocks, one cell each; anything else is kept. */
export function levelsToBlocks(levels: string): string {
  return levels.replace(/[0-7]/g, (d) => BLOCKS[Number(d)]!);
}

/** The last `width` values as blocks, scaled to `max` (at least the series' own max). */
export function sparkline(values: number[], width: number, max = 0): string {
  return levelsToBlocks(sparkLevels(values, width, max));
}
