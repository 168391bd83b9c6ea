// Rules that fired: one line each in the overview, with evidence and what to
// try in the Diagnoses view.
import { Text } from "ink";
import type { Diagnosis } from "../../model/diagnoses.js";
import { fit } from "./text.js";

export interface DiagnosesProps {
  diagnoses: Diagnosis[];
  width: number;
  detailed: boolean;
  color: boolean;
  maxLines: number;
}

const COLOURS = { critical: "red", warning: "yellow", info: "cyan" } as const;

export function DiagnosesPanel({ diagnoses, width, detailed, color, maxLines }: DiagnosesProps) {
  if (diagnoses.length === 0) {
    return <Text>{fit("Diagnoses: none (no rule fired this interval)", width)}</Text>;
  }
  const lines: { text: string; severity?: Diagnosis["severity"] }[] = [{ text: "Diagnoses:" }];
  for (const d of diagnoses) {
    if (!detailed) {
      lines.push({ text: ` ${d.severity.toUpperCase()} ${d.id}: ${d.summary}`, severity: d.severity });
      continue;
    }
    lines.push({ text: ` ${d.severity.toUpperCase()} ${d.id}`, severity: d.severity });
    for (const part of wrap(d.summary, width - 3)) lines.push({ text: `   ${part}` });
    lines.push({ text: `   evidence:` });
    for (const part of wrap(Object.entries(d.evidence).map(([k, v]) => `${k}=${v}`).join("  "), width - 5)) lines.push({ text: `     ${part}` });
    for (const [i, part] of wrap(d.suggestion, width - 8).entries()) lines.push({ text: `   ${i === 0 ? "try: " : "     "}${part}` });
  }
  // One Text with coloured spans: nested Text costs no layout node.
  return (
    <Text>
      {lines.slice(0, maxLines).map((l, i) => (
        <Text key={i} color={color && l.severity ? COLOURS[l.severity] : undefined}>
          {`${i > 0 ? "\n" : ""}${fit(l.text, width)}`}
        </Text>
      ))}
    </Text>
  );
}

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
