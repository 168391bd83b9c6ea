// The help screen, generated from the key table.
import { memo } from "react";
import { BINDINGS } from "./keys.js";
import { Lines } from "./lines.js";
import { fit } from "./text.js";

function HelpLines({ width }: { width: number }) {
  const lines = [
    ...BINDINGS.map((b) => `  ${b.keys.join(", ").padEnd(10)} ${b.help}`),
    "",
    "Roles: trainer, dataloader k, pin-memory, intra-op, other (README: Roles).",
    "CPU%, RUNQ%, OFF%: share of the interval's wall time; roles in CPUs (1.00 = one core).",
  ];
  return <Lines lines={[{ text: "Keys", bold: true }, ...lines.map((line) => fit(line, width))]} />;
}

export const Help = memo(HelpLines);
