// eBPF tests load real programs into the real kernel. Where that is
// impossible they skip on a developer's machine and fail under CI=true.
import { existsSync } from "node:fs";
import { describe, it } from "vitest";

export function ebpfUnavailableReason(): string | null {
  if (process.geteuid?.() !== 0) return "not root";
  if (!existsSync("/sys/kernel/btf/vmlinux")) return "no BTF at /sys/kernel/btf/vmlinux";
  return null;
}

/** describe() for tests that need the kernel: fails under CI, skips elsewhere. */
export function describeEbpf(name: string, body: () => void): void {
  const reason = ebpfUnavailableReason();
  if (reason && process.env.CI === "true") {
    describe(name, () => {
      it(`needs eBPF (${reason})`, () => {
        throw new Error(`eBPF unavailable under CI: ${reason}`);
      });
    });
    return;
  }
  (reason ? describe.skip : describe)(name, body);
}

