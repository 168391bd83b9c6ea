/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The NUMA family's ABI. Per thread (in the scheduler's slots): migrations
 * between CPUs of different nodes, NUMA-balancing moves and swaps, pages
 * migrated in its context, and its page allocations as two small matrices
 * from which the model derives local, remote and miss (numastat's sense).
 * Loaded only on machines with more than one node.
 */
#ifndef MLTRACE_NUMA_H
#define MLTRACE_NUMA_H

#include "sched.h"

/* Nodes told apart; allocations on higher nodes are counted in the last. */
#define MLT_NUMA_NODES 8
#define MLT_MAX_CPUS 4096

struct mlt_numa_thread {
	__u64 cross_node_migrations; /* CPU migrations whose two CPUs are on different nodes */
	__u64 balancing_moves;       /* sched_move_numa: NUMA balancing moved it */
	__u64 balancing_swaps;       /* sched_swap_numa: NUMA balancing swapped it with another task */
	__u64 page_migrations;       /* pages migrated in its context for NUMA balancing (MR_NUMA_MISPLACED) */
	__u64 reserved[4];
	/* Page allocations: placed[cpu node][page node] (local when equal),
	 * wanted[preferred node][page node] (a miss when different: the
	 * preferred node, from its memory policy or else the local one, had
	 * no room). */
	__u64 placed[MLT_NUMA_NODES][MLT_NUMA_NODES];
	__u64 wanted[MLT_NUMA_NODES][MLT_NUMA_NODES];
} __attribute__((aligned(64)));

#endif /* MLTRACE_NUMA_H */
