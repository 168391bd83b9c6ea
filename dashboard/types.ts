// The feed's messages as the dashboard sees them once decoded by reflection
// (schema/mltrace.proto, "The live feed"): field names as in the .proto,
// 64-bit integers as numbers, absent messages as null, proto3 `optional`
// fields absent when unset. The report and snapshot are the model's own
// types (src/model/, pure), which the agent encodes field for field.
import type { Diagnosis } from "../src/model/diagnoses.js";
import type { TopSnapshot } from "../src/model/live.js";
import type { HostInfo, TargetInfo } from "../src/model/report.js";
import type {
  DiagnosisChange as AgentDiagnosisChange,
  FeedStatus,
  Hello as AgentHello,
  HelloPreamble,
  TargetExit as AgentTargetExit,
} from "../src/feed/messages.js";

export type { Bucket } from "../src/model/histogram.js";
export type { RoleHistory } from "../src/model/live.js";
export type { ProcessStats, Report, RoleStats, ThreadStats } from "../src/model/report.js";

export type { Diagnosis };
export type Host = HostInfo;
export type Target = TargetInfo & { processes?: number; threads?: number };

/** A snapshot as the feed numbers and stamps it. */
export type Snapshot = TopSnapshot & { seq: number; created_unix_ms: number };

export type { FeedStatus };

/**
 * A message as reflection decodes it: a nested message the agent left out
 * reads null (the feed's types say what the agent fills in).
 */
type Decoded<T> = { [K in keyof T]: T[K] extends unknown[] ? T[K] : T[K] extends object ? T[K] | null : T[K] };

export type Hello = Decoded<Omit<AgentHello, "target"> & HelloPreamble & { target: Target }>;
export type DiagnosisChange = Decoded<AgentDiagnosisChange>;
export type TargetExit = Decoded<Omit<AgentTargetExit, "target"> & { target: Target }>;

/** One decoded FeedMessage: `body` names the member of the oneof that is set. */
export type FeedMessage =
  | { body: "hello"; hello: Hello }
  | { body: "snapshot"; snapshot: Snapshot }
  | { body: "diagnosis"; diagnosis: DiagnosisChange }
  | { body: "exit"; exit: TargetExit }
  | { body: "status"; status: FeedStatus };
