// Whether this process may load and attach tracing programs, checked before
// trying so the user gets the capability's name instead of an EPERM.
import { readFileSync } from "node:fs";

const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

function effectiveCaps(): bigint {
  const status = readFileSync("/proc/self/status", "utf8");
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0";
  return BigInt(`0x${hex}`);
}

function has(caps: bigint, cap: number): boolean {
  return ((caps >> BigInt(cap)) & 1n) === 1n;
}

export interface PrivilegeReport {
  root: boolean;
  capBpf: boolean;
  capPerfmon: boolean;
  capSysAdmin: boolean;
  /** null when tracing is allowed; else the one line to show */
  problem: string | null;
}

export function checkPrivileges(): PrivilegeReport {
  const caps = effectiveCaps();
  const report = {
    root: process.geteuid?.() === 0,
    capBpf: has(caps, CAP_BPF),
    capPerfmon: has(caps, CAP_PERFMON),
    capSysAdmin: has(caps, CAP_SYS_ADMIN),
  };
  // CAP_SYS_ADMIN alone suffices on kernels before 5.8 and still does after.
  const allowed = report.capSysAdmin || (report.capBpf && report.capPerfmon);
  const missing = [!report.capBpf && "CAP_BPF", !report.capPerfmon && "CAP_PERFMON"].filter(Boolean).join(" and ");
  return {
    ...report,
    problem: allowed ? null : `mltrace needs root, or CAP_BPF and CAP_PERFMON (missing ${missing}): run it with sudo`,
  };
}
