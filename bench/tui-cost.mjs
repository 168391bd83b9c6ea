// What one `top` interval costs mltrace's main thread, piece by piece, on
// synthetic samples shaped like a PyTorch run (a trainer, an intra-op pool
// thread, DataLoader workers of 5 threads each, respawned every epoch):
//  - model: building one interval report, against the number of threads that
//    exited before the interval (a long run accumulates them);
//  - frame: Ink composing the 100×30 frame (its renderTime), one frame a
//    second as in `top`.
// No eBPF: this isolates the user-space parts. Run from the repo root after
// `make`:  node bench/tui-cost.mjs [--model-only]
import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/", import.meta.url);
const { buildReport } = await import(new URL("model/report.js", dist));
const { LiveModel } = await import(new URL("model/live.js", dist));
const { blankThread } = await import(new URL("model/sample.js", dist));

const host = { hostname: "bench", kernel: "6.18", cpus: 2, numa_nodes: 1, hardware_pmu: false, attach_modes: {} };
const target = { pid: 100, comm: "python3", command: "python3 train.py" };
const context = { target, host, started_ns: 0 };

function thread(tid, pid, comm, k, on, runq, exited = false, start_ns = 0) {
  return {
    ...blankThread(),
    tid, pid, comm, start_ns, exited,
    oncpu_ns: k * on * 1e9, runq_wait_ns: k * runq * 1e9, sleep_ns: k * (1 - on - runq) * 1e9,
    switches_voluntary: k * 300, switches_involuntary: k * 40, wakeups: k * 300,
    runq_hist: [0, k * 3, k * 10, k * 40, k * 5, k], offcpu_hist: [0, 0, 0, 0, 0, 0, 0, k * 20, k * 30, k * 3],
  };
}

/** Second k of the run, with `exitedWorkers` workers (5 threads each) gone before it. */
function sample(k, exitedWorkers) {
  const finished = [];
  const processes = [{ pid: 100, ppid: 1, comm: "python3", exited: false }];
  for (let w = 0; w < exitedWorkers; w++) {
    const pid = 1000 + w;
    processes.push({ pid, ppid: 100, comm: "python3", exited: true, exit_status: 0 });
    for (let i = 0; i < 5; i++) finished.push(thread(pid * 10 + i, pid, "python3", 1, 0.2, 0.05, true, 1e9 + w));
  }
  const live = [thread(100, 100, "python3", k, 0.4, 0.3), thread(101, 100, "python3", k, 0.35, 0.3)];
  for (let w = 0; w < 2; w++) {
    const pid = 500 + w;
    processes.push({ pid, ppid: 100, comm: "python3", exited: false });
    for (let i = 0; i < 5; i++) live.push(thread(pid * 10 + i, pid, "python3", k, i === 0 ? 0.1 : 0, 0.05));
  }
  return {
    time_ns: k * 1e9, threads: [...finished, ...live], exited_prefix: finished.length, processes, neighbours: [],
    drops: { events_dropped: 0, threads_dropped: 0, targets_dropped: 0, neighbours_dropped: 0 },
    devices: [], numa_nodes: 1, families: ["sched"], cpu_limits: { cpus_allowed: 2 },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function modelCost(exitedThreads) {
  const workers = exitedThreads / 5;
  const prev = sample(10, workers);
  const cur = sample(11, workers);
  // the collector keeps exited threads as the same objects from sample to sample
  cur.threads.splice(0, prev.exited_prefix, ...prev.threads.slice(0, prev.exited_prefix));
  const times = [];
  for (let i = 0; i < 15; i++) {
    const t0 = process.cpuUsage();
    buildReport(prev, cur, { ...context, kind: "interval" });
    const t = process.cpuUsage(t0);
    times.push((t.user + t.system) / 1000);
    await sleep(100);
  }
  return median(times);
}

/** In a child process (a fresh Ink): median renderTime over `frames` frames. */
async function frameCost(frames) {
  process.env.NODE_ENV = "production";
  const { render } = await import("ink");
  const { createElement } = await import("react");
  const { Root } = await import(new URL("views/tui/root.js", dist));
  const { SnapshotChannel } = await import(new URL("model/channel.js", dist));
  class Terminal extends EventEmitter { columns = 100; rows = 30; isTTY = true; write() { return true; } }
  class Keyboard extends EventEmitter { isTTY = true; setRawMode() {} setEncoding() {} ref() {} unref() {} read() { return null; } resume() {} pause() {} }
  const model = new LiveModel(() => context, 1);
  const channel = new SnapshotChannel(model.current);
  const times = [];
  const ink = render(createElement(Root, { source: channel, onQuit: () => {}, color: true }), {
    stdout: new Terminal(), stdin: new Keyboard(), exitOnCtrlC: false, patchConsole: false, maxFps: 4,
    onRender: ({ renderTime }) => times.push(renderTime),
  });
  for (let k = 1; k <= frames; k++) {
    channel.publish(model.addSample(sample(k, 20), 0.01));
    await sleep(1000);
  }
  ink.unmount();
  return median(times.slice(3));
}

if (process.argv[2] === "--frame") {
  console.log(JSON.stringify(await frameCost(Number(process.argv[3]))));
  process.exit(0);
}

console.log("Building one interval report (ms of CPU, median of 15), by threads that exited before the interval:\n");
console.log("| exited threads | ms |\n|---|---|");
for (const n of [0, 5000, 40000]) console.log(`| ${n} | ${(await modelCost(n)).toFixed(2)} |`);

if (process.argv[2] === "--model-only") process.exit(0);
const frames = 20;
console.log(`\nInk composing a 100×30 frame of the overview (renderTime, ms, median of ${frames - 3} frames at 1 per second):\n`);
const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--frame", String(frames)], { encoding: "utf8" });
if (r.status !== 0) throw new Error(r.stderr);
console.log(`${Number(JSON.parse(r.stdout.trim().split("\n").pop())).toFixed(1)} ms`);
