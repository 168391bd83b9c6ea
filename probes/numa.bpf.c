// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * NUMA family: where the target's threads run and where their memory comes
 * from, node by node. CPU -> node comes from user space (`cpu_node`, read
 * from /sys/devices/system/node); a page's node from its flags word, at a
 * position derived from this kernel's types (see page_node()).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "numa.h"
#include "core_fixes.bpf.h"
#include "thread_slot.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/uapi/linux/mempolicy.h: user ABI, fixed (BTF has them only as an
 * anonymous enum, which CO-RE cannot name). */
#define UAPI_MPOL_PREFERRED 1
#define UAPI_MPOL_BIND 2
#define UAPI_MPOL_PREFERRED_MANY 5

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLT_MAX_THREADS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mlt_numa_thread);
} numa_records SEC(".maps");

/* CPU -> node, filled by user space before attach. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLT_MAX_CPUS);
	__type(key, __u32);
	__type(value, __u32);
} cpu_node SEC(".maps");

/* task_struct::cpu moved into thread_info and back over the years. */
struct task_struct___cpu {
	unsigned int cpu;
} __attribute__((preserve_access_index));

static __always_inline __u32 node_of_cpu(__u32 cpu)
{
	__u32 *node = bpf_map_lookup_elem(&cpu_node, &cpu);
	__u32 n = node ? *node : 0;

	return n < MLT_NUMA_NODES ? n : MLT_NUMA_NODES - 1;
}

static __always_inline __u32 task_cpu_of(struct task_struct *t)
{
	if (bpf_core_field_exists(((struct task_struct___cpu *)t)->cpu))
		return BPF_CORE_READ((struct task_struct___cpu *)t, cpu);
	return BPF_CORE_READ(t, thread_info.cpu);
}

static __always_inline struct mlt_numa_thread *record_of_tid(__u32 tid)
{
	__s64 slot = slot_of(tid);
	__u32 index = (__u32)slot;

	if (slot < 0)
		return NULL;
	return bpf_map_lookup_elem(&numa_records, &index);
}

/* struct page's flags word was a plain unsigned long until 6.18 made it a
 * memdesc_flags_t (a struct around it); CO-RE will not relocate a field
 * whose type changed kind, so the old shape is its own flavour. */
struct page___ulong_flags {
	unsigned long flags;
} __attribute__((preserve_access_index));

/*
 * The node in a page's flags. With SPARSEMEM_VMEMMAP (every 64-bit distro
 * kernel) the node number sits in the top NODES_SHIFT bits of the word, and
 * NODES_SHIFT is log2(MAX_NUMNODES), which this kernel's BTF tells through
 * an array sized by it (mem_cgroup_tree's one entry per possible node). The
 * word is read by offset, whichever its type. Checked against numastat on
 * two nodes under 6.1 (test/vm/).
 */
static __always_inline __u32 page_node(struct page *page)
{
	__u64 flags = 0;
	__u32 max_nodes = bpf_core_field_size(((struct mem_cgroup_tree *)0)->rb_tree_per_node) / sizeof(void *);
	__u32 shift = 0, node;
	__u32 offset;

	if (bpf_core_field_exists(((struct page___ulong_flags *)page)->flags))
		offset = bpf_core_field_offset(((struct page___ulong_flags *)page)->flags);
	else
		offset = bpf_core_field_offset(page->flags);
	bpf_probe_read_kernel(&flags, sizeof(flags), (void *)page + offset);
	while (shift < 16 && (1u << shift) < max_nodes)
		shift++;
	if (!shift)
		return 0;
	node = (__u32)(flags >> (64 - shift));
	return node < MLT_NUMA_NODES ? node : MLT_NUMA_NODES - 1;
}

/* The node the allocation was meant for: its memory policy's first node for
 * bind and preferred policies, else the node it runs on (numastat's
 * preferred zone). */
static __always_inline __u32 preferred_node(struct task_struct *task, __u32 local)
{
	struct mempolicy *pol = BPF_CORE_READ(task, mempolicy);
	unsigned short mode;
	__u64 first_word = 0;

	if (!pol)
		return local;
	mode = BPF_CORE_READ(pol, mode);
	if (mode != UAPI_MPOL_BIND && mode != UAPI_MPOL_PREFERRED && mode != UAPI_MPOL_PREFERRED_MANY)
		return local;
	bpf_probe_read_kernel(&first_word, sizeof(first_word), &pol->nodes);
	/* Lowest node in the policy (BPF has no count-trailing-zeros). */
	for (__u32 node = 0; node < MLT_NUMA_NODES; node++)
		if (first_word & (1ULL << node))
			return node;
	return first_word ? MLT_NUMA_NODES - 1 : local;
}

static __always_inline int on_migrate(bool btf, struct task_struct *task, int dest_cpu)
{
	struct mlt_numa_thread *t = record_of_tid(CORE_FIELD(btf, task, pid));

	if (t && node_of_cpu(task_cpu_of(task)) != node_of_cpu((__u32)dest_cpu))
		__sync_fetch_and_add(&t->cross_node_migrations, 1);
	return 0;
}

