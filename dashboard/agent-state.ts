// What the page knows about one agent, and how each feed message and
// connection event changes it. No DOM, no sockets: unit-tested as is.
import type { DiagnosisChange, FeedMessage, Hello, Snapshot, Target } from "./types";

export type Connection =
  | { kind: "connecting"; attempt: number }
  | { kind: "live" }
  | { kind: "disconnected"; reason: string; retryAtMs: number | null }
  | { kind: "auth-refused"; reason: string };

export interface ChangeEntry {
  seq: number;
  raised: boolean;
  id: string;
  severity: string;
  summary: string;
  atMs: number;
}

export interface AgentState {
  key: string;
  url: string;
  connection: Connection;
  hello: Hello | null;
  snapshot: Snapshot | null;
  /** set once a TargetExit arrived (also when the final snapshot says so) */
  exited: Target | null;
  /** last snapshot seq on this connection; 0 before the first */
  lastSeq: number;
  /** snapshots never received, counted from seq gaps */
  seqGaps: number;
  /** frames the agent reports not sending to us, earlier connections plus this one */
  droppedEarlier: number;
  droppedNow: number;
  clients: number;
  rttMs: number | null;
  messages: number;
  changes: ChangeEntry[];
  /** decode or protocol problem, shown until the next good frame */
  problem: string | null;
}

export const MAX_CHANGES = 30;

export function newAgent(key: string, url: string): AgentState {
  return {
    key,
    url,
    connection: { kind: "connecting", attempt: 1 },
    hello: null,
    snapshot: null,
    exited: null,
    lastSeq: 0,
    seqGaps: 0,
    droppedEarlier: 0,
    droppedNow: 0,
    clients: 0,
    rttMs: null,
    messages: 0,
    changes: [],
    problem: null,
  };
}

function onHello(a: AgentState, h: Hello): void {
  a.hello = h;
  // A new connection: seq numbers missed while away are not dropped frames.
  a.lastSeq = 0;
  a.droppedEarlier += a.droppedNow;
  a.droppedNow = h.status?.frames_dropped ?? 0;
  a.clients = h.status?.clients ?? 0;
  // a restarted agent on the same address may trace a new, running target
  a.exited = h.target && (h.target.exit_code !== undefined || h.target.exit_signal !== undefined) ? h.target : null;
}

function onSnapshot(a: AgentState, s: Snapshot): void {
  if (a.lastSeq > 0 && s.seq > a.lastSeq + 1) a.seqGaps += s.seq - a.lastSeq - 1;
  // seq going back: the agent restarted its session; count afresh
  a.lastSeq = s.seq;
  a.snapshot = s;
  if (s.final) a.exited = s.final.target;
}

function onChange(a: AgentState, c: DiagnosisChange, nowMs: number): void {
  const d = c.diagnosis;
  a.changes.push({ seq: c.seq, raised: c.raised, id: d?.id ?? "?", severity: d?.severity ?? "info", summary: d?.summary ?? "", atMs: nowMs });
  if (a.changes.length > MAX_CHANGES) a.changes.splice(0, a.changes.length - MAX_CHANGES);
}

/** Applies one decoded message; `pings` maps nonces in flight to when they were sent. */
export function applyMessage(a: AgentState, m: FeedMessage, nowMs: number, pings?: Map<number, number>): void {
  a.messages++;
  a.problem = null;
  switch (m.body) {
    case "hello":
      onHello(a, m.hello);
      break;
    case "snapshot":
      onSnapshot(a, m.snapshot);
      break;
    case "diagnosis":
      onChange(a, m.diagnosis, nowMs);
      break;
    case "exit":
      a.exited = m.exit.target;
      break;
    case "status": {
      a.droppedNow = m.status.frames_dropped;
      a.clients = m.status.clients;
      // 0 (the default reflection fills in) answers no Ping.
      const pong = m.status.pong ?? 0;
      const sent = pong ? pings?.get(pong) : undefined;
      if (sent !== undefined) {
        a.rttMs = nowMs - sent;
        pings!.delete(pong);
      }
      break;
    }
  }
}

/** Every frame this page did not get: seq gaps plus what the agent says it held back. */
export function framesDropped(a: AgentState): { total: number; seqGaps: number; agent: number } {
  const agent = a.droppedEarlier + a.droppedNow;
  // The agent's own count and the gaps describe the same frames when both see
  // them; the larger is the honest lower bound of what was missed.
  return { total: Math.max(a.seqGaps, agent), seqGaps: a.seqGaps, agent };
}

export type Tone = "ok" | "wait" | "bad" | "done";

export function exitText(t: Pick<Target, "exit_code" | "exit_signal">): string {
  return t.exit_signal !== undefined ? `target exited (signal ${t.exit_signal})` : `target exited (code ${t.exit_code ?? "?"})`;
}

/** The one-line state of an agent for its badge. */
export function statusOf(a: AgentState, nowMs: number): { label: string; tone: Tone } {
  const c = a.connection;
  if (c.kind === "auth-refused") return { label: "auth refused", tone: "bad" };
  if (a.exited) {
    const failed = a.exited.exit_signal !== undefined || (a.exited.exit_code ?? 0) !== 0;
    const suffix = c.kind === "live" ? "" : " · disconnected";
    return { label: exitText(a.exited) + suffix, tone: failed ? "bad" : "done" };
  }
  switch (c.kind) {
    case "live":
      return { label: "live", tone: "ok" };
    case "connecting":
      return { label: c.attempt > 1 ? `connecting (try ${c.attempt})` : "connecting", tone: "wait" };
    case "disconnected": {
      const retry = c.retryAtMs !== null ? `, retry in ${Math.max(0, Math.ceil((c.retryAtMs - nowMs) / 1000))} s` : "";
      return { label: `disconnected: ${c.reason}${retry}`, tone: "bad" };
    }
  }
}
