// wait(2) status words, as the kernel reports a process's end (the exit
// record's exit_code) and as node reports a child's (code or signal name):
// one encoding, decoded in one place.

/** How a process ended, shell-style: its exit code, or the signal that killed it. */
export interface ProcessEnd {
  exit_code?: number;
  exit_signal?: number;
}

/** wait(2) status → its code or signal (WIFEXITED/WEXITSTATUS, WTERMSIG). */
export function decodeWaitStatus(status: number): ProcessEnd {
  const signal = status & 0x7f;
  return signal === 0 ? { exit_code: (status >> 8) & 0xff } : { exit_signal: signal };
}

/** The status word for an end given as node gives it (code, or signal number). */
export function encodeWaitStatus(end: ProcessEnd): number {
  return end.exit_signal !== undefined && end.exit_signal !== 0 ? end.exit_signal & 0x7f : ((end.exit_code ?? 0) & 0xff) << 8;
}