static __always_inline int on_move_numa(bool btf, struct task_struct *task)
{
	struct mlt_numa_thread *t = record_of_tid(CORE_FIELD(btf, task, pid));

	if (t)
		__sync_fetch_and_add(&t->balancing_moves, 1);
	return 0;
}

static __always_inline int on_swap_numa(bool btf, struct task_struct *src, struct task_struct *dst)
{
	struct mlt_numa_thread *a = record_of_tid(CORE_FIELD(btf, src, pid));
	struct mlt_numa_thread *b;

	if (a)
		__sync_fetch_and_add(&a->balancing_swaps, 1);
	if (!dst) /* the kernel may pass none */
		return 0;
	b = record_of_tid(CORE_FIELD(btf, dst, pid));
	if (b)
		__sync_fetch_and_add(&b->balancing_swaps, 1);
	return 0;
}

static __always_inline int on_migrate_pages(unsigned long succeeded, int reason)
{
	struct mlt_numa_thread *t;

	if (reason != bpf_core_enum_value(enum migrate_reason, MR_NUMA_MISPLACED))
		return 0;
	t = record_of_tid((__u32)bpf_get_current_pid_tgid());
	if (t)
		__sync_fetch_and_add(&t->page_migrations, succeeded);
	return 0;
}

static __always_inline int on_page_alloc(struct page *page)
{
	struct mlt_numa_thread *t = record_of_tid((__u32)bpf_get_current_pid_tgid());
	__u32 local, node, wanted;

	if (!t || !page)
		return 0;
	local = node_of_cpu(bpf_get_smp_processor_id());
	node = page_node(page);
	wanted = preferred_node(bpf_get_current_task_btf(), local);
	t->placed[local & (MLT_NUMA_NODES - 1)][node & (MLT_NUMA_NODES - 1)]++;
	t->wanted[wanted & (MLT_NUMA_NODES - 1)][node & (MLT_NUMA_NODES - 1)]++;
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(mlt_numa_mig_btf, struct task_struct *task, int dest_cpu)
{
	return on_migrate(true, task, dest_cpu);
}

SEC("raw_tp/sched_migrate_task")
int BPF_PROG(mlt_numa_mig_raw, struct task_struct *task, int dest_cpu)
{
	return on_migrate(false, task, dest_cpu);
}

SEC("tp_btf/sched_move_numa")
int BPF_PROG(mlt_numa_move_btf, struct task_struct *task)
{
	return on_move_numa(true, task);
}

SEC("raw_tp/sched_move_numa")
int BPF_PROG(mlt_numa_move_raw, struct task_struct *task)
{
	return on_move_numa(false, task);
}

SEC("tp_btf/sched_swap_numa")
int BPF_PROG(mlt_numa_swap_btf, struct task_struct *src, int src_cpu, struct task_struct *dst)
{
	return on_swap_numa(true, src, dst);
}

SEC("raw_tp/sched_swap_numa")
int BPF_PROG(mlt_numa_swap_raw, struct task_struct *src, int src_cpu, struct task_struct *dst)
{
	return on_swap_numa(false, src, dst);
}

/*
 * mm_migrate_pages(succeeded, failed, thp_succeeded, thp_failed, thp_split,
 * [large_folio_split,] mode, reason): 6.1 has seven arguments, 6.18 eight.
 * The event's record struct carries the same fields, so its shape says
 * where `reason` is; the other read is dead code the verifier never sees
 * (reading past the last argument is refused at load).
 */
struct trace_event_raw_mm_migrate_pages___large {
	unsigned long large_folio_split;
} __attribute__((preserve_access_index));

static __always_inline int migrate_pages_reason(__u64 *ctx)
{
	__u64 reason;

	/* The barrier in one arm only keeps clang from merging the two loads
	 * into one at a computed offset, which the verifier refuses for ctx. */
	if (bpf_core_field_exists(((struct trace_event_raw_mm_migrate_pages___large *)0)->large_folio_split)) {
		reason = ctx[7];
		barrier_var(reason);
	} else {
		reason = ctx[6];
	}
	return (int)reason;
}

SEC("tp_btf/mm_migrate_pages")
int mlt_numa_pmig_btf(__u64 *ctx)
{
	return on_migrate_pages(ctx[0], migrate_pages_reason(ctx));
}

SEC("raw_tp/mm_migrate_pages")
int mlt_numa_pmig_raw(__u64 *ctx)
{
	return on_migrate_pages(ctx[0], migrate_pages_reason(ctx));
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(mlt_numa_alloc_btf, struct page *page)
{
	return on_page_alloc(page);
}

SEC("raw_tp/mm_page_alloc")
int BPF_PROG(mlt_numa_alloc_raw, struct page *page)
{
	return on_page_alloc(page);
}
