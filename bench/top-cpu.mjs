// mltrace's own CPU while `top` shows a real PyTorch run. The TUI runs in a
// 100×30 tmux pane, as a user would see it; its cost is the sum of the
// on-CPU time of all of mltrace's threads (/proc/PID/task/*/schedstat, field
// 1: the kernel's own accounting) over a window after a warm-up. `stat
// --interval 1` on the same workload is the baseline: the same tracing with
// no frame to draw.
//
//   node bench/top-cpu.mjs [runs=5] [window_s=20] [warmup_s=10] [--against DIR]...
//
// --against DIR (repeatable) also measures the build of another checkout
// (DIR/dist/cli.js) on the same workload, each run measuring every build in
// turn (the order rotating from run to run), so that a shared machine's
// drift hits them alike: compare builds within one invocation, not across.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { root, schedstatNs } from "./lib.mjs";

const positional = [];
const checkouts = [root];
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === "--against") checkouts.push(resolve(process.argv[++i] ?? ""));
  else positional.push(process.argv[i]);
}
for (const dir of checkouts) {
  if (!existsSync(join(dir, "dist", "cli.js"))) throw new Error(`${dir}: no dist/cli.js (run make there)`);
}
const runs = Number(positional[0] ?? 5);
const windowS = Number(positional[1] ?? 20);
const warmupS = Number(positional[2] ?? 10);
const workload = ["/usr/bin/python3", join(root, "test", "workloads", "torch_roles.py"), "1000"];
// its own name: two benches on one machine must not kill each other's panes
const session = `mltrace-bench-top-${process.pid}`;

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const tmux = (...args) => spawnSync("tmux", args, { encoding: "utf8" });

/** One run: mltrace's CPU share of one core over the window, in percent. */
async function measure(cli, args) {
  tmux("kill-session", "-t", session);
  const command = ["exec", "node", cli, ...args, "--", ...workload].map((a) => `'${a}'`).join(" ").replace("'exec'", "exec");
  const started = tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command);
  if (started.status !== 0) throw new Error(`tmux: ${started.stderr}`);
  try {
    const pid = Number(tmux("display-message", "-p", "-t", session, "#{pane_pid}").stdout.trim());
    await sleep(warmupS);
    const before = schedstatNs(pid, 0);
    const t0 = process.hrtime.bigint();
    await sleep(windowS);
    const used = schedstatNs(pid, 0) - before;
    const wall = Number(process.hrtime.bigint() - t0);
    return (100 * used) / wall;
  } finally {
    tmux("kill-session", "-t", session);
    await sleep(2); // let the workload and its probes go before the next run
  }
}

const allVariants = { "top --interval 1": ["top", "--interval", "1"], "stat --interval 1": ["stat", "--interval", "1", "-o", "/dev/null"] };
// BENCH_ONLY=top or BENCH_ONLY=stat runs just that variant (quicker experiments).
const only = process.env.BENCH_ONLY;
const variants = only ? Object.fromEntries(Object.entries(allVariants).filter(([name]) => name.startsWith(`${only} `))) : allVariants;
const label = (dir) => (dir === root ? "this checkout" : dir);
const results = new Map();
for (let run = 0; run < runs; run++) {
  for (let k = 0; k < checkouts.length; k++) {
    const dir = checkouts[(run + k) % checkouts.length];
    for (const [name, args] of Object.entries(variants)) {
      const key = `${name} (${label(dir)})`;
      if (!results.has(key)) results.set(key, []);
      results.get(key).push(await measure(join(dir, "dist", "cli.js"), args));
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`mltrace's own CPU, % of one core, ${windowS} s after ${warmupS} s warm-up, ${runs} runs (workload: ${workload.slice(1).join(" ")})\n`);
console.log("| variant | runs | median | range |\n|---|---|---|---|");
for (const [name, xs] of [...results].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`| ${name} | ${xs.map((x) => x.toFixed(2)).join(", ")} | **${median(xs).toFixed(2)}%** | ${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)} |`);
}
