// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Block I/O family. A request is charged to the thread that submitted it,
 * in its own context: block_io_start fires as the request is set up on the
 * submitter's stack (synchronous reads, O_DIRECT, and readahead triggered by
 * a read all run there). Requests the kernel submits from its own threads
 * (writeback, async readahead workers) carry no trace of whom they serve, so
 * they are not charged to the target. Issue and completion (often in
 * interrupt context) find the request in `inflight` by its address.
 *
 * Kernels before 6.5 have no block_io_start. There block_getrq (a request
 * being allocated for a bio, on the submitter's stack) notes the bio in
 * `pending`, and the request is charged when it is issued, found through
 * its first bio: queue time then starts at allocation. The loader uses
 * block_getrq only where block_io_start does not exist (src/collector/family.ts).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "io.h"
#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "thread_slot.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define REQ_OP_MASK 0xff /* include/linux/blk_types.h: REQ_OP_BITS = 8 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLT_MAX_THREADS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mlt_io_thread);
} io_records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLT_MAX_DEVICES);
	__type(key, __u32);
	__type(value, struct mlt_io_device);
} devices SEC(".maps");

struct inflight {
	__u32 slot;
	__u32 pad;
	__u64 started_ns;
	__u64 issued_ns;
};

/* The target's requests between start and completion, by address. LRU, so
 * a request that never completes through block_rq_complete cannot fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MLT_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Pre-6.5 kernels: bios of the target that got a request, until issue. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MLT_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct inflight);
} pending SEC(".maps");

/* Set by the block_getrq program the first time it runs, so kernels with
 * block_io_start (where it is never loaded) skip the `pending` lookup. */
bool pending_used = false;

static __always_inline void count_device(bool btf, struct request *rq, bool write, __u64 bytes)
{
	struct gendisk *disk = btf ? rq->q->disk : BPF_CORE_READ(rq, q, disk);
	__u32 dev;
	struct mlt_io_device *d;

	if (!disk)
		return;
	dev = ((__u32)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor);
	d = bpf_map_lookup_elem(&devices, &dev);
	if (!d) {
		struct mlt_io_device fresh = {};

		BPF_CORE_READ_STR_INTO(&fresh.name, disk, disk_name);
		bpf_map_update_elem(&devices, &dev, &fresh, BPF_NOEXIST);
		d = bpf_map_lookup_elem(&devices, &dev);
		if (!d)
			return;
	}
	if (write) {
		__sync_fetch_and_add(&d->write_ops, 1);
		__sync_fetch_and_add(&d->write_bytes, bytes);
	} else {
		__sync_fetch_and_add(&d->read_ops, 1);
		__sync_fetch_and_add(&d->read_bytes, bytes);
	}
}

/* Counts a data request for the thread in `slot` and puts it in `inflight`;
 * false when it is no data request (then it is not followed). */
static __always_inline bool charge(bool btf, struct request *rq, __u32 index, __u64 started_ns)
{
	struct mlt_io_thread *t;
	struct inflight req = {};
	__u64 key = (__u64)rq;
	__u32 op = CORE_FIELD(btf, rq, cmd_flags) & REQ_OP_MASK;
	__u64 bytes = CORE_FIELD(btf, rq, __data_len);
	bool write = op == 1; /* REQ_OP_WRITE; REQ_OP_READ is 0 */

	/* Not data: discards, and the empty flushes O_SYNC and fsync() send,
	 * which the flush machinery completes on its own. */
	if ((op != 0 && op != 1) || bytes == 0)
		return false;
	t = bpf_map_lookup_elem(&io_records, &index);
	if (!t)
		return false;
	if (write) {
		__sync_fetch_and_add(&t->write_ops, 1);
		__sync_fetch_and_add(&t->write_bytes, bytes);
	} else {
		__sync_fetch_and_add(&t->read_ops, 1);
		__sync_fetch_and_add(&t->read_bytes, bytes);
	}
	count_device(btf, rq, write, bytes);
	req.slot = index;
	req.started_ns = started_ns;
	bpf_map_update_elem(&inflight, &key, &req, BPF_ANY);
	return true;
}

static __always_inline int on_start(bool btf, struct request *rq)
{
	__s64 slot = current_slot();

	if (slot >= 0)
		charge(btf, rq, (__u32)slot, bpf_ktime_get_ns());
	return 0;
}

