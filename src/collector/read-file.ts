// Reading a small kernel file (/proc, /sys, cgroupfs) that may vanish at any
// moment: a process exits, a cgroup is removed. Gone reads as null.
import { readFileSync } from "node:fs";

export function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}
