import { expect, it } from "vitest";
import { describeEbpf } from "../helpers/ebpf.js";
import { mltraceSync } from "../helpers/mltrace.js";

describeEbpf("doctor", () => {
  it("loads every probe in both attach modes and says what it will use", () => {
    const r = mltraceSync(["doctor", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.can_trace).toBe(true);
    expect(d.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    const tracepoints = d.tracepoints.map((t: { family: string; tracepoint: string }) => `${t.family}/${t.tracepoint}`).sort();
    expect(tracepoints).toEqual(
      [
        "faults/mm_filemap_add_to_page_cache",
        "faults/page_fault_kernel",
        "faults/page_fault_user",
        "faults/mm_vmscan_direct_reclaim_begin",
        "faults/mm_vmscan_direct_reclaim_end",
        "faults/mm_vmscan_memcg_reclaim_begin",
        "faults/mm_vmscan_memcg_reclaim_end",
        "io/block_io_start",
        "io/block_rq_complete",
        "io/block_rq_issue",
        "io/mm_filemap_add_to_page_cache",
        "numa/mm_migrate_pages",
        "numa/mm_page_alloc",
        "numa/sched_migrate_task",
        "numa/sched_move_numa",
        "numa/sched_swap_numa",
        "sched/sched_process_exec",
        "sched/sched_process_exit",
        "sched/sched_process_fork",
        "sched/sched_switch",
        "sched/task_rename",
      ].sort(),
    );
    for (const t of d.tracepoints) expect(t).toMatchObject({ tp_btf: true, raw_tp: true, mode: "tp_btf" });
    expect(d.numa_nodes).toBeGreaterThanOrEqual(1);
    expect(typeof d.hardware_pmu).toBe("boolean");
  });

  it("prints a readable table and says plainly what it cannot measure", () => {
    const r = mltraceSync(["doctor"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/sched\/sched_switch\s+yes\s+yes\s+tp_btf/);
    expect(r.stdout).toMatch(/Tracing can run\./);
    expect(r.stdout).toMatch(/hardware PMU: (yes|no \(no cycle or instruction counts)/);
  });
});
