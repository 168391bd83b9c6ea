// Where each role's time goes this interval, with its on-CPU history.
import { Box, Text, Transform } from "ink";
import type { RoleHistory } from "../../model/live.js";
import type { Report } from "../../model/report.js";
import { table } from "../format.js";
import { levelsToBlocks, sparkLevels } from "../sparkline.js";
import { cpus, fit } from "./text.js";

export interface RolesProps {
  report: Report;
  history: RoleHistory[];
  width: number;
}

export function RolesPanel({ report, history, width }: RolesProps) {
  const wall = Math.max(report.duration_s * 1e9, 1);
  const rows = [["ROLE", "PROC", "THR", "ON-CPU", "RUNQ", "OFF-CPU"]];
  for (const r of report.roles) {
    rows.push([r.role, String(r.processes), String(r.threads), cpus(r.oncpu_ns / wall), cpus(r.runq_wait_ns / wall), cpus((r.sleep_ns + r.iowait_ns) / wall)]);
  }
  const lines = table(rows, new Set([1, 2, 3, 4, 5]));
  const sparkWidth = Math.max(0, Math.min(30, width - (lines[0]?.length ?? 0) - 4));
  const peak = Math.max(0, ...history.flatMap((h) => h.oncpu));
  const levels = (role: string) => sparkLevels(history.find((h) => h.role === role)?.oncpu ?? [], sparkWidth, peak);
  const body = lines.map((line, i) =>
    fit(`${line.padEnd(lines[0]!.length)}  ${sparkWidth > 4 ? (i === 0 ? "on-CPU history" : levels(report.roles[i - 1]!.role)) : ""}`, width),
  );
  // The histories are laid out as level digits (plain ASCII, which Ink
  // measures twice a frame without its costly grapheme segmenter) and
  // become blocks, one cell each, as each line is written.
  const historyAt = lines[0]!.length + 2;
  const drawBlocks = (line: string, index: number) => (index === 0 ? line : line.slice(0, historyAt) + levelsToBlocks(line.slice(historyAt)));
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`Where time goes, in CPUs (threads' time / wall time), ${report.duration_s.toFixed(1)} s`, width)}</Text>
      <Transform transform={drawBlocks}>
        <Text>{body.join("\n")}</Text>
      </Transform>
    </Box>
  );
}
