// The readable summary `mltrace stat` prints (and one line per interval).
import type { Report } from "../model/report.js";
import { bytes, count, duration, histogramLines, micros, percent, perSecond, table } from "./format.js";

function exitLine(t: Report["target"]): string {
  if (t.exit_signal !== undefined) return `killed by signal ${t.exit_signal}`;
  if (t.exit_code !== undefined) return `exited with code ${t.exit_code}`;
  return "still running when tracing stopped";
}

export function statText(r: Report): string {
  const s = r.sched;
  const wall = r.duration_s * 1e9;
  const offcpu = s.runq_wait_ns + s.sleep_ns + s.iowait_ns;
  const lines: string[] = [];
  lines.push(
    ``,
    ` mltrace stat for '${r.target.command}' (pid ${r.target.pid}):`,
    ` ${r.target.processes} processes, ${r.target.threads} threads, ${r.duration_s.toFixed(2)} s; target ${exitLine(r.target)}`,
    ``,
    ` Where the target's threads spent their time (summed over threads):`,
    ...table(
      [
        ["   on-CPU", duration(s.oncpu_ns), `${(s.oncpu_ns / Math.max(wall, 1)).toFixed(2)} CPUs`, `of ${r.host.cpus} online`],
        ["   runnable, waiting for a CPU", duration(s.runq_wait_ns), percent(s.runq_wait_ns, s.oncpu_ns + offcpu), "of thread time"],
        ["   sleeping", duration(s.sleep_ns), percent(s.sleep_ns, s.oncpu_ns + offcpu), ""],
        ["   blocked (D state, I/O wait)", duration(s.iowait_ns), percent(s.iowait_ns, s.oncpu_ns + offcpu), ""],
      ],
      new Set([1, 2]),
    ),
    ``,
    ...table(
      [
        ["   context switches, voluntary", count(s.switches_voluntary), perSecond(s.switches_voluntary, r.duration_s)],
        ["   context switches, involuntary", count(s.switches_involuntary), perSecond(s.switches_involuntary, r.duration_s)],
        ["   wakeups", count(s.wakeups), perSecond(s.wakeups, r.duration_s)],
        ["   CPU migrations", count(s.migrations), perSecond(s.migrations, r.duration_s)],
      ],
      new Set([1, 2]),
    ),
    ``,
    ` Run-queue latency: p50 ${micros(s.runq_latency_us.p50)}, p90 ${micros(s.runq_latency_us.p90)}, p99 ${micros(s.runq_latency_us.p99)}`,
    ...histogramLines(s.runq_latency_hist),
    ``,
    ` Off-CPU sleeps: p50 ${micros(s.offcpu_us.p50)}, p90 ${micros(s.offcpu_us.p90)}, p99 ${micros(s.offcpu_us.p99)}`,
    ...histogramLines(s.offcpu_hist),
    ``,
    ...faultLines(r),
    ``,
    ...ioLines(r),
    ``,
    ...numaLines(r),
    ``,
    ` Processes:`,
    ...table(
      [
        ["   PID", "PPID", "COMM", "ROLE", "THR", "ON-CPU", "RUNQ", "SLEEP", "BLOCKED", "VCSW", "IVCSW", "MINFLT", "MAJFLT", "READ", "WRITE", "STATUS"],
        ...r.processes.map((p) => [
          `   ${p.pid}`,
          String(p.ppid),
          p.comm,
          roleLabel(p),
          String(p.threads),
          duration(p.oncpu_ns),
          duration(p.runq_wait_ns),
          duration(p.sleep_ns),
          duration(p.iowait_ns),
          count(p.switches_voluntary),
          count(p.switches_involuntary),
          count(p.faults_minor),
          count(p.faults_major),
          bytes(p.read_bytes),
          bytes(p.write_bytes),
          p.exit_signal !== undefined ? `signal ${p.exit_signal}` : p.exit_code !== undefined ? `exit ${p.exit_code}` : p.exited ? "exited" : "running",
        ]),
      ],
      new Set([0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
    ),
  );
  lines.push(...foldedLines(r));
  lines.push(``, ` Diagnoses:`, ...diagnosisLines(r));
  lines.push(``, ` Preempted by (tasks outside the target that took a CPU from it):`);
  if (s.preempted_by.length === 0) lines.push("    (none)");
  else lines.push(...table(s.preempted_by.map((n) => [`    ${n.pid}`, n.comm, `${count(n.count)} times`]), new Set([0, 2])));
  lines.push(``, lostLine(r), ``);
  return lines.join("\n");
}

function faultLines(r: Report): string[] {
  const f = r.faults;
  const lines = [` Page faults: ${count(f.minor)} minor (${perSecond(f.minor, r.duration_s)}), ${count(f.major)} major (${perSecond(f.major, r.duration_s)})`];
  if (!f.available) return [...lines, "    (per-fault details unavailable on this kernel: see `mltrace doctor`)"];
  lines.push(
    `    fault exceptions: ${count(f.exceptions_user)} in user mode, ${count(f.exceptions_kernel)} in kernel mode`,
    `    major faults: ${count(f.major_file)} file-backed (mmap'd data, code), ${count(f.major_anon)} anonymous (swap)` +
      (f.major_unclassified ? `, ${count(f.major_unclassified)} unclassified` : ""),
  );
  if (f.major > 0) {
    lines.push(`    major fault latency: p50 ${micros(f.major_latency_us.p50)}, p90 ${micros(f.major_latency_us.p90)}, p99 ${micros(f.major_latency_us.p99)}`);
    lines.push(...histogramLines(f.major_latency_hist));
  }
  return lines;
}

function ioLines(r: Report): string[] {
  const io = r.io;
  if (!io.available) return [" Block I/O: unavailable on this kernel (see `mltrace doctor`)"];
  const lines = [
    ` Block I/O the target submitted: ${count(io.read_ops)} reads, ${bytes(io.read_bytes)}; ${count(io.write_ops)} writes, ${bytes(io.write_bytes)}; ` +
      `${count(io.pagecache_misses)} page-cache misses`,
  ];
  if (io.read_ops + io.write_ops === 0) return lines;
  lines.push(
    `    queued: p50 ${micros(io.queue_latency_us.p50)}, p99 ${micros(io.queue_latency_us.p99)}; ` +
      `on the device: p50 ${micros(io.device_latency_us.p50)}, p99 ${micros(io.device_latency_us.p99)}`,
    ...table(
      io.devices.map((d) => [`    ${d.name} (${d.major}:${d.minor})`, `read ${bytes(d.read_bytes)} in ${count(d.read_ops)}`, `written ${bytes(d.write_bytes)} in ${count(d.write_ops)}`]),
    ),
  );
  return lines;
}

function numaLines(r: Report): string[] {
  const n = r.numa;
  if (!n.available) {
    return n.nodes === 1
      ? [" NUMA: this machine has a single node, so placement cannot slow the target here (nothing measured)"]
      : [` NUMA: ${n.nodes} nodes, but placement could not be traced on this kernel (see \`mltrace doctor\`)`];
  }
  const allocs = (n.local_allocs ?? 0) + (n.remote_allocs ?? 0);
  return [
    ` NUMA (${n.nodes} nodes): ${count(n.local_allocs ?? 0)} page allocations local, ${count(n.remote_allocs ?? 0)} remote ` +
      `(${percent(n.remote_allocs ?? 0, allocs)}), ${count(n.miss_allocs ?? 0)} spilled off their preferred node`,
    `    ${count(n.cross_node_migrations ?? 0)} migrations across nodes; NUMA balancing: ${count(n.balancing_moves ?? 0)} moves, ` +
      `${count(n.balancing_swaps ?? 0)} swaps, ${count(n.page_migrations ?? 0)} pages migrated`,
    ...table(
      n.memory_per_node.map((m) => [`    node ${m.node}`, `target ${bytes(m.target_bytes)}`, `free ${bytes(m.free_bytes)} of ${bytes(m.total_bytes)}`]),
    ),
  ];
}

/** Exited tasks the session stopped listing one by one: counted above, summed here per name. */
function foldedLines(r: Report): string[] {
  const f = r.folded;
  if (f.processes === 0 && f.threads === 0) return [];
  return [
    ``,
    ` Folded: ${count(f.processes)} exited processes and ${count(f.threads)} exited threads are not listed above, only counted ` +
      `(every total includes them); the processes by name:`,
    ...table(
      [
        ["   COMM", "ROLE", "PROCS", "THR", "ON-CPU", "RUNQ", "SLEEP", "BLOCKED", "VCSW", "IVCSW", "MINFLT", "MAJFLT", "READ", "WRITE"],
        ...f.by_name.map((n) => [
          `   ${n.comm}`,
          n.role,
          count(n.processes),
          count(n.threads),
          duration(n.oncpu_ns),
          duration(n.runq_wait_ns),
          duration(n.sleep_ns),
          duration(n.iowait_ns),
          count(n.switches_voluntary),
          count(n.switches_involuntary),
          count(n.faults_minor),
          count(n.faults_major),
          bytes(n.read_bytes),
          bytes(n.write_bytes),
        ]),
      ],
      new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]),
    ),
  ];
}

