// The top three lines: what is traced, how it is going, and which view is on.
import { Box, Text } from "ink";
import type { TopSnapshot } from "../../model/live.js";
import { count, duration } from "../format.js";
import { VIEWS } from "./keys.js";
import { fit } from "./text.js";

export interface HeaderProps {
  snap: TopSnapshot;
  view: number;
  paused: boolean;
  width: number;
  color: boolean;
}

export function exitText(t: { exit_code?: number; exit_signal?: number }): string {
  return t.exit_signal !== undefined ? `target exited (signal ${t.exit_signal})` : `target exited (code ${t.exit_code ?? "?"})`;
}

export function Header({ snap, view, paused, width, color }: HeaderProps) {
  const r = snap.final ?? snap.interval;
  const state = snap.notice ?? (snap.final ? exitText(snap.final.target) : paused ? "PAUSED" : "running");
  const now = snap.interval && !snap.final ? ` (${(snap.interval.sched.oncpu_ns / Math.max(snap.interval.duration_s * 1e9, 1)).toFixed(2)} CPUs now)` : "";
  const line1 = `mltrace top  ${snap.target.comm} (pid ${snap.target.pid})  up ${duration(snap.uptime_s * 1e9)}  every ${snap.interval_s} s  `;
  const line2 =
    `CPU used ${duration(snap.cpu_used_s * 1e9)}${now}  procs ${r?.target.processes ?? 0}  threads ${r?.target.threads ?? 0}  ` +
    `mltrace ${(100 * snap.self_cpu).toFixed(1)}% CPU  `;
  const lost = `lost ${count(snap.lost_events)}`;
  const tabs = VIEWS.map((name, i) => (i === view ? `[${i + 1} ${name}]` : ` ${i + 1} ${name} `)).join("");
  const exitedColor = snap.final && (snap.final.target.exit_code ?? 1) !== 0 ? "red" : "green";
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        {fit(line1, width - state.length)}
        <Text bold={color} color={color ? (snap.notice ? "red" : snap.final ? exitedColor : paused ? "yellow" : undefined) : undefined}>{state}</Text>
      </Text>
      <Text wrap="truncate">
        {fit(line2, width - lost.length)}
        <Text color={color && snap.lost_events > 0 ? "red" : undefined}>{lost}</Text>
      </Text>
      <Text wrap="truncate" inverse={color}>{fit(`${tabs}  ? help  q quit`, width).padEnd(width)}</Text>
    </Box>
  );
}
