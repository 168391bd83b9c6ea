// Pre-fitted lines drawn as one Ink text node: every panel builds its lines
// as plain strings already cut to the width (text.ts), and this is the only
// place that hands them to Ink.
//
// Ink remembers the size of every text it lays out in a module-level Map it
// never empties (measure-text.js in ink 6.8): a panel whose numbers change
// every second would add its whole text to it every second, for as long as
// `top` runs (megabytes an hour). So Ink lays out a placeholder instead,
// one space per line, and a Transform (Ink's public hook on the text it
// writes) puts each line in place of its space as the frame is written. The
// layout needs only the placeholder's height, since the lines are cut to
// the width already and nothing wraps. Ink then keeps one size per line
// count and style pattern, and it never measures (string-width over every
// line) or re-scans the real text before writing it.
import { Text, Transform, useIsScreenReaderEnabled } from "ink";
import { Fragment, type ReactNode } from "react";

export interface LineStyle {
  color?: string;
  bold?: boolean;
  inverse?: boolean;
}

/** A line with a style for all of it, or a plain line followed by a short styled part drawn by Ink itself. */
export interface StyledLine extends LineStyle {
  text: string;
  /** drawn after `text`, measured by Ink: keep it short and steady (a state, a count) */
  after?: ReactNode;
}

export type Line = string | StyledLine;

const PLACEHOLDER = " ";

// Control characters would reach the terminal as they are (a traced
// process names its own threads): each is drawn as "?", as ps does.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROLS = new RegExp(CONTROL.source, "g");
const printable = (text: string) => (CONTROL.test(text) ? text.replace(CONTROLS, "?") : text);

const textOf = (line: Line) => (typeof line === "string" ? line : line.text);

/** Ink's layout text: a space per line (styled as the line), newlines between. */
function placeholders(lines: readonly Line[]): ReactNode[] {
  const nodes: ReactNode[] = [];
  let plain = "";
  lines.forEach((line, i) => {
    if (i > 0) plain += "\n";
    if (typeof line === "string" || (!line.color && !line.bold && !line.inverse && line.after === undefined)) {
      plain += PLACEHOLDER;
      return;
    }
    if (plain) nodes.push(plain);
    plain = "";
    const { color, bold, inverse, after } = line;
    nodes.push(
      <Fragment key={i}>
        {color || bold || inverse ? (
          <Text color={color} bold={bold} inverse={inverse}>
            {PLACEHOLDER}
          </Text>
        ) : (
          PLACEHOLDER
        )}
        {after}
      </Fragment>,
    );
  });
  if (plain) nodes.push(plain);
  return nodes;
}

export function Lines({ lines }: { lines: readonly Line[] }) {
  const screenReader = useIsScreenReaderEnabled();
  if (lines.length === 0) return null;
  // A screen reader is given the text itself (Ink reads it out without transforms).
  if (screenReader) return <Text>{lines.map(textOf).map(printable).join("\n")}</Text>;
  // The line's first space is its placeholder: a style's escape codes come
  // before it and hold no spaces, the `after` part comes after it.
  const write = (written: string, index: number) => {
    const line = lines[index];
    return line === undefined ? written : written.replace(PLACEHOLDER, () => printable(textOf(line)));
  };
  return <Transform transform={write}>{placeholders(lines)}</Transform>;
}
