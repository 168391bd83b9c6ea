// `mltrace demo`: the main job on a workload shipped with mltrace, so a new
// user sees real numbers before pointing it at their own trainer.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { packageRoot } from "../native/addon.js";
import { UserError } from "../errors.js";
import { runStat } from "./stat.js";

export function demoWorkloadPath(): string {
  return join(packageRoot, "build", "workloads", "pipeline");
}

export function demoArgv(): string[] {
  const path = demoWorkloadPath();
  if (!existsSync(path)) throw new UserError(`demo workload not built (${path}): run \`npm run setup\``);
  return [path, "--workers", "3", "--threads", "3", "--batches", "400", "--dataset", join(tmpdir(), "mltrace-demo-dataset.bin")];
}

export async function runDemo(options: { json?: boolean }): Promise<number> {
  process.stderr.write(
    "mltrace demo: a synthetic trainer (3 compute threads) with 3 data-loader worker processes that read a\n" +
      "64 MiB dataset, decode batches and send them over pipes; traced by `mltrace stat` until it exits.\n",
  );
  return runStat(demoArgv(), { json: options.json });
}
