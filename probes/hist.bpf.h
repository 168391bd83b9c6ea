/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * log2-microsecond histogram slots, shared by every family that keeps a
 * latency histogram in the kernel. Slot layout: see MLT_HIST_SLOTS in sched.h.
 */
#ifndef MLTRACE_HIST_BPF_H
#define MLTRACE_HIST_BPF_H

/* ns / 1000 without a divide on the hot path (a 64-bit div is tens of
 * cycles): exact for every ns below 2^32, by the usual multiply-and-shift
 * with m = ceil(2^38 / 1000). */
static __always_inline __u64 ns_to_us(__u64 ns)
{
	if (ns < (1ULL << 32))
		return (ns * 274877907ULL) >> 38;
	return ns / 1000;
}

/* 1 when x > limit, else 0, without a branch: the sign of limit - x
 * (x and limit stay far below 2^63). */
#define ABOVE(x, limit) (((__u64)(limit) - (x)) >> 63)

/*
 * Index of the log2-microsecond slot for a duration (see sched.h):
 * floor(log2(us)) + 1, or 0 below 1 us. Branch-free, because wait and sleep
 * lengths vary from one switch to the next and mispredicted branches would
 * cost more than this arithmetic.
 */
static __always_inline __u32 hist_slot(__u64 ns)
{
	__u64 us = ns_to_us(ns);
	__u64 shift, slot;

	if (us >= (1ULL << 31))
		return MLT_HIST_SLOTS - 1;
	shift = ABOVE(us, 0xffff) << 4;
	us >>= shift;
	slot = shift;
	shift = ABOVE(us, 0xff) << 3;
	us >>= shift;
	slot += shift;
	shift = ABOVE(us, 0xf) << 2;
	us >>= shift;
	slot += shift;
	shift = ABOVE(us, 0x3) << 1;
	us >>= shift;
	slot += shift;
	shift = ABOVE(us, 0x1);
	us >>= shift;
	slot += shift;
	return (__u32)(slot + us); /* us is now 0 or 1 */
}

#endif /* MLTRACE_HIST_BPF_H */
