// The feed's messages as types: one declaration for the agent (src/feed/,
// src/serve/) and the dashboard, which decodes the same .proto by reflection.
// Types only: the dashboard's bundle must not pull in node or protobufjs.
import type { Diagnosis } from "../model/diagnoses.js";
import type { TopSnapshot } from "../model/live.js";
import type { HostInfo, Report, TargetInfo } from "../model/report.js";

/** FeedStatus: what the agent has sent this client and dropped for it. */
export interface FeedStatus {
  frames_sent: number;
  frames_dropped: number;
  clients: number;
  /** the Ping this status answers, if any */
  pong?: number;
}

/** The Hello as the agent fills it in; schema_version, capabilities and the descriptor are added when encoded. */
export interface Hello {
  target: TargetInfo;
  host: HostInfo;
  interval_s: number;
  agent: string;
  status: FeedStatus;
}

/** What the Hello carries on the wire besides the agent's fields. */
export interface HelloPreamble {
  schema_version: number;
  capabilities: string[];
}

/** A snapshot as the feed carries it: numbered, and stamped when built. */
export interface FeedSnapshot extends TopSnapshot {
  seq: number;
  created_unix_ms: number;
}

export interface DiagnosisChange {
  raised: boolean;
  diagnosis: Diagnosis;
  seq: number;
}

export interface TargetExit {
  target: TargetInfo;
  final: Report;
}
