// Which file a (device, inode) is, as a process maps it: /proc/PID/maps
// lists each file mapping's device, inode and path. The faults family keys
// its per-file counts by inode (cheap in the kernel); this turns them into
// paths a user recognises, once per file and process.
import { readFileSync } from "node:fs";

/** The kernel's dev_t (major << 20 | minor) as maps writes it: "fe:01" (hex). */
export function mapsDevice(dev: number): string {
  const major = Math.floor(dev / 2 ** 20);
  const minor = dev % 2 ** 20;
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

/** "device inode" → path, for every file mapping in a maps text. */
export function parseMapsFiles(text: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const line of text.split("\n")) {
    // address perms offset dev inode path (the path may hold spaces)
    const m = /^\S+\s+\S+\s+\S+\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s+(\/.*)$/.exec(line);
    if (!m || m[2] === "0") continue;
    files.set(`${m[1]} ${m[2]}`, m[3]!.replace(/ \(deleted\)$/, ""));
  }
  return files;
}

/**
 * Paths by (device, inode): one inode is one file whichever process maps
 * it, so a path found in any target process's maps names it for all, also
 * for a worker that exited before a sample read its own maps.
 */
export class MappedFiles {
  private readonly known = new Map<string, string>();

  /** The path of (dev, ino), looked for in the maps of `pids` (in order) when not known yet. */
  path(dev: number, ino: number, pids: Iterable<number>): string | undefined {
    const key = `${mapsDevice(dev)} ${ino}`;
    const cached = this.known.get(key);
    if (cached !== undefined) return cached;
    for (const pid of pids) {
      let text: string;
      try {
        text = readFileSync(`/proc/${pid}/maps`, "utf8");
      } catch {
        continue;
      }
      // Everything this process maps is learnt at once: its other files come next.
      for (const [k, path] of parseMapsFiles(text)) if (!this.known.has(k)) this.known.set(k, path);
      const found = this.known.get(key);
      if (found !== undefined) return found;
    }
    return undefined;
  }
}
