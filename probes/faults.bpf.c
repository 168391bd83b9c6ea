// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Faults family: page-fault exceptions by mode, and major faults by backing
 * (file or anonymous) with their latency.
 *
 * Entry: the x86 exceptions:page_fault_{user,kernel} tracepoints, which fire
 * on every fault, minor ones included; so they only count and mark that a
 * fault began (no clock read: that would cost every minor fault). A fault
 * that must read its page in adds it to the page cache
 * (mm_filemap_add_to_page_cache): that is where its clock starts. Completion
 * of a major fault: the PERF_COUNT_SW_PAGE_FAULTS_MAJ software event, which
 * the kernel raises in mm_account_fault() once the fault succeeded as major,
 * with the faulting address; a program runs there only for major faults.
 * The latency histogram is thus page read-in to completion, for major faults
 * that read a page into the page cache (file-backed ones; swap-ins are
 * counted but not timed).
 *
 * Direct reclaim: a thread that allocates when memory (the machine's, or
 * its memory cgroup's limit) is short reclaims pages itself before it goes
 * on; mm_vmscan_{direct,memcg}_reclaim_{begin,end} bracket that, timed per
 * thread as stalls.
 *
 * File-backed major faults are also counted per (process, file) in
 * `fault_files`, with their timed latency: the fault-storm diagnosis names
 * the files. A full map is counted in `fault_file_drops`, never silent.
 *
 * The filter is the scheduler family's `thread_slot` map (thread_slot.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "faults.h"
#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "thread_slot.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLT_MAX_THREADS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mlt_fault_thread);
} fault_records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLT_MAX_FAULT_FILES);
	__type(key, struct mlt_fault_file_key);
	__type(value, struct mlt_fault_file);
} fault_files SEC(".maps");

/* File-backed major faults not counted per file because fault_files was full. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fault_file_drops SEC(".maps");

static __always_inline struct mlt_fault_thread *current_record(void)
{
	__s64 slot = current_slot();
	__u32 index = (__u32)slot;

	if (slot < 0)
		return NULL;
	return bpf_map_lookup_elem(&fault_records, &index);
}

static __always_inline int on_fault_entry(bool user)
{
	struct mlt_fault_thread *t = current_record();

	if (!t)
		return 0;
	if (user)
		t->exceptions_user++;
	else
		t->exceptions_kernel++;
	t->timing = MLT_FAULT_ENTERED;
	return 0;
}

/* A page read into the page cache: if a fault of this thread is under way
 * (nothing synchronous can run between its entry and its completion), that
 * fault is reading its page in from now on. */
static __always_inline int on_cache_add(void)
{
	struct mlt_fault_thread *t = current_record();

	if (t && t->timing == MLT_FAULT_ENTERED) {
		t->fault_start_ns = bpf_ktime_get_ns();
		t->timing = MLT_FAULT_READING;
	}
	return 0;
}

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(mlt_fault_pc_btf)
{
	return on_cache_add();
}

