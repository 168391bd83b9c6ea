// Module load hooks (node:module register) for one function Ink calls on
// every row of every frame: @alcalzone/ansi-tokenize's styledCharsToString,
// which turns a row of styled cells back into text. It works out the escape
// codes between each pair of neighbouring cells with several Sets and arrays
// per cell, even when no cell has a style, which is most rows of `top`:
// thousands of allocations a frame, and the garbage collections after them.
// The module is served with that function wrapped: rows without styles are
// joined directly, the rest go to the original. Same text either way
// (test/unit/ink-speedups.test.ts compares the two).

const TARGET = /\/@alcalzone\/ansi-tokenize\/build\/styledChars\.js$/;
const ORIGINAL = "mltrace-original";

interface LoadResult {
  format?: string;
  source?: string | ArrayBuffer | Uint8Array;
  shortCircuit?: boolean;
}
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  if (!TARGET.test(url)) return nextLoad(url, context);
  const original = JSON.stringify(`${url}?${ORIGINAL}`);
  const source = `
import { styledCharsToString as original } from ${original};
export * from ${original};
export function styledCharsToString(chars) {
  for (let i = 0; i < chars.length; i++) if (chars[i].styles.length !== 0) return original(chars);
  let text = "";
  for (let i = 0; i < chars.length; i++) text += chars[i].value;
  return text;
}
`;
  return { format: "module", source, shortCircuit: true };
}
