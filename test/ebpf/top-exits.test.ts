// `top` gives the terminal back however it ends that it can see: SIGTERM,
// SIGHUP, an uncaught error. Run in tmux under a shell that, once top has
// exited, prints its status and the terminal's modes; tmux says whether the
// pane is still on the alternate screen and whether the cursor shows.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, expect, it } from "vitest";
import { alive } from "../helpers/bpf-held.js";
import { describeEbpf } from "../helpers/ebpf.js";
import { cli, waitFor } from "../helpers/mltrace.js";

// a server of our own per test, so a user's tmux (and the previous test's) is never touched
let socket = "";
const tmux = (...args: string[]) => spawnSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", "top").stdout;
const pane = (format: string) => tmux("display", "-p", "-t", "top", format).stdout.trim();

afterEach(() => {
  tmux("kill-server");
});

/** Starts top on `sleep` in a shell; returns mltrace's pid once top is drawing. */
async function startTop(env = ""): Promise<number> {
  const script = `${env} ${process.execPath} ${cli} top -- sleep 60; echo "TOP-EXIT=$?"; stty -a | tr ';' '\\n' | grep -Eo -- '-?(icanon|echo)\\b' | tr '\\n' ' '; echo; sleep 60`;
  socket = `mltrace-exits-${process.pid}-${Date.now()}`;
  const started = tmux("new-session", "-d", "-s", "top", "-x", "100", "-y", "30", "sh", "-c", script);
  expect(started.status, started.stderr).toBe(0);
  const shell = Number(pane("#{pane_pid}"));
  let top = 0;
  // on the alternate screen, drawing: what there is to give back from then on
  await waitFor("top to draw", () => {
    top = childOf(shell);
    return top > 0 && pane("#{alternate_on}") === "1" && /mltrace top/.test(screen());
  }, 20_000);
  return top;
}

function childOf(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  return children[0] ?? 0;
}

/** After top has gone: the shell's report of its status and the terminal's modes, and tmux's. */
async function afterExit(top: number): Promise<{ status: number; modes: string; alternate: string; cursor: string }> {
  await waitFor("top to exit and the shell to report", () => !alive(top) && /TOP-EXIT=\d+\n\S/.test(screen()), 10_000);
  const text = screen();
  const status = Number(/TOP-EXIT=(\d+)/.exec(text)![1]);
  const modes = /TOP-EXIT=\d+\n(.*)/.exec(text)?.[1]?.trim() ?? "";
  return { status, modes, alternate: pane("#{alternate_on}"), cursor: pane("#{cursor_flag}") };
}

describeEbpf("top gives the terminal back", () => {
  for (const signal of ["SIGTERM", "SIGHUP"] as const) {
    it(`on ${signal}`, async () => {
      const top = await startTop();
      process.kill(top, signal);
      const end = await afterExit(top);
      expect(end).toEqual({ status: 0, modes: "icanon echo", alternate: "0", cursor: "1" });
    }, 40_000);
  }

  it("on an uncaught error, with the error shown after the screen is restored", async () => {
    const top = await startTop("MLTRACE_INJECT_FAULT=top-uncaught");
    const end = await afterExit(top);
    expect(end).toEqual({ status: 1, modes: "icanon echo", alternate: "0", cursor: "1" });
    expect(screen()).toMatch(/mltrace: internal error: Error: injected fault/);
  }, 40_000);
});
