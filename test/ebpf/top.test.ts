// `mltrace top` as a user runs it: in a terminal (tmux), on the pipeline
// workload, read off the screen, quit with q.
import { spawnSync } from "node:child_process";
import { afterEach, expect, it } from "vitest";
import { MLTRACE_PROGRAMS, alive, loadedPrograms, programsHeldBy } from "../helpers/bpf-held.js";
import { describeEbpf } from "../helpers/ebpf.js";
import { cli, pipeline, waitFor } from "../helpers/mltrace.js";

// A server of our own, so a user's tmux is never touched.
const SOCKET = `mltrace-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", "top").stdout;

function startTop(args: string[]): number {
  // exec: the pane's process is mltrace itself
  const command = `exec ${process.execPath} ${cli} top ${args.join(" ")}`;
  const started = tmux("new-session", "-d", "-s", "top", "-x", "100", "-y", "30", command);
  expect(started.status, started.stderr).toBe(0);
  return Number(tmux("display", "-p", "-t", "top", "#{pane_pid}").stdout.trim());
}

/** The number after `label` on the screen, e.g. "pid 42" → 42. */
function numberAfter(text: string, label: RegExp): number {
  const m = new RegExp(`${label.source}\\s*([\\d.,]+)`).exec(text);
  return m ? Number(m[1]!.replace(/,/g, "")) : NaN;
}

const UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, min: 60 };

/** The duration after `label`, in seconds: "CPU used 634.8 ms" → 0.6348. */
function secondsAfter(text: string, label: RegExp): number {
  const m = new RegExp(`${label.source}\\s*([\\d.]+) (ns|us|ms|s|min)\\b`).exec(text);
  return m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
}

afterEach(() => {
  tmux("kill-server");
});

describeEbpf("mltrace top in a terminal", () => {
  it("shows the trainer and its workers with roles and live numbers, and q detaches everything", async () => {
    const workload = [pipeline, "--workers", "2", "--threads", "2", "--batches", "100000", "--slow-loader"];
    const pid = startTop(["--", ...workload]);
    await waitFor("roles on screen", () => /dataloader 1/.test(screen()) && /dataloader 0/.test(screen()), 20_000);
    const first = screen();
    expect(first).toMatch(/pipeline \(pid \d+\)/);
    expect(first).toMatch(/\d+\s+trainer\s+pipeline/);
    expect(first).toMatch(/trainer\s+1\s+1\s+\d/); // the roles panel
    expect(first).toMatch(/dataloader\s+2\s+2\s+\d/);
    const upFirst = secondsAfter(first, /up/);
    const cpuFirst = secondsAfter(first, /CPU used/);
    expect(upFirst).toBeGreaterThan(0);
    await waitFor("the next interval", () => secondsAfter(screen(), /up/) > upFirst + 0.5, 10_000);
    const second = screen();
    expect(secondsAfter(second, /CPU used/)).toBeGreaterThan(cpuFirst);

    const held = programsHeldBy(pid);
    const names = [...held].map((id) => loadedPrograms().get(id));
    expect(names.sort()).toEqual(MLTRACE_PROGRAMS);
    const trainerPid = numberAfter(second, /pipeline \(pid/);
    expect(alive(trainerPid)).toBe(true);

    tmux("send-keys", "-t", "top", "q");
    await waitFor("mltrace to exit", () => !alive(pid), 10_000);
    await waitFor("its programs to be released", () => {
      const loaded = loadedPrograms();
      return [...held].every((id) => !loaded.has(id));
    }, 5000);
    // it launched the command, so the command does not outlive it
    await waitFor("the launched trainer to end", () => !alive(trainerPid), 5000);
  });

  it("says the target exited, with its code, and keeps the summary until Ctrl-C", async () => {
    const pid = startTop(["--interval", "0.5", "--", pipeline, "--workers", "1", "--threads", "1", "--batches", "50"]);
    await waitFor("the exit notice", () => screen().includes("target exited (code 0)"), 20_000);
    expect(screen()).toContain("summary of the whole session; q to quit");
    expect(screen()).toMatch(/dataloader 0/);
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pid)).toBe(true);
    // the target is gone, so are the probes: only the summary is left
    expect(programsHeldBy(pid).size).toBe(0);
    tmux("send-keys", "-t", "top", "C-c");
    await waitFor("mltrace to exit", () => !alive(pid), 10_000);
  });
});
