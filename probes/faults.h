/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The faults family's ABI. Fault totals per thread (minor, major) come with
 * the scheduler's record (task min_flt/maj_flt, see sched.h); this family
 * adds what needs a hook per fault: where faults are taken (user or kernel
 * mode) and, for major faults, what backed the page and how long it took.
 * Records share the scheduler's slots: fault_records[i] belongs to the same
 * thread as records[i].
 */
#ifndef MLTRACE_FAULTS_H
#define MLTRACE_FAULTS_H

#include "sched.h"

/* mlt_fault_thread.timing */
#define MLT_FAULT_ENTERED 1 /* a fault began; nothing read in yet */
#define MLT_FAULT_READING 2 /* that fault is reading a page in since fault_start_ns */

struct mlt_fault_thread {
	__u64 fault_start_ns;     /* when the current fault began reading a page in */
	__u64 timing;             /* MLT_FAULT_*, or 0 */
	__u64 exceptions_user;    /* page-fault exceptions taken in user mode */
	__u64 exceptions_kernel;  /* ... in kernel mode (copy_to_user, etc.) */
	__u64 major_file;         /* major faults on file-backed pages (mmap'd data, code) */
	__u64 major_anon;         /* major faults on anonymous pages (swap-in) */
	__u64 major_unclassified; /* major faults whose mapping could not be looked up */
	__u64 major_user;         /* major faults taken in user mode */
	__u64 major_kernel;
	__u64 major_latency_hist[MLT_HIST_SLOTS]; /* page read-in to fault completion */
	__u64 reclaim_start_ns;   /* when the reclaim under way began, or 0 */
	__u64 reclaim_ns;         /* time stalled in direct reclaim (global or a memory cgroup's limit) */
	__u64 reclaim_stalls;     /* how many such reclaims */
} __attribute__((aligned(64)));

/*
 * Major faults per (process, file): which mmap'd files a process faults on
 * (a dataset read through numpy.memmap, Arrow, LMDB, safetensors). Keyed by
 * the inode, so a file mapped many times is one entry; the name is the
 * file's dentry name at its first fault (user space finds the full path in
 * /proc/PID/maps while the process lives).
 */
#define MLT_MAX_FAULT_FILES 4096
#define MLT_FILE_NAME_LEN 64

struct mlt_fault_file_key {
	__u32 tgid;
	__u32 dev; /* the inode's superblock s_dev (kernel dev_t: major << 20 | minor) */
	__u64 ino;
};

struct mlt_fault_file {
	__u64 major_faults;
	__u64 timed;      /* how many of them read their page in (timed, see major_latency_hist) */
	__u64 latency_ns; /* their page read-in to completion, summed */
	char name[MLT_FILE_NAME_LEN];
};

#endif /* MLTRACE_FAULTS_H */
