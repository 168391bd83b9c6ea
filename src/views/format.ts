// Formatting shared by every text view (stat now, the TUI later): one place
// decides how a duration, a count or a share looks.

export function duration(ns: number): string {
  const abs = Math.abs(ns);
  if (abs >= 60e9) return `${(ns / 60e9).toFixed(1)} min`;
  if (abs >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (abs >= 1e6) return `${(ns / 1e6).toFixed(1)} ms`;
  if (abs >= 1e3) return `${(ns / 1e3).toFixed(1)} us`;
  return `${Math.round(ns)} ns`;
}

export function micros(us: number): string {
  return duration(us * 1e3);
}

/** Binary units, as the kernel and most storage tools count. */
export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

/** 1234567 → "1,234,567", as toLocaleString("en-US") writes it, without
 * its first call's cost (ICU's locale data: 20 ms of `stat`'s run). */
export function count(n: number): string {
  const rounded = Math.round(n);
  const grouped = String(Math.abs(rounded)).replace(/\B(?=(\d{3})+$)/g, ",");
  return rounded < 0 ? `-${grouped}` : grouped;
}

export function percent(part: number, whole: number): string {
  if (whole <= 0) return "-";
  return `${((100 * part) / whole).toFixed(1)}%`;
}

export function perSecond(n: number, seconds: number): string {
  if (seconds <= 0) return "-";
  const rate = n / seconds;
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)}M/s`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)}k/s`;
  return `${rate.toFixed(rate < 10 ? 1 : 0)}/s`;
}

/** Left-aligned text columns; numbers are right-aligned by the caller's pad. */
export function table(rows: string[][], rightAligned: Set<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}

/** A runqlat-style log2 histogram: range, count, bar. */
export function histogramLines(buckets: { le_us: number; count: number }[], width = 32): string[] {
  const max = Math.max(0, ...buckets.map((b) => b.count));
  if (max === 0) return ["    (none)"];
  const first = buckets.findIndex((b) => b.count > 0);
  const rows = buckets.slice(first).map((b, j) => {
    const i = first + j;
    const low = i === 0 ? 0 : buckets[i - 1]!.le_us;
    const bar = "*".repeat(Math.round((b.count / max) * width));
    return [`${micros(low)} .. ${micros(b.le_us)}`, count(b.count), `|${bar.padEnd(width)}|`];
  });
  return table(rows, new Set([1])).map((line) => `    ${line}`);
}
