// The --connect source against a real server: snapshots arrive as the TUI
// wants them, a lost agent shows as a notice and is reconnected to, and
// refusals are one clear UserError.
import { afterEach, expect, it } from "vitest";
import { FeedClient, feedUrl } from "../../src/feed/client.js";
import { UserError } from "../../src/errors.js";
import { SnapshotChannel } from "../../src/model/channel.js";
import { startFeedServer } from "../../src/serve/server.js";
import { TOKEN, testServer, type TestServer } from "../helpers/feed.js";
import { waitFor } from "../helpers/mltrace.js";

let t: TestServer | undefined;
let client: FeedClient | undefined;

afterEach(async () => {
  client?.close();
  await t?.close();
  t = client = undefined;
});

it("follows the agent's snapshots, shows a notice while it is gone, and clears it on reconnecting", async () => {
  t = await testServer();
  t.tick();
  client = new FeedClient(feedUrl(`ws://${t.address}`), TOKEN);
  await client.connect();
  const c = client;
  await waitFor("the latest snapshot on joining", () => c.current().interval !== null, 2000);
  expect(c.current().uptime_s).toBe(1);
  t.tick();
  await waitFor("the next snapshot", () => c.current().uptime_s === 2, 2000);
  expect(c.current().final).toBeNull();
  expect(c.current().notice).toBeUndefined();

  const port = t.server.port;
  await t.close();
  await waitFor("the disconnected notice", () => /disconnected/.test(c.current().notice ?? ""), 2000);
  expect(c.current().uptime_s).toBe(2); // the last data stays on screen

  // an agent back on the same port
  const again = await startFeedServer({ host: "127.0.0.1", port, token: TOKEN, allowHosts: [], allowOrigins: [] });
  again.serve(new SnapshotChannel(c.current()), { hostname: "h", kernel: "k", cpus: 1, numa_nodes: 1, hardware_pmu: false, attach_modes: {} });
  try {
    await waitFor("the notice to clear", () => c.current().notice === undefined, 10_000);
  } finally {
    await again.close();
  }
});

it("refuses a wrong token, an unreachable agent and a URL that is not ws:// with a UserError", async () => {
  t = await testServer();
  await expect(new FeedClient(feedUrl(`ws://${t.address}`), "wrong-token-0123456789").connect()).rejects.toThrow(/403/);
  await expect(new FeedClient(feedUrl("ws://127.0.0.1:1"), TOKEN).connect()).rejects.toThrow(/ECONNREFUSED/);
  expect(() => feedUrl("http://127.0.0.1:7070")).toThrow(UserError);
  expect(() => feedUrl("not a url")).toThrow(UserError);
  expect(feedUrl("ws://127.0.0.1:7070").pathname).toBe("/feed");
});
