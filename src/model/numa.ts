// NUMA: from the kernel's allocation matrices and /sys facts to what a user
// reads. Pure.
import type { NumaSample } from "./sample.js";

export interface AllocationSplit {
  /** on the node of the CPU the thread ran on (numastat local_node) */
  local: number;
  /** elsewhere (numastat other_node) */
  remote: number;
  /** not on the node the thread's policy preferred: it spilled (numa_miss) */
  miss: number;
}

/**
 * placed[cpu node][page node] and wanted[preferred node][page node], both
 * row-major n×n: local is placed's diagonal, remote the rest of placed, miss
 * what is off wanted's diagonal.
 */
export function splitAllocations(placed: readonly number[], wanted: readonly number[], n: number): AllocationSplit {
  const out = { local: 0, remote: 0, miss: 0 };
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      const p = placed[row * n + col] ?? 0;
      if (row === col) out.local += p;
      else out.remote += p;
      if (row !== col) out.miss += wanted[row * n + col] ?? 0;
    }
  }
  return out;
}

export interface NodeMemory {
  node: number;
  cpus: number[];
  total_bytes: number;
  free_bytes: number;
  /** the target's resident memory on this node (live processes) */
  target_bytes: number;
}

export function nodeMemory(numa: NumaSample): NodeMemory[] {
  return numa.nodes.map((n) => ({
    node: n.node,
    cpus: n.cpus,
    total_bytes: n.total_bytes,
    free_bytes: n.free_bytes,
    target_bytes: numa.process_memory.reduce((sum, p) => sum + (p.bytes[n.node] ?? 0), 0),
  }));
}
