// Many clients and one slow one: every client that keeps up gets every frame
// (no seq gaps), and one that stops reading loses frames (counted, told in
// its status) and is cut off, without touching the others.
import { afterEach, expect, it } from "vitest";
import { TOKEN, reader, sleep, stuckClient, testServer, type TestServer } from "../helpers/feed.js";
import { waitFor } from "../helpers/mltrace.js";

let t: TestServer | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

it("50 concurrent clients each receive the Hello first and then every snapshot, in order", async () => {
  t = await testServer();
  const clients = Array.from({ length: 50 }, () => reader(t!.address, { token: TOKEN }));
  await Promise.all(clients.map((c) => c.opened));
  await waitFor("every Hello", () => clients.every((c) => c.messages.length >= 1), 5000);
  const FRAMES = 40;
  for (let i = 0; i < FRAMES; i++) {
    t.tick();
    await sleep(10);
  }
  await waitFor("every frame at every client", () => clients.every((c) => c.snapshots().length === FRAMES), 10_000);
  for (const c of clients) {
    expect("hello" in c.messages[0]!).toBe(true);
    expect(c.snapshots()).toEqual(Array.from({ length: FRAMES }, (_, i) => i + 1));
  }
  const metrics = await fetch(`http://${t.address}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.text());
  expect(metrics).toMatch(/^mltrace_feed_clients 50$/m);
  expect(metrics).toMatch(/^mltrace_feed_frames_dropped_total 0$/m);
  for (const c of clients) c.ws.close();
});

it("a client that stops reading has frames dropped (counted) and is cut off; a reading one misses nothing", async () => {
  // Small bounds so a few hand-made snapshots fill them.
  t = await testServer({ limits: { maxBufferedBytes: 64 * 1024, stuckMs: 500 } });
  const good = reader(t.address, { token: TOKEN });
  await good.opened;
  const stuck = await stuckClient(t.address, TOKEN);
  let stuckClosed = false;
  stuck.on("close", () => (stuckClosed = true));
  let sent = 0;
  // Until the kernel's socket buffers and then the bound are full, and for the cut-off time after.
  const deadline = Date.now() + 20_000;
  const metrics = () => fetch(`http://${t!.address}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.text());
  while (Date.now() < deadline && /^mltrace_feed_clients 2$/m.test(await metrics())) {
    for (let i = 0; i < 20; i++) t.tick();
    sent += 20;
    await sleep(5);
  }
  const text = await metrics();
  expect(text).toMatch(/^mltrace_feed_clients 1$/m);
  const dropped = Number(/^mltrace_feed_frames_dropped_total (\d+)$/m.exec(text)?.[1]);
  expect(dropped).toBeGreaterThan(0);
  await waitFor("the good client to catch up", () => good.snapshots().length === sent, 10_000);
  expect(good.snapshots()).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
  stuck.resume(); // read what it was sent, and see the server hang up
  await waitFor("the stuck client's socket to close", () => stuckClosed, 5000);
  good.ws.close();
});
