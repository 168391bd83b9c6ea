import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // eBPF tests measure the scheduler; two of them at once on a 2-CPU
    // machine would measure each other.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
