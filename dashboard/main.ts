// The page: which agents to watch (its own, the fragment's, the form's), one
// connection and one card each, the straggler line, and a redraw at most
// once per animation frame for what changed.
import { applyMessage, newAgent, type AgentState } from "./agent-state";
import { AgentConnection } from "./connection";
import { chooseStraggler, STRAGGLER_WINDOW, trainerWait, type Straggler } from "./derive";
import { h, show } from "./dom";
import { share } from "./format";
import { formatAgents, normaliseAgentUrl, parseAgents, type AgentRef } from "./fragment";
import { AgentCard } from "./view-agent";

interface Watched {
  state: AgentState;
  conn: AgentConnection;
  card: AgentCard;
  token: string | null;
}

const watched = new Map<string, Watched>();
const dirty = new Set<string>();
let frame = 0;
let lastStraggler = "";

const grid = document.getElementById("agents")!;
const banner = document.getElementById("straggler")!;
const summary = document.getElementById("summary")!;

function schedule(key?: string): void {
  if (key) dirty.add(key);
  if (!frame) frame = requestAnimationFrame(draw);
}

/** Unique, short names: the agent's own (Hello.agent), else its URL's host. */
function labels(): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Map<string, number>();
  for (const w of watched.values()) {
    const base = w.state.hello?.agent || new URL(w.state.url).host;
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    out.set(w.state.key, n === 1 ? base : `${base} (${n})`);
  }
  return out;
}

function stragglerLine(s: Straggler | null, names: Map<string, string>, withTrainer: number): HTMLElement {
  if (!s) return h("span", { class: "muted" }, `Straggler: needs two agents with a trainer to compare (${withTrainer} so far).`);
  const w = s.wait;
  const detail = `run queue ${share(w.runqShare)} + off-CPU ${share(w.offcpuShare)} of its threads' time over the last ${w.intervals} intervals`;
  if (!s.clear) {
    return h("span", null, h("b", null, "No clear straggler: "), `trainers wait within ${share(s.lead)} of each other (${names.get(s.key)} ${share(w.share)}, ${names.get(s.runnerUp.key)} ${share(s.runnerUp.share)}).`);
  }
  return h("span", null, h("b", { class: "straggler-name" }, `Straggler: ${names.get(s.key)}`), ` — its trainer waits ${share(w.share)} (${detail}); next ${names.get(s.runnerUp.key)} at ${share(s.runnerUp.share)}, ${share(s.lead)} less.`);
}

function draw(): void {
  frame = 0;
  const now = Date.now();
  const names = labels();
  const waits = [...watched.values()].map((w) => ({ key: w.state.key, wait: w.state.snapshot ? trainerWait(w.state.snapshot.history, STRAGGLER_WINDOW) : null }));
  const straggler = chooseStraggler(waits);
  const stragglerKey = straggler?.clear ? straggler.key : "";
  if (stragglerKey !== lastStraggler) {
    lastStraggler = stragglerKey;
    for (const k of watched.keys()) dirty.add(k);
  }
  show(banner, stragglerLine(straggler, names, waits.filter((w) => w.wait).length));
  const live = [...watched.values()].filter((w) => w.state.connection.kind === "live").length;
  show(summary, `${watched.size} agent${watched.size === 1 ? "" : "s"} · ${live} live`);
  document.title = `mltrace · ${live}/${watched.size} live${stragglerKey ? ` · straggler ${names.get(stragglerKey)}` : ""}`;
  for (const w of watched.values()) {
    if (dirty.has(w.state.key) || w.card.dirty) w.card.render(w.state, now, straggler, names);
  }
  dirty.clear();
}

function watch(url: string, token: string | null, removable: boolean): void {
  if (watched.has(url)) return;
  const state = newAgent(url, url);
  const card = new AgentCard(removable ? () => unwatch(url, true) : null, () => schedule(url));
  const conn = new AgentConnection(url, token, {
    message: (m, pings) => {
      applyMessage(state, m, Date.now(), pings);
      schedule(url);
    },
    state: (c) => {
      state.connection = c;
      schedule(url);
    },
    problem: (text) => {
      state.problem = text;
      schedule(url);
    },
  });
  watched.set(url, { state, conn, card, token });
  grid.append(card.root);
  conn.start();
  schedule(url);
}

function unwatch(url: string, updateFragment: boolean): void {
  const w = watched.get(url);
  if (!w) return;
  w.conn.stop();
  w.card.destroy();
  watched.delete(url);
  if (updateFragment) saveFragment();
  schedule();
}

/** The fragment lists the agents added by hand (the page's own agent needs no entry). */
function saveFragment(): void {
  const refs: AgentRef[] = [...watched.values()].filter((w) => w.token !== null).map((w) => ({ url: w.state.url, token: w.token! }));
  history.replaceState(null, "", `${location.pathname}${location.search}${formatAgents(refs)}`);
}

function syncFragment(): void {
  const wanted = parseAgents(location.hash);
  // gone from the fragment, or listed with another token (a corrected one): drop, then (re)connect
  for (const [url, w] of watched) if (w.token !== null && !wanted.some((a) => a.url === url && a.token === w.token)) unwatch(url, false);
  for (const a of wanted) watch(a.url, a.token, true);
}

function setUpForm(): void {
  const form = document.getElementById("add") as HTMLFormElement;
  const urlInput = form.elements.namedItem("url") as HTMLInputElement;
  const tokenInput = form.elements.namedItem("token") as HTMLInputElement;
  const error = document.getElementById("add-error")!;
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const url = normaliseAgentUrl(urlInput.value);
    if (!url) {
      error.textContent = "an agent's address: ws://host:port/feed (or host:port)";
      return;
    }
    error.textContent = "";
    watch(url, tokenInput.value.trim(), true);
    saveFragment();
    urlInput.value = tokenInput.value = "";
  });
}

function start(): void {
  // The page's own agent, when an agent served it: the cookie set by ?token= authenticates.
  if (location.protocol === "http:" || location.protocol === "https:") {
    watch(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/feed`, null, false);
  }
  syncFragment();
  setUpForm();
  window.addEventListener("hashchange", syncFragment);
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    for (const w of watched.values()) {
      w.card.restyle();
      dirty.add(w.state.key);
    }
    schedule();
  });
  // countdowns ("retry in 3 s")
  setInterval(() => {
    for (const w of watched.values()) if (w.state.connection.kind === "disconnected") schedule(w.state.key);
  }, 1000);
}

start();
