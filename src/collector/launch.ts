// `mltrace ... -- CMD ARGS`: start CMD held at a gate, so the probes and the
// target filter are in place before CMD runs its first instruction.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { UserError, EXIT_NOT_FOUND } from "../errors.js";

/** Resolves CMD as execvp(3) would, so "not found" is reported by us, once. */
export function resolveCommand(command: string): string {
  const candidates = command.includes("/")
    ? [command]
    : (process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter).map((dir) => join(dir || ".", command));
  for (const path of candidates) {
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here; try the next directory
    }
  }
  throw new UserError(`command not found: ${command}`, EXIT_NOT_FOUND);
}

export interface GatedChild {
  child: ChildProcess;
  pid: number;
  /** Lets the child exec CMD. Call once the child's pid is traced. */
  release(): void;
}

/**
 * The child is a shell that waits for one line on fd 3 and then execs CMD:
 * exec keeps the pid, so the pid we put in the filter is CMD's pid. If
 * mltrace dies before releasing it, the read hits EOF and CMD never runs
 * untraced.
 */
export function launchGated(argv: string[]): GatedChild {
  const path = resolveCommand(argv[0]!);
  const child = spawn("/bin/sh", ["-c", 'read -r _ <&3 || exit 126; exec 3<&-; exec "$@"', "mltrace", path, ...argv.slice(1)], {
    stdio: ["inherit", "inherit", "inherit", "pipe"],
    argv0: argv[0],
  });
  if (child.pid === undefined) throw new UserError(`cannot start ${argv[0]}`, EXIT_NOT_FOUND);
  const gate = child.stdio[3] as NodeJS.WritableStream;
  // The shell closes the gate as soon as it has read its line, and the
  // command may be gone at once (killed right after its exec): the pipe's
  // late EPIPE then has nobody to tell. Had the line not arrived, the shell
  // exits 126 and the child's exit says so.
  gate.on("error", () => {});
  return {
    child,
    pid: child.pid,
    release() {
      gate.end("go\n");
    },
  };
}
