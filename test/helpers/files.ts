// Data files the I/O and fault tests read: random (so nothing compresses or
// dedupes them) and on disk (fsync'ed, so dropping the page cache empties it).
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";

export function writeRandomFile(path: string, mebibytes: number): void {
  const fd = openSync(path, "w");
  try {
    for (let i = 0; i < mebibytes; i++) writeSync(fd, randomBytes(1 << 20));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
