// `mltrace serve -- CMD` as a user runs it, on the pipeline workload, read by
// a real WebSocket client that knows nothing of the .proto: it decodes by
// reflection from the Hello's descriptor. /metrics must agree with the feed.
import { expect, it } from "vitest";
import { WebSocket } from "ws";
import { describeEbpf } from "../helpers/ebpf.js";
import { reflectionDecoder } from "../helpers/feed.js";
import { mltrace, pipeline, waitFor, type Running } from "../helpers/mltrace.js";

const TOKEN = "e2e-token-0123456789abcdef";

async function serve(args: string[]): Promise<{ agent: Running; address: string }> {
  const agent = mltrace(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN, ...args]);
  await waitFor("the dashboard line", () => /dashboard http:\/\/127\.0\.0\.1:\d+\//.test(agent.stderr()), 20_000);
  return { agent, address: /dashboard http:\/\/(127\.0\.0\.1:\d+)\//.exec(agent.stderr())![1]! };
}

interface Feed {
  frames: Record<string, any>[];
  closed: Promise<number>;
}

/** Every frame, decoded with the descriptor the first one (the Hello) carries. */
function read(address: string): Feed {
  const ws = new WebSocket(`ws://${address}/feed`, ["mltrace.v1"], { headers: { Authorization: `Bearer ${TOKEN}` } });
  const frames: Record<string, any>[] = [];
  let decode: ((b: Uint8Array) => Record<string, any>) | undefined;
  ws.on("message", (data: Buffer) => {
    decode ??= reflectionDecoder(data);
    frames.push(decode(data));
  });
  return { frames, closed: new Promise((resolve) => ws.on("close", (code) => resolve(code))) };
}

const metric = (text: string, name: string, labels = "") =>
  Number(new RegExp(`^${name}${labels.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);

describeEbpf("mltrace serve end to end", () => {
  it("feeds the pipeline's live snapshots, roles, /metrics that agree, and the exit with its code", async () => {
    const { agent, address } = await serve(["--interval", "0.3", "--", pipeline, "--workers", "2", "--threads", "2", "--batches", "250", "--slow-loader"]);
    const feed = read(address);
    const snapshots = () => feed.frames.filter((f) => f.snapshot && !f.snapshot.final).map((f) => f.snapshot);
    await waitFor("three snapshots with both workers", () => snapshots().length >= 3 && snapshots().at(-1).interval?.roles.some((r: any) => r.role === "dataloader"), 20_000);

    const hello = feed.frames[0]!.hello;
    expect(hello.schema_version).toBe(1);
    expect(hello.target.command).toContain("pipeline");
    expect(hello.host.cpus).toBeGreaterThan(0);
    const [a, b] = snapshots().slice(-2);
    expect(b.seq).toBe(a.seq + 1);
    expect(b.uptime_s).toBeGreaterThan(a.uptime_s);
    expect(b.cpu_used_s).toBeGreaterThan(a.cpu_used_s);
    const roles = b.interval.roles.map((r: any) => r.role);
    expect(roles).toContain("trainer");
    expect(roles).toContain("dataloader");
    expect(b.interval.processes.filter((p: any) => p.role === "dataloader")).toHaveLength(2);

    // /metrics against the feed: the counters are the sums of the intervals the feed carried, up to the scrape's seq.
    const text = await fetch(`http://${address}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.text());
    const seq = metric(text, "mltrace_snapshots_total");
    await waitFor(`snapshot ${seq}`, () => snapshots().some((s) => s.seq === seq), 5000);
    const upTo = snapshots().filter((s) => s.seq <= seq);
    expect(upTo.map((s) => s.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    for (const role of ["trainer", "dataloader"]) {
      const summed = upTo.reduce((n, s) => n + (s.interval?.roles.find((r: any) => r.role === role)?.oncpu_ns ?? 0), 0) / 1e9;
      expect(summed).toBeGreaterThan(0);
      expect(metric(text, "mltrace_sched_oncpu_seconds_total", `{role="${role}"}`)).toBeCloseTo(summed, 6);
    }
    expect(metric(text, "mltrace_feed_clients")).toBe(1);
    expect(metric(text, "mltrace_diagnosis_active", '{id="input-bound"}')).toBe(1);

    // The end: a TargetExit with the code, then the last snapshot with the summary; the agent exits as the command did.
    expect(await feed.closed).toBe(1000);
    const exit = feed.frames.find((f) => f.exit)?.exit;
    expect(exit.target.exit_code).toBe(0);
    expect(exit.final.kind).toBe("FINAL");
    // (a FeedStatus may still come after it: they are sent every 5 s)
    const lastIndex = feed.frames.findLastIndex((f) => f.snapshot);
    expect(feed.frames[lastIndex]!.snapshot.final.target.exit_code).toBe(0);
    expect(feed.frames.findIndex((f) => f.exit)).toBeLessThan(lastIndex);
    expect(await agent.exited).toBe(0);
  });

  it("sends the exit code of a command that fails, and exits with it", async () => {
    const { agent, address } = await serve(["--interval", "0.2", "--", "sh", "-c", "sleep 1; exit 7"]);
    const feed = read(address);
    await feed.closed;
    expect(feed.frames.find((f) => f.exit)?.exit.target.exit_code).toBe(7);
    expect(await agent.exited).toBe(7);
  });
});
