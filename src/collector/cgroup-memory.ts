// A process's memory cgroup limit, from either version: v2's memory.max,
// v1's memory.limit_in_bytes, the tightest up its cgroup path. The
// reclaim-stalls rule names it: a limit smaller than the data a job reads
// makes every read past it reclaim first.
import { join } from "node:path";
import type { MemoryLimitSample } from "../model/sample.js";
import { cgroupMounts, parseProcCgroup, upwards } from "./cgroup-cpu.js";
import { readOrNull as read } from "./read-file.js";

// v1 writes "no limit" as the largest page-aligned signed 64-bit value.
const V1_UNLIMITED = 2 ** 62;

/** "max" → undefined; bytes otherwise. */
export function parseMemoryLimit(text: string, version: 1 | 2): number | undefined {
  const t = text.trim();
  if (t === "max" || t === "") return undefined;
  const n = Number(t);
  if (!Number.isFinite(n) || n <= 0) return undefined;
  return version === 1 && n >= V1_UNLIMITED ? undefined : n;
}

export function readMemoryLimit(pid: number): MemoryLimitSample | undefined {
  const text = read(`/proc/${pid}/cgroup`);
  if (!text) return undefined;
  const paths = parseProcCgroup(text);
  const m = cgroupMounts();
  let best: MemoryLimitSample | undefined;
  const consider = (mount: string, path: string, file: string, version: 1 | 2) => {
    for (const dir of upwards(mount, path)) {
      const limit = parseMemoryLimit(read(join(dir, file)) ?? "max", version);
      if (limit !== undefined && (!best || limit < best.limit_bytes)) best = { version, path: dir.slice(mount.length) || "/", limit_bytes: limit };
    }
  };
  if (m.v2 && paths.v2 !== undefined) consider(m.v2, paths.v2, "memory.max", 2);
  if (!best && m.v1memory && paths.v1memory !== undefined) consider(m.v1memory, paths.v1memory, "memory.limit_in_bytes", 1);
  return best;
}
