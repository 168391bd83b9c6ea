#!/usr/bin/env node
// Overhead of the sched family on the worst case for it: `perf bench sched
// pipe` pinned to one CPU (two processes ping-ponging, every operation two
// context switches and two wakeups, all of them traced). Variants:
//   untraced | under `mltrace stat` | while bpftrace runs bench/runqlat.bt
import { ensureTracefs, interleave, kernel, run, underMltrace, withBpftrace } from "./lib.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const LOOPS = Number(process.env.BENCH_LOOPS ?? 200000);
const pipeBench = ["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-l", String(LOOPS)];

function usecsPerOp(output) {
  const match = /([\d.]+) usecs\/op/.exec(output);
  if (!match) throw new Error(`no usecs/op in perf output:\n${output}`);
  return Number(match[1]);
}

ensureTracefs();
console.log(
  await interleave(`perf bench sched pipe -l ${LOOPS}, pinned to CPU 0`, "usecs/op", {
    untraced: async () => usecsPerOp(run(pipeBench)),
    mltrace: async () => usecsPerOp(run(underMltrace(pipeBench))),
    bpftrace: async () => withBpftrace("runqlat.bt", () => usecsPerOp(run(pipeBench))),
  }, ROUNDS),
);
console.log(`kernel ${kernel()}`);
