// io-bound: the trainer waits for data while the threads producing it
// (DataLoader workers, or the trainer itself with num_workers=0) wait for
// block I/O. Only what the kernel marks as I/O wait counts (in_iowait at
// switch-out: io_schedule(), a read in flight), not every D-state sleep.
import type { Rule } from "../diagnosis-types.js";
import { pct, round } from "./common.js";
import { producingThreads } from "./input-bound.js";

export const IO_BOUND = { trainerWaitingShare: 0.5, ioShare: 0.25, critical: 0.5 };

export const ioBound: Rule = (r, wallNs) => {
  const trainer = r.threads.find((t) => t.role === "trainer");
  if (!trainer || !r.io) return null;
  const { producers, workers } = producingThreads(r.threads);
  const time = producers.reduce((n, t) => n + t.oncpu_ns + t.runq_wait_ns + t.sleep_ns + t.iowait_ns, 0);
  const ioWait = producers.reduce((n, t) => n + (t.io_wait_ns ?? 0), 0);
  if (time === 0) return null;
  const share = ioWait / time;
  const trainerWaiting = (trainer.sleep_ns + trainer.iowait_ns) / wallNs;
  // With no workers the trainer is its own producer: its I/O wait is its waiting.
  if (share < IO_BOUND.ioShare || (workers && trainerWaiting < IO_BOUND.trainerWaitingShare)) return null;
  const seconds = wallNs / 1e9;
  const pids = new Set(producers.map((t) => t.pid));
  const readBytes = r.threads.filter((t) => pids.has(t.pid)).reduce((n, t) => n + (t.read_bytes ?? 0), 0);
  const devices = r.io.devices.filter((d) => d.read_bytes + d.write_bytes > 0).sort((a, b) => b.read_bytes + b.write_bytes - (a.read_bytes + a.write_bytes));
  const lat = r.io.device_latency_us;
  const who = workers ? `${pids.size} DataLoader worker${pids.size > 1 ? "s" : ""}` : "the trainer (no DataLoader workers)";
  return {
    id: "io-bound",
    severity: share >= IO_BOUND.critical ? "critical" : "warning",
    summary:
      `the trainer waited ${pct(trainerWaiting)} of the time while ${who} spent ${pct(share)} of theirs waiting for block I/O, ` +
      `reading ${(readBytes / seconds / 2 ** 20).toFixed(1)} MiB/s` +
      (devices.length ? ` from ${devices.map((d) => d.name).join(", ")}` : "") +
      ` (device latency p50 ${Math.round(lat.p50)} µs, p99 ${Math.round(lat.p99)} µs)`,
    evidence: {
      io_wait_share: round(share),
      trainer_waiting_share: round(trainerWaiting),
      read_bytes_per_s: round(readBytes / seconds),
      device_latency_p50_us: round(lat.p50),
      device_latency_p99_us: round(lat.p99),
      pagecache_misses: r.io.pagecache_misses,
      producing_threads: producers.length,
    },
    suggestion:
      "feed the workers faster: faster storage or a warm page cache, larger or sequential reads (pack samples into shards: WebDataset, TFRecord, " +
      "a contiguous array), or more DataLoader workers while the device is not saturated (its latency stays flat as workers are added)",
    preempted_by: [],
    subjects: devices.slice(0, 3).map((d) => ({ kind: "device" as const, name: d.name })),
  };
};
