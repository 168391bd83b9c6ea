// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scheduler family: where each target thread's time goes (on-CPU, waiting on
 * a run queue, sleeping, blocked), context switches with the kernel's own
 * meaning, wakeups, migrations, log2 latency histograms, the outside tasks
 * that preempt the target, and the process tree (fork/exec/exit).
 *
 * Aggregated in the kernel: the `threads` map holds cumulative counters per
 * thread; only process lifecycle goes per event through the ring buffer.
 *
 * Every handler exists twice, as tp_btf (typed pointers, cheapest) and as a
 * raw_tp twin for kernels that refuse tp_btf; user space loads one of each.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sched.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/linux/sched.h task states (not in BTF: they are #defines). */
#define TASK_RUNNING 0x0000
#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_DEAD 0x0080

/* Target processes (tgid). Filled by user space at attach and by the fork
 * handler afterwards; the one map every family's filter reads. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLT_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u32);
} targets SEC(".maps");

/* Per-thread counters, keyed by tid. A thread is traced iff it has an entry:
 * this lookup is the filter, the first thing every hot handler does. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLT_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct mlt_sched_thread);
} threads SEC(".maps");

/* A zeroed thread record: too big for the 512-byte BPF stack, so new entries
 * are inserted from here. Never written. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mlt_sched_thread);
} blank_thread SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLT_MAX_NEIGHBOURS);
	__type(key, __u32);
	__type(value, struct mlt_neighbour);
} neighbours SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MLT_CTR_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MLT_EVENTS_BYTES);
} events SEC(".maps");

static __always_inline void count_drop(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		(*v)++;
}

/* Index of the log2-microsecond slot for a duration (see sched.h). */
static __always_inline __u32 hist_slot(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 slot = 0;

	/* slot = floor(log2(us)) + 1, by halving: bounded, so the verifier
	 * accepts it without a loop. */
	if (us >= (1ULL << 16)) { slot += 16; us >>= 16; }
	if (us >= (1ULL << 8))  { slot += 8;  us >>= 8; }
	if (us >= (1ULL << 4))  { slot += 4;  us >>= 4; }
	if (us >= (1ULL << 2))  { slot += 2;  us >>= 2; }
	if (us >= (1ULL << 1))  { slot += 1;  us >>= 1; }
	if (us)
		slot += 1;
	if (ns / 1000 >= (1ULL << 32))
		slot = MLT_HIST_SLOTS - 1;
	return slot < MLT_HIST_SLOTS ? slot : MLT_HIST_SLOTS - 1;
}

static __always_inline void note_neighbour(bool btf, struct task_struct *next)
{
	__u32 tgid = TASK_FIELD(btf, next, tgid);
	struct mlt_neighbour *nb = bpf_map_lookup_elem(&neighbours, &tgid);

	if (!nb) {
		struct mlt_neighbour fresh = {};

		BPF_CORE_READ_STR_INTO(&fresh.comm, next, group_leader, comm);
		if (bpf_map_update_elem(&neighbours, &tgid, &fresh, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&neighbours, &tgid)) {
			count_drop(MLT_CTR_NEIGHBOURS_DROPPED);
			return;
		}
		nb = bpf_map_lookup_elem(&neighbours, &tgid);
		if (!nb)
			return;
	}
	__sync_fetch_and_add(&nb->count, 1);
}

/* prev leaves the CPU (current == prev here). */
static __always_inline void switch_out(bool btf, bool preempt, struct mlt_sched_thread *t,
				       struct task_struct *prev, struct task_struct *next,
				       bool next_traced, __u64 now)
{
	__u32 state = task_state(prev);
	__u64 nv = TASK_FIELD(btf, prev, nvcsw);
	__u64 niv = TASK_FIELD(btf, prev, nivcsw);
	bool involuntary;

	if (t->phase == MLT_PHASE_RUNNING)
		t->oncpu_ns += now - t->since_ns;

	/* The kernel bumped exactly one of nvcsw/nivcsw just before this
	 * tracepoint; reading which one gives its own meaning of voluntary.
	 * Only a thread seeded at attach has no baseline yet: classify its
	 * first switch the way __schedule() does. */
	if (t->flags & MLT_THREAD_BASELINE) {
		involuntary = niv != t->seen_nivcsw;
		t->switches_voluntary += nv - t->seen_nvcsw;
		t->switches_involuntary += niv - t->seen_nivcsw;
	} else {
		involuntary = preempt || state == TASK_RUNNING;
		if (involuntary)
			t->switches_involuntary++;
		else
			t->switches_voluntary++;
		t->flags |= MLT_THREAD_BASELINE;
	}
	t->seen_nvcsw = nv;
	t->seen_nivcsw = niv;

	if (state & TASK_DEAD)
		t->phase = MLT_PHASE_DEAD;
	else if (state == TASK_RUNNING)
		t->phase = MLT_PHASE_RUNNABLE;
	else if (state & TASK_UNINTERRUPTIBLE)
		t->phase = MLT_PHASE_BLOCKED;
	else
		t->phase = MLT_PHASE_SLEEPING;
	t->since_ns = now;
	/* Threads rename themselves (prctl PR_SET_NAME) after fork. */
	bpf_get_current_comm(&t->comm, sizeof(t->comm));

	if (involuntary && !next_traced && TASK_FIELD(btf, next, pid) != 0)
		note_neighbour(btf, next);
}

static __always_inline void switch_in(struct mlt_sched_thread *t, __u64 now)
{
	if (t->phase == MLT_PHASE_RUNNABLE) {
		__u64 waited = now - t->since_ns;

		t->runq_wait_ns += waited;
		t->runq_hist[hist_slot(waited) & (MLT_HIST_SLOTS - 1)]++;
	}
	t->phase = MLT_PHASE_RUNNING;
	t->since_ns = now;
}

static __always_inline int on_switch(bool btf, bool preempt, struct task_struct *prev,
				     struct task_struct *next)
{
	__u32 prev_tid = TASK_FIELD(btf, prev, pid);
	__u32 next_tid = TASK_FIELD(btf, next, pid);
	struct mlt_sched_thread *p = bpf_map_lookup_elem(&threads, &prev_tid);
	struct mlt_sched_thread *n = bpf_map_lookup_elem(&threads, &next_tid);
	__u64 now = 0;

	/* Written as two tests, not `!p && !n`: clang would OR the two
	 * pointers, which the verifier refuses. */
	if (p) {
		now = bpf_ktime_get_ns();
		switch_out(btf, preempt, p, prev, next, n != NULL, now);
	}
	if (n) {
		if (!now)
			now = bpf_ktime_get_ns();
		switch_in(n, now);
	}
	return 0;
}

static __always_inline int on_wakeup(bool btf, struct task_struct *task, bool is_new)
{
	__u32 tid = TASK_FIELD(btf, task, pid);
	struct mlt_sched_thread *t = bpf_map_lookup_elem(&threads, &tid);
	__u64 now;

	if (!t)
		return 0;
	if (!is_new)
		__sync_fetch_and_add(&t->wakeups, 1);
	/* A wakeup can find the thread still on a CPU (it had not finished
	 * going to sleep): then there is no off-CPU interval to close. */
	if (t->phase == MLT_PHASE_SLEEPING || t->phase == MLT_PHASE_BLOCKED) {
		__u64 slept;

		now = bpf_ktime_get_ns();
		slept = now - t->since_ns;
		if (t->phase == MLT_PHASE_BLOCKED)
			t->iowait_ns += slept;
		else
			t->sleep_ns += slept;
		t->offcpu_hist[hist_slot(slept) & (MLT_HIST_SLOTS - 1)]++;
		t->phase = MLT_PHASE_RUNNABLE;
		t->since_ns = now;
	} else if (t->phase == MLT_PHASE_UNKNOWN) {
		t->phase = MLT_PHASE_RUNNABLE;
		t->since_ns = bpf_ktime_get_ns();
	}
	return 0;
}

static __always_inline int on_migrate(bool btf, struct task_struct *task)
{
	__u32 tid = TASK_FIELD(btf, task, pid);
	struct mlt_sched_thread *t = bpf_map_lookup_elem(&threads, &tid);

	if (t)
		__sync_fetch_and_add(&t->migrations, 1);
	return 0;
}

static __always_inline void emit(__u32 kind, __u32 pid, __u32 ppid, __s32 exit_code,
				 struct task_struct *comm_of)
{
	struct mlt_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_drop(MLT_CTR_EVENTS_DROPPED);
		return;
	}
	e->kind = kind;
	e->pid = pid;
	e->ppid = ppid;
	e->exit_code = exit_code;
	e->ts_ns = bpf_ktime_get_ns();
	BPF_CORE_READ_STR_INTO(&e->comm, comm_of, comm);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int on_fork(bool btf, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = TASK_FIELD(btf, parent, tgid);
	__u32 tid = TASK_FIELD(btf, child, pid);
	__u32 tgid = TASK_FIELD(btf, child, tgid);
	__u32 zero = 0, one = 1;
	struct mlt_sched_thread *blank, *t;

	if (!bpf_map_lookup_elem(&targets, &ptgid))
		return 0;
	if (tid == tgid) {
		/* A new process: from now on its threads are ours too. */
		if (bpf_map_update_elem(&targets, &tgid, &one, BPF_ANY)) {
			count_drop(MLT_CTR_TARGETS_DROPPED);
			return 0;
		}
		emit(MLT_EV_FORK, tgid, ptgid, 0, child);
	}
	blank = bpf_map_lookup_elem(&blank_thread, &zero);
	if (!blank)
		return 0;
	if (bpf_map_update_elem(&threads, &tid, blank, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&threads, &tid)) {
		count_drop(MLT_CTR_THREADS_DROPPED);
		return 0;
	}
	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t)
		return 0;
	t->tid = tid;
	t->tgid = tgid;
	/* With tid, a unique name for the thread even if its tid is reused. */
	t->start_ns = TASK_FIELD(btf, child, start_time);
	/* copy_process() starts nvcsw/nivcsw at zero: an exact baseline. */
	t->flags = MLT_THREAD_BASELINE;
	BPF_CORE_READ_STR_INTO(&t->comm, child, comm);
	return 0;
}

