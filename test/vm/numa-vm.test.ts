// mltrace on a second kernel and on two NUMA nodes: boots Debian 12's own
// kernel (6.1) in a two-node qemu guest (test/vm/vm.sh) and runs
// test/vm/guest-checks.mjs in it once; this file checks what it measured.
//
// The kernel's NUMA counters are system-wide and mltrace counts the target
// only, so the guest runs nothing but the checks (its PID 1 is a shell
// waiting on them), and the workload reads the counters itself around its
// phases, pinned to CPU 0 (node 0). What else still runs there: mltrace's
// own node process, pinned to CPU 1 so its allocations are node 1's
// local_node (unpinned, it once put 900 pages on node 0 during the first
// phase), and the workload's own start-up and exit, outside the window,
// which mltrace counts too (about 30 pages in a run without memory phases).
// With them, mltrace's local count runs ~200 pages (0.5%) above node 0's
// local_node in every run so far, for a reason not yet pinned down (not the
// freeing: the workload unmaps inside its window). Hence each
// comparison is made on the counter the target drives:
// node 0's local_node for its local pages, node 1's other_node for its
// remote ones, numa_miss for spills, where those extras stay below 1% of
// the pages. Block I/O and the spine's truth test run there too, so every
// family is checked on 6.1 against the kernel's own accounting, not only
// loaded.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { root } from "../helpers/mltrace.js";
import { parseReaped, parseRusage } from "../helpers/rusage.js";

interface GuestResult {
  kernel: string;
  booted_s: number;
  total_s: number;
  doctor: { status: number; stderr: string; seconds: number; report: { can_trace: boolean; kernel_verified: boolean; numa_nodes: number; checks: { name: string; ok: boolean }[]; tracepoints: { family: string; tracepoint: string; tp_btf: boolean; raw_tp: boolean; mode: string; used: boolean }[] } };
  numa: {
    status: number;
    stderr: string;
    seconds: number;
    numa: { nodes: number; available: boolean; cross_node_migrations: number; local_allocs: number; remote_allocs: number; miss_allocs: number };
    sched: { migrations: number };
    duration_s: number;
    diagnoses: { id: string; severity: string; evidence: Record<string, number>; subjects: { kind: string; pid: number | null; tid: number | null }[] }[];
    target: { pid: number };
    kernel: Record<string, number>;
  };
  throttle: {
    setup: { status: number; stderr: string };
    status: number;
    stderr: string;
    seconds: number;
    cpu_limits: Record<string, number | string | null>;
    diagnoses: { id: string; evidence: Record<string, number>; subjects: { kind: string; name: string }[] }[];
    cpu_stat: string;
  };
  io: { status: number; stderr: string; seconds: number; worker_pid: number; report: any };
  truth: { status: number; stderr: string; seconds: number; report: any; rusage: string };
}

const MiB = 1 << 20;

/** |actual − expected| within `fraction` of `of` (expected by default). */
function near(actual: number, expected: number, fraction = 0.01, of = expected): boolean {
  return Math.abs(actual - expected) <= fraction * of;
}

