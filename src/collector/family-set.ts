// The families of one session, loaded together: every family is linked into
// one object (build/bpf/families.bpf.o, see the Makefile), which libbpf loads
// with one parse of vmlinux BTF, one round of feature probes and one set of
// shared maps, on a native thread while the session starts its command.
// Should that fail, each family is loaded from its own object (family.ts).
import { native, probeObjectPath, type NativeBpfObject } from "../native/addon.js";
import { startup } from "../phases.js";
import { choosePrograms, choosers, loadFamily, type AttachMode, type Choice, type LoadedFamily } from "./family.js";

/** The object every family is linked into (Makefile). */
const COMBINED = "families";

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
