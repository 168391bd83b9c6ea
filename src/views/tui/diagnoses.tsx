// Rules that fired: one line each in the overview, with evidence and what to
// try in the Diagnoses view.
import { memo } from "react";
import type { Diagnosis } from "../../model/diagnoses.js";
import { Lines, type Line } from "./lines.js";
import { fit } from "./text.js";

export interface DiagnosesProps {
  diagnoses: Diagnosis[];
  width: number;
  detailed: boolean;
  color: boolean;
  maxLines: number;
}

const COLOURS = { critical: "red", warning: "yellow", info: "cyan" } as const;

function DiagnosesLines({ diagnoses, width, detailed, color, maxLines }: DiagnosesProps) {
  if (diagnoses.length === 0) return <Lines lines={[fit("Diagnoses: none (no rule fired this interval)", width)]} />;
  const lines: Line[] = ["Diagnoses:"];
  const heading = (d: Diagnosis, text: string): Line => ({ text, color: color ? COLOURS[d.severity] : undefined });
  for (const d of diagnoses) {
    if (!detailed) {
      lines.push(heading(d, ` ${d.severity.toUpperCase()} ${d.id}: ${d.summary}`));
      continue;
    }
    lines.push(heading(d, ` ${d.severity.toUpperCase()} ${d.id}`));
    for (const part of wrap(d.summary, width - 3)) lines.push(`   ${part}`);
    lines.push(`   evidence:`);
    for (const part of wrap(Object.entries(d.evidence).map(([k, v]) => `${k}=${v}`).join("  "), width - 5)) lines.push(`     ${part}`);
    for (const [i, part] of wrap(d.suggestion, width - 8).entries()) lines.push(`   ${i === 0 ? "try: " : "     "}${part}`);
  }
  return <Lines lines={lines.slice(0, maxLines).map((l) => (typeof l === "string" ? fit(l, width) : { ...l, text: fit(l.text, width) }))} />;
}

function sameDiagnoses(a: Diagnosis[], b: Diagnosis[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  return a.every((d, i) => {
    const e = b[i]!;
    if (d.id !== e.id || d.severity !== e.severity || d.summary !== e.summary || d.suggestion !== e.suggestion) return false;
    const keys = Object.keys(d.evidence);
    return keys.length === Object.keys(e.evidence).length && keys.every((k) => d.evidence[k] === e.evidence[k]);
  });
}

/**
 * Redrawn when what it says changes: a new interval usually brings new
 * numbers, but an interval where no rule fired (or the same verdict with the
 * same evidence) leaves it as it was.
 */
export const DiagnosesPanel = memo(
  DiagnosesLines,
  (a, b) => a.width === b.width && a.detailed === b.detailed && a.color === b.color && a.maxLines === b.maxLines && sameDiagnoses(a.diagnoses, b.diagnoses),
);

/** Word wrap for the detailed view (Ink's own wrapping would change the line count behind our back). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}
