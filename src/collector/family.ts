// Opening, loading and attaching one probe family, choosing for each
// tracepoint between its tp_btf program and the raw_tp twin.
import { existsSync } from "node:fs";
import { BpfError, native, probeObjectPath, type NativeBpfObject, type ProgramInfo } from "../native/addon.js";
import { startup } from "../phases.js";

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

/** The object every family is linked into (Makefile). */
const COMBINED = "families";

export interface LoadOptions {
  /** Force one mode for every tracepoint (MLTRACE_ATTACH, tests, doctor). */
  mode?: AttachMode;
  /** Before load: maps to take from families already loaded (name → source). */
  reuse?: { map: string; from: NativeBpfObject }[];
  /** Before load: anything else to set on the opened object (map sizes). */
  beforeLoad?: (object: NativeBpfObject) => void;
}

interface Twin {
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

type Chooser = (twin: Twin) => AttachMode | "missing";

interface Choice {
  modes: Record<string, AttachMode>;
  missing: string[];
  /** the programs to attach once loaded */
  chosen: string[];
}

/** Turns on, among `programs` of `object`, one twin per tracepoint this kernel has. */
function choosePrograms(family: string, object: NativeBpfObject, programs: ProgramInfo[], choose: Chooser): Choice {
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
function choosers(mode?: AttachMode): { forced?: Chooser; preferred: Chooser; fallback: Chooser } {
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

/** A family a session asks for, in the order they load (the first one is required, its maps shared). */
export interface FamilyRequest {
  name: string;
  /** Tracing goes on without it where the kernel refuses it. */
  optional: boolean;
  /** Before load: anything to set on the opened object (map sizes). */
  beforeLoad?: (object: NativeBpfObject) => void;
  /** Maps to take from the first family when this one is loaded from its own object. */
  reuse?: string[];
}

export interface FamilySet {
  families: Map<string, LoadedFamily>;
  /** optional families the kernel refused, with why */
  failures: { name: string; error: Error }[];
  /** null: every family loaded in one object; else why each was loaded from its own */
  separately: string | null;
}

/** Families being loaded: `finish()` waits for them. */
export interface FamiliesLoading {
  finish(): FamilySet;
}

/**
 * Starts loading the requested families together: one object
 * (build/bpf/families.bpf.o, every family linked into one), so libbpf parses
 * vmlinux BTF, probes the kernel's features and creates the shared maps
 * once instead of once per family, on a native thread while the caller goes
 * on (`finish()` attaches). Should anything in it fail (a program the
 * verifier refuses, a mode the kernel will not attach), each family is
 * loaded from its own object as before, so one family's trouble costs only
 * that family.
 */
export function startFamilies(requests: FamilyRequest[], mode?: AttachMode): FamiliesLoading {
  let combined: CombinedLoad | undefined;
  let why = "MLTRACE_LOAD=separate";
  if (loadFromEnv() === "combined") {
    try {
      combined = startCombined(requests, mode);
    } catch (err) {
      why = (err as Error).message;
    }
  }
  return {
    finish() {
      if (combined) {
        try {
          return { families: combined.finish(), failures: [], separately: null };
        } catch (err) {
          why = (err as Error).message;
        }
      }
      return { ...loadSeparately(requests, mode), separately: why };
    },
  };
}

/** MLTRACE_LOAD=separate: each family from its own object, as when the combined one fails (checked, not trusted). */
function loadFromEnv(): "combined" | "separate" {
  const value = process.env.MLTRACE_LOAD;
  if (value === undefined || value === "" || value === "combined") return "combined";
  if (value === "separate") return value;
  throw new Error(`MLTRACE_LOAD must be combined or separate, not ${JSON.stringify(value)}`);
}

interface CombinedLoad {
  finish(): Map<string, LoadedFamily>;
}

function startCombined(requests: FamilyRequest[], mode?: AttachMode): CombinedLoad {
  const Object_ = native().BpfObject;
  startup.lap("addon");
  const { forced, preferred } = choosers(mode);
  // Each family's own object says which programs and maps are its own
  // (opening parses the ELF file only: nothing enters the kernel).
  const members = requests.map((request) => {
    const own = new Object_(probeObjectPath(request.name));
    try {
      return { request, programs: own.programs().map((p) => p.name), maps: own.maps() };
    } finally {
      own.close();
    }
  });
  const object = new Object_(probeObjectPath(COMBINED));
  let choices: Choice[];
  try {
    const programs = object.programs();
    const wantedPrograms = new Set(members.flatMap((m) => m.programs));
    for (const program of programs) if (!wantedPrograms.has(program.name)) object.setAutoload(program.name, false);
    // Maps of the families not asked for are not created; libbpf's own
    // (.bss, .rodata: one each for all families) always are.
    const wantedMaps = new Set(members.flatMap((m) => m.maps));
    for (const map of object.maps()) if (!map.includes(".") && !wantedMaps.has(map)) object.setAutocreate(map, false);
    startup.lap("open");
    // The first question to vmlinux BTF waits for its parse (native/system.cc).
    choices = members.map((m) => {
      const own = new Set(m.programs);
      return choosePrograms(m.request.name, object, programs.filter((p) => own.has(p.name)), forced ?? preferred);
    });
    startup.lap("btf");
    for (const m of members) m.request.beforeLoad?.(object);
    object.startLoad();
  } catch (err) {
    object.close();
    throw err;
  }
  return {
    finish() {
      try {
        object.finishLoad();
        startup.lap(`load ${choices.reduce((n, c) => n + c.chosen.length, 0)} programs`);
        for (const choice of choices) for (const program of choice.chosen) object.attach(program);
        startup.lap("attach");
      } catch (err) {
        object.close();
        throw err;
      }
      let open = members.length;
      return new Map(
        members.map((m, i) => {
          const { modes, missing, chosen } = choices[i]!;
          let closed = false;
          const close = () => {
            if (closed) return;
            closed = true;
            for (const program of chosen) object.detach(program);
            if (--open === 0) object.close();
          };
          return [m.request.name, { name: m.request.name, object, modes, missing, close }];
        }),
      );
    },
  };
}

/** One object per family, in order; the first one's failure is the session's. */
function loadSeparately(requests: FamilyRequest[], mode?: AttachMode): Omit<FamilySet, "separately"> {
  const families = new Map<string, LoadedFamily>();
  const failures: { name: string; error: Error }[] = [];
  let first: LoadedFamily | undefined;
  try {
    for (const request of requests) {
      const reuse = first ? (request.reuse ?? []).map((map) => ({ map, from: first!.object })) : [];
      try {
        const family = loadFamily(request.name, { mode, reuse, beforeLoad: request.beforeLoad });
        first ??= family;
        families.set(request.name, family);
      } catch (err) {
        if (!request.optional) throw err;
        failures.push({ name: request.name, error: err as Error });
      }
    }
  } catch (err) {
    for (const family of families.values()) family.close();
    throw err;
  }
  return { families, failures };
}
