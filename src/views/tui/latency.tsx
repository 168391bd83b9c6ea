// Run-queue and off-CPU latency histograms of the interval, side by side
// when the terminal is wide enough.
import { memo } from "react";
import type { Report } from "../../model/report.js";
import { count, micros } from "../format.js";
import { Lines } from "./lines.js";
import { fit } from "./text.js";

type Bucket = { le_us: number; count: number };

function histogram(title: string, p: { p50: number; p90: number; p99: number }, buckets: Bucket[], width: number, rows: number): string[] {
  const out = [title, `p50 ${micros(p.p50)}  p90 ${micros(p.p90)}  p99 ${micros(p.p99)}`];
  const used = buckets.filter((b) => b.count > 0);
  if (used.length === 0) return [...out, "(none)"];
  // the busiest `rows` consecutive buckets, so a short terminal still shows the mass
  const first = buckets.findIndex((b) => b.count > 0);
  const last = buckets.length - 1 - [...buckets].reverse().findIndex((b) => b.count > 0);
  const span = buckets.slice(first, last + 1).slice(-Math.max(1, rows - 2));
  const max = Math.max(...span.map((b) => b.count));
  const barWidth = Math.max(4, width - 26);
  for (const b of span) {
    const bar = "█".repeat(Math.round((b.count / max) * barWidth));
    out.push(`< ${micros(b.le_us).padStart(8)} ${count(b.count).padStart(8)} ${bar}`);
  }
  return out;
}

export interface LatencyProps {
  sched: Report["sched"];
  width: number;
  height: number;
}

function LatencyLines({ sched: s, width, height }: LatencyProps) {
  const sideBySide = width >= 100;
  const colWidth = sideBySide ? Math.floor((width - 2) / 2) : width;
  const rows = sideBySide ? height : Math.floor(height / 2);
  const runq = histogram("Run-queue latency (wait for a CPU, per run)", s.runq_latency_us, s.runq_latency_hist, colWidth, rows);
  const off = histogram("Off-CPU time (per sleep)", s.offcpu_us, s.offcpu_hist, colWidth, rows);
  const lines = sideBySide
    ? Array.from({ length: Math.max(runq.length, off.length) }, (_, i) => `${fit(runq[i] ?? "", colWidth).padEnd(colWidth)}  ${fit(off[i] ?? "", colWidth)}`)
    : [...runq, "", ...off];
  return <Lines lines={lines.slice(0, height).map((line) => fit(line, width))} />;
}

export const LatencyPanel = memo(LatencyLines);
