#!/usr/bin/env node
// Feed delivery latency with many clients: `mltrace serve` on an idle target
// (a Python process with 100 sleeping threads: frames the size of a
// mid-sized job's, and no CPU taken from the agent, so this measures the
// feed rather than a starved scheduler), CLIENTS WebSocket clients on
// loopback in this process; for every
// snapshot at every client, receipt time minus the snapshot's
// created_unix_ms (stamped by the agent as it builds the snapshot, before
// encoding). Receipt is timestamped first thing in the handler; decoding
// waits until the end so one client's decoding does not delay the next.
// It also reports how long the agent and this process waited for a CPU
// (schedstat run_delay), which is what the tail is made of on a busy
// machine. BENCH_DEBUG=1 passes the agent's stderr through.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { WebSocket } from "ws";
import { cli, kernel, root, schedstatNs } from "./lib.mjs";

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const INTERVAL = process.env.BENCH_INTERVAL ?? "0.1";
const TOKEN = "bench-token-0123456789abcdef";
const { decodeFeed } = await import(join(root, "dist", "feed", "frames.js"));

const workload = ["python3", "-c", "import threading, time\nfor _ in range(100): threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\ntime.sleep(3600)"];
const agent = spawn(process.execPath, [cli, "serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--interval", INTERVAL, "--", ...workload], { stdio: ["ignore", "inherit", "pipe"] });
let stderr = "";
agent.stderr.on("data", (d) => { stderr += d; if (process.env.BENCH_DEBUG) process.stderr.write(d); });
const address = await new Promise((resolve, reject) => {
  const timer = setInterval(() => {
    const m = /dashboard http:\/\/(127\.0\.0\.1:\d+)\//.exec(stderr);
    if (m) resolve(m[1]);
    if (agent.exitCode !== null) reject(new Error(`mltrace serve exited:\n${stderr}`));
  }, 20);
  timer.unref();
});


const received = Array.from({ length: CLIENTS }, () => []);
const sockets = await Promise.all(
  received.map(
    (frames) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${address}/feed`, ["mltrace.v1"], { headers: { Authorization: `Bearer ${TOKEN}` } });
        ws.on("message", (data) => frames.push([Date.now(), data]));
        ws.on("open", () => resolve(ws));
        ws.on("error", reject);
      }),
  ),
);
const waited0 = { agent: schedstatNs(agent.pid, 1), bench: schedstatNs(process.pid, 1) };
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const waited = { agent: (schedstatNs(agent.pid, 1) - waited0.agent) / SECONDS / 1e6, bench: (schedstatNs(process.pid, 1) - waited0.bench) / SECONDS / 1e6 };
for (const ws of sockets) ws.close();
agent.kill("SIGTERM");
await new Promise((r) => agent.on("close", r));

const latencies = [];
/** per seq, the first client's latency: what the agent and the kernel took, before this process's own queueing */
const firstBySeq = new Map();
let frames = 0;
let gaps = 0;
let bytes = 0;
for (const client of received) {
  let last;
  for (const [at, data] of client) {
    const body = decodeFeed(data);
    if (!("snapshot" in body)) continue;
    const { seq, created_unix_ms } = body.snapshot;
    if (last !== undefined && seq !== last + 1) gaps++;
    last = seq;
    frames++;
    bytes += data.length;
    latencies.push(at - created_unix_ms);
    firstBySeq.set(seq, Math.min(firstBySeq.get(seq) ?? Infinity, at - created_unix_ms));
  }
}
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const pct = (p) => percentile(latencies, p);
const first = [...firstBySeq.values()];
console.log(
  `feed latency, ${CLIENTS} clients on loopback, --interval ${INTERVAL}, ${SECONDS} s, 100 idle threads: ` +
    `${frames} snapshots received (${(bytes / frames / 1024).toFixed(1)} KiB each), ${gaps} seq gaps; ` +
    `p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${pct(100)} ms; first client per snapshot p50 ${percentile(first, 50)} ms, p99 ${percentile(first, 99)} ms; ` +
    `run-queue wait per second: agent ${waited.agent.toFixed(0)} ms, clients' process ${waited.bench.toFixed(0)} ms (kernel ${kernel()})`,
);
