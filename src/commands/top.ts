// `mltrace top`: the live TUI. The snapshots come from the engine (local
// tracing, src/commands/engine.ts) or, with --connect, from a remote agent's
// feed (src/feed/client.ts); with --serve the engine's snapshots also go to
// a feed server (src/serve/). The Ink views (src/views/tui/) only render.
import { render } from "ink";
import { createElement } from "react";
import { UserError } from "../errors.js";
import { FeedClient, feedUrl } from "../feed/client.js";
import type { SnapshotSource } from "../model/channel.js";
import { Root } from "../views/tui/root.js";
import { givenToken, pemCertificate, readFlagFile, serveConfig, startServedEngine, type ServeFlags } from "./serve.js";
import { targetSpec } from "./stat.js";
import { onStopSignals } from "./signals.js";

export interface TopOptions extends ServeFlags {
  pid?: number;
  interval?: number;
  /** --serve [HOST:PORT]: true without an address */
  serve?: string | true;
  /** --connect ws://HOST:PORT */
  connect?: string;
  /** --ca FILE: the CA (PEM) a wss:// agent's certificate must come from */
  ca?: string;
}

// Ink redraws at most this often; snapshots arrive once per interval anyway,
// keys (view, sort) redraw at once within this limit.
const MAX_FPS = 4;
// The alternate screen keeps the user's scrollback clean; the cursor does
// not move with it, so home it or Ink draws from wherever it was (and a full
// frame would scroll: flicker).
const ALT_SCREEN_ON = "\x1b[?1049h\x1b[H";
const ALT_SCREEN_OFF = "\x1b[?1049l";
const SHOW_CURSOR = "\x1b[?25h";

/** Where the snapshots come from, and how to let go of it when the user quits. */
interface Feed {
  source: SnapshotSource;
  stop(): Promise<void> | void;
  warnings: string[];
}

async function remoteFeed(options: TopOptions, argv: string[]): Promise<Feed> {
  if (options.pid !== undefined || argv.length > 0 || options.serve !== undefined) {
    throw new UserError("--connect shows a remote agent: give no --pid, command or --serve with it", 1);
  }
  if (options.tlsCert !== undefined || options.tlsKey !== undefined) throw new UserError("--tls-cert and --tls-key are the server's (--serve); with --connect give the agent's CA with --ca", 1);
  const url = feedUrl(options.connect!);
  if (options.ca !== undefined && url.protocol !== "wss:") throw new UserError(`--ca is for a wss:// agent, not ${url.protocol}//`, 1);
  const ca = options.ca === undefined ? undefined : readFlagFile("--ca", options.ca);
  if (ca && options.ca) pemCertificate("--ca", options.ca, ca);
  const token = givenToken(options);
  if (token === undefined) throw new UserError("--connect needs the agent's token: --token T or --token-file F", 1);
  const client = new FeedClient(url, token, ca);
  await client.connect();
  return { source: client, stop: () => client.close(), warnings: [] };
}

async function localFeed(options: TopOptions, argv: string[]): Promise<Feed> {
  if (options.ca !== undefined) throw new UserError("--ca is for --connect wss://…", 1);
  if (options.serve === undefined && (options.tlsCert !== undefined || options.tlsKey !== undefined)) throw new UserError("--tls-cert and --tls-key go with --serve", 1);
  const spec = targetSpec(options.pid, argv);
  const config = options.serve === undefined ? null : serveConfig({ ...options, listen: options.serve === true ? undefined : options.serve });
  // The dashboard line is printed before the alternate screen: it is in the scrollback during and after.
  const { engine, server } = await startServedEngine(spec, options.interval ?? 1, config);
  return {
    source: engine.channel,
    warnings: engine.warnings,
    async stop() {
      engine.stop();
      await server?.close();
    },
  };
}

/**
 * The terminal as top found it, given back on every way out that runs
 * JavaScript: q, a stop signal, an uncaught error, process.exit. (SIGKILL
 * runs nothing: then the shell or `reset` has to do it.) Idempotent.
 */
function holdTerminal(): { restore: () => void } {
  let held = true;
  const restore = () => {
    if (!held) return;
    held = false;
    try {
      if (process.stdin.isTTY && process.stdin.isRaw) process.stdin.setRawMode(false);
    } catch {
      // the terminal is gone (SIGHUP after a hang-up): nothing to restore
    }
    try {
      // writes to a terminal are synchronous, so this lands even in an exit handler
      process.stdout.write(SHOW_CURSOR + ALT_SCREEN_OFF);
    } catch {
      // as above
    }
  };
  process.stdout.write(ALT_SCREEN_ON);
  process.once("exit", restore);
  return { restore };
}

export async function runTop(argv: string[], options: TopOptions): Promise<number> {
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    throw new UserError("mltrace top needs a terminal; for a report on a pipe or file use `mltrace stat` (e.g. mltrace stat --interval 1)", 1);
  }
  const feed = options.connect !== undefined ? await remoteFeed(options, argv) : await localFeed(options, argv);

  const terminal = holdTerminal();
  let quit!: () => void;
  const quitRequested = new Promise<void>((resolve) => (quit = resolve));
  // A terminal for sure (checked above); NO_COLOR (no-color.org) still wins.
  const color = !process.env.NO_COLOR;
  const ink = render(createElement(Root, { source: feed.source, onQuit: () => quit(), color }), {
    exitOnCtrlC: false,
    maxFps: MAX_FPS,
    patchConsole: false,
  });
  // Signals end us as q does (raw mode turns the terminal's Ctrl-C into a key).
  onStopSignals(() => quit());
  // A bug must not leave the user's terminal raw and on the alternate screen,
  // nor a launched command running untraced behind a dead view: the screen
  // back first, then the error where the user can read it.
  process.once("uncaughtException", (err) => {
    try {
      ink.unmount();
    } catch {
      // Ink itself may be what failed
    }
    terminal.restore();
    process.stderr.write(`mltrace: internal error: ${err.stack ?? err.message}\n`);
    void Promise.resolve(feed.stop()).finally(() => process.exit(1));
  });
  if (process.env.MLTRACE_INJECT_FAULT === "top-uncaught") {
    // For the test of the path above (test/ebpf/top-exits.test.ts): an error nothing catches.
    setTimeout(() => {
      throw new Error("injected fault (MLTRACE_INJECT_FAULT=top-uncaught)");
    }, 1000);
  }

  await quitRequested;
  ink.unmount();
  terminal.restore();
  await feed.stop();
  for (const w of feed.warnings) process.stderr.write(`mltrace: ${w}\n`);
  return 0;
}