/** "dataloader 2" for worker 2, the role otherwise. */
export function roleLabel(p: { role: string; worker_index?: number }): string {
  return p.worker_index === undefined ? p.role : `${p.role} ${p.worker_index}`;
}

function diagnosisLines(r: Report): string[] {
  if (r.diagnoses.length === 0) return ["    (none: no rule fired)"];
  return r.diagnoses.flatMap((d) => [
    `   [${d.severity}] ${d.id}: ${d.summary}`,
    `       evidence: ${Object.entries(d.evidence).map(([k, v]) => `${k}=${v}`).join(" ")}`,
    `       try: ${d.suggestion}`,
  ]);
}

function lostLine(r: Report): string {
  if (r.lost_events === 0) return ` Lost events: 0 (nothing dropped)`;
  const causes = Object.entries(r.losses)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name.replace(/_/g, " ")} ${count(n)}`)
    .join(", ");
  return ` Lost events: ${count(r.lost_events)} (${causes}): totals above are lower bounds`;
}

/** One line per --interval in text mode, like `perf stat -I`. */
export function intervalLine(r: Report): string {
  const s = r.sched;
  const wall = Math.max(r.duration_s, 1e-9) * 1e9;
  return [
    `${r.elapsed_s.toFixed(2).padStart(8)} s`,
    `on-CPU ${(s.oncpu_ns / wall).toFixed(2)} CPUs`,
    `runq ${(s.runq_wait_ns / wall).toFixed(2)}`,
    `sleep ${(s.sleep_ns / wall).toFixed(2)}`,
    `blocked ${(s.iowait_ns / wall).toFixed(2)}`,
    `vcsw ${perSecond(s.switches_voluntary, r.duration_s)}`,
    `ivcsw ${perSecond(s.switches_involuntary, r.duration_s)}`,
    `runq p99 ${micros(s.runq_latency_us.p99)}`,
    `minflt ${perSecond(r.faults.minor, r.duration_s)}`,
    `majflt ${perSecond(r.faults.major, r.duration_s)}`,
    `read ${bytes(r.io.read_bytes / Math.max(r.duration_s, 1e-9))}/s`,
    `write ${bytes(r.io.write_bytes / Math.max(r.duration_s, 1e-9))}/s`,
    `procs ${r.processes.length}`,
    r.lost_events ? `LOST ${count(r.lost_events)}` : "",
  ]
    .filter(Boolean)
    .join("  ");
}
