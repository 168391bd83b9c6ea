// The only door to the native addon. Finds the built .node file, installs
// the error class native code throws, and types what it exports.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";

/** Every libbpf failure: "failed to <op>: <reason>", with errno and code. */
export class BpfError extends Error {
  readonly op: string;
  readonly errno: number;
  readonly code: string;
  /** libbpf's warnings leading up to the failure (all of them with -v). */
  readonly log: string;
  constructor(message: string, details: { op: string; errno: number; code: string; log: string }) {
    super(message);
    this.name = "BpfError";
    this.op = details.op;
    this.errno = details.errno;
    this.code = details.code;
    this.log = details.log;
  }
}

export interface ProgramInfo {
  name: string;
  section: string;
  autoload: boolean;
}

export interface MapInfo {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  valueStride: number;
}

export interface MapDump {
  count: number;
  keys: Buffer;
  values: Buffer;
}

export interface NativeBpfObject {
  programs(): ProgramInfo[];
  setAutoload(name: string, on: boolean): void;
  load(): void;
  attach(name: string): void;
  attachPerfEvent(name: string, type: number, config: number, cpu: number): void;
  mapInfo(name: string): MapInfo;
  reuseMap(name: string, other: NativeBpfObject, otherName: string): void;
  mapUpdate(name: string, key: Uint8Array, value: Uint8Array, flags: number): void;
  mapLookup(name: string, key: Uint8Array): Buffer | null;
  mapDelete(name: string, key: Uint8Array): boolean;
  mapDump(name: string): MapDump;
  setMaxEntries(name: string, entries: number): void;
  queuePush(name: string, value: Uint8Array): void;
  queuePop(name: string): Buffer | null;
  mapUsedSlots(name: string, offset: number): Uint32Array;
  mapSnapshotSlots(name: string, slots: Uint32Array): Buffer;
  pollRing(name: string, onBatch: (batch: ArrayBuffer) => void, onError: (message: string, errno: number) => void): void;
  close(): void;
}

export interface StructLayout {
  size: number;
  /** field name → [offset, size] in bytes, from offsetof/sizeof on the probe header */
  fields: Record<string, [number, number]>;
}

export interface NativeAddon {
  BpfObject: new (path: string) => NativeBpfObject;
  setErrorClass(cls: typeof BpfError): void;
  setVerbose(on: boolean): void;
  tracepointHasBtf(name: string): boolean;
  ringbufSupported(): boolean;
  possibleCpus(): number;
  layouts: {
    sched: {
      thread: StructLayout;
      neighbour: StructLayout;
      procEvent: StructLayout;
      constants: Record<string, number>;
    };
    faults: { thread: StructLayout };
    io: { thread: StructLayout; device: StructLayout };
    numa: { thread: StructLayout & { nodes: number } };
  };
}


let cached: NativeAddon | undefined;

export function native(): NativeAddon {
  if (cached) return cached;
  // MLTRACE_NATIVE_ADDON: another build of the addon, such as `make asan`'s
  // (build/asan/), for running mltrace and its tests under a checker.
  const override = process.env.MLTRACE_NATIVE_ADDON;
  const candidates = override ? [override] : ["Release", "Debug"].map((kind) => join(packageRoot, "build", kind, "mltrace_native.node"));
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(`native addon not built (looked for ${candidates.join(", ")}): run \`npm run setup\``);
  }
  const require = createRequire(import.meta.url);
  const addon = require(found) as NativeAddon;
  addon.setErrorClass(BpfError);
  cached = addon;
  return addon;
}

/** Where compiled probe objects live (built by `npm run setup`). */
export function probeObjectPath(family: string): string {
  return join(packageRoot, "build", "bpf", `${family}.bpf.o`);
}
