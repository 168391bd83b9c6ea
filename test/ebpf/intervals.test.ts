// --interval: one JSON line per interval, then the summary; the intervals
// add up to the summary. -o keeps the traced command's stdout its own.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltraceSync, pipeline } from "../helpers/mltrace.js";

describeEbpf("intervals and -o", () => {
  it("emits interval lines that add up to the final report, into the -o file", () => {
    const dir = mkdtempSync(join(tmpdir(), "mltrace-interval-"));
    const output = join(dir, "report.jsonl");
    const r = mltraceSync(["stat", "--json", "--interval", "0.2", "-o", output, "--", "sh", "-c", `echo from-the-command; ${pipeline} --batches 300`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("from-the-command\n");

    const text = readFileSync(output, "utf8");
    const firstBrace = text.indexOf("\n{\n");
    const lines = text.slice(0, firstBrace + 1).trim().split("\n").map((l) => JSON.parse(l));
    const final = JSON.parse(text.slice(firstBrace + 1));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.every((l) => l.kind === "INTERVAL")).toBe(true);
    expect(final.kind).toBe("FINAL");
    const summed = lines.reduce((n, l) => n + l.sched.oncpu_ns, 0);
    // The last partial interval is only in the final report.
    expect(summed).toBeLessThanOrEqual(final.sched.oncpu_ns);
    expect(summed).toBeGreaterThan(0.5 * final.sched.oncpu_ns);
    for (let i = 1; i < lines.length; i++) expect(lines[i].elapsed_s).toBeGreaterThan(lines[i - 1].elapsed_s);
  });

  it("exits with the command's status, or 128 + the signal that killed it", () => {
    expect(mltraceSync(["stat", "-o", "/dev/null", "--", "sh", "-c", "exit 7"]).status).toBe(7);
    expect(mltraceSync(["stat", "-o", "/dev/null", "--", "sh", "-c", "kill -TERM $$"]).status).toBe(128 + 15);
  });

  it("stops after --duration with the target still running", () => {
    const r = mltraceSync(["stat", "--json", "--duration", "0.5", "--", "sh", "-c", "exec sleep 5 >/dev/null 2>&1"]);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.target.exit_code).toBeNull();
    expect(report.duration_s).toBeGreaterThan(0.4);
    expect(report.duration_s).toBeLessThan(2);
  });
});
