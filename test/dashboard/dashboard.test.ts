// The dashboard in a real browser (Debian's Chromium through playwright-core)
// against real agents: `mltrace serve` tracing the pipeline workload. It
// authenticates with ?token=, shows live numbers, puts a second agent (added
// through the URL fragment) beside the first, names a straggler, and shows a
// wrong token as refused with no data. Screenshots go to build/artifacts/.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltrace, pipeline, root, waitFor, type Running } from "../helpers/mltrace.js";
import { makeCertificates } from "../helpers/tls.js";

const ARTIFACTS = join(root, "build", "artifacts");
const TOKEN_A = "dashboard-test-token-a-0123456789";
const TOKEN_B = "dashboard-test-token-b-0123456789";
// Without the background-networking flags Chromium dials out at start, and a
// closed network refuses it.
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

interface Agent {
  run: Running;
  port: number;
}

async function serve(args: string[], workload: string[]): Promise<Agent> {
  const run = mltrace(["serve", "--listen", "127.0.0.1:0", ...args, "--", pipeline, ...workload]);
  let port = 0;
  await waitFor("the agent's address", () => {
    port = Number(/mltrace: dashboard https?:\/\/127\.0\.0\.1:(\d+)\//.exec(run.stderr())?.[1] ?? 0);
    return port > 0 || run.child.exitCode !== null;
  }, 20_000);
  if (!port) throw new Error(`mltrace serve did not start:\n${run.stderr()}`);
  return { run, port };
}

async function stop(agent: Agent | undefined): Promise<void> {
  if (!agent || agent.run.child.exitCode !== null) return;
  agent.run.child.kill("SIGINT");
  const killer = setTimeout(() => agent.run.child.kill("SIGKILL"), 10_000);
  await agent.run.exited;
  clearTimeout(killer);
}

/** Opens agent A's dashboard with its token (the fragment survives the redirect that drops the token). */
async function openOn(page: Page, agent: Agent, hash = ""): Promise<void> {
  const response = await page.goto(`http://127.0.0.1:${agent.port}/?token=${TOKEN_A}${hash}`);
  expect(page.url()).toBe(`http://127.0.0.1:${agent.port}/${hash}`);
  expect(response?.headers()["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
}

/**
 * What the Content-Security-Policy blocked on the page: the violation events
 * (recorded from the first script on) and Chromium's console reports of them.
 */
function cspViolations(page: Page): () => Promise<string[]> {
  const reported: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to (load|execute|evaluate|apply|connect|frame)/i.test(m.text())) reported.push(m.text());
  });
  return async () => [...reported, ...(await page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? []))];
}

/** The card of the agent at `url` (its sub line names the URL). */
const card = (page: Page, url: string) => page.locator("article.agent", { hasText: url });
const stat = (page: Page, url: string, key: string) => card(page, url).locator(`[data-k="${key}"] .value`).innerText();

let a: Agent | undefined;
let b: Agent | undefined;
let context: BrowserContext | undefined;
let profile = "";
const requested: string[] = [];

