// `mltrace top --connect`: the TUI in a terminal (tmux) fed by a remote agent
// (`mltrace serve` on the pipeline), showing its data, saying so when the
// agent goes away, and refusing a wrong token or URL in one line. And
// `top --serve`: the TUI and the server in one process.
import { mkdtempSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { alive } from "../helpers/bpf-held.js";
import { describeEbpf } from "../helpers/ebpf.js";
import { reader } from "../helpers/feed.js";
import { cli, mltrace, pipeline, waitFor } from "../helpers/mltrace.js";
import { makeCertificates } from "../helpers/tls.js";

const TOKEN = "connect-token-0123456789abcdef";
// A server of our own, so a user's tmux is never touched.
const SOCKET = `mltrace-connect-${process.pid}`;
const tmux = (...args: string[]) => spawnSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", "top").stdout;

function startTop(shellCommand: string): number {
  const started = tmux("new-session", "-d", "-s", "top", "-x", "100", "-y", "30", shellCommand);
  expect(started.status, started.stderr).toBe(0);
  return Number(tmux("display", "-p", "-t", "top", "#{pane_pid}").stdout.trim());
}

afterEach(() => {
  tmux("kill-server");
});

describeEbpf("mltrace top --connect and --serve", () => {
  it("shows a remote agent's target with roles and live numbers, and says when the agent is gone", async () => {
    const agent = mltrace(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--interval", "0.5", "--", pipeline, "--workers", "2", "--threads", "2", "--batches", "100000", "--slow-loader"]);
    try {
      await waitFor("the agent's address", () => /dashboard http:\/\/127\.0\.0\.1:\d+\//.test(agent.stderr()), 20_000);
      const address = /dashboard http:\/\/(127\.0\.0\.1:\d+)\//.exec(agent.stderr())![1]!;
      const pid = startTop(`exec ${process.execPath} ${cli} top --connect ws://${address} --token ${TOKEN}`);
      await waitFor("the remote roles on screen", () => /dataloader 1/.test(screen()) && /dataloader 0/.test(screen()), 20_000);
      const first = screen();
      expect(first).toMatch(/pipeline \(pid \d+\)/);
      expect(first).toMatch(/every 0\.5 s/);
      expect(first).toMatch(/trainer\s+1\s+1\s+\d/);
      const up = (text: string) => Number(/up ([\d.]+) s/.exec(text)?.[1]);
      const upFirst = up(first);
      await waitFor("the next interval", () => up(screen()) > upFirst, 10_000);

      agent.child.kill("SIGTERM");
      await agent.exited;
      await waitFor("the disconnected notice", () => screen().includes("disconnected"), 10_000);
      expect(alive(pid)).toBe(true);
      tmux("send-keys", "-t", "top", "q");
      await waitFor("top to exit", () => !alive(pid), 10_000);
    } finally {
      agent.child.kill("SIGTERM");
    }
  });

  it("top --serve: the TUI traces and the same process serves the feed and /metrics, until q", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mltrace-top-serve-"));
    const err = join(dir, "stderr");
    const pid = startTop(`exec ${process.execPath} ${cli} top --serve 127.0.0.1:0 --interval 0.5 -- ${pipeline} --workers 2 --threads 2 --batches 100000 --slow-loader 2>${err}`);
    // the shell in the pane creates the file when it starts: until then there is nothing to read
    const written = () => {
      try {
        return readFileSync(err, "utf8");
      } catch {
        return "";
      }
    };
    await waitFor("the dashboard line", () => /dashboard http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}/.test(written()), 20_000);
    const [, address, token] = /dashboard http:\/\/(127\.0\.0\.1:\d+)\/\?token=([0-9a-f]{64})/.exec(readFileSync(err, "utf8"))!;
    await waitFor("the roles on screen", () => /dataloader 1/.test(screen()), 20_000);
    const feed = reader(address!, { token });
    await feed.opened;
    await waitFor("two snapshots on the feed", () => feed.snapshots().length >= 2, 10_000);
    const metrics = await fetch(`http://${address}/metrics`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.text());
    expect(metrics).toMatch(/^mltrace_sched_oncpu_seconds_total\{role="dataloader"\} [\d.]+$/m);
    tmux("send-keys", "-t", "top", "q");
    await waitFor("top to exit", () => !alive(pid), 10_000);
    expect(await feed.closed).toBe(1001);
  });

  it("top --connect wss:// with --ca shows a TLS agent; without the CA it says the certificate is not trusted", async () => {
    const c = makeCertificates();
    const agent = mltrace(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--tls-cert", c.cert, "--tls-key", c.key, "--interval", "0.5", "--", pipeline, "--workers", "2", "--threads", "1", "--batches", "100000"]);
    const dir = mkdtempSync(join(tmpdir(), "mltrace-connect-tls-"));
    try {
      await waitFor("the agent's address", () => /dashboard https:\/\/127\.0\.0\.1:\d+\//.test(agent.stderr()), 20_000);
      const address = /dashboard https:\/\/(127\.0\.0\.1:\d+)\//.exec(agent.stderr())![1]!;
      const pid = startTop(`exec ${process.execPath} ${cli} top --connect wss://${address} --ca ${c.ca} --token ${TOKEN}`);
      await waitFor("the remote roles on screen over wss", () => /dataloader 1/.test(screen()) && /trainer/.test(screen()), 20_000);
      expect(screen()).toMatch(/pipeline \(pid \d+\)/);
      tmux("send-keys", "-t", "top", "q");
      await waitFor("top to exit", () => !alive(pid), 10_000);
      tmux("kill-server");

      const cases = [
        { args: `--connect wss://${address} --token ${TOKEN}`, expected: /cannot connect to wss:\/\/127\.0\.0\.1:\d+\/feed: the agent's certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); give the CA that signed it with --ca FILE/ },
        { args: `--connect ws://${address} --ca ${c.ca} --token ${TOKEN}`, expected: /--ca is for a wss:\/\/ agent/ },
        { args: `--connect wss://${address} --ca ${c.key} --token ${TOKEN}`, expected: /--ca \S+server\.key is not a PEM certificate/ },
      ];
      for (const [i, k] of cases.entries()) {
        const err = join(dir, `err${i}`);
        const shell = startTop(`${process.execPath} ${cli} top ${k.args} 2>${err}; echo $? > ${err}.status; sleep 30`);
        await waitFor("top to give up", () => {
          try {
            return readFileSync(`${err}.status`, "utf8").trim() !== "";
          } catch {
            return false;
          }
        }, 10_000);
        expect(Number(readFileSync(`${err}.status`, "utf8"))).not.toBe(0);
        const lines = readFileSync(err, "utf8").trim().split("\n");
        expect(lines, lines.join("\n")).toHaveLength(1);
        expect(lines[0]).toMatch(k.expected);
        tmux("kill-server");
        await waitFor("the pane to end", () => !alive(shell), 5000);
      }
    } finally {
      agent.child.kill("SIGTERM");
    }
  });

  it("exits with one line on a wrong token or a bad URL", async () => {
    const agent = mltrace(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--", "sleep", "30"]);
    const dir = mkdtempSync(join(tmpdir(), "mltrace-connect-"));
    try {
      await waitFor("the agent's address", () => /dashboard http:\/\/127\.0\.0\.1:\d+\//.test(agent.stderr()), 20_000);
      const address = /dashboard http:\/\/(127\.0\.0\.1:\d+)\//.exec(agent.stderr())![1]!;
      const cases = [
        { args: `--connect ws://${address} --token wrong-token-0123456789`, expected: /cannot connect to ws:\/\/127\.0\.0\.1:\d+\/feed: 403/ },
        { args: `--connect http://${address} --token ${TOKEN}`, expected: /--connect wants a ws:\/\/ or wss:\/\/ URL/ },
        { args: `--connect ws://${address}`, expected: /--connect needs the agent's token/ },
      ];
      for (const [i, c] of cases.entries()) {
        const err = join(dir, `err${i}`);
        const pid = startTop(`${process.execPath} ${cli} top ${c.args} 2>${err}; echo $? > ${err}.status; sleep 30`);
        await waitFor("top to give up", () => {
          try {
            return readFileSync(`${err}.status`, "utf8").trim() !== "";
          } catch {
            return false;
          }
        }, 10_000);
        expect(Number(readFileSync(`${err}.status`, "utf8"))).not.toBe(0);
        const lines = readFileSync(err, "utf8").trim().split("\n");
        expect(lines, lines.join("\n")).toHaveLength(1);
        expect(lines[0]).toMatch(c.expected);
        tmux("kill-server");
        await waitFor("the pane to end", () => !alive(pid), 5000);
      }
    } finally {
      agent.child.kill("SIGTERM");
    }
  });
});
