// fault-churn: the trainer takes minor faults at a rate that costs it CPU in
// the kernel, the sign of memory returned to the kernel and faulted in again
// every step (glibc gives allocations above its mmap threshold, always above
// 32 MiB, straight back with munmap) or of 4 KiB faults where huge pages
// would do.
import type { Rule } from "../diagnosis-types.js";
import { pct, processSubject, round } from "./common.js";

// Importing torch alone faults some 50,000 pages in its first second, a tenth of its CPU in the kernel: one
// such interval is start-up, a whole run at this rate is churn.
export const FAULT_CHURN = { faultsPerSecond: 20_000, kernelShare: 0.2, critical: 0.4 };

export const faultChurn: Rule = (r, wallNs) => {
  const main = r.threads.find((t) => t.role === "trainer");
  if (!main) return null;
  const seconds = wallNs / 1e9;
  const faults = r.threads.filter((t) => t.pid === main.pid).reduce((n, t) => n + (t.faults_minor ?? 0), 0);
  const perS = faults / seconds;
  if (perS < FAULT_CHURN.faultsPerSecond) return null;
  // The kernel's share of the trainer process's CPU time: what faulting costs it.
  const root = r.root?.pid === main.pid ? r.root : undefined;
  const cpu = root ? root.utime_ns + root.stime_ns : 0;
  if (!root || cpu === 0) return null;
  const kernelShare = root.stime_ns / cpu;
  if (kernelShare < FAULT_CHURN.kernelShare) return null;
  const thp = r.thp_enabled;
  const hugeMiB = root.anon_huge_bytes === undefined ? undefined : root.anon_huge_bytes / 2 ** 20;
  return {
    id: "fault-churn",
    severity: kernelShare >= FAULT_CHURN.critical ? "critical" : "warning",
    summary:
      `the trainer process took ${Math.round(perS)} minor page faults a second and spent ${pct(kernelShare)} of its CPU time in the kernel` +
      (thp ? `; transparent huge pages: ${thp}` : "") +
      (hugeMiB === undefined ? "" : `, ${hugeMiB.toFixed(0)} MiB of its memory in huge pages`),
    evidence: {
      minor_faults_per_s: round(perS),
      kernel_cpu_share: round(kernelShare),
      utime_s: round(root.utime_ns / 1e9),
      stime_s: round(root.stime_ns / 1e9),
      ...(hugeMiB === undefined ? {} : { anon_huge_mib: round(hugeMiB) }),
    },
    suggestion:
      "keep freed memory in the process: MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ above the largest tensor (e.g. 1073741824), " +
      "or jemalloc/tcmalloc through LD_PRELOAD; reuse buffers across steps (out= arguments, preallocated tensors)" +
      (thp === "never" ? "; enable transparent huge pages (madvise) so large allocations fault 2 MiB at a time" : ""),
    preempted_by: [],
    subjects: [processSubject(r, main.pid)],
  };
};
