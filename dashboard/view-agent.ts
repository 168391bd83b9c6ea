// One agent's column: who and how it is, where time goes per role with its
// history, diagnoses, latency histograms, the other families and the tasks.
import { exitText, framesDropped, statusOf, type AgentState } from "./agent-state";
import { HistoryChart, type SeriesDef } from "./charts";
import { histograms, historyXs, reportOf, roleRank, trainerWaitSeries, unmeasured, type Straggler } from "./derive";
import { h, show, type Child } from "./dom";
import { bytes, count, cpus, duration, share } from "./format";
import type { Report, Snapshot } from "./types";
import { diagnosesList } from "./view-diagnoses";
import { histogramBlock } from "./view-histograms";
import { rolesTable } from "./view-roles";
import { tasksTable } from "./view-tasks";

function stat(key: string, label: string, value: Child, title?: string, tone?: string): HTMLElement {
  return h("div", { class: `stat${tone ? ` ${tone}` : ""}`, title, attrs: { "data-k": key } }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
}

function section(title: string, ...extra: Child[]): { root: HTMLElement; body: HTMLElement } {
  const body = h("div", { class: "body" });
  return { root: h("section", { class: "panel" }, h("h3", null, title, extra), body), body };
}

function familiesLine(r: Report): HTMLElement {
  const why = unmeasured(r);
  const nm = (text: string) => h("span", { class: "not-measured" }, `not measured (${text})`);
  const numa = r.numa;
  const opt = (v: number | undefined) => (v === undefined ? "not measured" : count(v));
  return h(
    "div",
    { class: "families" },
    h("div", { attrs: { "data-family": "faults" } }, h("b", null, "Faults "), why.faults || !r.faults ? nm(why.faults ?? "absent") : `minor ${count(r.faults.minor)} · major ${count(r.faults.major)}`),
    h("div", { attrs: { "data-family": "io" } }, h("b", null, "Block I/O "), why.io || !r.io ? nm(why.io ?? "absent") : `read ${bytes(r.io.read_bytes)} · written ${bytes(r.io.write_bytes)}`),
    h("div", { attrs: { "data-family": "numa" } }, h("b", null, "NUMA "), why.numa || !numa ? nm(why.numa ?? "absent")
      : `${numa.nodes} nodes · local ${opt(numa.local_allocs)} · remote ${opt(numa.remote_allocs)} · miss ${opt(numa.miss_allocs)} · page migrations ${opt(numa.page_migrations)}`),
  );
}

export class AgentCard {
  readonly root: HTMLElement;
  private readonly head = h("div", { class: "agent-head" });
  private readonly stats = h("div", { class: "stats" });
  private readonly notice = h("div", { class: "notice" });
  private readonly roles = section("Where time goes", h("span", { class: "unit" }, "CPUs = threads' time / wall time"));
  private readonly charts = h("div", { class: "charts" });
  private readonly diagnoses = section("Diagnoses");
  private readonly hists = section("Latency", h("span", { class: "unit" }, "log2 buckets of the interval"));
  private readonly families = section("Other families");
  private readonly tasks = section("Processes");
  private readonly onCpuChart: HistoryChart;
  private readonly waitChart: HistoryChart;
  private withThreads = false;
  private readonly threadsToggle: HTMLInputElement;

  constructor(
    private readonly onRemove: (() => void) | null,
    private readonly requestDraw: () => void,
  ) {
    const onCpuBox = h("div", { class: "chart" });
    const waitBox = h("div", { class: "chart" });
    this.charts.append(
      h("div", null, h("h4", null, "On-CPU by role ", h("span", { class: "unit" }, "CPUs")), onCpuBox),
      h("div", null, h("h4", null, "Trainer waiting ", h("span", { class: "unit" }, "% of its threads' time")), waitBox),
    );
    this.onCpuChart = new HistoryChart(onCpuBox, (v) => v.toFixed(2));
    this.waitChart = new HistoryChart(waitBox, (v) => `${v.toFixed(0)}%`);
    this.threadsToggle = h("input", { attrs: { type: "checkbox" }, on: { change: () => { this.withThreads = this.threadsToggle.checked; this.dirty = true; this.requestDraw(); } } });
    this.tasks.root.querySelector("h3")!.append(h("label", { class: "toggle" }, this.threadsToggle, " threads"));
    this.roles.root.append(this.charts);
    // two columns when the card is wide (one agent on a wide screen), else one
    const body = h("div", { class: "agent-body" },
      h("div", { class: "col" }, this.roles.root, this.diagnoses.root),
      h("div", { class: "col" }, this.hists.root, this.families.root, this.tasks.root));
    this.root = h("article", { class: "agent" }, this.head, this.stats, this.notice, body);
  }

  /** Set when a view-local control changed; the page then redraws this card. */
  dirty = false;

  restyle(): void {
    this.onCpuChart.restyle();
    this.waitChart.restyle();
  }

  destroy(): void {
    this.onCpuChart.destroy();
    this.waitChart.destroy();
    this.root.remove();
  }

  render(a: AgentState, nowMs: number, straggler: Straggler | null, labels: Map<string, string>): void {
    this.dirty = false;
    const status = statusOf(a, nowMs);
    const s = a.snapshot;
    const report = reportOf(s);
    const isStraggler = straggler?.key === a.key && straggler.clear;
    this.root.classList.toggle("is-straggler", isStraggler);
    this.root.dataset.state = a.connection.kind;
    const host = a.hello?.host;
    show(
      this.head,
      h("div", { class: "title" },
        h("span", { class: "name" }, labels.get(a.key) ?? a.url),
        h("span", { class: `badge tone-${status.tone}`, attrs: { "data-k": "status" } }, status.label),
        isStraggler ? h("span", { class: "badge tone-straggler" }, `straggler · trainer waits ${share(straggler!.wait.share)}`) : null,
        this.onRemove ? h("button", { class: "remove", title: "stop watching this agent", on: { click: this.onRemove } }, "×") : null),
      h("div", { class: "sub muted" }, host ? `${host.hostname} · Linux ${host.kernel} · ${host.cpus} CPUs · ${host.numa_nodes} NUMA node${host.numa_nodes === 1 ? "" : "s"} · ` : "", a.url),
    );
    if (a.connection.kind === "auth-refused") {
      // no data from an agent that refused us, not even what an earlier connection showed
      show(this.stats);
      show(this.notice, h("div", { class: "warn" }, `The agent refused the token (${a.connection.reason}). Check the token in the fragment or the form.`));
      for (const part of [this.roles.root, this.diagnoses.root, this.hists.root, this.families.root, this.tasks.root]) part.hidden = true;
      return;
    }
    this.renderStats(a, s, report);
    const notices: Child[] = [];
    if (a.problem) notices.push(h("div", { class: "warn" }, a.problem));
    if (a.exited) notices.push(h("div", { class: "info" }, `${exitText(a.exited)}: ${s?.final ? "the panels show the whole session" : "waiting for the session summary"}`));
    if (s && s.lost_events > 0) notices.push(h("div", { class: "warn" }, `${count(s.lost_events)} events lost: totals are lower bounds`));
    if (!report) notices.push(h("div", { class: "muted" }, a.connection.kind === "live" ? `waiting for the first interval (every ${a.hello?.interval_s ?? "?"} s)…` : "no data yet"));
    show(this.notice, notices);
    for (const part of [this.roles.root, this.diagnoses.root, this.hists.root, this.families.root, this.tasks.root]) part.hidden = !report;
    if (!report || !s) return;
    show(this.roles.body, rolesTable(report));
    this.renderCharts(s);
    show(this.diagnoses.body, diagnosesList(report.diagnoses, a.changes));
    show(this.hists.body, h("div", { class: "hists" }, histograms(report).map(histogramBlock)));
    show(this.families.body, familiesLine(report));
    show(this.tasks.body, tasksTable(report, this.withThreads));
  }

  private renderStats(a: AgentState, s: Snapshot | null, r: Report | null): void {
    if (!a.hello && !s) return show(this.stats); // never reached: nothing to tell yet
    const dropped = framesDropped(a);
    const t = s?.target ?? a.hello?.target;
    const nowCpus = s?.interval && !s.final ? s.interval.sched.oncpu_ns / Math.max(s.interval.duration_s * 1e9, 1) : null;
    show(
      this.stats,
      stat("target", "target", t ? `${t.comm} (pid ${t.pid})` : "–", t?.command),
      stat("uptime", "up", s ? duration(s.uptime_s * 1e9) : "–"),
      stat("interval", "every", `${s?.interval_s ?? a.hello?.interval_s ?? "?"} s`),
      stat("cpu-used", "CPU used", s ? duration(s.cpu_used_s * 1e9) : "–", "target on-CPU time since tracing began"),
      stat("cpus-now", "CPUs now", nowCpus === null ? "–" : cpus(nowCpus), "target on-CPU time / wall time, last interval"),
      stat("tasks", "procs · threads", r ? `${r.target.processes} · ${r.target.threads}` : "–"),
      stat("self-cpu", "mltrace", s ? `${(100 * s.self_cpu).toFixed(1)}% CPU` : "–", "the agent's own CPU, % of one core"),
      stat("lost", "events lost", s ? count(s.lost_events) : "–", undefined, s && s.lost_events > 0 ? "tone-bad" : undefined),
      stat("dropped", "frames dropped", [count(dropped.total), dropped.total > 0 ? h("span", { class: "unit" }, `gaps ${dropped.seqGaps} · agent ${dropped.agent}`) : null],
        `snapshots missed: seq gaps ${dropped.seqGaps}; the agent reports ${dropped.agent} held back from this page`, dropped.total > 0 ? "tone-bad" : undefined),
      stat("seq", "frame", s ? `#${s.seq}` : "–", a.rttMs === null ? "snapshot seq" : `snapshot seq; ping round trip ${a.rttMs} ms`),
    );
  }

  private renderCharts(s: Snapshot): void {
    const hist = [...s.history].sort((x, y) => roleRank(x.role) - roleRank(y.role));
    const n = Math.max(0, ...hist.map((x) => x.oncpu.length));
    const xs = historyXs(s, n);
    const pad = (v: number[]) => [...Array<number>(n - v.length).fill(NaN), ...v];
    this.onCpuChart.update(hist.map((x): SeriesDef => ({ label: x.role, colourVar: `--role-${x.role}` })), xs, hist.map((x) => pad(x.oncpu)));
    const wait = trainerWaitSeries(hist);
    this.waitChart.update(
      [{ label: "run queue", colourVar: "--runq" }, { label: "off-CPU", colourVar: "--offcpu-line" }],
      xs,
      [pad(wait.runq.map((x) => 100 * x)), pad(wait.offcpu.map((x) => 100 * x))],
    );
  }
}
