// Loading the TUI (Ink and React) for `top` and `demo`. Both libraries read
// the environment once, when first imported, so this is where it is set.
import type { runTop as RunTop } from "./top.js";

const CI_VARIABLES = ["CI", "CONTINUOUS_INTEGRATION"] as const;

export async function loadTop(): Promise<typeof RunTop> {
  // React's development build profiles every render: several times the CPU.
  process.env.NODE_ENV ??= "production";
  // Ink draws only a final frame when it believes it runs under CI (any of
  // these set). top refuses to run off a terminal, so on one it is
  // interactive whatever the environment says. Hidden only while Ink loads:
  // the command top launches still sees them.
  const hidden = CI_VARIABLES.flatMap((name) => (name in process.env ? [[name, process.env[name]!] as const] : []));
  if (process.stdout.isTTY && process.stdin.isTTY) for (const [name] of hidden) delete process.env[name];
  try {
    const { runTop } = await import("./top.js");
    return runTop;
  } finally {
    for (const [name, value] of hidden) process.env[name] = value;
  }
}
