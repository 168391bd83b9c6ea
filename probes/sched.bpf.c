// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scheduler family: where each target thread's time goes (on-CPU, waiting on
 * a run queue, sleeping, blocked), context switches with the kernel's own
 * meaning, wakeups, migrations, log2 latency histograms, the outside tasks
 * that preempt the target, and the process tree (fork/exec/exit).
 *
 * Cost model: sched_switch is the only hot tracepoint. It does one hash
 * lookup (the filter) and, for a target thread leaving the CPU, a handful of
 * loads from its task_struct. Totals come from counters the kernel keeps
 * anyway (see sched.h), so no wakeup tracepoint and no clock read are needed.
 *
 * Every handler exists twice, as tp_btf (typed pointers, plain loads) and as
 * a raw_tp twin for kernels that refuse tp_btf; user space loads one of each.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sched.h"
#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "thread_slot.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/linux/sched.h task states (not in BTF: they are #defines). */
#define TASK_RUNNING 0x0000
#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_DEAD 0x0080

/* Target processes: tgid -> the process's identity (sched.h, mlt_proc_event).
 * Filled by user space at attach and by the fork handler afterwards; an
 * entry leaves with the process's last thread, so a reused pid is not
 * mistaken for a target. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLT_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u64);
} targets SEC(".maps");

/* Per-thread counters, one slot per traced thread. mmap()ed by user space,
 * which reads every slot without a system call. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLT_MAX_THREADS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mlt_sched_thread);
} records SEC(".maps");

/* Slots given back: user space pushes the slot of a dead thread once it has
 * read it; taking a slot tries here first. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, MLT_MAX_THREADS);
	__type(value, __u32);
} free_slots SEC(".maps");

/* Slots never handed out start at this count and go up. The fork handler and
 * user space (seeding the threads found at attach, through the mmap()ed page)
 * both take one with an atomic add, so nothing has to fill free_slots before
 * tracing starts (8192 pushes, one system call each, were most of the start). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} fresh_slots SEC(".maps");

/* A slot for a new thread: a given-back one, else a fresh one, else -1. */
static __always_inline __s64 take_slot(void)
{
	__u32 zero = 0, index;
	__u64 *next, fresh;

	if (!bpf_map_pop_elem(&free_slots, &index))
		return index;
	next = bpf_map_lookup_elem(&fresh_slots, &zero);
	if (!next)
		return -1;
	fresh = __sync_fetch_and_add(next, 1);
	return fresh < MLT_MAX_THREADS ? (__s64)fresh : -1;
}

/* A zeroed thread record: too big for the 512-byte BPF stack, so new records
 * are written from here. Never written itself. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mlt_sched_thread);
} blank_thread SEC(".maps");

/* The record of a traced thread, or NULL. */
static __always_inline struct mlt_sched_thread *record_of(__u32 tid, __u32 **slot_out)
{
	__u32 *slot = bpf_map_lookup_elem(&thread_slot, &tid);
	__u32 index;

	if (!slot || !*slot)
		return NULL;
	index = *slot - 1;
	if (slot_out)
		*slot_out = slot;
	return bpf_map_lookup_elem(&records, &index);
}

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

/* Start counting from the task's own counters as they are now. */
static __always_inline void take_baseline(bool btf, struct mlt_sched_thread *t, struct task_struct *task)
{
	t->seen_sum_exec = CORE_FIELD(btf, task, se.sum_exec_runtime);
	t->seen_run_delay = CORE_FIELD(btf, task, sched_info.run_delay);
	t->seen_pcount = CORE_FIELD(btf, task, sched_info.pcount);
	t->seen_nvcsw = CORE_FIELD(btf, task, nvcsw);
	t->seen_nivcsw = CORE_FIELD(btf, task, nivcsw);
	t->seen_migrations = CORE_FIELD(btf, task, se.nr_migrations);
	t->seen_min_flt = CORE_FIELD(btf, task, min_flt);
	t->seen_maj_flt = CORE_FIELD(btf, task, maj_flt);
	t->flags |= MLT_THREAD_BASELINE;
}

