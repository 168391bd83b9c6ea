// Bad input to `mltrace serve` and `top --connect`: one clear line, a
// non-zero exit, and nothing launched.
import { createServer } from "node:net";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { mltraceSync } from "../helpers/mltrace.js";

function oneLine(args: string[], pattern: RegExp): void {
  const r = mltraceSync(args);
  expect(r.status, r.stderr).not.toBe(0);
  expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

it("serve refuses a bad --listen, a remote address without --allow-remote, an unreadable token file, a weak token", () => {
  const marker = join(mkdtempSync(join(tmpdir(), "mltrace-serve-cli-")), "launched");
  const cmd = ["--", "touch", marker];
  oneLine(["serve", "--listen", "localhost", ...cmd], /--listen wants HOST:PORT/);
  oneLine(["serve", "--listen", "127.0.0.1:99999", ...cmd], /--listen wants HOST:PORT/);
  oneLine(["serve", "--listen", "0.0.0.0:0", ...cmd], /--allow-remote/);
  oneLine(["serve", "--token-file", "/nonexistent/token", ...cmd], /cannot read --token-file \/nonexistent\/token: ENOENT/);
  oneLine(["serve", "--token", "short", ...cmd], /at least 16 characters/);
  oneLine(["serve", "--token", "a".repeat(20), "--token-file", "/etc/hostname", ...cmd], /either --token or --token-file/);
  oneLine(["serve", "--allow-origin", "not a url", ...cmd], /--allow-origin wants an origin/);
  expect(existsSync(marker)).toBe(false);
});

it("serve says the port is in use, before launching anything", async () => {
  const marker = join(mkdtempSync(join(tmpdir(), "mltrace-serve-cli-")), "launched");
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
  const port = (taken.address() as { port: number }).port;
  try {
    oneLine(["serve", "--listen", `127.0.0.1:${port}`, "--", "touch", marker], new RegExp(`cannot listen on 127.0.0.1:${port}: address in use`));
  } finally {
    taken.close();
  }
  expect(existsSync(marker)).toBe(false);
});
