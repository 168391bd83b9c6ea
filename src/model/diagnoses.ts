// Rules over one report: each fires with the numbers that made it fire, the
// things it is about, and what to try. Pure, so a replayed recording
// diagnoses exactly as live did. Thresholds are documented in README.md
// ("Diagnoses"); keep them in sync. One rule a file, in rules/.
import type { Diagnosis, DiagnosisInput, Rule, Severity } from "./diagnosis-types.js";
import { cpuContention } from "./rules/cpu-contention.js";
import { cpuMigrations } from "./rules/cpu-migrations.js";
import { cpuThrottled } from "./rules/cpu-throttled.js";
import { faultChurn } from "./rules/fault-churn.js";
import { faultStorm } from "./rules/fault-storm.js";
import { inputBound } from "./rules/input-bound.js";
import { ioBound } from "./rules/io-bound.js";
import { numaRemote } from "./rules/numa-remote.js";
import { oversubscription } from "./rules/oversubscription.js";
import { reclaimStalls } from "./rules/reclaim-stalls.js";

export type { Diagnosis, DiagnosisId, DiagnosisInput, DiagnosisSubject, Severity } from "./diagnosis-types.js";
export { CPU_CONTENTION } from "./rules/cpu-contention.js";
export { CPU_MIGRATIONS } from "./rules/cpu-migrations.js";
export { CPU_THROTTLED } from "./rules/cpu-throttled.js";
export { FAULT_CHURN } from "./rules/fault-churn.js";
export { FAULT_STORM } from "./rules/fault-storm.js";
export { INPUT_BOUND } from "./rules/input-bound.js";
export { IO_BOUND } from "./rules/io-bound.js";
export { NUMA_REMOTE } from "./rules/numa-remote.js";
export { OVERSUBSCRIPTION } from "./rules/oversubscription.js";
export { RECLAIM_STALLS } from "./rules/reclaim-stalls.js";

// Intervals shorter than this say too little to judge.
const MIN_WALL_S = 0.1;

const RULES: Rule[] = [inputBound, ioBound, faultStorm, cpuContention, oversubscription, cpuThrottled, faultChurn, reclaimStalls, numaRemote, cpuMigrations];
const ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

export function diagnose(r: DiagnosisInput): Diagnosis[] {
  if (r.duration_s < MIN_WALL_S) return [];
  const wallNs = r.duration_s * 1e9;
  return RULES.map((rule) => rule(r, wallNs))
    .filter((d): d is Diagnosis => d !== null)
    .sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}
