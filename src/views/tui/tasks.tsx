// The processes (and in the Tasks view their threads) with their roles,
// sorted by the chosen column.
import { memo } from "react";
import type { ProcessStats, Report, ThreadStats } from "../../model/report.js";
import { perSecond, table } from "../format.js";
import { roleLabel } from "../stat-text.js";
import type { SortKey } from "./keys.js";
import { Lines } from "./lines.js";
import { fit, pct } from "./text.js";

export interface TasksProps {
  report: Report;
  sort: SortKey;
  withThreads: boolean;
  width: number;
  maxRows: number;
}

type Row = ProcessStats | ThreadStats;

const sortValue: Record<SortKey, (r: Row) => number> = {
  cpu: (r) => -r.oncpu_ns,
  runq: (r) => -r.runq_wait_ns,
  "off-cpu": (r) => -(r.sleep_ns + r.iowait_ns),
  pid: (r) => ("tid" in r ? r.tid : r.pid),
};

function cells(r: Row, wall: number, seconds: number, thread: boolean): string[] {
  const id = thread ? ` └${(r as ThreadStats).tid}` : String(r.pid);
  return [
    id,
    roleLabel(r),
    r.comm,
    pct(r.oncpu_ns, wall),
    pct(r.runq_wait_ns, wall),
    pct(r.sleep_ns + r.iowait_ns, wall),
    perSecond(r.switches_voluntary, seconds),
    perSecond(r.switches_involuntary, seconds),
    r.exited ? "exited" : "",
  ];
}

function TaskLines({ report, sort, withThreads, width, maxRows }: TasksProps) {
  const wall = Math.max(report.duration_s * 1e9, 1);
  const by = (a: Row, b: Row) => sortValue[sort](a) - sortValue[sort](b) || a.pid - b.pid;
  const rows = [["PID", "ROLE", "COMM", "CPU%", "RUNQ%", "OFF%", "VCSW", "IVCSW", ""]];
  const threadsOf = new Map<number, ThreadStats[]>();
  // grouped once: a filter per process is quadratic in a job of thousands of threads
  if (withThreads) for (const t of report.threads) threadsOf.get(t.pid)?.push(t) ?? threadsOf.set(t.pid, [t]);
  for (const p of [...report.processes].sort(by)) {
    rows.push(cells(p, wall, report.duration_s, false));
    for (const t of threadsOf.get(p.pid)?.sort(by) ?? []) rows.push(cells(t, wall, report.duration_s, true));
  }
  const lines = table(rows, new Set([3, 4, 5, 6, 7]));
  const hidden = Math.max(0, lines.length - maxRows);
  const shown = hidden > 0 ? [...lines.slice(0, maxRows - 1), `… ${hidden + 1} more (sorted by ${sort})`] : lines;
  return <Lines lines={shown.map((line, i) => (i === 0 ? { text: fit(line, width), bold: true } : fit(line, width)))} />;
}

/** Redrawn for a new interval, sort, view or size. */
export const TaskTable = memo(TaskLines);
