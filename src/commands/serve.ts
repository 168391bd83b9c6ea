// `mltrace serve`: trace as `top` does, but show it over HTTP: the dashboard,
// the WebSocket feed and /metrics (src/serve/). Also the server half of
// `top --serve`. Options are checked here, before anything is launched.
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { UserError } from "../errors.js";
import { generateToken } from "../serve/auth.js";
import { DEFAULT_LIMITS } from "../serve/client-queue.js";
import { bracketed, DEFAULT_LISTEN, isLoopback } from "../serve/origin.js";
import type { TargetSpec } from "../collector/session.js";
import { startFeedServer, type FeedServer, type ServerConfig } from "../serve/server.js";
import { startEngine, type Engine } from "./engine.js";
import { exitStatus, targetSpec } from "./stat.js";
import { nextStopSignal } from "./signals.js";

export interface ServeFlags {
  listen?: string;
  token?: string;
  tokenFile?: string;
  allowRemote?: boolean;
  allowOrigin?: string[];
  allowHost?: string[];
  /** MiB that may wait for one client before its frames are dropped */
  clientBuffer?: number;
  /** PEM files: serve https/wss */
  tlsCert?: string;
  tlsKey?: string;
}

export interface ServeOptions extends ServeFlags {
  pid?: number;
  interval?: number;
}

