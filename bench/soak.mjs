#!/usr/bin/env node
// Soak: `mltrace serve --interval 1` with 3 feed clients on loopback traces a
// real PyTorch run whose DataLoader workers are respawned every epoch
// (test/workloads/torch_epochs.py) for SOAK_MINUTES (default 30). Every
// SOAK_EVERY_S (10) seconds it samples the agent's resident memory
// (/proc/PID/status VmRSS), V8 heap (bench/soak-meter.cjs, preloaded into
// the agent, writes process.memoryUsage() to a file), open file descriptors
// (/proc/PID/fd) and the memory of the BPF maps it holds (memlock in
// /proc/PID/fdinfo of each map fd). After SOAK_WARMUP_MINUTES (5) of warm-up
// the agent's RSS must stay within ±10 MB of its value at the end of the
// warm-up, and its descriptors flat. Writes build/artifacts/soak.json, the
// plot as build/artifacts/soak.svg and, drawn from it by Debian's chromium
// headless, soak.png (SOAK_NAME replaces "soak"); prints the figures. Not
// part of npm test.
// BENCH_DEBUG=1 passes the agent's stderr through.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WebSocket } from "ws";
import { cli, kernel, root } from "./lib.mjs";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const WARMUP_MIN = Number(process.env.SOAK_WARMUP_MINUTES ?? 5);
const EVERY_S = Number(process.env.SOAK_EVERY_S ?? 10);
const WORKERS = process.env.SOAK_WORKERS ?? "2";
const CLIENTS = 3;
const RSS_BAND = 10 * 1024 * 1024;
const TOKEN = "soak-token-0123456789abcdef";
const out = join(root, "build", "artifacts");
mkdirSync(out, { recursive: true });
const NAME = process.env.SOAK_NAME ?? "soak";
const meterFile = join(out, `${NAME}-meter.jsonl`);
rmSync(meterFile, { force: true });
const { decodeFeed } = await import(join(root, "dist", "feed", "frames.js"));

const workload = ["/usr/bin/python3", join(root, "test", "workloads", "torch_epochs.py"), String(MINUTES * 60), WORKERS];
const agent = spawn(
  process.execPath,
  ["--require", join(root, "bench", "soak-meter.cjs"), cli, "serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--interval", "1", "--", ...workload],
  { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SOAK_METER_FILE: meterFile, SOAK_METER_MS: String(EVERY_S * 1000) } },
);
let stderr = "";
let stdout = "";
agent.stdout.on("data", (d) => (stdout += d));
agent.stderr.on("data", (d) => {
  stderr += d;
  if (process.env.BENCH_DEBUG) process.stderr.write(d);
});
const exited = new Promise((resolve) => agent.on("close", (code) => resolve(code)));
const address = await new Promise((resolve, reject) => {
  const timer = setInterval(() => {
    const m = /dashboard http:\/\/(127\.0\.0\.1:\d+)\//.exec(stderr);
    if (m) resolve(m[1]);
    if (agent.exitCode !== null) reject(new Error(`mltrace serve exited:\n${stderr}`));
  }, 20);
  timer.unref();
});

