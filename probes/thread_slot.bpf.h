/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The filter every family shares: tid -> slot + 1 (0: not traced), indexed
 * directly by tid. The scheduler family owns it (sizes it to pid_max, fills
 * it at fork); the others reuse its fd before load and keep their per-thread
 * records in their own arrays at the same slot. An array lookup is a bounds
 * check and an add, inlined by the verifier: a task that is not ours pays
 * that and nothing more.
 *
 * Weak, so that linking every family into one object (build/bpf/families.bpf.o,
 * see the Makefile) keeps one map where each family's object defines it.
 */
#ifndef MLTRACE_THREAD_SLOT_BPF_H
#define MLTRACE_THREAD_SLOT_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32768); /* resized to pid_max by user space */
	__type(key, __u32);
	__type(value, __u32);
} thread_slot SEC(".maps") __weak;

/* The slot of a traced thread, or -1. */
static __always_inline __s64 slot_of(__u32 tid)
{
	__u32 *slot = bpf_map_lookup_elem(&thread_slot, &tid);

	if (!slot || !*slot)
		return -1;
	return *slot - 1;
}

static __always_inline __s64 current_slot(void)
{
	return slot_of((__u32)bpf_get_current_pid_tgid());
}

#endif /* MLTRACE_THREAD_SLOT_BPF_H */
