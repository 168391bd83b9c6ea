// Opening, loading and attaching one probe family from its own object,
// choosing for each tracepoint between its tp_btf program and the raw_tp
// twin. (A session loads its families together: family-set.ts.)
import { existsSync } from "node:fs";
import { BpfError, native, probeObjectPath, type NativeBpfObject, type ProgramInfo } from "../native/addon.js";

export type AttachMode = "tp_btf" | "raw_tp";

export interface LoadedFamily {
  name: string;
  object: NativeBpfObject;
  /** tracepoint → the mode its program was attached with */
  modes: Record<string, AttachMode>;
  /** tracepoints this kernel does not have (their programs were left out) */
  missing: string[];
  /** Detaches the family; its object is closed with the last family in it. */
  close(): void;
}

export interface LoadOptions {
  /** Force one mode for every tracepoint (MLTRACE_ATTACH, tests, doctor). */
  mode?: AttachMode;
  /** Before load: maps to take from families already loaded (name → source). */
  reuse?: { map: string; from: NativeBpfObject }[];
  /** Before load: anything else to set on the opened object (map sizes). */
  beforeLoad?: (object: NativeBpfObject) => void;
}

export interface Twin {
  tracepoint: string;
  btf?: string;
  raw?: string;
}

/**
 * Stand-ins: a tracepoint loaded only on kernels that lack the one it
 * replaces (block_io_start arrived in 6.5; before it the io family charges
 * requests through block_getrq). Presence is read from the kernel's BTF.
 */
const STAND_INS: Record<string, string> = { block_getrq: "block_io_start" };

/** Whether this kernel gets the tracepoint's programs: a stand-in only
 * where what it replaces is missing, the replaced one only where present. */
function wanted(tracepoint: string): boolean {
  const replaced = STAND_INS[tracepoint];
  if (replaced) return !native().tracepointHasBtf(replaced);
  const standIn = Object.keys(STAND_INS).find((k) => STAND_INS[k] === tracepoint);
  return !standIn || native().tracepointHasBtf(tracepoint);
}

/** The tp_btf/raw_tp pairs among `programs` (by default the object's). */
function twins(object: NativeBpfObject, programs: ProgramInfo[] = object.programs()): Twin[] {
  const byTracepoint = new Map<string, Twin>();
  for (const program of programs) {
    const [kind, tracepoint] = program.section.split("/");
    if (!tracepoint || (kind !== "tp_btf" && kind !== "raw_tp")) continue;
    const twin = byTracepoint.get(tracepoint) ?? { tracepoint };
    if (kind === "tp_btf") twin.btf = program.name;
    else twin.raw = program.name;
    byTracepoint.set(tracepoint, twin);
  }
  return [...byTracepoint.values()];
}

/** The mode asked for by the environment, if any (checked, not trusted). */
export function modeFromEnv(): AttachMode | undefined {
  const value = process.env.MLTRACE_ATTACH;
  if (value === undefined || value === "") return undefined;
  if (value === "tp_btf" || value === "raw_tp") return value;
  throw new Error(`MLTRACE_ATTACH must be tp_btf or raw_tp, not ${JSON.stringify(value)}`);
}

export type Chooser = (twin: Twin) => AttachMode | "missing";

export interface Choice {
  modes: Record<string, AttachMode>;
  missing: string[];
  /** the programs to attach once loaded */
  chosen: string[];
}

/** Turns on, among `programs` of `object`, one twin per tracepoint this kernel has. */
export function choosePrograms(family: string, object: NativeBpfObject, programs: ProgramInfo[], choose: Chooser): Choice {
  const modes: Record<string, AttachMode> = {};
  const missing: string[] = [];
  const chosen: string[] = [];
  for (const twin of twins(object, programs)) {
    if (!wanted(twin.tracepoint)) {
      if (twin.btf) object.setAutoload(twin.btf, false);
      if (twin.raw) object.setAutoload(twin.raw, false);
      continue;
    }
    const mode = choose(twin);
    const program = mode === "tp_btf" ? twin.btf : mode === "raw_tp" ? twin.raw : undefined;
    if (mode !== "missing" && !program) throw new Error(`probe ${family} has no ${mode} program for ${twin.tracepoint}`);
    if (twin.btf) object.setAutoload(twin.btf, mode === "tp_btf");
    if (twin.raw) object.setAutoload(twin.raw, mode === "raw_tp");
    if (mode === "missing") {
      missing.push(twin.tracepoint);
      continue;
    }
    modes[twin.tracepoint] = mode;
    chosen.push(program!);
  }
  return { modes, missing, chosen };
}

function tryLoad(family: string, choose: Chooser, options: LoadOptions): LoadedFamily {
  const object = new (native().BpfObject)(probeObjectPath(family));
  try {
    const { modes, missing, chosen } = choosePrograms(family, object, object.programs(), choose);
    for (const { map, from } of options.reuse ?? []) object.reuseMap(map, from, map);
    options.beforeLoad?.(object);
    object.load();
    for (const program of chosen) object.attach(program);
    return { name: family, object, modes, missing, close: () => object.close() };
  } catch (err) {
    object.close();
    throw err;
  }
}

/**
 * tp_btf where the kernel's BTF describes the tracepoint (typed arguments,
 * no helper calls), raw_tp otherwise; if the kernel still refuses tp_btf at
 * load or attach, everything falls back to raw_tp once. A tracepoint that
 * vmlinux BTF does not describe at all does not exist in this kernel (BTF
 * has a btf_trace_<name> type for every one): its programs are left out and
 * the family works without it (e.g. block_io_start before Linux 6.5).
 */
export function loadFamily(family: string, options: LoadOptions = {}): LoadedFamily {
  const { forced, preferred, fallback } = choosers(options.mode);
  if (forced) return tryLoad(family, forced, options);
  try {
    return tryLoad(family, preferred, options);
  } catch (err) {
    if (!refusedMode(err)) throw err;
    return tryLoad(family, fallback, options);
  }
}

/** Whether a failure may be the kernel refusing tp_btf (then raw_tp is worth a try). */
function refusedMode(err: unknown): boolean {
  return err instanceof BpfError && (err.code === "EPERM" || err.code === "EINVAL" || err.code === "EOPNOTSUPP" || err.code === "E?");
}

/** How each tracepoint's program is chosen: forced, preferred (tp_btf where BTF describes it), or the raw_tp fallback. */
export function choosers(mode?: AttachMode): { forced?: Chooser; preferred: Chooser; fallback: Chooser } {
  const addon = native();
  const forcedMode = mode ?? modeFromEnv();
  const exists = new Map<string, boolean>();
  const has = (tracepoint: string) => {
    if (!exists.has(tracepoint)) exists.set(tracepoint, addon.tracepointHasBtf(tracepoint));
    return exists.get(tracepoint)!;
  };
  const btfPresent = existsSync("/sys/kernel/btf/vmlinux");
  const absent = (twin: Twin) => btfPresent && !has(twin.tracepoint);
  return {
    forced: forcedMode ? (twin) => (absent(twin) ? "missing" : forcedMode) : undefined,
    preferred: (twin) => (absent(twin) ? "missing" : twin.btf && has(twin.tracepoint) ? "tp_btf" : "raw_tp"),
    fallback: (twin) => (absent(twin) ? "missing" : "raw_tp"),
  };
}
