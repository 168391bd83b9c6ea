// Bad input gets one clear line on stderr and a non-zero exit.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { cli, mltraceSync } from "../helpers/mltrace.js";

function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
}

describe("bad input", () => {
  it("names an unknown PID", () => {
    const r = mltraceSync(["stat", "--pid", "999999"]);
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/no process with PID 999999/);
  });

  it("exits 127 for a command that cannot be found", () => {
    const r = mltraceSync(["stat", "--", "no-such-command-mltrace"]);
    expect(r.status).toBe(127);
    expect(oneLine(r.stderr)).toMatch(/command not found: no-such-command-mltrace/);
  });

  it("refuses unknown flags and malformed values", () => {
    for (const args of [["stat", "--bogus"], ["stat", "--pid", "12ab"], ["stat", "--duration", "-1", "--", "true"], ["frobnicate"]]) {
      const r = mltraceSync(args);
      expect(r.status, args.join(" ")).not.toBe(0);
      expect(oneLine(r.stderr)).toMatch(/error|mltrace/);
    }
  });

  it("refuses a PID and a command together, and neither", () => {
    const both = mltraceSync(["stat", "--pid", "1", "--", "true"]);
    expect(both.status).toBe(2);
    expect(oneLine(both.stderr)).toMatch(/either --pid PID or -- COMMAND/);
    const neither = mltraceSync(["stat"]);
    expect(neither.status).toBe(2);
    expect(oneLine(neither.stderr)).toMatch(/nothing to trace/);
  });

  it.skipIf(process.geteuid?.() !== 0)("names the capabilities an unprivileged user lacks", () => {
    // setpriv drops to nobody with no capabilities, as a user without sudo.
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", process.execPath, cli, "stat", "--", "true"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(77);
    expect(oneLine(r.stderr)).toMatch(/CAP_BPF and CAP_PERFMON/);
  });

  it.skipIf(process.geteuid?.() !== 0)("doctor fails for an unprivileged user, saying what to do", () => {
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", process.execPath, cli, "doctor", "--json"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.can_trace).toBe(false);
    const failed = report.checks.filter((c: { ok: boolean }) => !c.ok);
    expect(failed.map((c: { name: string }) => c.name)).toEqual(["privileges"]);
    expect(failed[0].fix).toMatch(/CAP_BPF and CAP_PERFMON/);
  });
});

describe("--help", () => {
  for (const command of ["stat", "doctor", "demo"]) {
    it(`${command} --help shows usage and examples`, () => {
      const r = mltraceSync([command, "--help"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: mltrace ${command}`));
      expect(r.stdout).toMatch(/Examples:\n\s+(sudo )?mltrace /);
    });
  }

  it("lists every command at the top level", () => {
    const r = mltraceSync(["--help"]);
    expect(r.status).toBe(0);
    for (const command of ["stat", "doctor", "demo"]) expect(r.stdout).toContain(command);
  });
});
