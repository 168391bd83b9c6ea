// The top three lines: what is traced, how it is going, and which view is on.
import { Text } from "ink";
import { memo } from "react";
import type { TopSnapshot } from "../../model/live.js";
import { inCpus } from "../../model/role-shares.js";
import { count, duration } from "../format.js";
import { VIEWS } from "./keys.js";
import { Lines } from "./lines.js";
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

function HeaderLines({ snap, view, paused, width, color }: HeaderProps) {
  const r = snap.final ?? snap.interval;
  const state = snap.notice ?? (snap.final ? exitText(snap.final.target) : paused ? "PAUSED" : "running");
  const now = snap.interval && !snap.final ? ` (${inCpus(snap.interval.sched.oncpu_ns, snap.interval.duration_s).toFixed(2)} CPUs now)` : "";
  const line1 = `mltrace top  ${snap.target.comm} (pid ${snap.target.pid})  up ${duration(snap.uptime_s * 1e9)}  every ${snap.interval_s} s  `;
  const line2 =
    `CPU used ${duration(snap.cpu_used_s * 1e9)}${now}  procs ${r?.target.processes ?? 0}  threads ${r?.target.threads ?? 0}  ` +
    `mltrace ${(100 * snap.self_cpu).toFixed(1)}% CPU  `;
  const lost = `lost ${count(snap.lost_events)}`;
  const tabs = VIEWS.map((name, i) => (i === view ? `[${i + 1} ${name}]` : ` ${i + 1} ${name} `)).join("");
  const exitedColor = snap.final && (snap.final.target.exit_code ?? 1) !== 0 ? "red" : "green";
  const stateColor = color ? (snap.notice ? "red" : snap.final ? exitedColor : paused ? "yellow" : undefined) : undefined;
  return (
    <Lines
      lines={[
        { text: fit(line1, width - state.length), after: <Text bold={color} color={stateColor}>{state}</Text> },
        { text: fit(line2, width - lost.length), after: <Text color={color && snap.lost_events > 0 ? "red" : undefined}>{lost}</Text> },
        { text: fit(`${tabs}  ? help  q quit`, width).padEnd(width), inverse: color },
      ]}
    />
  );
}

/** Redrawn when the snapshot, the view or the terminal changes, not on every key. */
export const Header = memo(HeaderLines);