/** "HOST:PORT", "[V6]:PORT"; port 0 means any free one. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UserError(`--listen wants HOST:PORT (e.g. 127.0.0.1:7070, [::1]:7070, 0.0.0.0:0), not "${value}"`, 1);
  return { host: m[1] ?? m[2]!, port };
}

/** --token or the contents of --token-file, checked; undefined when neither is given. */
export function givenToken(flags: { token?: string; tokenFile?: string }): string | undefined {
  if (flags.token !== undefined && flags.tokenFile !== undefined) throw new UserError("give either --token or --token-file, not both", 1);
  let token = flags.token;
  if (flags.tokenFile !== undefined) {
    try {
      token = readFileSync(flags.tokenFile, "utf8").trim();
    } catch (err) {
      throw new UserError(`cannot read --token-file ${flags.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 1);
    }
  }
  // The token travels in a cookie, a header and a subprotocol name: keep to characters all three allow.
  if (token !== undefined && !/^[A-Za-z0-9._~-]{16,}$/.test(token)) throw new UserError("the token must be at least 16 characters of A-Z a-z 0-9 . _ ~ -", 1);
  return token;
}

/** A file's bytes, or a UserError naming the flag and why it cannot be read. */
export function readFlagFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UserError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 1);
  }
}

/** The first certificate of a PEM file, or a UserError saying it is none. */
export function pemCertificate(flag: string, file: string, pem: Buffer): X509Certificate {
  try {
    // X509Certificate also reads DER, which TLS here does not.
    if (pem.includes("-----BEGIN CERTIFICATE-----")) return new X509Certificate(pem);
  } catch {}
  throw new UserError(`${flag} ${file} is not a PEM certificate`, 1);
}

/** --tls-cert and --tls-key, read and checked as TLS will use them: a pair, PEM, matching, in date. */
export function tlsFiles(flags: { tlsCert?: string; tlsKey?: string }): { cert: Buffer; key: Buffer } | undefined {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) return undefined;
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) throw new UserError("--tls-cert and --tls-key go together: give both", 1);
  const cert = readFlagFile("--tls-cert", flags.tlsCert);
  const key = readFlagFile("--tls-key", flags.tlsKey);
  const leaf = pemCertificate("--tls-cert", flags.tlsCert, cert);
  const now = Date.now();
  if (Date.parse(leaf.validTo) < now) throw new UserError(`--tls-cert ${flags.tlsCert} expired on ${leaf.validTo}`, 1);
  if (Date.parse(leaf.validFrom) > now) throw new UserError(`--tls-cert ${flags.tlsCert} is not valid before ${leaf.validFrom}`, 1);
  try {
    createPrivateKey(key);
  } catch (err) {
    const encrypted = (err as NodeJS.ErrnoException).code === "ERR_MISSING_PASSPHRASE";
    throw new UserError(`--tls-key ${flags.tlsKey} ${encrypted ? "is encrypted: mltrace reads a key without a passphrase" : "is not a PEM private key"}`, 1);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    const mismatch = (err as NodeJS.ErrnoException).code === "ERR_OSSL_X509_KEY_VALUES_MISMATCH";
    throw new UserError(mismatch ? `--tls-key ${flags.tlsKey} is not the key of --tls-cert ${flags.tlsCert}` : `--tls-cert ${flags.tlsCert}, --tls-key ${flags.tlsKey}: ${(err as Error).message}`, 1);
  }
  return { cert, key };
}

function checkOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new UserError(`--allow-origin wants an origin like http://host:8080, not "${origin}"`, 1);
  }
  if (!/^https?:$/.test(url.protocol) || url.origin === "null") throw new UserError(`--allow-origin wants an http(s) origin, not "${origin}"`, 1);
  return url.origin;
}

/** The server's configuration; `generated`: the token was made up here (so it is printed). */
export type ServeConfig = ServerConfig & { generated: boolean };

/** The server's configuration from the flags, or a UserError saying what is wrong. */
export function serveConfig(flags: ServeFlags): ServeConfig {
  const { host, port } = parseListen(flags.listen ?? DEFAULT_LISTEN);
  if (!isLoopback(host) && !flags.allowRemote) {
    throw new UserError(`listening on ${bracketed(host)} exposes the feed beyond this machine: add --allow-remote (the token is still required)`, 1);
  }
  const given = givenToken(flags);
  const token = given ?? generateToken();
  const limits = { ...DEFAULT_LIMITS, ...(flags.clientBuffer !== undefined ? { maxBufferedBytes: Math.round(flags.clientBuffer * 2 ** 20) } : {}) };
  const tls = tlsFiles(flags);
  return { host, port, token, generated: given === undefined, allowOrigins: (flags.allowOrigin ?? []).map(checkOrigin), allowHosts: flags.allowHost ?? [], limits, ...(tls ? { tls } : {}) };
}

/** The lines that tell the user where to look (with the token only when we made it up), and what crosses the network in clear. */
export function announce(server: FeedServer, config: { token: string; generated: boolean; host: string; tls?: unknown }): void {
  const dashboard = config.generated ? `${server.url}/?token=${config.token}` : `${server.url}/`;
  process.stderr.write(`mltrace: dashboard ${dashboard}\n`);
  process.stderr.write(`mltrace: feed ${server.url.replace(/^http/, "ws")}/feed, metrics ${server.url}/metrics\n`);
  if (!config.tls && !isLoopback(config.host)) {
    process.stderr.write(`mltrace: warning: plain HTTP on ${bracketed(config.host)}: the token and the data cross the network in clear, readable by anyone on the path; serve TLS with --tls-cert and --tls-key (or use an SSH tunnel)\n`);
  }
}

/**
 * Says a fault in answering a client at most once a minute, with how many
 * there were: a client that can trigger one must not be able to flood the log.
 */
function faultReporter(warn: (message: string) => void): (err: unknown) => void {
  let saidAt = -Infinity;
  let unsaid = 0;
  return (err) => {
    unsaid++;
    if (Date.now() - saidAt < 60_000) return;
    saidAt = Date.now();
    const what = err instanceof Error ? err.message : String(err);
    warn(`internal error answering a client (${unsaid} since the last report, all in mltrace_serve_internal_errors_total): ${what}`);
    unsaid = 0;
  };
}

// After the target ends: how long clients get to receive its last frames.
const FINISH_MS = 2000;

/**
 * Tracing with its snapshots served (config given) or not (null). Listens
 * before launching anything: a port in use fails with nothing to clean up.
 */
export async function startServedEngine(spec: TargetSpec, interval_s: number, config: ServeConfig, warn?: (message: string) => void): Promise<{ engine: Engine; server: FeedServer }>;
export async function startServedEngine(spec: TargetSpec, interval_s: number, config: ServeConfig | null, warn?: (message: string) => void): Promise<{ engine: Engine; server: FeedServer | null }>;
export async function startServedEngine(spec: TargetSpec, interval_s: number, config: ServeConfig | null, warn?: (message: string) => void) {
  const server = config ? await startFeedServer({ ...config, onInternalError: warn && faultReporter(warn) }) : null;
  let engine;
  try {
    engine = startEngine(spec, interval_s, warn);
  } catch (err) {
    await server?.close();
    throw err;
  }
  if (server && config) {
    server.serve(engine.channel, engine.host);
    announce(server, config);
  }
  return { engine, server };
}

export async function runServe(argv: string[], options: ServeOptions): Promise<number> {
  const spec = targetSpec(options.pid, argv);
  const { engine, server } = await startServedEngine(spec, options.interval ?? 1, serveConfig(options), (m) => process.stderr.write(`mltrace: ${m}\n`));
  if ("pid" in spec) process.stderr.write(`mltrace: tracing PID ${spec.pid} (${engine.session.target.comm}) and its descendants; Ctrl-C to stop\n`);

  const end = await Promise.race([engine.finished, nextStopSignal().then(() => "signal" as const)]);
  if (end === "signal") engine.stop();
  else await server.finish(FINISH_MS);
  await server.close();
  const target = end === "signal" ? null : end?.target;
  return "argv" in spec && target ? exitStatus(target) : 0;
}
