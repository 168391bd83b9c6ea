// `mltrace doctor`: what this machine supports and what mltrace will use.
// Every check is a real attempt where one is possible (probes are loaded
// into the kernel in each attach mode), not a guess from version numbers.
import { existsSync } from "node:fs";
import { release } from "node:os";
import { checkPrivileges } from "../collector/privileges.js";
import { hardwarePmu, numaNodes, onlineCpus } from "../collector/host.js";
import { loadFamily, type AttachMode } from "../collector/family.js";
import { native } from "../native/addon.js";
import { VERIFIED_KERNELS, verifiedKernel, type VerifiedKernel } from "../collector/verified-kernels.js";

export const FAMILIES = ["sched", "faults", "io", "numa"] as const;

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** what to do about it, for failed checks that stop tracing */
  fix?: string;
}

interface TracepointSupport {
  family: string;
  tracepoint: string;
  tp_btf: boolean;
  raw_tp: boolean;
  /** what mltrace will use */
  mode: AttachMode | "unavailable";
  /** false where tracing leaves the family out (NUMA on a single node) */
  used: boolean;
}

export interface DoctorReport {
  kernel: string;
  checks: Check[];
  tracepoints: TracepointSupport[];
  cpus: number;
  numa_nodes: number;
  hardware_pmu: boolean;
  can_trace: boolean;
  /** kernels the test suite proves every family on */
  verified_kernels: readonly VerifiedKernel[];
  /** whether this kernel's series is one of them */
  kernel_verified: boolean;
}

function tryMode(family: string, mode: AttachMode): { modes: Record<string, AttachMode> } | { error: string } {
  try {
    const loaded = loadFamily(family, { mode });
    loaded.object.close();
    return { modes: loaded.modes };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export function diagnose(): DoctorReport {
  const checks: Check[] = [];
  const btf = existsSync("/sys/kernel/btf/vmlinux");
  checks.push({
    name: "BTF",
    ok: btf,
    detail: btf ? "/sys/kernel/btf/vmlinux present (CO-RE works)" : "no /sys/kernel/btf/vmlinux",
    fix: "boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 5.4 are)",
  });
  const privileges = checkPrivileges();
  checks.push({
    name: "privileges",
    ok: privileges.problem === null,
    detail: privileges.root
      ? "root"
      : `CAP_BPF ${privileges.capBpf ? "yes" : "no"}, CAP_PERFMON ${privileges.capPerfmon ? "yes" : "no"}, CAP_SYS_ADMIN ${privileges.capSysAdmin ? "yes" : "no"}`,
    fix: privileges.problem ?? undefined,
  });

  const tracepoints: TracepointSupport[] = [];
  if (privileges.problem === null) {
    const ringbuf = native().ringbufSupported();
    checks.push({ name: "ring buffer", ok: ringbuf, detail: ringbuf ? "BPF_MAP_TYPE_RINGBUF supported" : "not supported", fix: "needs Linux 5.8 or later" });
    for (const family of FAMILIES) {
      const byMode = { tp_btf: tryMode(family, "tp_btf"), raw_tp: tryMode(family, "raw_tp") };
      let chosen: Record<string, string> = {};
      let missing: string[] = [];
      try {
        const loaded = loadFamily(family);
        chosen = loaded.modes;
        missing = loaded.missing;
        loaded.object.close();
      } catch (err) {
        checks.push({ name: `${family} probes`, ok: false, detail: (err as Error).message, fix: "run `mltrace -v doctor` for libbpf's and the verifier's log" });
      }
      const names = new Set([
        ...Object.keys(chosen),
        ...missing,
        ...Object.values(byMode).flatMap((r) => ("modes" in r ? Object.keys(r.modes) : [])),
      ]);
      for (const tracepoint of names) {
        const present = !missing.includes(tracepoint);
        tracepoints.push({
          family,
          tracepoint,
          tp_btf: present && "modes" in byMode.tp_btf,
          raw_tp: present && "modes" in byMode.raw_tp,
          mode: (chosen[tracepoint] as AttachMode | undefined) ?? "unavailable",
          used: family !== "numa" || numaNodes() > 1,
        });
      }
      if (Object.keys(chosen).length) {
        checks.push({ name: `${family} probes`, ok: true, detail: `loaded and attached (${[...new Set(Object.values(chosen))].join(", ")})` });
      }
    }
  }
  return {
    kernel: release(),
    checks,
    tracepoints,
    cpus: onlineCpus(),
    numa_nodes: numaNodes(),
    hardware_pmu: hardwarePmu(),
    can_trace: checks.every((c) => c.ok),
    verified_kernels: VERIFIED_KERNELS,
    kernel_verified: verifiedKernel(release()) !== undefined,
  };
}

export function doctorText(d: DoctorReport): string {
  const lines = [` mltrace doctor: Linux ${d.kernel}, ${d.cpus} CPUs online`, ``];
  for (const c of d.checks) lines.push(`   ${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(14)} ${c.detail}`);
  if (d.tracepoints.length) {
    lines.push(``, `   ${"tracepoint".padEnd(36)} tp_btf  raw_tp  mltrace uses`);
    for (const t of d.tracepoints) {
      const use = t.used ? t.mode : `${t.mode} (not loaded: single node)`;
      lines.push(`   ${`${t.family}/${t.tracepoint}`.padEnd(36)} ${(t.tp_btf ? "yes" : "no").padEnd(7)} ${(t.raw_tp ? "yes" : "no").padEnd(7)} ${use}`);
    }
  }
  lines.push(
    ``,
    `   NUMA nodes: ${d.numa_nodes}${d.numa_nodes === 1 ? " (single node: NUMA placement cannot be measured here)" : ""}`,
    `   hardware PMU: ${d.hardware_pmu ? "yes" : "no (no cycle or instruction counts on this machine; mltrace does not need them)"}`,
    `   verified kernels: ${d.verified_kernels.map((k) => `${k.series} (${k.where})`).join("; ")}`,
    `   this kernel: ${d.kernel_verified ? "verified" : "not among them (CO-RE should still relocate the probes; the checks above are what count)"}`,
    ``,
  );
  const problems = d.checks.filter((c) => !c.ok);
  if (problems.length === 0) lines.push(` Tracing can run.`);
  else for (const p of problems) lines.push(` mltrace: ${p.name}: ${p.fix ?? p.detail}`);
  return `${lines.join("\n")}\n`;
}
