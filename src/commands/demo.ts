// `mltrace demo`: the main job on a workload shipped with mltrace, so a new
// user sees real numbers (and a diagnosis) before pointing it at their own
// trainer. In a terminal it runs `mltrace top`; elsewhere (CI, a pipe)
// `mltrace stat`, which needs no terminal.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { packageRoot } from "../package-root.js";
import { UserError } from "../errors.js";
import { runStat } from "./stat.js";
import { loadTop } from "./tui-loader.js";

export function demoWorkloadPath(): string {
  return join(packageRoot, "build", "workloads", "pipeline");
}

/** The slow loader makes the trainer wait for batches: the input-bound diagnosis fires. */
export function demoArgv(batches: number): string[] {
  const path = demoWorkloadPath();
  if (!existsSync(path)) throw new UserError(`demo workload not built (${path}): run \`npm run setup\``);
  return [path, "--workers", "3", "--threads", "3", "--batches", String(batches), "--slow-loader", "--dataset", join(tmpdir(), "mltrace-demo-dataset.bin")];
}

// About a minute in the TUI (q ends it sooner); a few seconds for the report.
const TOP_BATCHES = 6000;
const STAT_BATCHES = 400;

export async function runDemo(options: { json?: boolean }): Promise<number> {
  const interactive = process.stdout.isTTY && process.stdin.isTTY && !options.json;
  process.stderr.write(
    "mltrace demo: a synthetic trainer (3 compute threads) with 3 data-loader worker processes that read a\n" +
      "64 MiB dataset, decode batches (slowly: the trainer waits for them) and send them over pipes;\n" +
      (interactive ? "shown live by `mltrace top` (q quits).\n" : "traced by `mltrace stat` until it exits (not a terminal, so no TUI).\n"),
  );
  if (interactive) {
    const runTop = await loadTop();
    return runTop(demoArgv(TOP_BATCHES), {});
  }
  return runStat(demoArgv(STAT_BATCHES), { json: options.json });
}