/* Pre-6.5: a request is being allocated for this bio of a target thread. */
static __always_inline int on_getrq(struct bio *bio)
{
	__s64 slot = current_slot();
	struct inflight req = {};
	__u64 key = (__u64)bio;

	if (slot < 0 || !bio)
		return 0;
	if (!pending_used)
		pending_used = true;
	req.slot = (__u32)slot;
	req.started_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&pending, &key, &req, BPF_ANY);
	return 0;
}

/* Pre-6.5: the request of a pending bio is issued; charge it now. Its
 * first bio is the one it was allocated for unless a front merge put
 * another before it (then it is missed, as the kernel gives no other link). */
static __always_inline void charge_pending(bool btf, struct request *rq)
{
	__u64 bio = (__u64)(btf ? rq->bio : BPF_CORE_READ(rq, bio));
	struct inflight *p = bio ? bpf_map_lookup_elem(&pending, &bio) : NULL;
	__u32 slot;
	__u64 started_ns;

	if (!p)
		return;
	slot = p->slot;
	started_ns = p->started_ns;
	bpf_map_delete_elem(&pending, &bio);
	charge(btf, rq, slot, started_ns);
}

static __always_inline int on_issue(bool btf, struct request *rq)
{
	__u64 key = (__u64)rq;
	struct inflight *req = bpf_map_lookup_elem(&inflight, &key);
	struct mlt_io_thread *t;

	if (!req && pending_used) {
		charge_pending(btf, rq);
		req = bpf_map_lookup_elem(&inflight, &key);
	}
	if (!req)
		return 0;
	req->issued_ns = bpf_ktime_get_ns();
	t = bpf_map_lookup_elem(&io_records, &req->slot);
	if (t && req->issued_ns > req->started_ns)
		__sync_fetch_and_add(&t->queue_hist[hist_slot(req->issued_ns - req->started_ns) & (MLT_HIST_SLOTS - 1)], 1);
	return 0;
}

static __always_inline int on_done(struct request *rq)
{
	__u64 key = (__u64)rq;
	struct inflight *req = bpf_map_lookup_elem(&inflight, &key);
	struct mlt_io_thread *t;
	__u64 now;

	if (!req)
		return 0;
	now = bpf_ktime_get_ns();
	t = bpf_map_lookup_elem(&io_records, &req->slot);
	if (t && req->issued_ns && now > req->issued_ns)
		__sync_fetch_and_add(&t->device_hist[hist_slot(now - req->issued_ns) & (MLT_HIST_SLOTS - 1)], 1);
	bpf_map_delete_elem(&inflight, &key);
	return 0;
}

/* A folio entering the page cache in a target thread's context: its read
 * (or the readahead that read triggered) missed the cache. */
static __always_inline int on_cache_add(void)
{
	__s64 slot = current_slot();
	__u32 index;
	struct mlt_io_thread *t;

	if (slot < 0)
		return 0;
	index = (__u32)slot;
	t = bpf_map_lookup_elem(&io_records, &index);
	if (t)
		__sync_fetch_and_add(&t->pagecache_misses, 1);
	return 0;
}

SEC("tp_btf/block_io_start")
int BPF_PROG(mlt_io_start_btf, struct request *rq)
{
	return on_start(true, rq);
}

SEC("raw_tp/block_io_start")
int BPF_PROG(mlt_io_start_raw, struct request *rq)
{
	return on_start(false, rq);
}

SEC("tp_btf/block_getrq")
int BPF_PROG(mlt_io_getrq_btf, struct bio *bio)
{
	return on_getrq(bio);
}

SEC("raw_tp/block_getrq")
int BPF_PROG(mlt_io_getrq_raw, struct bio *bio)
{
	return on_getrq(bio);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(mlt_rq_issue_btf, struct request *rq)
{
	return on_issue(true, rq);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(mlt_rq_issue_raw, struct request *rq)
{
	return on_issue(false, rq);
}

/* block_rq_complete, not block_io_done: the latter only fires for
 * requests the queue accounts in its I/O statistics. A request completed in
 * parts is timed to its first part. */
SEC("tp_btf/block_rq_complete")
int BPF_PROG(mlt_rq_done_btf, struct request *rq)
{
	return on_done(rq);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(mlt_rq_done_raw, struct request *rq)
{
	return on_done(rq);
}

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(mlt_pc_add_btf)
{
	return on_cache_add();
}

SEC("raw_tp/mm_filemap_add_to_page_cache")
int BPF_PROG(mlt_pc_add_raw)
{
	return on_cache_add();
}
