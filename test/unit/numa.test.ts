// NUMA attribution on inputs built by hand: this machine has one node, so
// the real two-node check waits for the VM harness (issue 5).
import { describe, expect, it } from "vitest";
import { nodeMemory, splitAllocations } from "../../src/model/numa.js";
import { parseCpuList } from "../../src/collector/cpu-list.js";
import { parseNodeMeminfo, parseNumaMaps } from "../../src/collector/numa-topology.js";
import { buildReport, type ReportContext } from "../../src/model/report.js";
import { reportToJson } from "../../src/schema/schema.js";
import { blankThread, type Sample, type ThreadSample } from "../../src/model/sample.js";

describe("allocation split", () => {
  it("reads local off the diagonal of placed, remote off it, miss off wanted's diagonal", () => {
    // 2 nodes, row-major. Ran on node 0: 70 pages from node 0, 30 from 1.
    // Ran on node 1: 5 from node 1.
    const placed = [70, 30, 0, 5];
    // Policy bound to node 1 for 20 of the node-1 pages (a hit, though
    // remote); 10 others wanted node 0 but got node 1 (a miss).
    const wanted = [70, 10, 0, 25];
    expect(splitAllocations(placed, wanted, 2)).toEqual({ local: 75, remote: 30, miss: 10 });
  });

  it("counts nothing where nothing was allocated", () => {
    expect(splitAllocations([], [], 8)).toEqual({ local: 0, remote: 0, miss: 0 });
  });

  it("keeps a memory-bound thread's remote pages out of the misses (numastat's other_node, not numa_miss)", () => {
    // 8-node matrices: ran on node 0, memory bound to node 1, all granted.
    const n = 8;
    const placed = Array(n * n).fill(0);
    const wanted = Array(n * n).fill(0);
    placed[0 * n + 1] = 256;
    wanted[1 * n + 1] = 256;
    expect(splitAllocations(placed, wanted, n)).toEqual({ local: 0, remote: 256, miss: 0 });
  });
});

describe("topology parsing", () => {
  it("expands the kernel's cpulist format", () => {
    expect(parseCpuList("0-3,8-9,12\n")).toEqual([0, 1, 2, 3, 8, 9, 12]);
    expect(parseCpuList("")).toEqual([]);
  });

  it("reads a node's meminfo", () => {
    const text = "Node 1 MemTotal:       16384000 kB\nNode 1 MemFree:        8192000 kB\nNode 1 MemUsed:        8192000 kB\n";
    expect(parseNodeMeminfo(text)).toEqual({ total_bytes: 16384000 * 1024, free_bytes: 8192000 * 1024 });
  });

  it("sums numa_maps pages per node at each mapping's page size", () => {
    const text = [
      "7f0000000000 default anon=300 dirty=300 N0=100 N1=200 kernelpagesize_kB=4",
      "7f1000000000 bind:1 file=/data/set.bin mapped=10 N1=10 kernelpagesize_kB=4",
      "7f2000000000 default anon=2 N0=2 kernelpagesize_kB=2048",
    ].join("\n");
    expect(parseNumaMaps(text, 2)).toEqual([100 * 4096 + 2 * 2 * 1024 * 1024, 210 * 4096]);
  });

  it("adds the target's processes' memory per node", () => {
    const memory = nodeMemory({
      nodes: [
        { node: 0, cpus: [0], total_bytes: 100, free_bytes: 50 },
        { node: 1, cpus: [1], total_bytes: 100, free_bytes: 10 },
      ],
      matrix_nodes: 8,
      process_memory: [
        { pid: 1, bytes: [5, 7] },
        { pid: 2, bytes: [1, 0] },
      ],
    });
    expect(memory.map((m) => [m.node, m.target_bytes])).toEqual([
      [0, 6],
      [1, 7],
    ]);
  });
});

describe("the NUMA section of a report", () => {
  const ctx: ReportContext = {
    kind: "final",
    target: { pid: 1, comm: "t", command: "t" },
    host: { hostname: "h", kernel: "k", cpus: 2, numa_nodes: 2, hardware_pmu: false, attach_modes: {} },
    started_ns: 0,
  };
  const zeros = Array(32).fill(0);
  const thread = (placed: number[], wanted: number[]): ThreadSample => ({
    ...blankThread(),
    tid: 1, pid: 1, comm: "t", start_ns: 0, exited: false,
    cross_node_migrations: 4,
    runq_hist: zeros, offcpu_hist: zeros, major_latency_hist: zeros, queue_hist: zeros, device_hist: zeros,
    numa_placed: placed, numa_wanted: wanted,
  });
  const base: Omit<Sample, "numa_nodes" | "threads"> = {
    time_ns: 1e9, processes: [{ pid: 1, ppid: 0, comm: "t", exited: false }], neighbours: [],
    drops: { events_dropped: 0, threads_dropped: 0, targets_dropped: 0, neighbours_dropped: 0 }, devices: [], families: ["sched"],
  };

  it("says a single node is a single node, with no counters that look measured", () => {
    const r = buildReport(null, { ...base, numa_nodes: 1, threads: [thread([], [])] }, ctx);
    const json = reportToJson(r) as { numa: Record<string, unknown> };
    expect(json.numa).toMatchObject({ nodes: 1, available: false, local_allocs: null, remote_allocs: null, miss_allocs: null, cross_node_migrations: null });
  });

  it("derives local, remote and miss on two nodes", () => {
    const n = 2;
    const sample: Sample = {
      ...base,
      numa_nodes: 2,
      threads: [thread([9, 1, 0, 0], [9, 0, 0, 1])],
      numa: { nodes: [], matrix_nodes: n, process_memory: [{ pid: 1, bytes: [4096, 8192] }] },
      families: ["sched", "numa"],
    };
    const r = buildReport(null, sample, ctx);
    expect(r.numa).toMatchObject({ nodes: 2, available: true, local_allocs: 9, remote_allocs: 1, miss_allocs: 0, cross_node_migrations: 4 });
    expect(r.processes[0]!.memory_per_node).toEqual([4096, 8192]);
    const json = reportToJson(r) as { numa: Record<string, unknown> };
    expect(json.numa.hint_faults).toBeNull();
  });
});
