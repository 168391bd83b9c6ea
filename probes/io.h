/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The block I/O family's ABI. Per thread (in the scheduler's slots:
 * io_records[i] belongs to the same thread as records[i]): requests the
 * thread submitted, their bytes, the time they spent queued and on the
 * device, and the page-cache misses its reads caused. Per device: the same
 * counts for all of the target's requests.
 */
#ifndef MLTRACE_IO_H
#define MLTRACE_IO_H

#include "sched.h"

#define MLT_MAX_DEVICES 64
#define MLT_MAX_INFLIGHT 8192
#define MLT_DISK_NAME_LEN 32

struct mlt_io_thread {
	__u64 read_ops;
	__u64 read_bytes;
	__u64 write_ops;
	__u64 write_bytes;
	__u64 pagecache_misses; /* folios its reads added to the page cache */
	__u64 reserved[3];
	__u64 queue_hist[MLT_HIST_SLOTS];  /* request start to issue to the driver */
	__u64 device_hist[MLT_HIST_SLOTS]; /* issue to completion */
} __attribute__((aligned(64)));

/* Value of the `devices` map, keyed by dev_t as major << 20 | minor. */
struct mlt_io_device {
	__u64 read_ops;
	__u64 read_bytes;
	__u64 write_ops;
	__u64 write_bytes;
	char name[MLT_DISK_NAME_LEN];
};

#endif /* MLTRACE_IO_H */
