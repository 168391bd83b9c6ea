// `mltrace top`: the live TUI. This file is the engine side: it samples the
// session once per interval, turns samples into snapshots (src/model/live.ts)
// and publishes them; the Ink views (src/views/tui/) only render snapshots.
import { render } from "ink";
import { createElement } from "react";
import { hostInfo } from "../collector/host.js";
import { TraceSession } from "../collector/session.js";
import { UserError } from "../errors.js";
import { LiveModel } from "../model/live.js";
import { Root } from "../views/tui/root.js";
import { SnapshotChannel } from "../views/tui/source.js";
import { targetSpec } from "./stat.js";

export interface TopOptions {
  pid?: number;
  interval?: number;
}

// Ink redraws at most this often; snapshots arrive once per interval anyway,
// keys (view, sort) redraw at once within this limit.
const MAX_FPS = 4;
// The alternate screen keeps the user's scrollback clean; the cursor does
// not move with it, so home it or Ink draws from wherever it was (and a full
// frame would scroll: flicker).
const ALT_SCREEN_ON = "\x1b[?1049h\x1b[H";
const ALT_SCREEN_OFF = "\x1b[?1049l";

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

export async function runTop(argv: string[], options: TopOptions): Promise<number> {
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    throw new UserError("mltrace top needs a terminal; for a report on a pipe or file use `mltrace stat` (e.g. mltrace stat --interval 1)", 1);
  }
  const spec = targetSpec(options.pid, argv);
  const interval = options.interval ?? 1;
  const warnings: string[] = [];
  const session = new TraceSession(spec, { warn: (m) => warnings.push(m) });
  const host = hostInfo(session.attachModes);
  const context = () => ({ target: session.target, host, started_ns: session.startedNs });
  const model = new LiveModel(context, interval);
  const channel = new SnapshotChannel(model.current);
  const selfCpu = selfCpuMeter();

  const timer = setInterval(() => channel.publish(model.addSample(session.sample(), selfCpu())), interval * 1000);
  let quitting = false;
  void session.ended.then(async (end) => {
    clearInterval(timer);
    if (quitting) return; // q came first: the session is closed
    const final = await session.finalSample();
    // Nothing is left to trace: detach now, not when the user gets to q.
    session.close();
    channel.publish(model.finish(final, { ...session.target, ...end }));
  }).catch((err: Error) => {
    // Reading a session that q closed meanwhile fails: nothing to show then.
    if (!quitting) warnings.push(`could not read the final counters: ${err.message}`);
  });

  process.stdout.write(ALT_SCREEN_ON);
  let quit!: () => void;
  const quitRequested = new Promise<void>((resolve) => (quit = resolve));
  // A terminal for sure (checked above); NO_COLOR (no-color.org) still wins.
  const color = !process.env.NO_COLOR;
  const ink = render(createElement(Root, { source: channel, onQuit: () => quit(), color }), {
    exitOnCtrlC: false,
    maxFps: MAX_FPS,
    patchConsole: false,
  });
  // Signals end us as q does (raw mode turns the terminal's Ctrl-C into a key).
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => quit());

  await quitRequested;
  quitting = true;
  clearInterval(timer);
  ink.unmount();
  process.stdout.write(ALT_SCREEN_OFF);
  session.close();
  // We launched it, so it does not outlive the view of it (a --pid target is left alone).
  const child = session.launched;
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  for (const w of warnings) process.stderr.write(`mltrace: ${w}\n`);
  return 0;
}
