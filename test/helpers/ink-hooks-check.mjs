// Run as its own process (module hooks apply only to modules not yet
// loaded): registers mltrace's Ink load hooks, then compares the served
// styledCharsToString with the original on rows with and without styles.
// Prints one JSON line: { hooked, rows, mismatches }.
import { registerInkLoadHooks } from "../../dist/views/tui/ink-speedups.js";

registerInkLoadHooks();
const served = await import("@alcalzone/ansi-tokenize");
const originalUrl = new URL(import.meta.resolve("@alcalzone/ansi-tokenize")).href.replace(/index\.js$/, "styledChars.js") + "?mltrace-original";
const original = await import(originalUrl);

let seed = 11;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const alphabet = " ab19-|▁█…";
const palette = [[], [], [], ...["\x1b[1m", "\x1b[31m", "\x1b[7m", "\x1b[1m\x1b[33m"].map((s) => served.styledCharsFromTokens(served.tokenize(`${s}x`))[0].styles)];
let mismatches = 0;
const rows = 2000;
for (let r = 0; r < rows; r++) {
  const styled = random() < 0.3;
  const chars = Array.from({ length: Math.floor(random() * 100) }, () => ({
    type: "char",
    value: alphabet[Math.floor(random() * alphabet.length)],
    fullWidth: false,
    styles: styled ? palette[Math.floor(random() * palette.length)] : [],
  }));
  if (served.styledCharsToString(chars) !== original.styledCharsToString(chars)) mismatches++;
}
// served by the hook: the wrapper that falls back to the original
const hooked = served.styledCharsToString.toString().includes("original(chars)");
console.log(JSON.stringify({ hooked, rows, mismatches }));
