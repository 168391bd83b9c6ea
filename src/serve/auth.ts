// The token every request must carry (README: mltrace serve, Security).
// Where a request may carry it: an Authorization bearer header (scripts,
// Prometheus), the mltrace_token cookie (the dashboard page, set once from
// ?token=), or, for WebSockets from another origin (browsers cannot set
// headers there), a second subprotocol "mltrace.token.<T>".
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const COOKIE = "mltrace_token";
export const TOKEN_SUBPROTOCOL_PREFIX = "mltrace.token.";

/** 32 random bytes, hex: what the server uses when no token is given. */
export function generateToken(): string {
  return randomBytes(32).toString("hex");
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * Compares in constant time. Both sides are hashed first so the comparison
 * does not leak the token's length either (timingSafeEqual needs equal lengths).
 */
export function tokenMatches(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given));
}

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return m?.[1];
}

/** Percent-decoded where that is valid UTF-8 escapes; else as sent (it then matches no token, whose characters need no escapes). */
function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The first mltrace_token cookie (RFC 6265: the most specific path comes
 * first), unquoted and decoded. Never throws: a client writes this header.
 */
export function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0 || part.slice(0, eq).trim() !== COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    const unquoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    return decoded(unquoted);
  }
  return undefined;
}

/** The subprotocols a WebSocket upgrade offers, in order. */
export function offeredSubprotocols(req: IncomingMessage): string[] {
  return (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim()).filter(Boolean);
}

function subprotocolToken(req: IncomingMessage): string | undefined {
  return offeredSubprotocols(req).find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX))?.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
}

/**
 * The token a request presents: a bearer header, else (upgrades only) the
 * subprotocol, else the cookie. Explicit tokens come first because cookies
 * ignore ports: a dashboard from the agent on :7070 sends that agent's cookie
 * to the agent on :7071 of the same host too, beside the token it meant.
 */
export function presentedToken(req: IncomingMessage, upgrade: boolean): string | undefined {
  return bearer(req) ?? (upgrade ? subprotocolToken(req) : undefined) ?? cookieToken(req.headers.cookie);
}

export type AuthResult = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export function authorize(expected: string, given: string | undefined): AuthResult {
  if (given === undefined) return { ok: false, status: 401, reason: "token required" };
  if (!tokenMatches(expected, given)) return { ok: false, status: 403, reason: "wrong token" };
  return { ok: true };
}

/** The cookie `?token=` sets: the page's later requests (and its same-origin WebSocket) carry it; over TLS, only over TLS. */
export function tokenCookie(token: string, secure = false): string {
  return `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/${secure ? "; Secure" : ""}`;
}
