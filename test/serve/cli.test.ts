// Bad input to `mltrace serve` and `top --connect`: one clear line, a
// non-zero exit, and nothing launched.
import { createServer } from "node:net";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { mltraceSync } from "../helpers/mltrace.js";
import { makeCertificates } from "../helpers/tls.js";

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

it("serve refuses TLS files that cannot serve, each in one line, before launching anything", () => {
  const marker = join(mkdtempSync(join(tmpdir(), "mltrace-serve-cli-")), "launched");
  const c = makeCertificates();
  const serve = (cert: string, key: string, pattern: RegExp) => oneLine(["serve", "--tls-cert", cert, "--tls-key", key, "--", "touch", marker], pattern);
  oneLine(["serve", "--tls-cert", c.cert, "--", "touch", marker], /--tls-cert and --tls-key go together/);
  serve("/nonexistent/cert.pem", c.key, /cannot read --tls-cert \/nonexistent\/cert\.pem: ENOENT/);
  serve(c.cert, "/nonexistent/key.pem", /cannot read --tls-key \/nonexistent\/key\.pem: ENOENT/);
  serve(c.key, c.key, /--tls-cert \S+server\.key is not a PEM certificate/);
  serve(c.cert, c.cert, /--tls-key \S+server\.pem is not a PEM private key/);
  serve(c.cert, c.otherKey, /--tls-key \S+ca\.key is not the key of --tls-cert \S+server\.pem/);
  serve(c.expired, c.key, /--tls-cert \S+expired\.pem expired on Jan {2}2 00:00:00 2020 GMT/);
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
