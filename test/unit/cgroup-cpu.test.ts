import { describe, expect, it } from "vitest";
import { parseMemoryLimit } from "../../src/collector/cgroup-memory.js";
import { parseCfsQuota, parseCpuMax, parseCpuStat, parseMountinfo, parseProcCgroup } from "../../src/collector/cgroup-cpu.js";
import { parseAnonHuge, parseStatTimes, parseThpEnabled } from "../../src/collector/root-process.js";

describe("cgroup CPU quotas, both versions", () => {
  it("finds the v2 mount and the v1 cpu controller's in mountinfo", () => {
    const text = [
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
      "42 31 0:39 / /mnt/with\\040space rw - cgroup cgroup rw,memory",
    ].join("\n");
    expect(parseMountinfo(text)).toEqual({ v1cpu: "/sys/fs/cgroup/cpu", v2: "/sys/fs/cgroup/unified", v1memory: "/mnt/with space" });
    expect(parseMountinfo("25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")).toEqual({ v2: "/sys/fs/cgroup" });
    expect(parseMountinfo("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n")).toEqual({ v1cpu: "/sys/fs/cgroup/cpu,cpuacct" });
  });

  it("reads a process's paths from /proc/PID/cgroup", () => {
    expect(parseProcCgroup("4:memory:/a\n2:cpuacct:/\n1:cpu:/job/x\n0::/sys.slice\n")).toEqual({ v1cpu: "/job/x", v1memory: "/a", v2: "/sys.slice" });
    expect(parseProcCgroup("3:cpu,cpuacct:/k8s/pod1\n")).toEqual({ v1cpu: "/k8s/pod1" });
    expect(parseProcCgroup("0::/\n")).toEqual({ v2: "/" });
  });

  it("turns quotas into CPUs and cpu.stat's throttling into ns", () => {
    expect(parseCpuMax("50000 100000\n")).toBe(0.5);
    expect(parseCpuMax("max 100000")).toBeUndefined();
    expect(parseCfsQuota("150000\n", "100000\n")).toBe(1.5);
    expect(parseCfsQuota("-1\n", "100000\n")).toBeUndefined();
    expect(parseCpuStat("nr_periods 108\nnr_throttled 105\nthrottled_time 5200000000\n", 1)).toEqual({ nr_periods: 108, nr_throttled: 105, throttled_ns: 5.2e9 });
    expect(parseCpuStat("usage_usec 1\nnr_periods 10\nnr_throttled 4\nthrottled_usec 2500\n", 2)).toEqual({ nr_periods: 10, nr_throttled: 4, throttled_ns: 2.5e6 });
  });
});

describe("memory cgroup limits", () => {
  it("reads both versions' limits, no limit as none", () => {
    expect(parseMemoryLimit("33554432\n", 1)).toBe(32 * 2 ** 20);
    expect(parseMemoryLimit("9223372036854771712\n", 1)).toBeUndefined();
    expect(parseMemoryLimit("max\n", 2)).toBeUndefined();
    expect(parseMemoryLimit("67108864\n", 2)).toBe(64 * 2 ** 20);
  });
});

describe("the root process from /proc", () => {
  it("splits CPU time by mode, reads huge pages and the THP mode", () => {
    const stat = "4242 (py (thon) 3) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 9 0 100 0 0";
    expect(parseStatTimes(stat)).toEqual({ utime_ns: 2.5e9, stime_ns: 0.75e9 });
    expect(parseAnonHuge("Rss: 100 kB\nAnonHugePages:      4096 kB\n")).toBe(4096 * 1024);
    expect(parseAnonHuge("Rss: 100 kB\n")).toBeUndefined();
    expect(parseThpEnabled("always [madvise] never\n")).toBe("madvise");
  });
});
