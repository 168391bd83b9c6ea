// The cross-frame caches and the plain-text fast path patched into Ink must
// not change a single character of any frame, and must bound what Ink keeps.
import { createElement } from "react";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import chalk from "chalk";
import { Text } from "ink";
import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { App } from "../../src/views/tui/app.js";
import { initialUi, type UiState } from "../../src/views/tui/keys.js";
import { inkCacheSizes, installInkSpeedups, plainCells } from "../../src/views/tui/ink-speedups.js";
import type { TopSnapshot } from "../../src/model/live.js";
import { emptySnapshot, exitedSnapshot, runningSnapshot } from "../helpers/snapshots.js";

// Ink's own tokenizer (Ink's dependency, hoisted next to it).
import { styledCharsFromTokens, tokenize } from "@alcalzone/ansi-tokenize";

// Colour on, as on a terminal, so frames carry escape codes (Ink's chalk).
chalk.level = 3;

function frame(snap: TopSnapshot, ui: Partial<UiState>, color: boolean): string {
  const { lastFrame, unmount } = render(createElement(App, { snap, ui: { ...initialUi, ...ui }, width: 100, height: 30, color }));
  const text = lastFrame() ?? "";
  unmount();
  return text;
}

const cases: [string, () => TopSnapshot, Partial<UiState>][] = [
  ["empty", emptySnapshot, {}],
  ["running overview", () => runningSnapshot(5), {}],
  ["lost events", () => runningSnapshot(3, 7), {}],
  ["tasks with threads", () => runningSnapshot(4), { view: 1 }],
  ["latency", () => runningSnapshot(4), { view: 2 }],
  ["diagnoses", () => runningSnapshot(4), { view: 3 }],
  ["help", () => runningSnapshot(2), { help: true }],
  ["exited", exitedSnapshot, {}],
];

describe("Ink speed-ups", () => {
  // Frames drawn by Ink as shipped, before the patch goes in.
  const before = cases.flatMap(([, snap, ui]) => [frame(snap(), ui, false), frame(snap(), ui, true)]);

  it("install on the pinned Ink version", async () => {
    expect(await installInkSpeedups()).toBe(true);
  });

  it("every frame is identical, in colour and without, drawn twice (cold and cached)", () => {
    for (let pass = 0; pass < 2; pass++) {
      const after = cases.flatMap(([, snap, ui]) => [frame(snap(), ui, false), frame(snap(), ui, true)]);
      expect(after).toEqual(before);
    }
    // the colour frames did carry escape codes, so both paths were taken
    expect(before.some((f) => f.includes("\x1b["))).toBe(true);
  });

  it("cuts plain narrow text into the same cells as Ink's tokenizer", () => {
    const alphabet = " abcXYZ019~|/.-_()[]{}%@#└─│▁▂▃▄▅▆▇█…·";
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 500; i++) {
      const length = Math.floor(random() * 120);
      const line = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
      expect(plainCells(line), line).toEqual(styledCharsFromTokens(tokenize(line)));
    }
  });

  it("serves Ink's row-to-text function with a fast path that writes the same text", () => {
    // its own process: module hooks apply only to modules not loaded yet
    const run = spawnSync(process.execPath, [join(import.meta.dirname, "..", "helpers", "ink-hooks-check.mjs")], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ hooked: true, rows: 2000, mismatches: 0 });
  });

  it("leaves text it cannot vouch for to Ink", () => {
    for (const line of ["\x1b[1mbold\x1b[22m", "tab\there", "e\u0301", "宽字符", "emoji 🙂", "zero\u200bwidth"]) {
      expect(plainCells(line), JSON.stringify(line)).toBeUndefined();
    }
  });

  it("bounds the sizes Ink remembers, however many distinct texts it lays out", () => {
    const texts = 1500;
    for (let i = 0; i < texts; i++) {
      const { unmount } = render(createElement(Text, null, `row ${i}: ${"x".repeat(i % 90)}`));
      unmount();
    }
    const { measured, lines, widths } = inkCacheSizes();
    // Ink as shipped would now hold all 1500 texts' sizes.
    expect(measured).toBeGreaterThan(0);
    expect(measured).toBeLessThanOrEqual(500);
    expect(lines).toBeLessThanOrEqual(2 * 2000);
    expect(widths).toBeLessThanOrEqual(2 * 4000);
  });
});