SEC("raw_tp/mm_filemap_add_to_page_cache")
int BPF_PROG(mlt_fault_pc_raw)
{
	return on_cache_add();
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(mlt_pf_user_btf)
{
	return on_fault_entry(true);
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(mlt_pf_user_raw)
{
	return on_fault_entry(true);
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(mlt_pf_kern_btf)
{
	return on_fault_entry(false);
}

SEC("raw_tp/page_fault_kernel")
int BPF_PROG(mlt_pf_kern_raw)
{
	return on_fault_entry(false);
}

static __always_inline int on_reclaim_begin(void)
{
	struct mlt_fault_thread *t = current_record();

	if (t && !t->reclaim_start_ns)
		t->reclaim_start_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_reclaim_end(void)
{
	struct mlt_fault_thread *t = current_record();
	__u64 now;

	if (!t || !t->reclaim_start_ns)
		return 0;
	now = bpf_ktime_get_ns();
	if (now > t->reclaim_start_ns)
		t->reclaim_ns += now - t->reclaim_start_ns;
	t->reclaim_stalls++;
	t->reclaim_start_ns = 0;
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(mlt_drc_beg_btf)
{
	return on_reclaim_begin();
}

SEC("raw_tp/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(mlt_drc_beg_raw)
{
	return on_reclaim_begin();
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(mlt_drc_end_btf)
{
	return on_reclaim_end();
}

SEC("raw_tp/mm_vmscan_direct_reclaim_end")
int BPF_PROG(mlt_drc_end_raw)
{
	return on_reclaim_end();
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(mlt_mrc_beg_btf)
{
	return on_reclaim_begin();
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(mlt_mrc_beg_raw)
{
	return on_reclaim_begin();
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(mlt_mrc_end_btf)
{
	return on_reclaim_end();
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(mlt_mrc_end_raw)
{
	return on_reclaim_end();
}

struct backing {
	bool file;
	__u32 dev;
	__u64 ino;
	struct dentry *dentry;
};

static long note_backing(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct backing *b = ctx;
	struct file *file = BPF_CORE_READ(vma, vm_file);

	b->file = file != NULL;
	if (file) {
		b->ino = BPF_CORE_READ(file, f_inode, i_ino);
		b->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
		b->dentry = BPF_CORE_READ(file, f_path.dentry);
	}
	return 0;
}

/* One more major fault on this process's file, `latency_ns` long if timed (else 0). */
static __always_inline void count_file_fault(const struct backing *b, __u64 latency_ns)
{
	struct mlt_fault_file_key key = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.dev = b->dev,
		.ino = b->ino,
	};
	struct mlt_fault_file *f = bpf_map_lookup_elem(&fault_files, &key);
	__u32 zero = 0;

	if (!f) {
		struct mlt_fault_file fresh = {};
		/* Copied out first: `backing` is ours, not a kernel type to relocate. */
		struct dentry *dentry = b->dentry;
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);

		bpf_probe_read_kernel_str(fresh.name, sizeof(fresh.name), name);
		/* Another CPU may have added it meanwhile: that is fine, it is there now. */
		if (bpf_map_update_elem(&fault_files, &key, &fresh, BPF_NOEXIST) && !bpf_map_lookup_elem(&fault_files, &key)) {
			__u64 *drops = bpf_map_lookup_elem(&fault_file_drops, &zero);

			if (drops)
				__sync_fetch_and_add(drops, 1);
			return;
		}
		f = bpf_map_lookup_elem(&fault_files, &key);
		if (!f)
			return;
	}
	__sync_fetch_and_add(&f->major_faults, 1);
	if (latency_ns) {
		__sync_fetch_and_add(&f->timed, 1);
		__sync_fetch_and_add(&f->latency_ns, latency_ns);
	}
}

/* pt_regs::cs was an unsigned long until FRED (6.9) made it a u16 in a
 * union with the u64 `csx`; the verifier refuses narrower reads of regs,
 * so read the full word under whichever name this kernel has. */
struct pt_regs___pre_fred {
	unsigned long cs;
} __attribute__((preserve_access_index));

/* x86: the low two bits of CS are the privilege level the fault came from. */
static __always_inline bool from_user(struct bpf_perf_event_data *ctx)
{
	__u64 cs;

	/* The barrier in one arm only keeps clang from merging the two loads
	 * into one at a computed offset, which the verifier refuses for ctx. */
	if (bpf_core_field_exists(ctx->regs.csx)) {
		cs = *(volatile __u64 *)&ctx->regs.csx;
		barrier_var(cs);
	} else {
		cs = *(volatile __u64 *)&((struct pt_regs___pre_fred *)&ctx->regs)->cs;
	}
	return (cs & 3) == 3;
}

SEC("perf_event")
int mlt_major_fault(struct bpf_perf_event_data *ctx)
{
	struct mlt_fault_thread *t = current_record();
	struct backing backing = {};
	__u64 now, latency_ns = 0;
	bool classified;

	if (!t)
		return 0;
	classified = !bpf_find_vma(bpf_get_current_task_btf(), ctx->addr, note_backing, &backing, 0);
	if (!classified)
		t->major_unclassified++;
	else if (backing.file)
		t->major_file++;
	else
		t->major_anon++;
	if (from_user(ctx))
		t->major_user++;
	else
		t->major_kernel++;
	if (t->timing == MLT_FAULT_READING) {
		now = bpf_ktime_get_ns();
		if (now > t->fault_start_ns) {
			latency_ns = now - t->fault_start_ns;
			t->major_latency_hist[hist_slot(latency_ns) & (MLT_HIST_SLOTS - 1)]++;
		}
	}
	t->timing = 0;
	if (classified && backing.file)
		count_file_fault(&backing, latency_ns);
	return 0;
}
