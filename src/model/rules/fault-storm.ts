// fault-storm: the threads producing the batches (DataLoader workers, or the
// trainer itself with num_workers=0) spend a material share of their time in
// major faults on file-backed pages: a dataset read through mmap
// (numpy.memmap, Arrow, LMDB, safetensors) one page fault at a time. Names
// the files.
import type { Rule } from "../diagnosis-types.js";
import { pct, processName, round } from "./common.js";
import { producingThreads } from "./input-bound.js";

// The share counts only faults the kernel timed (those that read their page in), so it is a lower bound.
export const FAULT_STORM = { faultsPerSecond: 50, faultShare: 0.15, critical: 0.4 };

export const faultStorm: Rule = (r, wallNs) => {
  const files = r.fault_files ?? [];
  if (files.length === 0) return null;
  const { producers, workers } = producingThreads(r.threads);
  if (producers.length === 0) return null;
  const pids = new Set(producers.map((t) => t.pid));
  const theirs = files.filter((f) => pids.has(f.pid));
  const faults = theirs.reduce((n, f) => n + f.major_faults, 0);
  const faultNs = theirs.reduce((n, f) => n + f.latency_ns, 0);
  const seconds = wallNs / 1e9;
  const share = faultNs / (producers.length * wallNs);
  if (faults / seconds < FAULT_STORM.faultsPerSecond || share < FAULT_STORM.faultShare) return null;
  const byFile = new Map<string, number>();
  for (const f of theirs) byFile.set(f.path, (byFile.get(f.path) ?? 0) + f.major_faults);
  const top = [...byFile.entries()].sort((a, b) => b[1] - a[1]);
  const readBytes = r.threads.filter((t) => pids.has(t.pid)).reduce((n, t) => n + (t.read_bytes ?? 0), 0);
  const who = workers ? `${pids.size} DataLoader worker${pids.size > 1 ? "s" : ""}` : "the trainer (no DataLoader workers)";
  const lat = r.major_latency_us;
  // Files with a share of the faults worth naming: a stray fault on a library is not the storm.
  const named = top.filter(([, n]) => n >= 0.05 * faults).slice(0, 3);
  const paths = new Set(named.map(([path]) => path));
  const namedText = named.map(([path, n]) => `${path} (${Math.round(n / seconds)}/s)`).join(", ");
  const fileSubjects = theirs.filter((f) => paths.has(f.path)).slice(0, 5).map((f) => ({ kind: "file" as const, name: f.path, pid: f.pid }));
  return {
    id: "fault-storm",
    severity: share >= FAULT_STORM.critical ? "critical" : "warning",
    summary:
      `${who} took ${Math.round(faults / seconds)} major page faults a second on mapped files, at least ${pct(share)} of the time of the ` +
      `${producers.length} thread${producers.length > 1 ? "s" : ""} doing their work` +
      (lat ? ` (fault latency p50 ${Math.round(lat.p50)} µs, p99 ${Math.round(lat.p99)} µs)` : "") +
      `: ${namedText}` +
      (theirs[0] ? `; most in ${processName(r, theirs[0].pid)}` : ""),
    evidence: {
      major_faults_per_s: round(faults / seconds),
      fault_share: round(share),
      ...(lat ? { fault_latency_p50_us: round(lat.p50), fault_latency_p99_us: round(lat.p99) } : {}),
      read_bytes_per_s: round(readBytes / seconds),
      files: top.length,
      producing_threads: producers.length,
    },
    suggestion:
      "read the file ahead instead of a page at a time: madvise(MADV_WILLNEED or MADV_SEQUENTIAL) on the mapping, posix_fadvise(POSIX_FADV_WILLNEED), " +
      "a larger readahead (blockdev --setra), reading the file into memory once, or a warm page cache (a first pass, vmtouch)",
    preempted_by: [],
    subjects: fileSubjects,
  };
};
