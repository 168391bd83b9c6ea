#!/usr/bin/env node
// How long `mltrace stat -- true` takes from start to exit: everything a
// user waits for before a launched command runs traced (node's start, the
// modules, loading and attaching the probes) plus what follows its exit
// (the final sample, the report, detaching). Compared, in the same rounds
// and interleaved, with
//   node -e 0                 node's own start and exit, the floor for mltrace
//   bpftrace                  compiling, attaching and leaving a one-line script
//   BENCH_BASELINE            another build's dist/cli.js (e.g. main's), if given
// Each round also runs `mltrace -v stat -- true` once for its phase lines
// (the timed runs go without -v, as a user runs it).
//
//   node bench/startup.mjs                      15 rounds
//   BENCH_ROUNDS=5 BENCH_BASELINE=/work/main/dist/cli.js node bench/startup.mjs
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { cli, kernel } from "./lib.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const BASELINE = process.env.BENCH_BASELINE;
const BPFTRACE_SCRIPT = "tracepoint:sched:sched_switch { @[cpu] = count(); } interval:ms:1 { exit(); }";
const scratch = mkdtempSync(join(tmpdir(), "mltrace-startup-"));
const cpuFile = join(scratch, "task-clock");

/**
 * Runs argv under `perf stat` (its CPU: task-clock of every thread and child)
 * and times it here (wall). Returns seconds of each, and what it wrote on stderr.
 */
function timed(argv, env = process.env) {
  const start = process.hrtime.bigint();
  const r = spawnSync("perf", ["stat", "-x,", "-e", "task-clock", "-o", cpuFile, "--", ...argv], { encoding: "utf8", env });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr}`);
  const line = readFileSync(cpuFile, "utf8").split("\n").find((l) => l.includes("task-clock"));
  if (!line) throw new Error(`no task-clock from perf stat for ${argv.join(" ")}`);
  return { wall, cpu: Number(line.split(",")[0]) / 1e3, stderr: r.stderr };
}

// Classic tracepoints need tracefs, which this machine may not mount (mltrace
// does not need it). Then bpftrace runs in a mount namespace of its own with
// tracefs mounted there, and times itself, so the namespace is not counted.
const tracefs = existsSync("/sys/kernel/tracing/events/sched");
function bpftrace() {
  if (tracefs) return timed(["bpftrace", "-e", BPFTRACE_SCRIPT]);
  const wrapper = 'mount -t tracefs nodev /sys/kernel/tracing || exit 1; s=$(date +%s%N); bpftrace -e "$0" >/dev/null || exit 1; e=$(date +%s%N); echo $((e - s))';
  const r = spawnSync("unshare", ["-m", "--", "sh", "-c", wrapper, BPFTRACE_SCRIPT], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bpftrace failed (${r.status}): ${r.stderr}`);
  return { wall: Number(r.stdout.trim()) / 1e9, cpu: NaN, stderr: "" };
}

const stat = (cliPath, verbose = false) => ["node", cliPath, ...(verbose ? ["-v"] : []), "stat", "-o", "/dev/null", "--", "true"];
const variants = {
  mltrace: () => timed(stat(cli)),
  ...(BASELINE ? { baseline: () => timed(stat(BASELINE)) } : {}),
  bpftrace,
  "node -e 0": () => timed(["node", "-e", "0"]),
};

/** "mltrace: startup: node 27 ms, load 12 programs 30 ms, ..., total 104 ms" → [[name, ms], ...] */
function phasesOf(stderr, label) {
  const line = stderr.split("\n").find((l) => l.startsWith(`mltrace: ${label}: `));
  if (!line) throw new Error(`no "${label}" line in mltrace -v's stderr:\n${stderr.slice(-2000)}`);
  return line
    .slice(`mltrace: ${label}: `.length)
    .split("; ")[0]
    .split(", ")
    .map((part) => {
      const m = /^(.*) (\d+) ms$/.exec(part);
      if (!m) throw new Error(`cannot read phase "${part}"`);
      return [m[1], Number(m[2])];
    });
}

const loadBefore = loadavg()[0];
const results = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
const phases = { startup: new Map(), end: new Map() };
// A baseline built to print its phases always (as the README's "before"
// column was measured: main with the laps added and nothing else) has them
// read from its timed runs.
const baselinePhases = { startup: new Map(), end: new Map() };
const collect = (into, stderr) => {
  for (const label of ["startup", "end"]) {
    for (const [phase, ms] of phasesOf(stderr, label)) {
      if (!into[label].has(phase)) into[label].set(phase, []);
      into[label].get(phase).push(ms);
    }
  }
};
const verboseWall = [];
try {
  const names = Object.keys(variants);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      results[name].push(variants[name]());
      if (name === "baseline" && results[name].at(-1).stderr.includes("mltrace: startup: ")) collect(baselinePhases, results[name].at(-1).stderr);
    }
    const verbose = timed(stat(cli, true));
    verboseWall.push(verbose);
    collect(phases, verbose.stderr);
    process.stderr.write(`startup: round ${round + 1}/${ROUNDS}: ${names.map((n) => `${n} ${(results[n].at(-1).wall * 1e3).toFixed(0)} ms`).join(", ")}\n`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (s) => `${Math.round(s * 1e3)}`;
const row = (name, runs) => {
  const walls = runs.map((r) => r.wall);
  const cpus = runs.map((r) => r.cpu).filter((c) => !Number.isNaN(c));
  return `| ${name} | ${ms(median(walls))} | ${ms(Math.min(...walls))}–${ms(Math.max(...walls))} | ${cpus.length ? ms(median(cpus)) : "-"} |`;
};
const lines = [
  `\`stat -o /dev/null -- true\`, ${ROUNDS} interleaved rounds; kernel ${kernel()}, NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? "set" : "unset"}, load average ${loadBefore.toFixed(1)} before and ${loadavg()[0].toFixed(1)} after${tracefs ? "" : ", bpftrace timed inside its own mount namespace (tracefs)"}\n`,
  "| variant | wall ms (median) | range | CPU ms (median) |",
  "|---|---|---|---|",
  ...Object.entries(results).map(([name, runs]) => row(name === "baseline" ? `baseline (${BASELINE})` : name, runs)),
  row("mltrace -v (the phase runs)", verboseWall),
  "",
];
for (const label of ["startup", "end"]) {
  lines.push(`${label} phases of \`mltrace -v\`, median ms over ${ROUNDS} runs: ${[...phases[label]].map(([p, v]) => `${p} ${median(v)}`).join(", ")}`);
  if (baselinePhases[label].size) {
    lines.push(`${label} phases of the baseline, median ms over ${ROUNDS} runs: ${[...baselinePhases[label]].map(([p, v]) => `${p} ${median(v)}`).join(", ")}`);
  }
}
console.log(lines.join("\n"));