describeEbpf("two NUMA nodes on Debian's 6.1 kernel (qemu guest)", () => {
  let guest: GuestResult;

  beforeAll(async () => {
    const started = Date.now();
    // Asynchronously: a worker blocked for two minutes loses vitest's RPC.
    const boot = () => {
      const child = spawn(join(root, "test", "vm", "vm.sh"), ["--timeout", "230", "--", "node test/vm/guest-checks.mjs"], { cwd: root });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
        child.on("close", (status) => resolve({ status, stdout, stderr })),
      );
    };
    // vm.sh exits 125 when the guest never finished (a stalled emulated
    // boot, seen once in many runs): one more boot before failing.
    let run = await boot();
    if (run.status === 125) run = await boot();
    expect(run.status, `vm.sh: ${run.stderr}`).toBe(0);
    guest = JSON.parse(run.stdout);
    console.log(
      `guest ${guest.kernel}: booted in ${guest.booted_s.toFixed(1)} s, doctor ${guest.doctor.seconds.toFixed(1)} s, ` +
        `checks done at ${guest.total_s.toFixed(1)} s, ${((Date.now() - started) / 1000).toFixed(1)} s on the host in all`,
    );
  }, 400_000);

  it("doctor loads and attaches every family on 6.1 and sees two nodes", () => {
    const d = guest.doctor;
    expect(guest.kernel).toMatch(/^6\.1\./);
    expect(d.status, d.stderr).toBe(0);
    expect(d.report.can_trace).toBe(true);
    expect(d.report.kernel_verified).toBe(true);
    expect(d.report.numa_nodes).toBe(2);
    expect(d.report.checks.filter((c) => !c.ok)).toEqual([]);
    for (const family of ["sched", "faults", "io", "numa"]) {
      expect(d.report.checks.find((c) => c.name === `${family} probes`)?.ok, family).toBe(true);
    }
    // No block_io_start before 6.5: the io family's stand-in is used.
    const io = d.report.tracepoints.filter((t) => t.family === "io").map((t) => t.tracepoint);
    expect(io).toContain("block_getrq");
    expect(io).not.toContain("block_io_start");
    for (const t of d.report.tracepoints) {
      // Loaded and attached in both modes; tp_btf chosen.
      expect(t.tp_btf && t.raw_tp, `${t.family}/${t.tracepoint}`).toBe(true);
      expect(t.mode, `${t.family}/${t.tracepoint}`).toBe("tp_btf");
      expect(t.used, `${t.family}/${t.tracepoint}`).toBe(true);
    }
  });

  it("NUMA placement: local, remote, misses and cross-node migrations equal the kernel's counts", () => {
    const { status, stderr, seconds, numa, sched, kernel: k } = guest.numa;
    console.log(`numa (${seconds.toFixed(1)} s): mltrace ${JSON.stringify({ ...numa, memory_per_node: undefined })}, kernel deltas ${JSON.stringify(k)}`);
    expect(status, stderr).toBe(0);
    expect(stderr).toBe("");
    expect(numa.available).toBe(true);
    expect(numa.nodes).toBe(2);

    // First, that each phase did what it says, by the kernel's own account
    // (system-wide: a stray page from another task is not a failure, so
    // "nothing" below means under 1% of the phase's pages).
    // Memory bound to node 1 from CPU 0: 64 MiB of 4 KiB pages, remote.
    expect(k["bind1.node1.other_node"]).toBeGreaterThanOrEqual(16384);
    expect(k["bind1.vmstat.numa_miss"]).toBeLessThan(164); // bound, not spilled: node 1 had room
    // Bound to node 0: local, nothing elsewhere.
    expect(k["bind0.node0.local_node"]).toBeGreaterThanOrEqual(16384);
    expect(k["bind0.vmstat.other_node"]).toBeLessThan(164);
    // Node 0 overfilled: the rest went to node 1, a miss there (at least the
    // 32 MiB asked past node 0's free memory, less the reserve it keeps).
    expect(k["spill.node1.numa_miss"]).toBeGreaterThan(4000);
    // 400 moves between CPU 0 and CPU 1.
    expect(k["hop.nr_migrations"]).toBe(400);

    // Then mltrace against the kernel over all phases, within 1%. The
    // target runs on CPU 0, so its local pages are node 0's local_node,
    // its remote ones node 1's other_node.
    expect(near(numa.local_allocs, k["node0.local_node"]!), "local").toBe(true);
    expect(near(numa.remote_allocs, k["node1.other_node"]!), "remote").toBe(true);
    // Its misses preferred node 0 (its CPU's) and landed on node 1: node
    // 1's numa_miss. (Node 0's numa_miss moves too once node 1 is nearly
    // full: mltrace's own allocations on CPU 1, spilling the other way.)
    expect(near(numa.miss_allocs, k["node1.numa_miss"]!), "miss").toBe(true);
    // One CPU per node: every migration of this task crosses nodes. Both
    // sides count its whole life (fork placement included).
    expect(near(numa.cross_node_migrations, k["nr_migrations_life"]!), "migrations").toBe(true);
    expect(near(sched.migrations, k["nr_migrations_life"]!), "sched migrations").toBe(true);
  });

  it("numa-remote: the placement workload's pages bound to node 1 from CPU 0, and its moves across nodes", () => {
    const { diagnoses, kernel: k, duration_s, target } = guest.numa;
    const d = diagnoses.find((x) => x.id === "numa-remote");
    expect(d, JSON.stringify(diagnoses)).toBeDefined();
    // The workload is one thread: it is the subject, and the evidence is its own counts, the kernel's within 1%.
    expect(d!.subjects[0]).toMatchObject({ kind: "thread", pid: target.pid, tid: target.pid });
    expect(near(d!.evidence.remote_allocs!, k["node1.other_node"]!), "remote").toBe(true);
    expect(near(d!.evidence.cross_node_migrations_per_s! * duration_s, k["nr_migrations_life"]!, 0.02), "moves").toBe(true);
    // The truth run (pinned to CPU 0, memory local, no moves) is the healthy twin.
    expect(guest.truth.report.diagnoses.map((x: { id: string }) => x.id)).not.toContain("numa-remote");
  });

  it("cpu-throttled under a cgroup v2 quota: cpu.max read, throttling equal to cpu.stat", () => {
    const t = guest.throttle;
    expect(t.setup.status, t.setup.stderr).toBe(0);
    // timeout(1) ends the busy shell and exits 124; mltrace exits with its command's status.
    expect(t.status, t.stderr).toBe(124);
    const stat = Object.fromEntries(t.cpu_stat.trim().split("\n").map((l) => l.split(" ")));
    console.log(`throttle (${t.seconds.toFixed(1)} s): mltrace ${JSON.stringify(t.cpu_limits)}, cpu.stat ${JSON.stringify(stat)}`);
    expect(t.cpu_limits).toMatchObject({ cgroup_cpus: 0.5, cgroup_version: 2, cgroup_path: "/quota", cgroup_throttled_periods: Number(stat.nr_throttled) });
    // throttled_usec in µs; mltrace keeps ns.
    expect(t.cpu_limits.cgroup_throttled_ns).toBe(Number(stat.throttled_usec) * 1000);
    expect(Number(stat.nr_periods) - Number(t.cpu_limits.cgroup_periods)).toBeGreaterThanOrEqual(0);
    // The quota's period timer may count a period or two after the last task left.
    expect(Number(stat.nr_periods) - Number(t.cpu_limits.cgroup_periods)).toBeLessThanOrEqual(2);
    const d = t.diagnoses.find((x) => x.id === "cpu-throttled");
    expect(d, JSON.stringify(t.diagnoses)).toBeDefined();
    expect(d!.evidence.quota_cpus).toBe(0.5);
    expect(d!.evidence.cgroup_version).toBe(2);
    expect(d!.subjects).toEqual([expect.objectContaining({ kind: "cgroup", name: "/quota" })]);
  });

  it("block I/O is charged to the worker that submitted it on 6.1 too (block_getrq)", () => {
    const { status, stderr, seconds, worker_pid, report } = guest.io;
    expect(status, stderr).toBe(0);
    expect(stderr).toBe("");
    expect(report.host.attach_modes.block_getrq).toBe("tp_btf");
    const worker = report.processes.find((p: { pid: number }) => p.pid === worker_pid);
    const parent = report.processes.find((p: { pid: number }) => p.pid === report.target.pid);
    console.log(`io (${seconds.toFixed(1)} s): worker read ${worker?.read_bytes} write ${worker?.write_bytes}; parent ${parent?.read_bytes}/${parent?.write_bytes}; devices ${JSON.stringify(report.io.devices)}`);
    expect(worker.ppid).toBe(report.target.pid);
    expect(near(worker.read_bytes, 16 * MiB)).toBe(true);
    expect(near(worker.write_bytes, 16 * MiB)).toBe(true);
    expect(parent.read_bytes + parent.write_bytes).toBe(0); // its program came over 9p, no block device
    expect(report.io.devices).toHaveLength(1);
    expect(report.io.devices[0].name).toBe("vda");
    const completions = report.io.device_latency_hist.reduce((n: number, b: { count: number }) => n + b.count, 0);
    expect(completions).toBeLessThanOrEqual(report.io.read_ops + report.io.write_ops);
    expect(completions).toBeGreaterThanOrEqual(0.97 * (report.io.read_ops + report.io.write_ops));
  });

  it("switch counts and on-CPU time equal getrusage on 6.1 too (the spine's truth test)", () => {
    const t = guest.truth;
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toBe("");
    const report = t.report;
    expect(report.lost_events).toBe(0);
    expect(report.processes).toHaveLength(3);
    const rows = parseRusage(t.rusage);
    const reaped = parseReaped(t.rusage);
    expect(rows.map((r) => r.role).sort()).toEqual(["trainer", "worker", "worker"]);
    for (const r of rows) {
      const p = report.processes.find((q: { pid: number }) => q.pid === r.pid);
      const what = `${r.role} ${r.pid} (${t.seconds.toFixed(1)} s): mltrace ${JSON.stringify({ v: p?.switches_voluntary, iv: p?.switches_involuntary, cpu: p?.oncpu_ns, runq: p?.runq_wait_ns })} vs getrusage ${JSON.stringify(r)}`;
      console.log(what);
      expect(p, what).toBeDefined();
      expect(r.nvcsw, what).toBeGreaterThan(200);
      expect(near(p.switches_voluntary, r.nvcsw), what).toBe(true);
      // Each process reads getrusage (and schedstat) just before it exits;
      // mltrace also sees the exit path after that. On the host that path
      // takes microseconds; emulated, among four busy threads on the same
      // CPU, it took 10-29 ms on the CPU, up to 15 ms in the run queue and
      // up to 3 preemptions per worker in our runs (longer when the host is
      // busy). So here mltrace may exceed the process's own reading by the
      // host's tolerance or an exit-path allowance (50 ms, 8 switches),
      // whichever is larger, and fall short of it by no more than the host's
      // tolerance (switches: not at all).
      const exitNs = 50e6;
      // A worker's rusage as the trainer's wait4() got it includes its exit
      // path: on-CPU time and switches within the host's tolerance, nothing
      // allowed for the exit (under emulation the path after its own
      // reading took up to 95 ms on a loaded host).
      const final = reaped.get(r.pid);
      if (r.role === "worker") {
        expect(final, `${what}: no wait4 row`).toBeDefined();
        const whatFinal = `${what}; wait4 ${JSON.stringify(final)}`;
        expect(near(p.oncpu_ns, final!.cpu_ns, 0.02), whatFinal).toBe(true);
        expect(near(p.switches_voluntary, final!.nvcsw), whatFinal).toBe(true);
        expect(Math.abs(p.switches_involuntary - final!.nivcsw), whatFinal).toBeLessThanOrEqual(Math.max(1, 0.01 * final!.nivcsw));
      }
      expect(p.oncpu_ns, what).toBeGreaterThanOrEqual(0.98 * r.cpu_ns);
      if (r.role !== "worker") {
        // The trainer is the root: nobody inside the guest reaps it with wait4.
        expect(p.oncpu_ns - r.cpu_ns, what).toBeLessThanOrEqual(Math.max(0.02 * r.cpu_ns, exitNs));
        expect(p.switches_involuntary - r.nivcsw, what).toBeLessThanOrEqual(Math.max(8, 0.01 * r.nivcsw));
      }
      expect(p.switches_involuntary, what).toBeGreaterThanOrEqual(r.nivcsw);
      if (r.role === "worker") {
        // Single-threaded: its thread's schedstat run_delay is the process's.
        // How long a worker waits depends on how the emulated CPU interleaves
        // it with the trainer: usually about a second, but one clean-clone
        // run saw 9.8 ms and no preemption at all (mltrace: the same 9.8 ms,
        // to the nanosecond). 1 ms, summed over some 600 wake-ups, is still
        // a sum worth comparing.
        expect(r.run_delay_ns, what).toBeGreaterThan(1e6);
        expect(p.runq_wait_ns, what).toBeGreaterThanOrEqual(0.98 * r.run_delay_ns);
        expect(p.runq_wait_ns - r.run_delay_ns, what).toBeLessThanOrEqual(Math.max(0.02 * r.run_delay_ns, exitNs));
      } else {
        expect(r.nivcsw, what).toBeGreaterThan(150);
      }
    }
  });
});
