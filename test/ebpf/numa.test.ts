// The NUMA family on this single-node machine: loaded on purpose
// (MLTRACE_NUMA=on), its programs pass the verifier and attach in both modes,
// and every page the target allocates is attributed to node 0, local, never a
// miss, within the kernel's own node-0 count. The two-node check (remote and
// miss for real) needs the VM harness of issue 5.
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltraceSync, root } from "../helpers/mltrace.js";

function node0LocalAllocations(): number {
  const text = readFileSync("/sys/devices/system/node/node0/numastat", "utf8");
  return Number(/^local_node (\d+)$/m.exec(text)?.[1]);
}

for (const mode of ["tp_btf", "raw_tp"] as const) {
  describeEbpf(`NUMA family on one node (${mode})`, () => {
    it("attributes every allocation to the local node", () => {
      const dir = mkdtempSync(join(root, "build", "numa-test-"));
      try {
        const output = join(dir, "report.json");
        const before = node0LocalAllocations();
        const run = mltraceSync(["stat", "--json", "-o", output, "--", join(root, "build", "workloads", "faults"), "--pages", "20000"], {
          MLTRACE_ATTACH: mode,
          MLTRACE_NUMA: "on",
        });
        const after = node0LocalAllocations();
        expect(run.status, run.stderr).toBe(0);
        const report = JSON.parse(readFileSync(output, "utf8"));
        expect(report.host.attach_modes.mm_page_alloc).toBe(mode);
        const numa = report.numa;
        console.log(`numa (${mode}): ${JSON.stringify({ ...numa, memory_per_node: undefined })}, node0 local_node delta ${after - before}`);
        expect(numa.available).toBe(true);
        // Each of the 20000 fresh pages needed a page allocation.
        expect(numa.local_allocs).toBeGreaterThanOrEqual(20000);
        // ...and the kernel counted at least as many on node 0, system-wide.
        expect(numa.local_allocs).toBeLessThanOrEqual(after - before);
        expect(numa.remote_allocs).toBe(0);
        expect(numa.miss_allocs).toBe(0);
        expect(numa.cross_node_migrations).toBe(0);
        expect(numa.memory_per_node.map((m: { node: number }) => m.node)).toEqual([0]);
        expect(numa.memory_per_node[0].total_bytes).toBeGreaterThan(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
