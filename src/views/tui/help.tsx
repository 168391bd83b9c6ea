// The help screen, generated from the key table.
import { Box, Text } from "ink";
import { BINDINGS } from "./keys.js";
import { fit } from "./text.js";

export function Help({ width }: { width: number }) {
  return (
    <Box flexDirection="column">
      <Text bold>Keys</Text>
      <Text>
        {[
          ...BINDINGS.map((b) => `  ${b.keys.join(", ").padEnd(10)} ${b.help}`),
          "",
          "Roles: trainer, dataloader k, pin-memory, intra-op, other (README: Roles).",
          "CPU%, RUNQ%, OFF%: share of the interval's wall time; roles in CPUs (1.00 = one core).",
        ]
          .map((line) => fit(line, width))
          .join("\n")}
      </Text>
    </Box>
  );
}
