// The live engine shared by `mltrace top`, `mltrace serve` and `top --serve`:
// sample the session once per interval, turn samples into snapshots
// (src/model/live.ts) and publish them on a channel. Views (the TUI, the
// feed server) subscribe to the channel; the engine never waits for them.
import { hostInfo } from "../collector/host.js";
import { TraceSession, type TargetSpec } from "../collector/session.js";
import { SnapshotChannel } from "../model/channel.js";
import { LiveModel, type TopSnapshot } from "../model/live.js";
import type { HostInfo } from "../model/report.js";

export interface Engine {
  readonly session: TraceSession;
  readonly host: HostInfo;
  readonly channel: SnapshotChannel;
  /** Settles with the summary once the target has ended and it is published; null if stopped first. */
  readonly finished: Promise<TopSnapshot | null>;
  /** Things the user should know, kept for the command to print once its view is gone (unless `warn` was given). */
  readonly warnings: string[];
  /** Ends tracing now: detaches the probes; a command the engine launched gets SIGTERM. */
  stop(): void;
}

/** mltrace's own CPU, in cores, since the previous call. */
function selfCpuMeter(): () => number {
  let cpu = process.cpuUsage();
  let at = process.hrtime.bigint();
  return () => {
    const nowCpu = process.cpuUsage();
    const now = process.hrtime.bigint();
    const used = nowCpu.user - cpu.user + nowCpu.system - cpu.system; // µs
    const wall = Number(now - at) / 1e3; // µs
    cpu = nowCpu;
    at = now;
    return wall > 0 ? used / wall : 0;
  };
}

/** `warn`: where warnings go as they happen; by default they wait in `warnings` (a TUI owns the screen). */
export function startEngine(spec: TargetSpec, interval_s: number, warn?: (message: string) => void): Engine {
  const warnings: string[] = [];
  const note = warn ?? ((m: string) => warnings.push(m));
  const session = new TraceSession(spec, { warn: note });
  const host = hostInfo(session.attachModes);
  const context = () => ({ target: session.target, host, started_ns: session.startedNs });
  const model = new LiveModel(context, interval_s);
  const channel = new SnapshotChannel(model.current);
  const selfCpu = selfCpuMeter();

  const timer = setInterval(() => channel.publish(model.addSample(session.sample(), selfCpu())), interval_s * 1000);
  let stopped = false;
  const finished = session.ended.then(async (end) => {
    clearInterval(timer);
    if (stopped) return null; // stopped first: the session is closed
    const final = await session.finalSample();
    // Nothing is left to trace: detach now, not when the user quits.
    session.close();
    const snap = model.finish(final, { ...session.target, ...end });
    channel.publish(snap);
    return snap;
  }).catch((err: Error) => {
    // Reading a session that stop() closed meanwhile fails: nothing to show then.
    if (!stopped) note(`could not read the final counters: ${err.message}`);
    return null;
  });

  return {
    session,
    host,
    channel,
    finished,
    warnings,
    stop() {
      stopped = true;
      clearInterval(timer);
      session.close();
      // We launched it, so it does not outlive the view of it (a --pid target is left alone).
      const child = session.launched;
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    },
  };
}
