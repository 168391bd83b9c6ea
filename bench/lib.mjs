// What every benchmark here shares: running a command, keeping bpftrace
// attached around a run, interleaving variants round after round so drift in
// a noisy machine hits them alike, and the Markdown table of results.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const cli = join(root, "dist", "cli.js");

export function run(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout + r.stderr;
}

/** The same command under `mltrace stat`, report discarded. */
export const underMltrace = (argv) => ["node", cli, "stat", "-o", "/dev/null", "--", ...argv];

// Classic tracepoints need tracefs; bpftrace (unlike mltrace) depends on it.
export function ensureTracefs() {
  if (existsSync("/sys/kernel/tracing/events/sched")) return;
  spawnSync("mount", ["-t", "tracefs", "nodev", "/sys/kernel/tracing"]);
  if (!existsSync("/sys/kernel/tracing/events/sched")) throw new Error("tracefs unavailable: bpftrace cannot attach");
}

/** Runs fn while bpftrace runs `script` (a file in bench/). */
export async function withBpftrace(script, fn) {
  const bt = spawn("bpftrace", [join(root, "bench", script)], { stdio: ["ignore", "pipe", "pipe"] });
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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * variants: { name: async () => cost } with "untraced" first; lower cost is
 * better. Each round runs every variant once, in an order rotated per round.
 * Returns Markdown: median cost and the median over rounds of each round's
 * ratio to that round's untraced run.
 */
export async function interleave(title, unit, variants, rounds) {
  const names = Object.keys(variants);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      results[name].push(await variants[name]());
    }
    process.stderr.write(`${title}: round ${round + 1}/${rounds}: ${names.map((n) => `${n} ${results[n].at(-1)}`).join(", ")}\n`);
  }
  const rows = names.map((name) => {
    const ratios = results[name].map((v, i) => v / results.untraced[i]);
    return `| ${name} | ${median(results[name]).toFixed(3)} | ${(median(ratios) * 100 - 100).toFixed(1)}% |`;
  });
  return [`${title}, ${rounds} interleaved rounds (median)\n`, `| variant | ${unit} | slowdown vs untraced |`, "|---|---|---|", ...rows, ""].join("\n");
}

export function kernel() {
  return spawnSync("uname", ["-r"], { encoding: "utf8" }).stdout.trim();
}

/**
 * A field of each thread's /proc/PID/task/TID/schedstat, summed over the process:
 * 0 = ns on a CPU, 1 = ns waiting runnable for one (the kernel's accounting).
 */
export function schedstatNs(pid, field) {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[field]);
    } catch {
      // a thread that exited between readdir and read: its time is gone with it
    }
  }
  return total;
}
