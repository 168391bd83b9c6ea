// The target's processes (and, when asked, their threads) with roles,
// busiest first, as shares of the interval's wall time.
import { h } from "./dom";
import { bytes, count, ofWall, perSecond } from "./format";
import { roleSwatch } from "./view-roles";
import type { ProcessStats, Report, ThreadStats } from "./types";

export const MAX_TASK_ROWS = 40;

const busy = (r: ProcessStats | ThreadStats) => r.oncpu_ns + r.runq_wait_ns;

function roleLabel(p: { role: string; worker_index?: number }): string {
  return p.worker_index === undefined ? p.role : `${p.role} ${p.worker_index}`;
}

function row(r: ProcessStats | ThreadStats, report: Report, thread: boolean): HTMLElement {
  const wall = report.duration_s * 1e9;
  const s = report.duration_s;
  const io = report.io?.available ?? false;
  const num = (text: string, title?: string) => h("td", { class: "num", title }, text);
  const status = "tid" in r ? (r.exited ? "exited" : "") : r.exited ? (r.exit_signal !== undefined ? `signal ${r.exit_signal}` : `exit ${r.exit_code ?? "?"}`) : "";
  return h(
    "tr",
    { class: thread ? "thread" : "process", attrs: { "data-role": r.role } },
    h("td", { class: "num" }, thread ? `└ ${(r as ThreadStats).tid}` : r.pid),
    h("td", null, roleSwatch(r.role), roleLabel(r as ProcessStats)),
    h("td", { class: "comm" }, r.comm),
    num(ofWall(r.oncpu_ns, wall)),
    num(ofWall(r.runq_wait_ns, wall)),
    num(ofWall(r.sleep_ns + r.iowait_ns, wall)),
    num(perSecond(r.switches_voluntary, s)),
    num(perSecond(r.switches_involuntary, s)),
    num(count(r.faults_major)),
    io ? num(bytes(r.read_bytes + r.write_bytes)) : num("–", "not measured: io family not loaded"),
    h("td", { class: "muted" }, status),
  );
}

export function tasksTable(report: Report, withThreads: boolean): HTMLElement {
  const rows: HTMLElement[] = [];
  for (const p of [...report.processes].sort((a, b) => busy(b) - busy(a) || a.pid - b.pid)) {
    rows.push(row(p, report, false));
    if (!withThreads) continue;
    for (const t of report.threads.filter((t) => t.pid === p.pid).sort((a, b) => busy(b) - busy(a) || a.tid - b.tid)) rows.push(row(t, report, true));
  }
  const hidden = rows.length - MAX_TASK_ROWS;
  const th = (text: string, title?: string, num = true) => h("th", { class: num ? "num" : undefined, title }, text);
  return h(
    "table",
    { class: "grid tasks" },
    h("thead", null, h("tr", null,
      th("pid"), th("role", undefined, false), th("comm", undefined, false),
      th("CPU", "on a CPU, % of wall time (100% = one core; a process sums its threads)"), th("runq", "runnable, waiting for a CPU, % of wall time"), th("off-CPU", "sleeping or blocked, % of wall time"),
      th("vcsw", "voluntary context switches per second"), th("ivcsw", "involuntary context switches (preemptions) per second"),
      th("majflt", "major page faults this interval"), th("I/O", "block bytes read + written this interval"), th("", undefined, false))),
    h("tbody", null, hidden > 0 ? [...rows.slice(0, MAX_TASK_ROWS), h("tr", null, h("td", { attrs: { colspan: "11" }, class: "muted" }, `… ${hidden} more rows`))] : rows),
  );
}
