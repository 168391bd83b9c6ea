// `mltrace stat`: trace until the target exits, the duration ends or Ctrl-C,
// then print one report (text or JSON); optionally one per interval too.
import { appendFileSync, writeFileSync } from "node:fs";
import { UserError } from "../errors.js";
import { hostInfo } from "../collector/host.js";
import { TraceSession, type TargetEnd, type TargetSpec } from "../collector/session.js";
import type { Report, ReportContext } from "../model/report.js";
import type { Sample } from "../model/sample.js";
import { Phases, phaseLines, startup } from "../phases.js";
import { onStopSignals, type StopSignal } from "./signals.js";

export interface StatOptions {
  pid?: number;
  duration?: number;
  interval?: number;
  json?: boolean;
  output?: string;
}

// Dead threads leave the kernel map on every read; without --interval we
// still read this often so a long session with thread churn never fills it.
const HOUSEKEEPING_MS = 1000;

export function targetSpec(pid: number | undefined, argv: string[]): TargetSpec {
  if (pid !== undefined && argv.length > 0) throw new UserError("give either --pid PID or -- COMMAND, not both");
  if (pid !== undefined) return { pid };
  if (argv.length > 0) return { argv };
  throw new UserError("nothing to trace: give --pid PID or -- COMMAND [ARGS...]");
}

/** Where reports go: a file (so a traced command keeps stdout) or stdout. */
function reportWriter(output?: string): (text: string) => void {
  if (!output) return (text) => void process.stdout.write(text);
  writeFileSync(output, "");
  return (text) => appendFileSync(output, text);
}

export async function runStat(argv: string[], options: StatOptions): Promise<number> {
  const spec = targetSpec(options.pid, argv);
  const write = reportWriter(options.output);
  startup.lap("modules");
  const session = new TraceSession(spec, { warn: (m) => process.stderr.write(`mltrace: ${m}\n`) });
  if (phaseLines.enabled) process.stderr.write(`mltrace: ${startup.line()}\n`);
  const ctx = (kind: ReportContext["kind"]): ReportContext => ({
    kind,
    target: session.target,
    host: hostInfo(session.attachModes),
    started_ns: session.startedNs,
  });
  if ("pid" in spec) {
    process.stderr.write(`mltrace: tracing PID ${spec.pid} (${session.target.comm}) and its descendants; Ctrl-C to stop\n`);
  }

  const timers: NodeJS.Timeout[] = [];
  const stopped = new Promise<"signal" | "duration">((resolve) => {
    if (options.duration) timers.push(setTimeout(() => resolve("duration"), options.duration * 1000));
    let interrupts = 0;
    const onSignal = (signal: StopSignal) => {
      const child = session.launched;
      if (child && child.exitCode === null && child.signalCode === null) {
        // Like `time` and `perf stat`: the command owns the terminal's Ctrl-C
        // (it got it too); we report when it exits. A second one stops us.
        if (signal === "SIGINT" && ++interrupts < 2) return;
        if (signal !== "SIGINT") {
          child.kill(signal);
          return;
        }
      }
      resolve("signal");
    };
    onStopSignals(onSignal);
  });

  // Sampling starts now: a target's limits and cgroup are read from /proc
  // only while it lives, and a short one may be gone before the modules
  // below have loaded (seconds on a slow machine).
  let previous: Sample | null = null;
  let intervalReport: ((sample: Sample) => void) | undefined;
  const everyMs = options.interval ? options.interval * 1000 : HOUSEKEEPING_MS;
  timers.push(
    setInterval(() => {
      const sample = session.sample();
      intervalReport?.(sample);
    }, everyMs),
  );

  // What turns samples into reports loads now, while the target runs: the
  // probes were in place before it started.
  const { buildReport } = await import("../model/report.js");
  const { intervalLine, statText } = await import("../views/stat-text.js");
  const reportToJson = options.json ? (await import("../schema/schema.js")).reportToJson : undefined;
  const render = (report: Report, final: boolean) =>
    reportToJson ? `${JSON.stringify(reportToJson(report), null, final ? 2 : undefined)}\n` : final ? statText(report) : `${intervalLine(report)}\n`;
  if (options.interval) {
    // The first interval reported covers everything since attach.
    intervalReport = (sample) => {
      const report = buildReport(previous, sample, ctx("interval"));
      previous = sample;
      write(render(report, false));
    };
  }

  let end;
  try {
    end = await Promise.race([session.ended, stopped]);
  } finally {
    timers.forEach((t) => clearInterval(t));
  }
  const ending = new Phases("end");
  try {
    const final = await session.finalSample();
    ending.lap("final sample");
    const target = typeof end === "object" ? { ...session.target, ...end } : session.target;
    const report = buildReport(null, final, { ...ctx("final"), target });
    ending.lap("report");
    // Out before detaching: the kernel patches every tracepoint's call site
    // back out as its last program goes (20 ms for all of them here).
    write(render(report, true));
    ending.lap("print");
  } finally {
    session.close();
    ending.lap("detach");
  }
  if (phaseLines.enabled) process.stderr.write(`mltrace: ${ending.line()}\n`);
  // stdout on a pipe is written asynchronously, and the CLI exits as soon as
  // we return: without this a large report (thousands of processes) was cut off.
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));

  return "argv" in spec && typeof end === "object" ? exitStatus(end) : 0;
}

/** Exit as a launched command did, like time(1): its code, or 128 + its signal. */
export function exitStatus(end: TargetEnd): number {
  return end.exit_signal !== undefined ? 128 + end.exit_signal : (end.exit_code ?? 0);
}
