// NUMA topology and placement as the kernel publishes it in /sys and /proc:
// which node each CPU is on, each node's memory, and a process's resident
// pages per node (numa_maps). Parsers are separate from reads, for tests.
import { readdirSync, readFileSync } from "node:fs";
import { parseCpuList } from "./cpu-list.js";

export interface NodeInfo {
  node: number;
  cpus: number[];
  total_bytes: number;
  free_bytes: number;
}

/** "Node 0 MemTotal:  24000000 kB" lines of /sys/devices/system/node/nodeN/meminfo. */
export function parseNodeMeminfo(text: string): { total_bytes: number; free_bytes: number } {
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) * 1024;
  return { total_bytes: field("MemTotal"), free_bytes: field("MemFree") };
}

/**
 * Resident bytes per node from /proc/PID/numa_maps: each mapping lists
 * "N<node>=<pages>" and its "kernelpagesize_kB".
 */
export function parseNumaMaps(text: string, nodes: number): number[] {
  const bytes = Array(nodes).fill(0);
  for (const line of text.split("\n")) {
    const pageKb = Number(/kernelpagesize_kB=(\d+)/.exec(line)?.[1] ?? 4);
    for (const [, node, pages] of line.matchAll(/\bN(\d+)=(\d+)/g)) {
      const n = Number(node);
      if (n < nodes) bytes[n] += Number(pages) * pageKb * 1024;
    }
  }
  return bytes;
}

const NODE_ROOT = "/sys/devices/system/node";

export function readTopology(): NodeInfo[] {
  let dirs: string[];
  try {
    dirs = readdirSync(NODE_ROOT).filter((d) => /^node\d+$/.test(d));
  } catch {
    return [];
  }
  return dirs
    .map((d) => {
      const node = Number(d.slice(4));
      const read = (file: string) => {
        try {
          return readFileSync(`${NODE_ROOT}/${d}/${file}`, "utf8");
        } catch {
          return "";
        }
      };
      return { node, cpus: parseCpuList(read("cpulist")), ...parseNodeMeminfo(read("meminfo")) };
    })
    .sort((a, b) => a.node - b.node);
}

/** A live process's resident bytes per node, or null once it is gone. */
export function readProcessNodeMemory(pid: number, nodes: number): number[] | null {
  try {
    return parseNumaMaps(readFileSync(`/proc/${pid}/numa_maps`, "utf8"), nodes);
  } catch {
    return null;
  }
}