static __always_inline void note_neighbour(bool btf, struct task_struct *next)
{
	__u32 tgid = CORE_FIELD(btf, next, tgid);
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

/*
 * A run of the thread ends. Everything about the run and the off-CPU stretch
 * before it is now in the task's own counters: __schedule() has charged the
 * runtime (update_curr) and bumped exactly one of nvcsw/nivcsw just before
 * this tracepoint, and sched_info_arrive() added the wait that preceded the
 * run to run_delay and stamped its start in last_arrival when it began. So
 * one handler on one tracepoint, with no clock read, accounts the whole
 * cycle: off-CPU (sleep, then wait), then on-CPU.
 */
static __always_inline bool account_run(bool btf, bool preempt, struct mlt_sched_thread *t,
					struct task_struct *prev)
{
	__u32 state = task_state(btf, prev);
	bool involuntary;

	if (t->flags & MLT_THREAD_BASELINE) {
		__u64 sum_exec = CORE_FIELD(btf, prev, se.sum_exec_runtime);
		__u64 run_delay = CORE_FIELD(btf, prev, sched_info.run_delay);
		__u64 pcount = CORE_FIELD(btf, prev, sched_info.pcount);
		__u64 nv = CORE_FIELD(btf, prev, nvcsw);
		__u64 niv = CORE_FIELD(btf, prev, nivcsw);
		__u64 migrations = CORE_FIELD(btf, prev, se.nr_migrations);
		__u64 min_flt = CORE_FIELD(btf, prev, min_flt);
		__u64 maj_flt = CORE_FIELD(btf, prev, maj_flt);
		__u64 ran = sum_exec - t->seen_sum_exec;
		__u64 waited = run_delay - t->seen_run_delay;

		involuntary = niv != t->seen_nivcsw;
		t->oncpu_ns += ran;
		t->runq_wait_ns += waited;
		t->switches_voluntary += nv - t->seen_nvcsw;
		t->switches_involuntary += niv - t->seen_nivcsw;
		t->migrations += migrations - t->seen_migrations;
		t->faults_minor += min_flt - t->seen_min_flt;
		t->faults_major += maj_flt - t->seen_maj_flt;

		if (pcount != t->seen_pcount) {
			/* sched_info_arrive() stamped this run: its wait and
			 * start time are fresh. */
			__u64 arrived = CORE_FIELD(btf, prev, sched_info.last_arrival);

			t->runq_hist[hist_slot(waited) & (MLT_HIST_SLOTS - 1)]++;
			if ((t->phase == MLT_PHASE_SLEEPING || t->phase == MLT_PHASE_BLOCKED) && t->off_since &&
			    arrived > t->off_since) {
				/* Off-CPU from the last run's end to this one's
				 * start; the part not spent waiting was asleep. */
				__u64 off = arrived - t->off_since;
				__u64 slept = off > waited ? off - waited : 0;

				if (t->phase == MLT_PHASE_BLOCKED) {
					t->iowait_ns += slept;
					if (t->flags & MLT_THREAD_IN_IOWAIT)
						t->io_wait_ns += slept;
				} else
					t->sleep_ns += slept;
				t->offcpu_hist[hist_slot(slept) & (MLT_HIST_SLOTS - 1)]++;
				t->wakeups++;
			}
			/* This run's end on the same clock as last_arrival:
			 * its start plus what it ran. IRQ and steal time
			 * inside the run are not in sum_exec_runtime, so the
			 * next sleep may be longer by that much. */
			t->off_since = arrived + ran;
		} else {
			t->off_since = 0;
		}
		t->seen_sum_exec = sum_exec;
		t->seen_run_delay = run_delay;
		t->seen_pcount = pcount;
		t->seen_nvcsw = nv;
		t->seen_nivcsw = niv;
		t->seen_migrations = migrations;
		t->seen_min_flt = min_flt;
		t->seen_maj_flt = maj_flt;
	} else {
		/* Seeded at attach and first seen now: this run began before
		 * we looked, so only the switch itself is counted, classified
		 * the way __schedule() does. */
		involuntary = preempt || state == TASK_RUNNING;
		if (involuntary)
			t->switches_involuntary++;
		else
			t->switches_voluntary++;
		take_baseline(btf, t, prev);
		t->off_since = 0;
	}

	/* What the kernel itself calls I/O wait (io_schedule() sets in_iowait):
	 * block I/O, page-cache reads in flight; not every D-state sleep. */
	if (btf ? BPF_CORE_READ_BITFIELD(prev, in_iowait) : BPF_CORE_READ_BITFIELD_PROBED(prev, in_iowait))
		t->flags |= MLT_THREAD_IN_IOWAIT;
	else
		t->flags &= ~MLT_THREAD_IN_IOWAIT;
	if (state & TASK_DEAD)
		t->phase = MLT_PHASE_DEAD;
	else if (state == TASK_RUNNING)
		t->phase = MLT_PHASE_RUNNABLE;
	else if (state & TASK_UNINTERRUPTIBLE)
		t->phase = MLT_PHASE_BLOCKED;
	else
		t->phase = MLT_PHASE_SLEEPING;
	return involuntary;
}

/* The filter is one array lookup of prev; next is looked up only when prev
 * was preempted, to tell a noisy neighbour from a sibling thread. */
static __always_inline int on_switch(bool btf, bool preempt, struct task_struct *prev,
				     struct task_struct *next)
{
	__u32 prev_tid = CORE_FIELD(btf, prev, pid);
	__u32 next_tid;
	__u32 *slot = NULL;
	struct mlt_sched_thread *t = record_of(prev_tid, &slot);
	bool involuntary;

	if (!t || !slot)
		return 0;
	involuntary = account_run(btf, preempt, t, prev);
	if (t->phase == MLT_PHASE_DEAD) {
		/* Its last switch: the tid may be reused from now on, the
		 * record stays until user space has read it. */
		*slot = 0;
		return 0;
	}
	if (!involuntary)
		return 0;
	next_tid = CORE_FIELD(btf, next, pid);
	if (next_tid != 0 && !record_of(next_tid, NULL))
		note_neighbour(btf, next);
	return 0;
}

static __always_inline void emit(__u32 kind, __u32 pid, __u32 ppid, __s32 exit_code, __u64 proc_start,
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
	e->proc_start_ns = proc_start;
	BPF_CORE_READ_STR_INTO(&e->comm, comm_of, comm);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int on_fork(bool btf, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = CORE_FIELD(btf, parent, tgid);
	__u32 tid = CORE_FIELD(btf, child, pid);
	__u32 tgid = CORE_FIELD(btf, child, tgid);
	__u32 zero = 0, index, slot_plus_one;
	__u64 *parent_identity = bpf_map_lookup_elem(&targets, &ptgid);
	__u64 identity;
	struct mlt_sched_thread *blank, *t;
	__s64 taken;

	if (!parent_identity)
		return 0;
	if (tid == tgid) {
		/* A new process: from now on its threads are ours too. Its
		 * start time names it apart from any earlier user of its pid. */
		identity = CORE_FIELD(btf, child, start_time);
		if (bpf_map_update_elem(&targets, &tgid, &identity, BPF_ANY)) {
			count_drop(MLT_CTR_TARGETS_DROPPED);
			return 0;
		}
		emit(MLT_EV_FORK, tgid, ptgid, 0, identity, child);
	} else {
		/* A thread: its process is the parent's (CLONE_THREAD). */
		identity = *parent_identity;
	}
	taken = take_slot();
	if (taken < 0) {
		count_drop(MLT_CTR_THREADS_DROPPED);
		return 0;
	}
	index = taken;
	blank = bpf_map_lookup_elem(&blank_thread, &zero);
	/* A fresh slot past a records map shrunk for a test (MLTRACE_MAX_THREADS) is no slot either. */
	if (!blank || bpf_map_update_elem(&records, &index, blank, BPF_ANY)) {
		count_drop(MLT_CTR_THREADS_DROPPED);
		return 0;
	}
	t = bpf_map_lookup_elem(&records, &index);
	if (!t)
		return 0;
	t->tid = tid;
	t->tgid = tgid;
	/* With tid, a unique name for the thread even if its tid is reused. */
	t->start_ns = CORE_FIELD(btf, child, start_time);
	t->proc_start_ns = identity;
	/* The child has not run yet: its counters are all zero (sched_fork()
	 * and copy_process() cleared them), an exact baseline. */
	take_baseline(btf, t, child);
	BPF_CORE_READ_STR_INTO(&t->comm, child, comm);
	slot_plus_one = index + 1;
	if (bpf_map_update_elem(&thread_slot, &tid, &slot_plus_one, BPF_ANY)) {
		/* tid beyond the pid_max we sized for (raised at run time). */
		t->tid = 0;
		bpf_map_push_elem(&free_slots, &index, 0);
		count_drop(MLT_CTR_THREADS_DROPPED);
	}
	return 0;
}

/* prctl(PR_SET_NAME) and exec rename threads; names live in our records so
 * that threads which exit between two reads keep the name they had. */
static __always_inline int on_rename(bool btf, struct task_struct *task, const char *comm)
{
	struct mlt_sched_thread *t = record_of(CORE_FIELD(btf, task, pid), NULL);

	if (t)
		bpf_probe_read_kernel_str(&t->comm, sizeof(t->comm), comm);
	return 0;
}

static __always_inline int on_exec(bool btf, struct task_struct *task)
{
	__u32 tgid = CORE_FIELD(btf, task, tgid);
	__u64 *identity = bpf_map_lookup_elem(&targets, &tgid);

	if (identity)
		emit(MLT_EV_EXEC, tgid, 0, 0, *identity, task);
	return 0;
}

static __always_inline int on_exit(bool btf, struct task_struct *task)
{
	__u32 tgid = CORE_FIELD(btf, task, tgid);
	__u64 *identity = bpf_map_lookup_elem(&targets, &tgid);
	int live;

	if (!identity)
		return 0;
	/* do_exit() decrements signal->live before this tracepoint: zero
	 * means this is the process's last thread. */
	live = BPF_CORE_READ(task, signal, live.counter);
	if (live == 0) {
		emit(MLT_EV_EXIT, tgid, 0, CORE_FIELD(btf, task, exit_code), *identity, task);
		/* Its pid is free from now on: a process that gets it next is
		 * not ours unless a target forks it. */
		bpf_map_delete_elem(&targets, &tgid);
	}
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

SEC("tp_btf/task_rename")
int BPF_PROG(mlt_rename_btf, struct task_struct *task, const char *comm)
{
	return on_rename(true, task, comm);
}

SEC("raw_tp/task_rename")
int BPF_PROG(mlt_rename_raw, struct task_struct *task, const char *comm)
{
	return on_rename(false, task, comm);
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
