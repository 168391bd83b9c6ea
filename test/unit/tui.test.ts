// Frames of the TUI at a fixed 80×24, over model snapshots: what a user reads.
import { createElement, Fragment } from "react";
import chalk from "chalk";
import { Box, Text } from "ink";
import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { App } from "../../src/views/tui/app.js";
import { initialUi, reduceUi, type UiState } from "../../src/views/tui/keys.js";
import { Lines, type Line } from "../../src/views/tui/lines.js";
import { Root } from "../../src/views/tui/root.js";
import { SnapshotChannel } from "../../src/views/tui/source.js";
import type { TopSnapshot } from "../../src/model/live.js";
import { emptySnapshot, exitedSnapshot, model, runningSnapshot, sample } from "../helpers/snapshots.js";

function frame(snap: TopSnapshot, ui: Partial<UiState> = {}, width = 80, height = 24): string {
  const { lastFrame, unmount } = render(createElement(App, { snap, ui: { ...initialUi, ...ui }, width, height, color: false }));
  const text = lastFrame() ?? "";
  unmount();
  return text;
}

function expectFits(text: string, width: number, height: number) {
  const lines = text.split("\n");
  expect(lines.length).toBeLessThan(height);
  for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(width);
}

describe("top frames at 80×24", () => {
  it("empty: the target and a wait message before the first interval", () => {
    const text = frame(emptySnapshot());
    expect(text).toContain("pipeline (pid 100)");
    expect(text).toContain("waiting for the first interval");
    expect(text).toContain("lost 0");
    expectFits(text, 80, 24);
  });

  it("normal: roles with numbers, the diagnosis, processes with roles", () => {
    const text = frame(runningSnapshot());
    expectFits(text, 80, 24);
    expect(text).toContain("running");
    expect(text).toContain("mltrace 1.2% CPU");
    expect(text).toMatch(/trainer\s+1\s+1\s+0\.10\s+0\.02\s+0\.88/);
    expect(text).toMatch(/dataloader\s+2\s+2\s+1\.50\s+0\.35\s+0\.15/);
    expect(text).toMatch(/intra-op\s+1\s+1\s+0\.08/);
    expect(text).toContain("CRITICAL input-bound: trainer main thread waited 88%");
    expect(text).toMatch(/200\s+dataloader 0\s+pipeline\s+80\.0/);
    expect(text).toMatch(/201\s+dataloader 1\s+pipeline\s+70\.0/);
    expect(text).not.toContain("events lost");
  });

  it("on-CPU histories are drawn as blocks scaled to the busiest role, no level digits left", () => {
    const text = frame(runningSnapshot(5), {}, 100, 30);
    const row = (role: string) => text.split("\n").find((l) => l.startsWith(role))!;
    // the table ends at OFF-CPU; the history follows it: 5 intervals, blocks only
    const history = (role: string) => row(role).slice(text.split("\n").find((l) => l.startsWith("ROLE"))!.indexOf("on-CPU history")).trim();
    // dataloader: 1.5 CPUs, the peak (full block); trainer: 0.1 of it (lowest block)
    expect(history("dataloader")).toBe("█████");
    expect(history("trainer")).toBe("▁▁▁▁▁");
  });

  it("exited: says so with the exit code and shows the whole session", () => {
    const text = frame(exitedSnapshot());
    expectFits(text, 80, 24);
    expect(text).toContain("target exited (code 3)");
    expect(text).toContain("summary of the whole session; q to quit");
    // 4 s of the trainer at 10% on CPU
    expect(text).toMatch(/Where time goes.*4\.0 s/);
  });

  it("lost events: a count in the header and a warning line", () => {
    const text = frame(runningSnapshot(3, 1234));
    expect(text).toContain("lost 1,234");
    expect(text).toContain("1,234 events lost: totals are lower bounds");
    expectFits(text, 80, 24);
  });

  it("a remote feed's notice (disconnected) replaces the state in the header; the data stays", () => {
    const text = frame({ ...runningSnapshot(3), notice: "disconnected, reconnecting" });
    expect(text.split("\n")[0]).toMatch(/disconnected, reconnecting$/);
    expect(text).not.toContain("running");
    expect(text).toMatch(/dataloader/);
    expectFits(text, 80, 24);
  });

  it("tasks view lists threads under their process, sorted by the chosen column", () => {
    const byCpu = frame(runningSnapshot(), { view: 1 });
    expect(byCpu).toMatch(/└101\s+intra-op\s+pool-1/);
    expect(byCpu.indexOf("200 ")).toBeLessThan(byCpu.indexOf("100 "));
    const byPid = frame(runningSnapshot(), { view: 1, sort: "pid" });
    expect(byPid.indexOf("100 ")).toBeLessThan(byPid.indexOf("200 "));
  });

  it("latency and diagnoses views show histograms and evidence", () => {
    const latency = frame(runningSnapshot(), { view: 2 });
    expect(latency).toContain("Run-queue latency");
    expect(latency).toMatch(/p50 \d/);
    expectFits(latency, 80, 24);
    const diag = frame(runningSnapshot(), { view: 3 });
    expect(diag).toContain("trainer_waiting_share=0.88");
    expect(diag).toContain("try: ");
    expectFits(diag, 80, 24);
  });

  it("fits a larger terminal and a narrow one", () => {
    expectFits(frame(runningSnapshot(), {}, 120, 40), 120, 40);
    expectFits(frame(runningSnapshot(), { view: 1 }, 60, 20), 60, 20);
  });

  it("help lists every key binding", () => {
    const text = frame(runningSnapshot(), { help: true });
    for (const key of ["q, ctrl+c", "tab", "1", "4", "s", "p", "?"]) expect(text).toContain(`  ${key} `);
  });
});