/** Feed readers, as a dashboard would be: every frame decoded, the latest snapshot kept. */
const clients = Array.from({ length: CLIENTS }, () => ({ frames: 0, bytes: 0, last: null, exit: null, closed: false }));
await Promise.all(
  clients.map(
    (c) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${address}/feed`, ["mltrace.v1"], { headers: { Authorization: `Bearer ${TOKEN}` }, maxPayload: 256 << 20 });
        ws.on("message", (data) => {
          c.frames++;
          c.bytes += data.length;
          const body = decodeFeed(data);
          if ("snapshot" in body) c.last = body.snapshot;
          if ("exit" in body) c.exit = body.exit;
        });
        ws.on("open", () => resolve(ws));
        ws.on("close", () => (c.closed = true));
        ws.on("error", reject);
      }),
  ),
);

function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Open descriptors, and the memlock of those that are BPF maps. */
function descriptors(pid) {
  let fds = 0;
  let bpfMaps = 0;
  let bpfBytes = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    let info;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
    } catch {
      continue; // closed between the listing and the read
    }
    if (!/^map_id:/m.test(info)) continue;
    bpfMaps++;
    bpfBytes += Number(/^memlock:\s+(\d+)/m.exec(info)?.[1] ?? 0);
  }
  return { fds, bpfMaps, bpfBytes };
}

function latestHeap() {
  if (!existsSync(meterFile)) return {};
  const lines = readFileSync(meterFile, "utf8").trim().split("\n");
  return JSON.parse(lines.at(-1));
}

/** Processes the agent has seen so far, from the latest snapshot a client holds. */
function seen() {
  const report = clients[0].last?.interval;
  if (!report) return {};
  return { processes: Number(report.target.processes), folded: Number(report.folded?.processes ?? 0) };
}

const started = Date.now();
const samples = [];
const tick = () => {
  if (agent.exitCode !== null) return;
  try {
    const heap = latestHeap();
    samples.push({
      t_s: (Date.now() - started) / 1000,
      rss: rssBytes(agent.pid),
      heap_used: heap.heap_used,
      heap_total: heap.heap_total,
      ...descriptors(agent.pid),
      ...seen(),
      frames: clients.map((c) => c.frames),
    });
    const s = samples.at(-1);
    process.stderr.write(
      `soak ${(s.t_s / 60).toFixed(1)} min: RSS ${(s.rss / 2 ** 20).toFixed(1)} MB, heap ${((s.heap_used ?? 0) / 2 ** 20).toFixed(1)} MB, ` +
        `${s.fds} fds, BPF maps ${(s.bpfBytes / 2 ** 20).toFixed(1)} MB, ${s.processes ?? "?"} processes seen (${s.folded ?? 0} folded)\n`,
    );
  } catch (err) {
    process.stderr.write(`soak: sample failed: ${err.message}\n`); // the agent exiting under us
  }
};
tick();
const timer = setInterval(tick, EVERY_S * 1000);
const code = await exited;
clearInterval(timer);
const ran_s = (Date.now() - started) / 1000;

const exit = clients.find((c) => c.exit)?.exit;
const final = exit?.final;
const workloadOut = /\{"epochs".*\}/.exec(stdout)?.[0];
const after = samples.filter((s) => s.t_s >= WARMUP_MIN * 60);
const base = after[0];
const mb = (x) => (x / 2 ** 20).toFixed(1);
const range = (key) => [Math.min(...after.map((s) => s[key])), Math.max(...after.map((s) => s[key]))];
const result = {
  kernel: kernel(),
  minutes: MINUTES,
  warmup_minutes: WARMUP_MIN,
  agent_exit: code,
  ran_s,
  workload: workloadOut ? JSON.parse(workloadOut) : null,
  final_processes: final ? Number(final.target.processes) : null,
  final_threads: final ? Number(final.target.threads) : null,
  folded_processes: final ? Number(final.folded?.processes ?? 0) : null,
  folded_threads: final ? Number(final.folded?.threads ?? 0) : null,
  frames: clients.map((c) => c.frames),
  folded_by_name: final?.folded?.by_name ?? [],
  listed_by_name: Object.values(
    (final?.processes ?? []).reduce((acc, p) => {
      const key = `${p.comm} ${p.role}`;
      acc[key] ??= { comm: p.comm, role: p.role, processes: 0 };
      acc[key].processes++;
      return acc;
    }, {}),
  ),
  samples,
};
let verdict = "no samples after the warm-up";
if (base) {
  const [rssLo, rssHi] = range("rss");
  const [fdLo, fdHi] = range("fds");
  const [heapLo, heapHi] = range("heap_used");
  const [bpfLo, bpfHi] = range("bpfBytes");
  const rssOk = rssHi - base.rss <= RSS_BAND && base.rss - rssLo <= RSS_BAND;
  const fdOk = fdLo === fdHi;
  Object.assign(result, {
    after_warmup: {
      rss_at_start: base.rss, rss_min: rssLo, rss_max: rssHi, rss_last: after.at(-1).rss,
      heap_min: heapLo, heap_max: heapHi, fds_min: fdLo, fds_max: fdHi, bpf_bytes_min: bpfLo, bpf_bytes_max: bpfHi,
      rss_within_10mb: rssOk, fds_flat: fdOk,
    },
  });
  verdict =
    `after the ${WARMUP_MIN}-minute warm-up (${after.length} samples): RSS ${mb(base.rss)} MB at its start, ${mb(rssLo)}–${mb(rssHi)} MB ` +
    `(${rssOk ? "within" : "NOT within"} ±10 MB), last ${mb(after.at(-1).rss)} MB; V8 heap used ${mb(heapLo)}–${mb(heapHi)} MB; ` +
    `open fds ${fdLo}–${fdHi} (${fdOk ? "flat" : "NOT flat"}); BPF map memory ${mb(bpfLo)}–${mb(bpfHi)} MB`;
}
writeFileSync(join(out, `${NAME}.json`), `${JSON.stringify(result, null, 1)}\n`);
const svg = plot(samples, WARMUP_MIN * 60);
writeFileSync(join(out, `${NAME}.svg`), svg);
const png = toPng(join(out, `${NAME}.svg`), join(out, `${NAME}.png`));

console.log(
  `soak: mltrace serve --interval 1, ${CLIENTS} feed clients, ${(ran_s / 60).toFixed(1)} min of ${workload.slice(1).join(" ")} ` +
    `(${result.workload ? `${result.workload.epochs} epochs, ${result.workload.workers_started} DataLoader workers started` : "workload summary missing"}); ` +
    `final report: ${result.final_processes} processes, ${result.final_threads} threads, ${result.folded_processes} processes and ${result.folded_threads} threads folded; ` +
    `frames per client ${result.frames.join("/")}; agent exit ${code}; kernel ${result.kernel}\n${verdict}\n` +
    `samples: build/artifacts/${NAME}.json; plot: build/artifacts/${NAME}.svg${png ? `, ${NAME}.png` : " (no PNG: chromium missing)"}`,
);

/** Two panels over minutes: memory (RSS, V8 heap used and total, BPF maps) in MB, and open fds. */
function plot(samples, warmupS) {
  const W = 960;
  const H = 600;
  const left = 70;
  const right = 170;
  const panels = [
    { top: 40, height: 330, unit: "MB", series: [["rss", "agent RSS", "#1f77b4"], ["heap_total", "V8 heap total", "#ff7f0e"], ["heap_used", "V8 heap used", "#2ca02c"], ["bpfBytes", "BPF map memory", "#9467bd"]], scale: 2 ** 20 },
    { top: 420, height: 140, unit: "fds", series: [["fds", "open fds", "#d62728"]], scale: 1 },
  ];
  const tMax = Math.max(60, ...samples.map((s) => s.t_s));
  const x = (t) => left + ((W - left - right) * t) / tMax;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  parts.push(`<text x="${left}" y="22" font-size="15">mltrace serve soak: ${CLIENTS} feed clients, --interval 1, PyTorch with DataLoader workers respawned every epoch</text>`);
  for (const p of panels) {
    const values = samples.flatMap((s) => p.series.map(([k]) => (s[k] ?? NaN) / p.scale)).filter(Number.isFinite);
    const hi = niceCeil(Math.max(1, ...values) * 1.05);
    const y = (v) => p.top + p.height - (p.height * v) / hi;
    parts.push(`<rect x="${left}" y="${p.top}" width="${W - left - right}" height="${p.height}" fill="none" stroke="#888"/>`);
    for (let i = 0; i <= 4; i++) {
      const v = (hi * i) / 4;
      parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`, `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${+v.toFixed(1)}</text>`);
    }
    parts.push(`<text x="16" y="${p.top + p.height / 2}" transform="rotate(-90 16 ${p.top + p.height / 2})" text-anchor="middle">${p.unit}</text>`);
    parts.push(`<line x1="${x(warmupS)}" x2="${x(warmupS)}" y1="${p.top}" y2="${p.top + p.height}" stroke="#aaa" stroke-dasharray="4 3"/>`);
    p.series.forEach(([key, label, colour], i) => {
      const pts = samples.filter((s) => Number.isFinite(s[key])).map((s) => `${x(s.t_s).toFixed(1)},${y(s[key] / p.scale).toFixed(1)}`);
      if (pts.length) parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.8" points="${pts.join(" ")}"/>`);
      parts.push(`<rect x="${W - right + 12}" y="${p.top + 8 + i * 18}" width="12" height="3" fill="${colour}"/>`, `<text x="${W - right + 30}" y="${p.top + 13 + i * 18}">${label}</text>`);
    });
  }
  const bottom = panels.at(-1).top + panels.at(-1).height;
  for (let m = 0; m <= tMax / 60; m += Math.max(1, Math.ceil(tMax / 60 / 10))) parts.push(`<text x="${x(m * 60)}" y="${bottom + 16}" text-anchor="middle">${m}</text>`);
  parts.push(`<text x="${(left + W - right) / 2}" y="${bottom + 34}" text-anchor="middle">minutes (dashed: end of warm-up)</text>`, "</svg>");
  return parts.join("\n");
}

function niceCeil(v) {
  const e = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * e).find((c) => c >= v);
}

/** The SVG as a PNG, by Debian's chromium headless; false where there is none. */
function toPng(svgPath, pngPath) {
  const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);
  if (!chromium) return false;
  const r = spawnSync(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", `--screenshot=${pngPath}`, "--window-size=960,600", `file://${svgPath}`], { encoding: "utf8", timeout: 60000 });
  return r.status === 0 && existsSync(pngPath);
}
