// Facts about this machine that reports carry, so a number is read in context.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { hostname, release } from "node:os";
import type { HostInfo } from "../model/report.js";
import { parseCpuList } from "./cpu-list.js";

export function numaNodes(): number {
  try {
    return Math.max(1, readdirSync("/sys/devices/system/node").filter((d) => /^node\d+$/.test(d)).length);
  } catch {
    return 1;
  }
}

/** CPUs online, from the kernel's own list ("0-3,8-11"). */
export function onlineCpuList(): number[] {
  let list: string;
  try {
    list = readFileSync("/sys/devices/system/cpu/online", "utf8").trim();
  } catch {
    return [0];
  }
  return parseCpuList(list);
}

export function onlineCpus(): number {
  return onlineCpuList().length;
}

/** A hardware PMU registers itself with perf as an event source with cpu-cycles. */
export function hardwarePmu(): boolean {
  const root = "/sys/bus/event_source/devices";
  try {
    return readdirSync(root).some((d) => existsSync(`${root}/${d}/events/cpu-cycles`));
  } catch {
    return false;
  }
}

export function hostInfo(attachModes: Record<string, string>): HostInfo {
  return {
    hostname: hostname(),
    kernel: release(),
    cpus: onlineCpus(),
    numa_nodes: numaNodes(),
    hardware_pmu: hardwarePmu(),
    attach_modes: attachModes,
  };
}
