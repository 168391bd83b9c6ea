// A request's target (RFC 9112 section 3.2) as the routes read it. Never
// throws: whatever a client puts on its request line reaches this.
// `new URL(target, base)` is not the parser: it takes "//x/metrics" for the
// host x and the path /metrics, and throws on "//" alone.

export interface RequestTarget {
  pathname: string;
  query: URLSearchParams;
  /** the host an absolute-form target names: it must be allowed as the Host header must */
  host?: string;
}

const BASE = "http://mltrace.invalid";

function parse(href: string): URL | null {
  try {
    return new URL(href);
  } catch {
    return null;
  }
}

/**
 * Origin-form ("/path?query") is read as a path under a fixed origin, so a
 * path that starts with "//" stays a path. Absolute-form ("http://host/path",
 * what proxies send; servers must accept it) gives its path and its host.
 * Anything else ("*", a bare word) is null: the caller answers 400.
 */
export function requestTarget(raw: string | undefined): RequestTarget | null {
  if (raw === undefined || raw === "") return null;
  if (raw.startsWith("/")) {
    const url = parse(`${BASE}${raw}`);
    // A path that starts with "//" after the origin still parses under it; a
    // host other than ours means the parser read the target differently than we meant.
    if (!url || url.origin !== BASE) return null;
    return { pathname: url.pathname, query: url.searchParams };
  }
  const url = parse(raw);
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.host === "") return null;
  return { pathname: url.pathname, query: url.searchParams, host: url.host };
}

/** Where to send a browser after dropping ?token=: always a path on this server, never "//elsewhere". */
export function localLocation(pathname: string, query: URLSearchParams): string {
  const search = query.toString();
  return `${pathname.replace(/^\/+/, "/")}${search ? `?${search}` : ""}`;
}
