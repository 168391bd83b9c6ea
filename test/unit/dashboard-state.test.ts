// What the dashboard keeps per agent: frames dropped (seq gaps and the
// agent's own count), connection and exit states, the agents fragment.
import { describe, expect, it } from "vitest";
import { applyMessage, framesDropped, MAX_CHANGES, newAgent, statusOf } from "../../dashboard/agent-state.js";
import { formatAgents, normaliseAgentUrl, parseAgents } from "../../dashboard/fragment.js";
import type { FeedMessage, Snapshot } from "../../dashboard/types.js";

const snap = (seq: number, over: Partial<Snapshot> = {}): FeedMessage => ({
  body: "snapshot",
  snapshot: { target: null, interval_s: 1, uptime_s: seq, interval: null, final: null, history: [], cpu_used_s: 0, lost_events: 0, self_cpu: 0, seq, created_unix_ms: 0, ...over },
});
const hello = (dropped = 0): FeedMessage => ({
  body: "hello",
  hello: { schema_version: 1, capabilities: [], host: null, target: null, interval_s: 1, agent: "a", status: { frames_sent: 0, frames_dropped: dropped, clients: 1, pong: 0 } },
});
const status = (dropped: number, pong = 0): FeedMessage => ({ body: "status", status: { frames_sent: 10, frames_dropped: dropped, clients: 2, pong } });

describe("agent state", () => {
  it("counts seq gaps as dropped frames, but not the frames missed while reconnecting", () => {
    const a = newAgent("k", "ws://x/feed");
    for (const m of [hello(), snap(1), snap(2), snap(5), hello(), snap(9), snap(10)]) applyMessage(a, m, 0);
    expect(a.seqGaps).toBe(2);
    expect(a.snapshot?.seq).toBe(10);
  });

  it("adds up the agent's own dropped counts across connections", () => {
    const a = newAgent("k", "ws://x/feed");
    for (const m of [hello(), status(3), hello(1), status(4)]) applyMessage(a, m, 0);
    expect(framesDropped(a)).toEqual({ total: 7, seqGaps: 0, agent: 7 });
  });

  it("measures the ping round trip from the matching pong", () => {
    const a = newAgent("k", "ws://x/feed");
    const pings = new Map([[3, 1000]]);
    applyMessage(a, status(0, 3), 1012, pings);
    expect(a.rttMs).toBe(12);
    expect(pings.size).toBe(0);
  });

  it("says auth refused, target exited with its code, or how the connection is", () => {
    const a = newAgent("k", "ws://x/feed");
    expect(statusOf(a, 0).label).toBe("connecting");
    a.connection = { kind: "live" };
    expect(statusOf(a, 0)).toEqual({ label: "live", tone: "ok" });
    a.connection = { kind: "disconnected", reason: "refused or unreachable", retryAtMs: 3000 };
    expect(statusOf(a, 1000).label).toBe("disconnected: refused or unreachable, retry in 2 s");
    applyMessage(a, { body: "exit", exit: { target: { pid: 1, comm: "t", processes: 1, threads: 1, command: "t", exit_code: 3 }, final: null } }, 0);
    expect(statusOf(a, 0)).toEqual({ label: "target exited (code 3) · disconnected", tone: "bad" });
    a.connection = { kind: "auth-refused", reason: "wrong token" };
    expect(statusOf(a, 0).label).toBe("auth refused");
  });

  it("forgets an exit when the agent at that address says hello with a running target", () => {
    const a = newAgent("k", "ws://x/feed");
    applyMessage(a, { body: "exit", exit: { target: { pid: 1, comm: "t", command: "t", exit_code: 0 }, final: null } }, 0);
    expect(a.exited?.exit_code).toBe(0);
    applyMessage(a, hello(), 0);
    expect(a.exited).toBeNull();
  });

  it("keeps a bounded log of diagnosis changes", () => {
    const a = newAgent("k", "ws://x/feed");
    for (let i = 0; i < MAX_CHANGES + 5; i++) {
      applyMessage(a, { body: "diagnosis", diagnosis: { raised: i % 2 === 0, seq: i, diagnosis: { id: "input-bound", severity: "warning", summary: "", evidence: {}, suggestion: "", preempted_by: [] } } }, 0);
    }
    expect(a.changes.length).toBe(MAX_CHANGES);
    expect(a.changes.at(-1)!.seq).toBe(MAX_CHANGES + 4);
  });
});

describe("agents in the URL fragment", () => {
  it("reads ws URL | token pairs and writes them back the same", () => {
    const agents = parseAgents("#agents=ws://10.0.0.2:7070/feed|abc,node-c:7071|d%2Ce");
    expect(agents).toEqual([
      { url: "ws://10.0.0.2:7070/feed", token: "abc" },
      { url: "ws://node-c:7071/feed", token: "d,e" },
    ]);
    expect(parseAgents(formatAgents(agents))).toEqual(agents);
    expect(parseAgents("#other=1")).toEqual([]);
    expect(parseAgents("#agents=ftp://x|t,ws://a:1/feed|t,ws://a:1/feed|u")).toEqual([{ url: "ws://a:1/feed", token: "t" }]);
  });

  it("turns an http address or a bare host:port into the agent's feed URL", () => {
    expect(normaliseAgentUrl("http://h:7070/")).toBe("ws://h:7070/feed");
    expect(normaliseAgentUrl("https://h")).toBe("wss://h/feed");
    expect(normaliseAgentUrl("h:7070")).toBe("ws://h:7070/feed");
    expect(normaliseAgentUrl("  ")).toBeNull();
    expect(normaliseAgentUrl("file:///etc")).toBeNull();
  });
});
