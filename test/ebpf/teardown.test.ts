// No BPF program or link outlives mltrace, even when it is killed with -9:
// links are owned by its file descriptors and nothing is pinned.
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltrace, waitFor } from "../helpers/mltrace.js";
import { MLTRACE_PROGRAMS, heldBy, inKernel } from "../helpers/bpf-held.js";

describeEbpf("teardown", () => {
  for (const signal of ["SIGKILL", "SIGTERM"] as const) {
    it(`${signal} to mltrace mid-trace leaves none of its programs or links attached`, async () => {
      const sleeper = spawnSync("sh", ["-c", "sleep 60 >/dev/null 2>&1 & echo $!"], { encoding: "utf8" });
      const target = Number(sleeper.stdout.trim());
      try {
        const run = mltrace(["stat", "--pid", String(target)]);
        await waitFor("mltrace to attach", () => run.stderr().includes("tracing PID"));
        const held = heldBy(run.child.pid!);
        const programs = inKernel("prog");
        const links = inKernel("link");
        // bpftool sees what mltrace holds: its programs, each attached
        // through links (the major-fault program once per CPU).
        expect([...held.programs].map((id) => programs.get(id)).sort()).toEqual(MLTRACE_PROGRAMS);
        expect(held.links.size).toBe(MLTRACE_PROGRAMS.length - 1 + availableParallelism());
        for (const id of held.links) expect(links.has(id)).toBe(true);

        run.child.kill(signal);
        await run.exited;
        // The kernel frees programs asynchronously once the last fd closes.
        await waitFor(
          "programs and links to be released",
          () => {
            const p = inKernel("prog");
            const l = inKernel("link");
            return [...held.programs].every((id) => !p.has(id)) && [...held.links].every((id) => !l.has(id));
          },
          5000,
        );
        if (signal === "SIGTERM") expect(run.stdout()).toContain("mltrace stat for");
      } finally {
        process.kill(target, "SIGKILL");
      }
    });
  }
});