static __always_inline int on_exec(bool btf, struct task_struct *task)
{
	__u32 tgid = TASK_FIELD(btf, task, tgid);

	if (bpf_map_lookup_elem(&targets, &tgid))
		emit(MLT_EV_EXEC, tgid, 0, 0, task);
	return 0;
}

static __always_inline int on_exit(bool btf, struct task_struct *task)
{
	__u32 tgid = TASK_FIELD(btf, task, tgid);
	int live;

	if (!bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	/* do_exit() decrements signal->live before this tracepoint: zero
	 * means this is the process's last thread. */
	live = BPF_CORE_READ(task, signal, live.counter);
	if (live == 0)
		emit(MLT_EV_EXIT, tgid, 0, TASK_FIELD(btf, task, exit_code), task);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(mlt_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(true, preempt, prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(mlt_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(false, preempt, prev, next);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(mlt_wakeup_btf, struct task_struct *task)
{
	return on_wakeup(true, task, false);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(mlt_wakeup_raw, struct task_struct *task)
{
	return on_wakeup(false, task, false);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(mlt_wakenew_btf, struct task_struct *task)
{
	return on_wakeup(true, task, true);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(mlt_wakenew_raw, struct task_struct *task)
{
	return on_wakeup(false, task, true);
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(mlt_migrate_btf, struct task_struct *task)
{
	return on_migrate(true, task);
}

SEC("raw_tp/sched_migrate_task")
int BPF_PROG(mlt_migrate_raw, struct task_struct *task)
{
	return on_migrate(false, task);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(mlt_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(true, parent, child);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(mlt_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(false, parent, child);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(mlt_exec_btf, struct task_struct *task)
{
	return on_exec(true, task);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(mlt_exec_raw, struct task_struct *task)
{
	return on_exec(false, task);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(mlt_exit_btf, struct task_struct *task)
{
	return on_exit(true, task);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(mlt_exit_raw, struct task_struct *task)
{
	return on_exit(false, task);
}
