// /metrics: the session in Prometheus' text format (prom-client). Counters
// are cumulative since the session began, as Prometheus expects (it takes
// rates itself): the sum of the interval reports, raised to the final
// report's totals when the target ends (its last partial interval is only
// there). Nothing here goes down, so a restart of mltrace reads as a reset.
import { Counter, Gauge, Registry } from "prom-client";
import type { TopSnapshot } from "../model/live.js";
import type { Report } from "../model/report.js";

type Labels = Record<string, string>;
type CounterName = keyof FeedMetrics["counters"];

export class FeedMetrics {
  readonly registry = new Registry();
  /** what each counter series has been raised to so far, by counter name and labels */
  private readonly totals = new Map<string, number>();
  private readonly counters = {
    oncpu: this.counter("mltrace_sched_oncpu_seconds_total", "Time the target's threads ran on a CPU, by role.", ["role"]),
    runq: this.counter("mltrace_sched_runq_wait_seconds_total", "Time the target's threads waited runnable for a CPU, by role.", ["role"]),
    sleep: this.counter("mltrace_sched_sleep_seconds_total", "Time the target's threads slept (off-CPU, not I/O), by role.", ["role"]),
    iowait: this.counter("mltrace_sched_iowait_seconds_total", "Time the target's threads waited for I/O, by role.", ["role"]),
    faults: this.counter("mltrace_page_faults_total", "Page faults of the target, by type (minor, major).", ["type"]),
    readBytes: this.counter("mltrace_io_read_bytes_total", "Bytes of block reads the target's threads submitted.", []),
    writeBytes: this.counter("mltrace_io_write_bytes_total", "Bytes of block writes the target's threads submitted.", []),
    lost: this.counter("mltrace_lost_events_total", "Events and tasks mltrace could not record (totals are lower bounds when non-zero).", []),
  };
  private readonly diagnoses = new Gauge({ name: "mltrace_diagnosis_active", help: "1 while a diagnosis fires, by id; 0 once it stopped.", labelNames: ["id"], registers: [this.registry] });
  /** the seq of the latest snapshot, so a scrape can be matched with feed frames */
  readonly snapshots = new Counter({ name: "mltrace_snapshots_total", help: "Snapshots published; the latest one's feed seq.", registers: [this.registry] });
  readonly framesSent = new Counter({ name: "mltrace_feed_frames_sent_total", help: "Feed frames sent, over all clients.", registers: [this.registry] });
  readonly framesDropped = new Counter({ name: "mltrace_feed_frames_dropped_total", help: "Feed frames not sent to a client that read too slowly.", registers: [this.registry] });
  readonly internalErrors = new Counter({
    name: "mltrace_serve_internal_errors_total",
    help: "Requests mltrace failed to answer through a fault of its own (answered 500 or closed); each is a bug worth reporting.",
    registers: [this.registry],
  });

  constructor(clients: () => number) {
    new Gauge({
      name: "mltrace_feed_clients",
      help: "WebSocket feed clients connected.",
      registers: [this.registry],
      collect() {
        this.set(clients());
      },
    });
  }

  private counter(name: string, help: string, labelNames: string[]): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private total(name: CounterName, labels: Labels): number {
    return this.totals.get(`${name}${JSON.stringify(labels)}`) ?? 0;
  }

  /** Raises a series to `total` (never lowers it); a series seen once is shown, zeros too. */
  private raise(name: CounterName, labels: Labels, total: number): void {
    const before = this.total(name, labels);
    if (total <= before) {
      if (total === 0) this.counters[name].inc(labels, 0);
      return;
    }
    this.counters[name].inc(labels, total - before);
    this.totals.set(`${name}${JSON.stringify(labels)}`, total);
  }

  private add(name: CounterName, labels: Labels, delta: number): void {
    this.raise(name, labels, this.total(name, labels) + delta);
  }

  /** One published snapshot: an interval adds to the counters, the final one raises them to its totals. */
  observe(snap: TopSnapshot): void {
    const report = snap.final ?? snap.interval;
    if (!report) return;
    const put = snap.final ? this.raise.bind(this) : this.add.bind(this);
    for (const r of report.roles) {
      const role = { role: r.role };
      put("oncpu", role, r.oncpu_ns / 1e9);
      put("runq", role, r.runq_wait_ns / 1e9);
      put("sleep", role, r.sleep_ns / 1e9);
      put("iowait", role, r.iowait_ns / 1e9);
    }
    put("faults", { type: "minor" }, report.faults.minor);
    put("faults", { type: "major" }, report.faults.major);
    put("readBytes", {}, report.io.read_bytes);
    put("writeBytes", {}, report.io.write_bytes);
    // Already cumulative in every snapshot.
    this.raise("lost", {}, snap.lost_events);
    this.setDiagnoses(report);
  }

  private readonly seenDiagnoses = new Set<string>();

  private setDiagnoses(report: Report): void {
    const active = new Set<string>(report.diagnoses.map((d) => d.id));
    for (const id of active) this.seenDiagnoses.add(id);
    for (const id of this.seenDiagnoses) this.diagnoses.set({ id }, active.has(id) ? 1 : 0);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
