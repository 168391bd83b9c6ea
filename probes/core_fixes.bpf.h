/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel drift, in one place. Each shim names the change that made it
 * necessary; probes call these instead of touching the drifting field.
 */
#ifndef MLTRACE_CORE_FIXES_BPF_H
#define MLTRACE_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/* task_struct::state became __state (and unsigned int) in v5.14,
 * commit 2f064a59a11f ("sched: Change task_struct::state"). */
struct task_struct___pre514 {
	volatile long state;
} __attribute__((preserve_access_index));

/*
 * A field of a kernel struct (task_struct, request, ...). tp_btf programs get
 * typed pointers and may load fields directly (a plain load, no helper call);
 * raw_tp twins get untyped ones and must go through bpf_probe_read_kernel. `btf` is a compile-time constant at every call site,
 * so the branch not taken is removed before the verifier sees it.
 */
#define CORE_FIELD(btf, t, field) ((btf) ? (t)->field : BPF_CORE_READ((t), field))

static __always_inline __u32 task_state(bool btf, struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return CORE_FIELD(btf, t, __state);
	return (__u32)BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

#endif /* MLTRACE_CORE_FIXES_BPF_H */
