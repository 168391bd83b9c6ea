// Ink 6 builds every frame from scratch: each line written is split into
// grapheme clusters with Intl.Segmenter (through @alcalzone/ansi-tokenize)
// and every cell's width is measured with string-width, in caches that live
// for one frame only. For a 100×30 frame that is about 15 ms of CPU (ICU's
// segmenter costs 0.3–1 ms per 100-character line here), most of `top`'s
// cost at one frame a second. Two changes, same output:
//  - lines and cell widths are remembered across frames (most lines of the
//    next frame are this frame's: headers, labels, unchanged rows);
//  - a line that is plain text in characters we know to be one narrow cell
//    each (printable ASCII, box drawing, block elements, the ellipsis) is
//    cut into cells directly, without the segmenter.
// Anything else (escape codes, other scripts, emoji) takes Ink's own path.
// And one fix: Ink remembers the size of every text it ever laid out in a
// module-level Map that is never emptied; a view whose numbers change every
// second adds a few KB a second to it for as long as it runs (hundreds of MB
// a day). That Map is bounded here.
// Ink's internals are not API: install() checks the shape it patches and
// leaves Ink alone (slower, still right) when a new version changed it.

import { createRequire, register } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

interface StyledChar {
  type: "char";
  value: string;
  fullWidth: boolean;
  styles: unknown[];
}

interface OutputCaches {
  getStyledChars(line: string): StyledChar[];
  getStringWidth(text: string): number;
}

/** Keeps what the last two frames used; older entries are dropped wholesale. */
class TwoGenerationCache<V> {
  private current = new Map<string, V>();
  private previous = new Map<string, V>();
  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    const hit = this.current.get(key);
    if (hit !== undefined) return hit;
    const old = this.previous.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  set(key: string, value: V): void {
    if (this.current.size >= this.limit) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }
}

/** One narrow terminal cell each, and one grapheme each: no combining marks follow them in our text. */
function isNarrowSimple(code: number): boolean {
  return (
    (code >= 0x20 && code <= 0x7e) || // printable ASCII
    (code >= 0x2500 && code <= 0x259f) || // box drawing, block elements (sparklines, tree marks)
    code === 0x2026 || // …
    code === 0xb7 // ·
  );
}

/** Cells of `line` if it is plain narrow text, else undefined. */
export function plainCells(line: string): StyledChar[] | undefined {
  const cells: StyledChar[] = new Array(line.length);
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (!isNarrowSimple(code)) return undefined;
    cells[i] = { type: "char", value: line[i]!, fullWidth: false, styles: [] };
  }
  return cells;
}

// Frames are up to a few hundred distinct lines; keep room for a few frames.
const LINE_LIMIT = 2000;
const WIDTH_LIMIT = 4000;

// Texts whose measured size Ink keeps: a frame lays out a few dozen.
const MEASURED_LIMIT = 500;

/**
 * Serves Ink's row-to-text function with a fast path for rows without
 * styles (src/views/tui/ink-load-hooks.ts). Must run before Ink is first
 * imported; a no-op where module hooks are not available.
 */
export function registerInkLoadHooks(): void {
  if (typeof register !== "function") return;
  register("./ink-load-hooks.js", import.meta.url);
}

let installed: boolean | undefined;
const lines = new TwoGenerationCache<StyledChar[]>(LINE_LIMIT);
const widths = new TwoGenerationCache<number>(WIDTH_LIMIT);
let measured: Map<string, unknown> | undefined;

/** What the caches hold now (tests: they stay bounded). */
export function inkCacheSizes(): { measured: number; lines: number; widths: number } {
  return { measured: measured?.size ?? 0, lines: lines.size, widths: widths.size };
}

/** An Ink module by file name (its package exports only the index). */
async function inkModule<T>(file: string): Promise<T> {
  // Same file, same module instance as the one Ink itself uses.
  const index = createRequire(import.meta.url).resolve("ink");
  return (await import(pathToFileURL(join(dirname(index), file)).href)) as T;
}

/**
 * The Map that measure-text.js fills: it is private to that module, so it is
 * caught in the act of storing a text only we would measure.
 */
async function measuredTextCache(): Promise<Map<string, unknown> | undefined> {
  const { default: measureText } = await inkModule<{ default: (text: string) => unknown }>("measure-text.js");
  const probe = `mltrace-probe-${process.pid}-${Date.now()}`;
  let cache: Map<string, unknown> | undefined;
  const mapSet = Map.prototype.set;
  Map.prototype.set = function <K, V>(this: Map<K, V>, key: K, value: V) {
    if (key === probe) cache = this as unknown as Map<string, unknown>;
    return mapSet.call(this, key, value) as Map<K, V>;
  };
  try {
    measureText(probe);
  } finally {
    Map.prototype.set = mapSet;
  }
  cache?.delete(probe);
  return cache;
}

/** Empties `cache` whenever it would pass `limit` entries. */
function bound(cache: Map<string, unknown>, limit: number): void {
  const mapSet = Map.prototype.set;
  Object.defineProperty(cache, "set", {
    value(key: string, value: unknown) {
      if (cache.size >= limit) cache.clear();
      return mapSet.call(cache, key, value);
    },
  });
}

/** Patches Ink's per-frame caches once; true when they are in place. */
export async function installInkSpeedups(): Promise<boolean> {
  if (installed !== undefined) return installed;
  installed = false;
  let Output: new (o: { width: number; height: number }) => { caches?: OutputCaches };
  try {
    ({ default: Output } = await inkModule<{ default: typeof Output }>("output.js"));
    measured = await measuredTextCache();
  } catch {
    return false;
  }
  if (!measured) return false;
  const measuredTexts = measured;
  const proto = Object.getPrototypeOf(new Output({ width: 1, height: 1 }).caches ?? {}) as Partial<OutputCaches>;
  if (typeof proto.getStyledChars !== "function" || typeof proto.getStringWidth !== "function") return false;

  const inkStyledChars = proto.getStyledChars;
  const inkStringWidth = proto.getStringWidth;
  // Callers place the returned cells into the frame without changing them,
  // so frames may share them.
  proto.getStyledChars = function (this: OutputCaches, line: string): StyledChar[] {
    let cells = lines.get(line);
    if (cells === undefined) {
      cells = plainCells(line) ?? inkStyledChars.call(this, line);
      lines.set(line, cells);
    }
    return cells;
  };
  proto.getStringWidth = function (this: OutputCaches, text: string): number {
    if (text.length === 1 && isNarrowSimple(text.charCodeAt(0))) return 1;
    let width = widths.get(text);
    if (width === undefined) {
      width = inkStringWidth.call(this, text);
      widths.set(text, width);
    }
    return width;
  };
  bound(measuredTexts, MEASURED_LIMIT);
  installed = true;
  return true;
}
