#!/usr/bin/env node
// Overhead of the sched family on the worst case for it: `perf bench sched
// pipe` pinned to one CPU (two processes ping-ponging, every operation two
// context switches and two wakeups, all of them traced). Variants run
// interleaved, round after round, so drift in the machine hits them alike:
//   untraced | under `mltrace stat` | while bpftrace runs bench/runqlat.bt
// Prints a Markdown table of medians and ratios to untraced.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "cli.js");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const LOOPS = Number(process.env.BENCH_LOOPS ?? 200000);
const pipeBench = ["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-l", String(LOOPS)];

function usecsPerOp(output) {
  const match = /([\d.]+) usecs\/op/.exec(output);
  if (!match) throw new Error(`no usecs/op in perf output:\n${output}`);
  return Number(match[1]);
}

function run(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout + r.stderr;
}

// Classic tracepoints need tracefs; bpftrace (unlike mltrace) depends on it.
function ensureTracefs() {
  if (existsSync("/sys/kernel/tracing/events/sched")) return;
  spawnSync("mount", ["-t", "tracefs", "nodev", "/sys/kernel/tracing"]);
  if (!existsSync("/sys/kernel/tracing/events/sched")) throw new Error("tracefs unavailable: bpftrace cannot attach");
}

async function withBpftrace(fn) {
  const bt = spawn("bpftrace", [join(root, "bench", "runqlat.bt")], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  bt.stdout.on("data", (d) => (out += d));
  bt.stderr.on("data", (d) => (out += d));
  const deadline = Date.now() + 30000;
  while (!out.includes("Attaching")) {
    if (Date.now() > deadline || bt.exitCode !== null) throw new Error(`bpftrace did not attach:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300)); // "Attaching" is printed just before attach completes
  try {
    return fn();
  } finally {
    bt.kill("SIGINT");
    await new Promise((r) => bt.on("close", r));
  }
}

const variants = {
  untraced: async () => usecsPerOp(run(pipeBench)),
  mltrace: async () => usecsPerOp(run(["node", cli, "stat", "-o", "/dev/null", "--", ...pipeBench])),
  bpftrace: async () => withBpftrace(() => usecsPerOp(run(pipeBench))),
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

ensureTracefs();
const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
const names = Object.keys(variants);
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order every round so no variant always runs first.
  for (let i = 0; i < names.length; i++) {
    const name = names[(round + i) % names.length];
    results[name].push(await variants[name]());
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS}: ${names.map((n) => `${n} ${results[n].at(-1)}`).join(", ")}\n`);
}

const base = median(results.untraced);
const rows = names.map((name) => {
  const m = median(results[name]);
  // Ratio per round against that round's untraced run, then the median:
  // the interleaved comparison, robust to slow drift.
  const ratios = results[name].map((v, i) => v / results.untraced[i]);
  return `| ${name} | ${m.toFixed(3)} | ${(median(ratios) * 100 - 100).toFixed(1)}% |`;
});
console.log(`perf bench sched pipe -l ${LOOPS}, pinned to CPU 0, ${ROUNDS} interleaved rounds (median)\n`);
console.log("| variant | usecs/op | slowdown vs untraced |\n|---|---|---|");
console.log(rows.join("\n"));
console.log(`\nuntraced median ${base.toFixed(3)} usecs/op; kernel ${spawnSync("uname", ["-r"], { encoding: "utf8" }).stdout.trim()}`);
