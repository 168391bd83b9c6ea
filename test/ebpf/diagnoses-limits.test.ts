// cpu-throttled and fault-churn on real workloads, each against the kernel's
// own accounting (the cgroup's cpu.stat, the workload's getrusage), and the
// healthy twin of each that must not fire.
import { mkdirSync, readFileSync, rmdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltraceSync, root } from "../helpers/mltrace.js";

interface Diagnosis {
  id: string;
  severity: string;
  summary: string;
  evidence: Record<string, number>;
  subjects: { kind: string; name: string; pid: number | null; tid: number | null }[];
}

function trace(argv: string[]): { report: any; stdout: string } {
  const out = join("/tmp", `mltrace-limits-${process.pid}-${Date.now()}.json`);
  const r = mltraceSync(["stat", "--json", "-o", out, "--", ...argv]);
  expect(r.status, r.stderr).toBe(0);
  return { report: JSON.parse(readFileSync(out, "utf8")), stdout: r.stdout };
}

const found = (report: any, id: string): Diagnosis | undefined => report.diagnoses.find((d: Diagnosis) => d.id === id);

// This host mounts the v1 cpu controller; the quota lives in a cgroup made for the test.
const V1_CPU = "/sys/fs/cgroup/cpu";
const cgroup = join(V1_CPU, `mltrace-test-${process.pid}`);
// Burns 1.2 s of its own CPU time: under a 0.5 CPU quota that is most of every period.
const BUSY = "import time\nwhile time.process_time() < 1.2: pass\n";

describeEbpf("diagnoses of limits and faults on real workloads", () => {
  beforeAll(() => {
    expect(existsSync(join(V1_CPU, "cpu.cfs_quota_us")), "the v1 cpu controller is mounted").toBe(true);
    mkdirSync(cgroup);
    writeFileSync(join(cgroup, "cpu.cfs_period_us"), "100000");
    writeFileSync(join(cgroup, "cpu.cfs_quota_us"), "50000");
  });
  afterAll(() => {
    if (existsSync(cgroup)) rmdirSync(cgroup);
  });

  it("cpu-throttled: a v1 quota of 0.5 CPU, with the quota right and the throttling cpu.stat counted", () => {
    // The launched shell moves itself into the cgroup, then becomes the workload.
    const { report } = trace(["sh", "-c", `echo $$ > ${cgroup}/cgroup.procs && exec /usr/bin/python3 -c '${BUSY}'`]);
    const stat = Object.fromEntries(readFileSync(join(cgroup, "cpu.stat"), "utf8").trim().split("\n").map((l) => l.split(" ")));
    // A fresh cgroup: its counters are exactly what the session saw, but for
    // the quota's period timer, which may count one more period after the
    // last task left.
    expect(report.cpu_limits).toMatchObject({
      cgroup_cpus: 0.5,
      usable_cpus: 0.5,
      cgroup_version: 1,
      cgroup_path: `/${cgroup.split("/").at(-1)}`,
      cgroup_throttled_periods: Number(stat.nr_throttled),
      cgroup_throttled_ns: Number(stat.throttled_time),
    });
    expect(Number(stat.nr_periods) - report.cpu_limits.cgroup_periods).toBeGreaterThanOrEqual(0);
    expect(Number(stat.nr_periods) - report.cpu_limits.cgroup_periods).toBeLessThanOrEqual(1);
    const d = found(report, "cpu-throttled");
    expect(d, JSON.stringify(report.diagnoses)).toBeDefined();
    expect(d!.evidence.quota_cpus).toBe(0.5);
    expect(d!.evidence.periods).toBe(report.cpu_limits.cgroup_periods);
    expect(d!.evidence.throttled_periods).toBe(Number(stat.nr_throttled));
    expect(d!.evidence.throttled_share).toBeCloseTo(Number(stat.nr_throttled) / report.cpu_limits.cgroup_periods, 3);
    expect(d!.subjects).toEqual([{ kind: "cgroup", name: report.cpu_limits.cgroup_path, pid: null, tid: null }]);
    expect(report.diagnoses.map((x: Diagnosis) => x.id)).not.toContain("cpu-contention");
  });

  it("cpu-throttled: silent for the same work without a quota", () => {
    const { report } = trace(["/usr/bin/python3", "-c", BUSY]);
    expect(report.cpu_limits.cgroup_cpus).toBeNull();
    expect(found(report, "cpu-throttled")).toBeUndefined();
  });

  it("fault-churn: a trainer that allocates a 64 MiB tensor every step, against its getrusage", () => {
    const { report, stdout } = trace(["/usr/bin/python3", join(root, "test", "workloads", "torch_churn.py"), "--steps", "40"]);
    const own = JSON.parse(stdout.trim().split("\n").at(-1)!);
    const d = found(report, "fault-churn");
    expect(d, JSON.stringify(report.diagnoses)).toBeDefined();
    // The faults mltrace weighed are the trainer's, as its kernel counted them.
    expect(d!.evidence.minor_faults_per_s * report.duration_s).toBeGreaterThan(own.minflt * 0.99);
    expect(d!.evidence.minor_faults_per_s * report.duration_s).toBeLessThan(own.minflt * 1.02);
    // The kernel's share of its CPU, from /proc's ticks, against getrusage's.
    expect(Math.abs(d!.evidence.kernel_cpu_share - own.stime_s / (own.utime_s + own.stime_s))).toBeLessThan(0.05);
    expect(d!.subjects[0]).toMatchObject({ kind: "process", pid: report.target.pid });
  });

  it("fault-churn: silent when the buffer is reused, and a healthy run fires nothing above info", () => {
    const { report } = trace(["/usr/bin/python3", join(root, "test", "workloads", "torch_churn.py"), "--steps", "300", "--reuse"]);
    expect(found(report, "fault-churn"), JSON.stringify(report.diagnoses)).toBeUndefined();
    const serious = report.diagnoses.filter((x: Diagnosis) => x.severity !== "info");
    expect(serious, JSON.stringify(serious)).toEqual([]);
  });
});
