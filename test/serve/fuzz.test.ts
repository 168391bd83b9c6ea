// The server under property-based fuzzing (test/helpers/serve-fuzz.mjs):
// 5,000 raw requests, upgrades and WebSocket frames against one real server
// on port 0, each followed by an authorised request that must be answered.
// Seeded: MLTRACE_FUZZ_SEED=N reruns another set, MLTRACE_FUZZ_RUNS=N
// changes the count; on failure fast-check prints the seed, the path and
// the shrunk case that reproduce it.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TOKEN, testServer, type TestServer } from "../helpers/feed.js";
import { fuzzServe } from "../helpers/serve-fuzz.mjs";

const SEED = Number(process.env.MLTRACE_FUZZ_SEED ?? 12_2026);
const RUNS = Number(process.env.MLTRACE_FUZZ_RUNS ?? 5000);
// What only the dashboard's files contain.
const MARKERS = ["dashboard-file-marker-index", "dashboard-file-marker-app"];

let t: TestServer;
const faults: unknown[] = [];

beforeAll(async () => {
  const staticDir = mkdtempSync(join(tmpdir(), "mltrace-fuzz-dashboard-"));
  writeFileSync(join(staticDir, "index.html"), `<!doctype html><title>${MARKERS[0]}</title>`);
  writeFileSync(join(staticDir, "app.js"), `console.log("${MARKERS[1]}")`);
  t = await testServer({ staticDir, allowOrigins: ["http://dash.example:8080"], onInternalError: (e) => faults.push(e) });
  t.tick();
});

afterAll(async () => {
  await t?.close();
});

it(`survives ${RUNS} fuzzed requests and frames (seed ${SEED}), answering the token's holder and no one else`, async () => {
  const ctx = {
    address: t.address,
    port: t.server.port,
    token: TOKEN,
    // metric names, the dashboard files, the Hello's host name: data a client without the token must never see
    markers: ["mltrace_", "testhost", ...MARKERS],
    tick: t.tick,
    faults: () => faults,
  };
  const stats = await fuzzServe(ctx, { numRuns: RUNS, seed: SEED });
  console.log(`serve fuzz: seed ${SEED}, ${JSON.stringify(stats)}`);
  expect(stats.cases).toBe(RUNS);
  // The cases reach every part of the server: the token's holders got data
  // (200s and feed frames), most cases were judged for leaks, upgrades and
  // frames after them were many.
  expect(stats.withData).toBeGreaterThan(RUNS * 0.03);
  expect(stats.leaksChecked).toBeGreaterThan(RUNS * 0.5);
  expect(stats.upgrades).toBeGreaterThan(RUNS * 0.3);
  expect(stats.withFrames).toBeGreaterThan(RUNS * 0.1);
  expect(stats.framesPastTheGate).toBeGreaterThan(RUNS * 0.02);
  expect(stats.designedChecked).toBeGreaterThan(RUNS * 0.1);
}, 120_000);
