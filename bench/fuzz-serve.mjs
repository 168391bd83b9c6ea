#!/usr/bin/env node
// The serve fuzz suite at bench size: BENCH_FUZZ_RUNS cases (default
// 100,000) of test/helpers/serve-fuzz.mjs against the built server (dist/)
// on port 0, in this process, with snapshots from the real live model. The
// seed is BENCH_FUZZ_SEED or a random one, printed first, so a failure can
// be rerun exactly (fast-check's report also names the seed and the path).
// Also reports this process's RSS and open descriptors before and after:
// 100,000 connections must leave neither behind.
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "./lib.mjs";
import { fuzzServe } from "../test/helpers/serve-fuzz.mjs";

const RUNS = Number(process.env.BENCH_FUZZ_RUNS ?? 100_000);
const SEED = Number(process.env.BENCH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TOKEN = "bench-fuzz-token-0123456789abcdef";
const MARKERS = ["dashboard-file-marker-index", "dashboard-file-marker-app"];

const { startFeedServer } = await import(join(root, "dist", "serve", "server.js"));
const { SnapshotChannel } = await import(join(root, "dist", "model", "channel.js"));
const { LiveModel } = await import(join(root, "dist", "model", "live.js"));
const { blankThread } = await import(join(root, "dist", "model", "sample.js"));

const host = { hostname: "fuzzhost", kernel: "6.18", cpus: 2, numa_nodes: 1, hardware_pmu: false, attach_modes: {} };
const target = { pid: 100, comm: "trainer", command: "python train.py" };

/** Second k of a small job: a trainer and two workers, cumulative counters. */
function sample(k) {
  const thread = (tid, pid, on) => ({ ...blankThread(), tid, pid, comm: "python", start_ns: 0, exited: false, oncpu_ns: k * on * 1e9, runq_wait_ns: k * 0.02e9, sleep_ns: k * (0.98 - on) * 1e9, switches_voluntary: k * 100, wakeups: k * 100 });
  return {
    time_ns: k * 1e9,
    threads: [thread(100, 100, 0.3), thread(200, 200, 0.8), thread(201, 201, 0.7)],
    processes: [{ pid: 100, ppid: 1, comm: "python", exited: false }, { pid: 200, ppid: 100, comm: "python", exited: false }, { pid: 201, ppid: 100, comm: "python", exited: false }],
    neighbours: [],
    drops: { events_dropped: 0, threads_dropped: 0, targets_dropped: 0, neighbours_dropped: 0 },
    cpu_limits: { cpus_allowed: 2 },
    devices: [],
    numa_nodes: 1,
    families: ["sched"],
  };
}

const staticDir = mkdtempSync(join(tmpdir(), "mltrace-fuzz-dashboard-"));
writeFileSync(join(staticDir, "index.html"), `<!doctype html><title>${MARKERS[0]}</title>`);
writeFileSync(join(staticDir, "app.js"), `console.log("${MARKERS[1]}")`);

const faults = [];
const server = await startFeedServer({ host: "127.0.0.1", port: 0, token: TOKEN, allowHosts: [], allowOrigins: ["http://dash.example:8080"], staticDir, onInternalError: (e) => faults.push(e) });
const model = new LiveModel(() => ({ target, host, started_ns: 0 }), 1);
const channel = new SnapshotChannel(model.current);
server.serve(channel, host);
let k = 0;
const tick = () => channel.publish(model.addSample(sample(++k), 0.01));
tick();

const fds = () => readdirSync("/proc/self/fd").length;
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const before = { rss: rssMiB(), fds: fds() };
console.log(`serve fuzz bench: ${RUNS} cases, seed ${SEED} (BENCH_FUZZ_SEED=${SEED} reruns them)`);

const ctx = { address: `127.0.0.1:${server.port}`, port: server.port, token: TOKEN, markers: ["mltrace_", "fuzzhost", ...MARKERS], tick, faults: () => faults };
let code = 0;
try {
  const stats = await fuzzServe(ctx, {
    numRuns: RUNS,
    seed: SEED,
    onProgress: (s, ms) => {
      if (s.cases % 10_000 === 0) console.log(`  ${s.cases} cases, ${(ms / 1000).toFixed(0)} s, RSS ${rssMiB().toFixed(0)} MiB, ${fds()} fds`);
    },
  });
  // Let the last connections' sockets close before counting descriptors.
  await new Promise((r) => setTimeout(r, 500));
  const after = { rss: rssMiB(), fds: fds() };
  console.log(JSON.stringify(stats));
  console.log(`${stats.cases} cases in ${(stats.ms / 1000).toFixed(1)} s (${((stats.cases / stats.ms) * 1000).toFixed(0)}/s), seed ${SEED}: no crash, no fault, no leak to a client without the token`);
  console.log(`RSS ${before.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MiB, open fds ${before.fds} -> ${after.fds}`);
} catch (err) {
  console.error(`FAILED (seed ${SEED}):\n${err?.stack ?? err}${err?.cause ? `\ncaused by: ${err.cause.stack ?? err.cause}` : ""}`);
  code = 1;
}
await server.close();
process.exit(code);