describe("pre-fitted lines", () => {
  const drawn = (node: ReturnType<typeof createElement>) => {
    const { lastFrame, unmount } = render(createElement(Box, { flexDirection: "column", width: 60 }, node));
    const text = lastFrame() ?? "";
    unmount();
    return text;
  };
  // The same lines as Ink draws them from their own text: one Text, the
  // lines joined by newlines, a styled line as a nested Text.
  const asInkText = (lines: Line[]) =>
    createElement(
      Text,
      null,
      ...lines.flatMap((l, i) => [
        i > 0 ? "\n" : "",
        typeof l === "string" ? l : createElement(Fragment, { key: i }, createElement(Text, { color: l.color, bold: l.bold, inverse: l.inverse }, l.text), l.after),
      ]),
    );

  it("draws exactly what Ink draws for the same text, styles and trailing parts included", () => {
    chalk.level = 3; // escape codes in the frame, as on a colour terminal
    try {
      const cases: Line[][] = [
        ["one line"],
        ["ROLE        PROC  THR", "trainer        1    1  ▁▂▃▄▅▆▇█", "", "   trailing spaces   ", "x"],
        [{ text: "Where time goes", bold: true }, "dataloader 0  80.0", { text: " CRITICAL input-bound: waited 88%", color: "red" }, "  evidence:"],
        [{ text: "mltrace top  pipeline (pid 100)  up 3.00 s  ", after: createElement(Text, { bold: true, color: "yellow" }, "PAUSED") }],
        [{ text: "[1 Overview] 2 Tasks ".padEnd(60), inverse: true }, { text: "lost ", after: createElement(Text, { color: "red" }, "12") }],
        ["a $& b $1 c", "…  └101  ·"],
      ];
      for (const lines of cases) {
        const ours = drawn(createElement(Lines, { lines }));
        expect(ours, JSON.stringify(lines)).toBe(drawn(asInkText(lines)));
        expect(ours.length).toBeGreaterThan(0);
      }
      expect(drawn(createElement(Lines, { lines: [{ text: "red", color: "red" }] }))).toContain("\x1b[");
    } finally {
      chalk.level = 0;
    }
  });

  it("draws a control character a traced process put in its name as ?", () => {
    const text = drawn(createElement(Lines, { lines: ["comm \x1b[2Jevil\x07 end", "tab\there"] }));
    expect(text).toBe("comm ?[2Jevil? end\ntab?here");
  });

  it("draws nothing for no lines, and every line of a long block", () => {
    expect(drawn(createElement(Lines, { lines: [] }))).toBe("");
    const many = Array.from({ length: 40 }, (_, i) => `row ${i}`);
    expect(drawn(createElement(Lines, { lines: many })).split("\n")).toEqual(many);
  });
});

describe("keys", () => {
  it("reduceUi: tab cycles views, s cycles sorts, any key closes help", () => {
    let ui = reduceUi(initialUi, { type: "next-view" });
    expect(ui.view).toBe(1);
    ui = reduceUi(reduceUi(ui, { type: "view", view: 3 }), { type: "next-view" });
    expect(ui.view).toBe(0);
    expect(reduceUi(initialUi, { type: "sort" }).sort).toBe("runq");
    expect(reduceUi({ ...initialUi, help: true }, { type: "sort" })).toEqual(initialUi);
  });

  it("Root follows the source, switches views on keys, freezes on p, quits on q", async () => {
    const m = model();
    const channel = new SnapshotChannel(m.addSample(sample(1), 0));
    let quits = 0;
    const { lastFrame, stdin, unmount } = render(createElement(Root, { source: channel, onQuit: () => quits++, color: false }));
    const tick = () => new Promise((r) => setTimeout(r, 200)); // generous: Ink redraws are throttled and CI is busy
    await tick();
    expect(lastFrame()).toContain("up 1.00 s");
    channel.publish(m.addSample(sample(2), 0));
    await tick();
    expect(lastFrame()).toContain("up 2.00 s");
    stdin.write("2");
    await tick();
    expect(lastFrame()).toContain("[2 Tasks]");
    stdin.write("p");
    await tick();
    channel.publish(m.addSample(sample(3), 0));
    await tick();
    expect(lastFrame()).toContain("up 2.00 s");
    expect(lastFrame()).toContain("PAUSED");
    stdin.write("p");
    await tick();
    expect(lastFrame()).toContain("up 3.00 s");
    stdin.write("q");
    await tick();
    expect(quits).toBe(1);
    unmount();
  });
});