describeEbpf("dashboard in a browser", () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // Node A's trainer waits on a slow loader; node B's pipeline keeps up.
    a = await serve(["--token", TOKEN_A], ["--workers", "2", "--threads", "2", "--batches", "100000", "--slow-loader"]);
    b = await serve(["--token", TOKEN_B, "--allow-origin", `http://127.0.0.1:${a.port}`], ["--workers", "2", "--threads", "1", "--batches", "100000"]);
    profile = mkdtempSync(join(tmpdir(), "mltrace-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1500, height: 1000 },
      colorScheme: "dark",
    });
    context.on("request", (r) => requested.push(r.url()));
    await context.addInitScript(() => {
      const seen: string[] = ((window as unknown as { cspViolations: string[] }).cspViolations = []);
      document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} blocked ${e.blockedURI}`));
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await Promise.all([stop(a), stop(b)]);
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("authenticates with ?token=, shows live numbers that change, and a second agent beside the first", async () => {
    const page = await context!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const violations = cspViolations(page);
    const sockets: string[] = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    // the agent sets the cookie and sends the browser on without the token in its address bar
    await openOn(page, a!);
    const own = `ws://127.0.0.1:${a!.port}/feed`;
    await card(page, own).locator('[data-k="status"]', { hasText: "live" }).waitFor({ timeout: 15_000 });
    await card(page, own).locator('tr[data-role="dataloader"]').first().waitFor({ timeout: 15_000 });

    // read together, so no frame lands between them
    const numbers = () => card(page, own).locator(".stats").evaluate((el) =>
      Object.fromEntries(["seq", "uptime", "cpu-used"].map((k) => [k, el.querySelector(`[data-k="${k}"] .value`)!.textContent])));
    const first = await numbers();
    await expect.poll(async () => (await numbers()).seq, { timeout: 10_000 }).not.toBe(first.seq);
    const second = await numbers();
    expect(second.uptime).not.toBe(first.uptime);
    expect(second["cpu-used"]).not.toBe(first["cpu-used"]);
    expect(await stat(page, own, "target")).toMatch(/^pipeline \(pid \d+\)$/);
    expect(await stat(page, own, "dropped")).toBe("0");
    const roles = await card(page, own).locator("table.roles tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-role")));
    expect(roles).toEqual(expect.arrayContaining(["trainer", "dataloader"]));
    // a number with its unit in the roles table, and the latency histograms
    expect(await card(page, own).locator('table.roles tr[data-role="trainer"] td.num').nth(2).innerText()).toMatch(/^\d+\.\d\d$/);
    expect(await card(page, own).locator(".hist").first().innerText()).toMatch(/Run-queue latency[\s\S]*(p50 [\d.]+ (ns|us|ms|s|min)|none this interval)/);
    expect(await card(page, own).locator('[data-family="numa"]').innerText()).toMatch(/NUMA (not measured|\d+ nodes)/);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });

    // Node B through the fragment. localhost, not 127.0.0.1: the browser would
    // also send node A's cookie to 127.0.0.1:<B> (cookies ignore ports).
    const other = `ws://localhost:${b!.port}/feed`;
    await page.evaluate((hash) => (location.hash = hash), `#agents=${other}|${TOKEN_B}`);
    await card(page, other).locator('[data-k="status"]', { hasText: "live" }).waitFor({ timeout: 15_000 });
    await card(page, other).locator('tr[data-role="trainer"]').first().waitFor({ timeout: 15_000 });
    const boxA = (await card(page, own).boundingBox())!;
    const boxB = (await card(page, other).boundingBox())!;
    expect(boxB.x).toBeGreaterThan(boxA.x + boxA.width - 1); // side by side
    expect(Math.abs(boxB.y - boxA.y)).toBeLessThan(2);
    // With both trainers measured, the page names the straggler and the share that made it one.
    await expect.poll(() => page.locator("#straggler").innerText(), { timeout: 15_000 }).toMatch(/Straggler: \S+ — its trainer waits \d+\.\d%|No clear straggler/);
    const line = await page.locator("#straggler").innerText();
    if (line.startsWith("Straggler:")) expect(await page.locator("article.agent.is-straggler").count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-two-agents.png"), fullPage: true });

    // Offline: nothing but the two agents was asked for anything.
    expect(new Set(requested.map((u) => new URL(u).host))).toEqual(new Set([`127.0.0.1:${a!.port}`]));
    expect(new Set(sockets.map((u) => new URL(u).host))).toEqual(new Set([`127.0.0.1:${a!.port}`, `localhost:${b!.port}`]));
    expect(errors).toEqual([]);
    // Under the served CSP (no inline script or style, eval only for protobufjs's decoders) nothing was blocked.
    expect(await violations()).toEqual([]);
    await page.close();
  });

  it("says when an agent's target exited, with its code, and keeps the session's summary", async () => {
    // about 5 s of work: long enough for the page to connect first
    const c = await serve(["--token", TOKEN_B, "--allow-origin", `http://127.0.0.1:${a!.port}`], ["--workers", "1", "--threads", "1", "--batches", "150", "--step-us", "20000"]);
    try {
      const page = await context!.newPage();
      const url = `ws://localhost:${c.port}/feed`;
      await openOn(page, a!, `#agents=${url}|${TOKEN_B}`);
      const badge = card(page, url).locator('[data-k="status"]');
      await expect.poll(() => badge.innerText(), { timeout: 30_000 }).toMatch(/^target exited \(code 0\)/);
      // the exit frame comes first, the final snapshot right after it
      await expect.poll(() => card(page, url).locator(".notice").innerText(), { timeout: 10_000 }).toMatch(/whole session/);
      expect(await card(page, url).locator('table.roles tr[data-role="trainer"]').count()).toBe(1);
      expect(await c.run.exited).toBe(0);
      await page.close();
    } finally {
      await stop(c);
    }
  });

  it("over https, the page opens its agent's feed with wss, under the same CSP", async () => {
    const certs = makeCertificates();
    const d = await serve(["--token", TOKEN_A, "--tls-cert", certs.cert, "--tls-key", certs.key], ["--workers", "1", "--threads", "1", "--batches", "100000"]);
    // A browser of its own that accepts the test CA's certificate (Chromium has no flag to add one CA).
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
      const violations = cspViolations(page);
      const sockets: string[] = [];
      page.on("websocket", (ws) => sockets.push(ws.url()));
      await page.goto(`https://127.0.0.1:${d.port}/?token=${TOKEN_A}`);
      expect(page.url()).toBe(`https://127.0.0.1:${d.port}/`);
      const own = `wss://127.0.0.1:${d.port}/feed`;
      await card(page, own).locator('[data-k="status"]', { hasText: "live" }).waitFor({ timeout: 15_000 });
      await card(page, own).locator('tr[data-role="trainer"]').first().waitFor({ timeout: 15_000 });
      expect(sockets).toEqual([own]);
      // a ws:// agent from an https page: the browser would block it; the card says why
      const plain = `ws://localhost:${b!.port}/feed`;
      await page.evaluate((hash) => (location.hash = hash), `#agents=${plain}|${TOKEN_B}`);
      await expect.poll(() => card(page, plain).locator('[data-k="status"]').innerText(), { timeout: 10_000 }).toMatch(/only wss:\/\//);
      expect(await violations()).toEqual([]);
    } finally {
      await browser.close();
      await stop(d);
    }
  });

  it("shows a wrong token as auth refused, with no data", async () => {
    const page = await context!.newPage();
    const other = `ws://localhost:${b!.port}/feed`;
    // the page itself comes from node A; node B gets a wrong token
    await openOn(page, a!, `#agents=${other}|wrong-token-0123456789abcdef`);
    const badge = card(page, other).locator('[data-k="status"]');
    // A browser never sees the HTTP status of a refused upgrade (a 403 and a
    // closed port both read as 1006 before open): the agent has to accept the
    // upgrade and close it with 4401/4403, sending nothing, for the page to know.
    const why = "the agent must close a bad-token feed with 4401/4403 after the upgrade (an HTTP 403 is invisible to the page)";
    await expect.poll(() => badge.innerText(), { timeout: 15_000, message: why }).toMatch(/auth refused/);
    expect(await card(page, other).locator(".stat").count()).toBe(0);
    expect(await card(page, other).locator("table").count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-auth-refused.png") });
    await page.close();
  });
});
