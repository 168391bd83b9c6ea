// Faults family acceptance: a workload that touches fresh anonymous pages,
// then reads a file through mmap after the page cache was dropped; its minor
// and major totals equal its own getrusage within 1%.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { writeRandomFile } from "../helpers/files.js";
import { mltraceSync, root } from "../helpers/mltrace.js";

const faultsWorkload = join(root, "build", "workloads", "faults");

function within(actual: number, expected: number, fraction: number): boolean {
  return Math.abs(actual - expected) <= fraction * expected;
}

for (const mode of ["tp_btf", "raw_tp"] as const) {
  describeEbpf(`page faults against getrusage (${mode})`, () => {
    it("counts minor and major faults like the kernel, and tells file-backed majors apart", () => {
      // Not /tmp: the file must live on a disk so that dropping the page
      // cache makes reading it fault for real.
      const dir = mkdtempSync(join(root, "build", "faults-test-"));
      try {
        const data = join(dir, "dataset.bin");
        writeRandomFile(data, 32);
        writeFileSync("/proc/sys/vm/drop_caches", "1");

        const results = join(dir, "rusage.txt");
        const output = join(dir, "report.json");
        const run = mltraceSync(["stat", "--json", "-o", output, "--", faultsWorkload, "--pages", "20000", "--file", data, "--results", results], {
          MLTRACE_ATTACH: mode,
        });
        expect(run.status, run.stderr).toBe(0);
        const report = JSON.parse(readFileSync(output, "utf8"));
        const [, pid, minflt, majflt] = readFileSync(results, "utf8").trim().split(" ").map(Number);
        const p = report.processes.find((q: { pid: number }) => q.pid === pid);
        const what = `mltrace minor ${p?.faults_minor} major ${p?.faults_major}; getrusage minor ${minflt} major ${majflt}`;
        console.log(`faults (${mode}): ${what}`);
        expect(minflt!, what).toBeGreaterThan(20000);
        expect(majflt!, what).toBeGreaterThan(8000); // 32 MiB in 4 KiB pages, no readahead
        expect(within(p.faults_minor, minflt!, 0.01), what).toBe(true);
        expect(within(p.faults_major, majflt!, 0.01), what).toBe(true);

        const f = report.faults;
        expect(f.available).toBe(true);
        expect(f.major).toBe(p.faults_major);
        // The mmap'd file's pages are file-backed and faulted from user mode.
        expect(f.major_file).toBeGreaterThan(0.99 * 8192);
        expect(f.major_anon).toBe(0);
        expect(f.major_user).toBeGreaterThan(0.99 * 8192);
        expect(f.major_latency_hist.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBeGreaterThan(0.99 * 8192);
        expect(f.exceptions_user).toBeGreaterThanOrEqual(20000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
