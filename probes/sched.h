/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The scheduler family's ABI: the only definition of what the kernel side
 * writes and user space reads. Included by probes/sched.bpf.c (with
 * vmlinux.h types) and by native/ (with <linux/types.h>); the addon exports
 * the offsets below to TypeScript, so nothing re-declares this layout.
 */
#ifndef MLTRACE_SCHED_H
#define MLTRACE_SCHED_H

#define MLT_COMM_LEN 16
/* log2 slots of microseconds: slot 0 is [0,1) us, slot i is [2^(i-1), 2^i) us;
 * the last slot also takes everything longer (2^30 us is about 18 minutes). */
#define MLT_HIST_SLOTS 32

/* Threads traced at once (slots in `records`); a dead thread's slot is
 * recycled once user space has read its final counters. These are the
 * defaults; user space may size the maps down before load (tests of the
 * overflow paths), never up past what the per-slot arrays of the other
 * families hold. */
#define MLT_MAX_THREADS 8192
#define MLT_MAX_TARGETS 4096
#define MLT_MAX_NEIGHBOURS 1024
#define MLT_EVENTS_BYTES (256 * 1024)

/* What a thread was doing when it last left a CPU. */
enum mlt_phase {
	MLT_PHASE_UNKNOWN = 0,   /* not seen leaving a CPU yet */
	MLT_PHASE_RUNNABLE = 2,  /* preempted: still on a run queue */
	MLT_PHASE_SLEEPING = 3,  /* interruptible sleep */
	MLT_PHASE_BLOCKED = 4,   /* uninterruptible sleep (D state, I/O wait) */
	MLT_PHASE_DEAD = 5,      /* final switch-out done: counters are final */
};

/* mlt_sched_thread.flags */
#define MLT_THREAD_BASELINE 1u /* the seen_* fields hold the task's own counters */
#define MLT_THREAD_IN_IOWAIT 2u /* it switched out blocked with in_iowait set (io_schedule) */

/*
 * Value of the `records` array (one slot per traced thread; `thread_slot`
 * maps a tid to its slot + 1). Counters are cumulative since the
 * thread was first seen by mltrace; user space turns them into rates.
 *
 * Totals are the kernel's own accounting, taken as deltas at each switch:
 * on-CPU is se.sum_exec_runtime (what getrusage reports), run-queue wait is
 * sched_info.run_delay (/proc/PID/schedstat), switches are nvcsw/nivcsw,
 * migrations se.nr_migrations, page faults min_flt/maj_flt (the faults
 * family adds what needs a hook per fault: see faults.h). What the kernel does not keep (the split of
 * off-CPU time into sleeping and blocked, the histograms) is derived from
 * sched_info.last_arrival, on the clock run_delay is kept with.
 *
 * All of it is accounted when a run ends (sched_switch, prev): a thread's
 * current run, and the wait just before it, show up at its next switch.
 */
struct mlt_sched_thread {
	/* Hot: what every switch-out reads and writes, first and together, so
	 * a switch touches few cache lines (the records are 64-byte aligned). */
	__u64 seen_sum_exec;        /* the task's own counters at the last switch */
	__u64 seen_run_delay;
	__u64 seen_pcount;
	__u64 seen_nvcsw;
	__u64 seen_nivcsw;
	__u64 seen_migrations;
	__u64 seen_min_flt;
	__u64 seen_maj_flt;
	__u64 off_since;            /* end of the last run, run-queue clock; 0 = unknown */
	__u32 phase;                /* enum mlt_phase */
	__u32 flags;
	__u64 oncpu_ns;
	__u64 runq_wait_ns;
	__u64 sleep_ns;
	__u64 iowait_ns;
	__u64 switches_voluntary;   /* same meaning as task_struct.nvcsw */
	__u64 switches_involuntary; /* same meaning as task_struct.nivcsw */
	__u64 wakeups;              /* sleeps that ended in a wakeup and a run */
	__u64 migrations;           /* same meaning as se.nr_migrations */
	__u64 faults_minor;         /* task_struct.min_flt (getrusage ru_minflt) */
	__u64 faults_major;         /* task_struct.maj_flt (getrusage ru_majflt) */
	__u64 io_wait_ns;           /* the part of iowait_ns spent waiting for I/O: in_iowait at switch-out */
	/* Cold: who the thread is. */
	__u32 tid;                  /* 0: the slot is free */
	__u32 tgid;
	char comm[MLT_COMM_LEN];
	__u64 start_ns;             /* task start_time (CLOCK_MONOTONIC); 0 if seeded from /proc */
	__u64 proc_start_ns;        /* its process's identity: the `targets` value of tgid */
	/* One line each per update. */
	__u64 runq_hist[MLT_HIST_SLOTS];   /* each wait for a CPU */
	__u64 offcpu_hist[MLT_HIST_SLOTS]; /* each sleep, woken to runnable */
} __attribute__((aligned(64)));

/* Value of the `neighbours` map, keyed by tgid of a task outside the target
 * that took the CPU from a preempted target thread. */
struct mlt_neighbour {
	__u64 count;
	char comm[MLT_COMM_LEN];
};

/* Per-event records on the `events` ring buffer: only process lifecycle,
 * which user space needs in order (to build the tree and end the session). */
enum mlt_event_kind {
	MLT_EV_FORK = 1, /* a new process joined the target tree */
	MLT_EV_EXEC = 2, /* a target process replaced its image */
	MLT_EV_EXIT = 3, /* the last thread of a target process exited */
};

/*
 * A process is named by (pid, proc_start_ns), not by pid alone: pids are
 * reused, and within one session a reused pid is another process. The second
 * half is the value of its `targets` entry: the task start_time of its first
 * thread for a process the kernel saw forked, 0 for one user space added at
 * attach (no two of those share a pid: they were alive together). Every
 * thread record carries it too (proc_start_ns), so user space joins threads
 * to the right process even when a record of the ring was lost.
 */
struct mlt_proc_event {
	__u32 kind;
	__u32 pid;
	__u32 ppid;
	__s32 exit_code; /* wait(2) status encoding; MLT_EV_EXIT only */
	__u64 ts_ns;
	__u64 proc_start_ns; /* the process's identity (see above) */
	char comm[MLT_COMM_LEN];
};

/* Indexes of the per-CPU `counters` array: every event mltrace could not
 * record is counted here, so user space can show exact losses. */
enum mlt_counter {
	MLT_CTR_EVENTS_DROPPED = 0,     /* ring buffer full */
	MLT_CTR_THREADS_DROPPED = 1,    /* no free slot in `records` (or tid beyond pid_max) */
	MLT_CTR_TARGETS_DROPPED = 2,    /* `targets` map full */
	MLT_CTR_NEIGHBOURS_DROPPED = 3, /* `neighbours` map full */
	MLT_CTR_COUNT = 4,
};

#endif /* MLTRACE_SCHED_H */
