// The agents a page connects to beyond its own, kept in the URL fragment
// (never sent to a server): #agents=<ws-url>|<token>,<ws-url>|<token>

export interface AgentRef {
  url: string;
  token: string;
}

const escapePart = (s: string) => s.replace(/[%,|#\s]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`);

function unescapePart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Parses `#agents=…` (other fragment parameters are ignored); bad entries are skipped. */
export function parseAgents(hash: string): AgentRef[] {
  // split before decoding: an escaped "," or "|" belongs to a URL or token
  const raw = hash.replace(/^#/, "").split("&").find((p) => p.startsWith("agents="))?.slice("agents=".length);
  if (!raw) return [];
  const out: AgentRef[] = [];
  for (const entry of raw.split(",")) {
    const bar = entry.lastIndexOf("|");
    const url = normaliseAgentUrl(unescapePart(bar < 0 ? entry : entry.slice(0, bar)));
    const token = bar < 0 ? "" : unescapePart(entry.slice(bar + 1)).trim();
    if (url && !out.some((a) => a.url === url)) out.push({ url, token });
  }
  return out;
}

export function formatAgents(agents: AgentRef[]): string {
  if (agents.length === 0) return "";
  return `#agents=${agents.map((a) => `${escapePart(a.url)}|${escapePart(a.token)}`).join(",")}`;
}

/** A ws:// or wss:// URL; a bare host:port or an http(s) URL is turned into the agent's /feed. */
export function normaliseAgentUrl(input: string): string | null {
  let text = input.trim();
  if (!text) return null;
  if (!/^[a-z]+:\/\//i.test(text)) text = `ws://${text}`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return null;
  }
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  if (u.protocol !== "ws:" && u.protocol !== "wss:") return null;
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/feed";
  u.search = "";
  u.hash = "";
  return u.toString();
}
