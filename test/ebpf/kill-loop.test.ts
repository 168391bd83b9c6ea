// kill -9 of mltrace at random moments leaves nothing behind: 20 kills of the
// bench's loop (bench/kill-loop.mjs runs 100), and a death at the launch gate.
import { readdirSync, readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { killLoop } from "../../bench/kill-loop.mjs";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltrace, waitFor } from "../helpers/mltrace.js";

const SEED = Number(process.env.MLTRACE_KILL_SEED ?? 20261201);

function withMarker(marker: string): string[] {
  return readdirSync("/proc").flatMap((name) => {
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
      return /^\d+$/.test(name) && cmdline.includes(marker) ? [cmdline.replace(/\0/g, " ")] : [];
    } catch {
      return [];
    }
  });
}

describeEbpf("kill -9 at any moment", () => {
  it(`20 kills (seed ${SEED}): no program, link or map left, no command at the gate, launched commands kept running`, async () => {
    const lines: string[] = [];
    let results: { scenario: string; phase: string; command: string }[];
    try {
      results = await killLoop(20, SEED, (line: string) => lines.push(line));
    } catch (err) {
      throw new Error(`${(err as Error).message} (seed ${SEED}; rerun with MLTRACE_KILL_SEED=${SEED})\n${lines.join("\n")}`);
    }
    console.log(lines.join("\n"));
    expect(results).toHaveLength(20);
    // Every scenario ran, and the kills fell both before and after the probes were attached.
    expect(new Set(results.map((r) => r.scenario))).toEqual(new Set(["launch", "adopt", "steady", "report", "serve"]));
    expect(results.some((r) => r.command === "kept running")).toBe(true);
  }, 120_000);

  it("a command whose mltrace dies at the launch gate never runs, and does not wait there", async () => {
    const marker = `${4000 + (process.pid % 1000)}.${Date.now() % 100000}`;
    const run = mltrace(["stat", "--", "sleep", marker], { MLTRACE_INJECT_FAULT: "die-at-gate" });
    expect(await run.exited).toBe(137);
    // The gate reads EOF once mltrace's end of the pipe is gone and exits 126: nothing of it is left.
    await waitFor("the gate to let go", () => withMarker(marker).length === 0, 3000);
  }, 20_000);
});
