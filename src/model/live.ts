// What a live view shows at one moment, built from consecutive samples. Pure
// and source-agnostic: `mltrace top` feeds it live samples, a replay could
// feed recorded ones, and frame tests build snapshots by hand.
import { buildReport, type Report, type ReportContext, type TargetInfo } from "./report.js";
import { roleShares } from "./role-shares.js";
import { roleNames, type Role } from "./roles.js";
import type { Sample } from "./sample.js";

/** Per role and interval, each as threads' time / wall time (1.0 = one CPU's worth). */
export interface RoleHistory {
  role: Role;
  oncpu: number[];
  runq: number[];
  offcpu: number[];
}

export interface TopSnapshot {
  target: TargetInfo;
  interval_s: number;
  /** seconds since tracing began */
  uptime_s: number;
  /** the latest interval; null until the first one */
  interval: Report | null;
  /** the whole session, once the target has exited */
  final: Report | null;
  history: RoleHistory[];
  /** target on-CPU seconds since tracing began */
  cpu_used_s: number;
  /** everything lost since tracing began */
  lost_events: number;
  /** mltrace's own CPU over the last interval, in cores (0.01 = 1% of one core) */
  self_cpu: number;
  /** shown in place of the state while set: e.g. a remote feed is disconnected */
  notice?: string;
}

export const HISTORY_LENGTH = 60;

export class LiveModel {
  private previous: Sample | null = null;
  private snapshot: TopSnapshot;

  constructor(
    private readonly context: () => Omit<ReportContext, "kind">,
    interval_s: number,
  ) {
    const ctx = context();
    this.snapshot = {
      target: ctx.target,
      interval_s,
      uptime_s: 0,
      interval: null,
      final: null,
      history: [],
      cpu_used_s: 0,
      lost_events: 0,
      self_cpu: 0,
    };
  }

  get current(): TopSnapshot {
    return this.snapshot;
  }

  /** One interval: the report between the previous sample and this one. */
  addSample(sample: Sample, selfCpu: number): TopSnapshot {
    const ctx = this.context();
    const interval = buildReport(this.previous, sample, { ...ctx, kind: "interval" });
    this.previous = sample;
    this.snapshot = {
      ...this.snapshot,
      target: interval.target,
      uptime_s: interval.elapsed_s,
      interval,
      history: appendHistory(this.snapshot.history, interval),
      // the intervals add up to the whole session (each thread's time is
      // counted in the intervals it ran), without a pass over every thread
      // the session has seen
      cpu_used_s: this.snapshot.cpu_used_s + interval.sched.oncpu_ns / 1e9,
      lost_events: Object.values(sample.drops).reduce((a, b) => a + b, 0),
      self_cpu: selfCpu,
    };
    return this.snapshot;
  }

  /** The target ended: the summary of the whole session replaces the intervals. */
  finish(sample: Sample, target: TargetInfo): TopSnapshot {
    const ctx = this.context();
    const final = buildReport(null, sample, { ...ctx, target, kind: "final" });
    this.snapshot = {
      ...this.snapshot,
      target: final.target,
      uptime_s: final.elapsed_s,
      final,
      cpu_used_s: final.sched.oncpu_ns / 1e9,
      lost_events: final.lost_events,
    };
    return this.snapshot;
  }
}

function appendHistory(history: RoleHistory[], r: Report): RoleHistory[] {
  const push = (xs: number[] | undefined, x: number) => [...(xs ?? []), x].slice(-HISTORY_LENGTH);
  return roleNames.flatMap((role) => {
    const before = history.find((h) => h.role === role);
    const now = r.roles.find((x) => x.role === role);
    if (!before && !now) return [];
    const shares = roleShares(now, r.duration_s);
    return [{
      role,
      oncpu: push(before?.oncpu, shares.oncpu),
      runq: push(before?.runq, shares.runq),
      offcpu: push(before?.offcpu, shares.offcpu),
    }];
  });
}
