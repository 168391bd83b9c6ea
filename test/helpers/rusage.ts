// The lines workloads/pipeline.c appends at each process's exit:
// "role pid nvcsw nivcsw utime_us stime_us run_delay_ns", from its own
// getrusage(RUSAGE_SELF) and /proc/thread-self/schedstat; and, for each
// worker, "reaped pid nvcsw nivcsw utime_us stime_us -": its rusage from the
// trainer's wait4(), which includes the exit path after its own reading.

export interface Rusage {
  role: string;
  pid: number;
  nvcsw: number;
  nivcsw: number;
  cpu_ns: number;
  /** the main thread's run-queue wait */
  run_delay_ns: number;
}

function parseLines(text: string): Rusage[] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [role, pid, nvcsw, nivcsw, utime, stime, runDelay] = line.split(" ");
      return {
        role: role!,
        pid: Number(pid),
        nvcsw: Number(nvcsw),
        nivcsw: Number(nivcsw),
        cpu_ns: (Number(utime) + Number(stime)) * 1000,
        run_delay_ns: Number(runDelay),
      };
    });
}

/** Each process's own reading, just before it exited. */
export function parseRusage(text: string): Rusage[] {
  return parseLines(text).filter((r) => r.role !== "reaped");
}

/** Workers' rusage from the trainer's wait4(), by pid (run_delay_ns is NaN: wait4 has none). */
export function parseReaped(text: string): Map<number, Rusage> {
  return new Map(parseLines(text).filter((r) => r.role === "reaped").map((r) => [r.pid, r]));
}
