// Which Host and Origin headers the server answers (README: mltrace serve).
// Host: a page on an attacker's domain that re-resolves that domain to
// 127.0.0.1 (DNS rebinding) reaches us with the attacker's name in Host, so
// only names that really are this machine are served. Origin: a page on
// another site may open a WebSocket to us (browsers allow it and send its
// Origin); only our own origin and those the user listed may.
import { hostname, networkInterfaces } from "node:os";

/** Loopback only unless the user says otherwise (and --allow-remote). */
export const DEFAULT_LISTEN = "127.0.0.1:7070";

export interface OriginPolicy {
  /** the address the server listens on and its actual port */
  listenHost: string;
  port: number;
  /** --allow-host: "name" (on our port) or "name:port" */
  allowHosts: string[];
  /** --allow-origin: full origins, e.g. "http://dash.example:8080" */
  allowOrigins: string[];
  /** served over TLS: our own pages' origin is https:// */
  secure: boolean;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];
const WILDCARDS = ["0.0.0.0", "::", "[::]"];

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** An address as it appears in a Host header: IPv6 in brackets. */
export function bracketed(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** Every Host header value this server accepts, lower-case. */
export function allowedHosts(policy: OriginPolicy): Set<string> {
  const names = [bracketed(policy.listenHost), hostname()];
  if (isLoopback(policy.listenHost)) names.push(...LOOPBACK_NAMES);
  // Listening on every address: each of this machine's addresses is the listen address.
  if (WILDCARDS.includes(policy.listenHost)) {
    names.push(...LOOPBACK_NAMES);
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.push(bracketed(a.address));
  }
  const hosts = new Set(names.map((n) => `${n}:${policy.port}`.toLowerCase()));
  for (const h of policy.allowHosts) hosts.add((/:\d+$/.test(h) ? h : `${h}:${policy.port}`).toLowerCase());
  return hosts;
}

export function hostAllowed(allowed: Set<string>, host: string | undefined): boolean {
  return host !== undefined && allowed.has(host.toLowerCase());
}

/** No Origin (not a browser) is fine; a browser must come from our own origin or a listed one. */
export function originAllowed(policy: OriginPolicy, origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  const o = origin.toLowerCase();
  if (host !== undefined && o === `${policy.secure ? "https" : "http"}://${host.toLowerCase()}`) return true;
  return policy.allowOrigins.some((a) => a.toLowerCase().replace(/\/$/, "") === o);
}
