// Kernels the test suite runs every probe family on, with the kernel's own
// counters as the reference (README, "Tests"). Any kernel with BTF may work
// through CO-RE; these are the ones proven. Keep in step with test/vm/ and
// the machines `npm test` runs on.
export interface VerifiedKernel {
  /** major.minor, matched against the running kernel's release */
  series: string;
  where: string;
}

export const VERIFIED_KERNELS: readonly VerifiedKernel[] = [
  { series: "6.18", where: "host: one NUMA node, the whole suite" },
  { series: "6.1", where: "Debian 12's kernel, two-node qemu guest of test/vm/, in CI" },
];

/** The entry for `release` (e.g. "6.1.0-56-amd64"), if its series is verified. */
export function verifiedKernel(release: string): VerifiedKernel | undefined {
  const series = /^(\d+\.\d+)/.exec(release)?.[1];
  return VERIFIED_KERNELS.find((k) => k.series === series);
}
