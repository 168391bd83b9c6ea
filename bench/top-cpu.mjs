// mltrace's own CPU while `top` shows a real PyTorch run, against the 2%-of-
// one-core target. The TUI runs in a 100×30 tmux pane, as a user would see
// it; its cost is the sum of the on-CPU time of all of mltrace's threads
// (/proc/PID/task/*/schedstat, field 1: the kernel's own accounting) over a
// window after a warm-up. `stat --interval 1` on the same workload is the
// baseline: the same tracing with no frame to draw.
//
//   node bench/top-cpu.mjs [runs=5] [window_s=20] [warmup_s=10]
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { cli, root, schedstatNs } from "./lib.mjs";

const runs = Number(process.argv[2] ?? 5);
const windowS = Number(process.argv[3] ?? 20);
const warmupS = Number(process.argv[4] ?? 10);
const workload = ["/usr/bin/python3", join(root, "test", "workloads", "torch_roles.py"), "1000"];
const session = "mltrace-bench-top";

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const tmux = (...args) => spawnSync("tmux", args, { encoding: "utf8" });

/** One run: mltrace's CPU share of one core over the window, in percent. */
async function measure(args) {
  tmux("kill-session", "-t", session);
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);
  const command = ["exec", "node", ...nodeFlags, cli, ...args, "--", ...workload].map((a) => `'${a}'`).join(" ").replace("'exec'", "exec");
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
const results = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
for (let run = 0; run < runs; run++) {
  for (const [name, args] of Object.entries(variants)) results[name].push(await measure(args));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`mltrace's own CPU, % of one core, ${windowS} s after ${warmupS} s warm-up, ${runs} runs (workload: ${workload.slice(1).join(" ")})\n`);
console.log("| variant | runs | median |\n|---|---|---|");
for (const [name, xs] of Object.entries(results)) console.log(`| ${name} | ${xs.map((x) => x.toFixed(2)).join(", ")} | **${median(xs).toFixed(2)}%** |`);
