// `mltrace stat`: trace until the target exits, the duration ends or Ctrl-C,
// then print one report (text or JSON); optionally one per interval too.
import { appendFileSync, writeFileSync } from "node:fs";
import { UserError } from "../errors.js";
import { hostInfo } from "../collector/host.js";
import { TraceSession, type TargetEnd, type TargetSpec } from "../collector/session.js";
import { buildReport, type Report, type ReportContext } from "../model/report.js";
import type { Sample } from "../model/sample.js";
import { reportToJson } from "../schema/schema.js";
import { intervalLine, statText } from "../views/stat-text.js";
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
  const session = new TraceSession(spec, { warn: (m) => process.stderr.write(`mltrace: ${m}\n`) });
  const ctx = (kind: ReportContext["kind"]): ReportContext => ({
    kind,
    target: session.target,
    host: hostInfo(session.attachModes),
    started_ns: session.startedNs,
  });
  if ("pid" in spec) {
    process.stderr.write(`mltrace: tracing PID ${spec.pid} (${session.target.comm}) and its descendants; Ctrl-C to stop\n`);
  }

  let previous: Sample | null = null;
  const timers: NodeJS.Timeout[] = [];
  const everyMs = options.interval ? options.interval * 1000 : HOUSEKEEPING_MS;
  timers.push(
    setInterval(() => {
      const sample = session.sample();
      if (!options.interval) return;
      const report = buildReport(previous, sample, ctx("interval"));
      previous = sample;
      write(options.json ? `${JSON.stringify(reportToJson(report))}\n` : `${intervalLine(report)}\n`);
    }, everyMs),
  );

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

  let end;
  try {
    end = await Promise.race([session.ended, stopped]);
  } finally {
    timers.forEach((t) => clearInterval(t));
  }
  let report: Report;
  try {
    const final = await session.finalSample();
    const target = typeof end === "object" ? { ...session.target, ...end } : session.target;
    report = buildReport(null, final, { ...ctx("final"), target });
  } finally {
    session.close();
  }
  write(options.json ? `${JSON.stringify(reportToJson(report), null, 2)}\n` : statText(report));
  // stdout on a pipe is written asynchronously, and the CLI exits as soon as
  // we return: without this a large report (thousands of processes) was cut off.
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));

  return "argv" in spec && typeof end === "object" ? exitStatus(end) : 0;
}

/** Exit as a launched command did, like time(1): its code, or 128 + its signal. */
export function exitStatus(end: TargetEnd): number {
  return end.exit_signal !== undefined ? 128 + end.exit_signal : (end.exit_code ?? 0);
}
