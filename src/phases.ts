// How long each phase of starting a trace (and of ending one) took: the
// lines `-v` prints and bench/startup.mjs reads. Each phase is a lap of the
// main thread, so the laps add up to the total; times are milliseconds of
// node's clock, whose origin is the process's start as node counts it.
import { performance } from "node:perf_hooks";

export class Phases {
  private readonly laps: { name: string; ms: number }[] = [];
  private readonly remarks: string[] = [];
  private last: number;

  /** `start`: where the first lap and the total begin (default: now). */
  constructor(
    private readonly label: string,
    private readonly start = performance.now(),
  ) {
    this.last = start;
  }

  /** Ends the phase that ran since the previous lap, under `name` (laps of one name add up). */
  lap(name: string): void {
    const now = performance.now();
    const known = this.laps.find((l) => l.name === name);
    if (known) known.ms += now - this.last;
    else this.laps.push({ name, ms: now - this.last });
    this.last = now;
  }

  /** A lap that ended earlier, at `at` (a time of node's clock, e.g. from performance.nodeTiming). */
  lapUntil(name: string, at: number): void {
    this.laps.push({ name, ms: at - this.last });
    this.last = at;
  }

  /** Something the line should say after the times (why a phase took the long way). */
  remark(text: string): void {
    this.remarks.push(text);
  }

  /** "startup: node 27 ms, modules 18 ms, ..., total 104 ms[; remarks]" (total up to the last lap). */
  line(): string {
    const ms = (v: number) => `${Math.round(v)} ms`;
    const times = [...this.laps.map((l) => `${l.name} ${ms(l.ms)}`), `total ${ms(this.last - this.start)}`].join(", ");
    return [`${this.label}: ${times}`, ...this.remarks].join("; ");
  }
}

/**
 * From node's start to the moment the target runs traced. Its first lap,
 * "node", is node's own start-up (to the end of its bootstrap, before any
 * of mltrace's modules load), taken by cli.ts.
 */
export const startup = new Phases("startup", 0);

/** Whether `-v` asked for the lines (set by cli.ts). */
export const phaseLines = { enabled: false };
