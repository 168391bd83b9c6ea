#!/usr/bin/env node
// Overhead of the faults and io families on workloads heavy in each:
//   page faults: build/workloads/faults touching 20000 fresh pages, 20 times
//   block I/O:   build/workloads/direct_io, 64 MiB O_DIRECT read + O_SYNC write
// untraced | under `mltrace stat` | while bpftrace runs an equivalent script.
// Cost is the workload's own elapsed time for its loop (it prints it).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ensureTracefs, interleave, kernel, root, run, underMltrace, withBpftrace } from "./lib.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);

function elapsedMs(output) {
  const match = /elapsed_us (\d+)/.exec(output);
  if (!match) throw new Error(`no elapsed_us in output:\n${output}`);
  return Number(match[1]) / 1000;
}

function variants(argv, script) {
  return {
    untraced: async () => elapsedMs(run(argv)),
    mltrace: async () => elapsedMs(run(underMltrace(argv))),
    bpftrace: async () => withBpftrace(script, () => elapsedMs(run(argv))),
  };
}

ensureTracefs();
const dir = mkdtempSync(join(root, "build", "bench-"));
try {
  const input = join(dir, "in.bin");
  writeFileSync(input, randomBytes(64 << 20));
  const faults = [join(root, "build", "workloads", "faults"), "--pages", "20000", "--rounds", "20"];
  const io = [join(root, "build", "workloads", "direct_io"), "--read", input, "--write", join(dir, "out.bin")];
  console.log(await interleave("page faults: 400,000 minor faults on fresh anonymous pages", "ms", variants(faults, "faults.bt"), ROUNDS));
  console.log(await interleave("block I/O: 64 MiB O_DIRECT read + 64 MiB O_DIRECT|O_SYNC write", "ms", variants(io, "biolatency.bt"), ROUNDS));
  console.log(`kernel ${kernel()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
