// No BPF program or link outlives mltrace, even when it is killed with -9:
// links are owned by its file descriptors and nothing is pinned.
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { bpfLinkCount, loadedProgramNames, mltrace, waitFor } from "../helpers/mltrace.js";

const ours = () => loadedProgramNames().filter((name) => name.startsWith("mlt_"));

describeEbpf("teardown", () => {
  for (const [how, signal] of [
    ["kill -9", "SIGKILL"],
    ["SIGTERM", "SIGTERM"],
  ] as const) {
    it(`${how} of mltrace mid-trace leaves no program or link attached`, async () => {
      const before = { programs: ours().length, links: bpfLinkCount() };
      expect(before.programs).toBe(0);
      const sleeper = spawnSync("sh", ["-c", "sleep 60 >/dev/null 2>&1 & echo $!"], { encoding: "utf8" });
      const target = Number(sleeper.stdout.trim());
      try {
        const run = mltrace(["stat", "--pid", String(target)]);
        await waitFor("mltrace to attach", () => run.stderr().includes("tracing PID"));
        const during = { programs: ours().length, links: bpfLinkCount() };
        expect(during.programs).toBe(5);
        expect(during.links).toBe(before.links + 5);

        run.child.kill(signal);
        await run.exited;
        // The kernel frees programs asynchronously once the last fd closes.
        await waitFor("programs to be released", () => ours().length === 0 && bpfLinkCount() === before.links, 5000);
        if (signal === "SIGTERM") expect(run.stdout()).toContain("mltrace stat for");
      } finally {
        process.kill(target, "SIGKILL");
      }
    });
  }
});
