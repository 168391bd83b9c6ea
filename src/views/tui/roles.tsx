// Where each role's time goes this interval, with its on-CPU history.
import { memo } from "react";
import type { RoleHistory } from "../../model/live.js";
import type { Report } from "../../model/report.js";
import { roleShares } from "../../model/role-shares.js";
import { table } from "../format.js";
import { sparkline } from "../sparkline.js";
import { Lines, type Line } from "./lines.js";
import { cpus, fit } from "./text.js";

export interface RolesProps {
  report: Report;
  history: RoleHistory[];
  width: number;
}

function RolesLines({ report, history, width }: RolesProps) {
  const rows = [["ROLE", "PROC", "THR", "ON-CPU", "RUNQ", "OFF-CPU"]];
  for (const r of report.roles) {
    const share = roleShares(r, report.duration_s);
    rows.push([r.role, String(r.processes), String(r.threads), cpus(share.oncpu), cpus(share.runq), cpus(share.offcpu)]);
  }
  const lines = table(rows, new Set([1, 2, 3, 4, 5]));
  const sparkWidth = Math.max(0, Math.min(30, width - (lines[0]?.length ?? 0) - 4));
  let peak = 0;
  for (const h of history) for (const x of h.oncpu) peak = Math.max(peak, x);
  const spark = (role: string) => sparkline(history.find((h) => h.role === role)?.oncpu ?? [], sparkWidth, peak);
  const out: Line[] = [{ text: fit(`Where time goes, in CPUs (threads' time / wall time), ${report.duration_s.toFixed(1)} s`, width), bold: true }];
  lines.forEach((line, i) => {
    const tail = sparkWidth > 4 ? (i === 0 ? "on-CPU history" : spark(report.roles[i - 1]!.role)) : "";
    out.push(fit(`${line.padEnd(lines[0]!.length)}  ${tail}`, width));
  });
  return <Lines lines={out} />;
}

/** Redrawn for a new interval or width; keys that change the view's sort or pause leave it alone. */
export const RolesPanel = memo(RolesLines);
