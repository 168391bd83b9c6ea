// SPDX-License-Identifier: MIT
/*
 * NUMA placement workload for the two-node guest (test/vm/). Runs the
 * phases named by --phase (comma-separated, in order) on CPU 0, unless the
 * phase moves it:
 *
 *   bind1  --mb bound to node 1 (MPOL_BIND): every page remote
 *   bind0  --mb bound to node 0: every page local
 *   spill  default policy, --spill-mb more than node 0 has free: the rest
 *          spills to node 1 (numa_miss there, numa_foreign on node 0)
 *   hop    no memory; --hops moves between CPU 0 and CPU 1 (two nodes)
 *
 * Memory stays allocated until the phases are done, then is unmapped. Around
 * each phase, and around all of them and the unmapping, it reads the kernel's own counters, which are system-wide: every
 * node's numastat and /proc/vmstat's numa_* lines, and its own
 * se.nr_migrations (/proc/self/sched). With --results FILE it writes
 * "name delta" lines there ("bind1.node1.other_node 16419" per phase,
 * "node1.other_node ..." over all), for the test to compare with mltrace.
 * Pages are touched one by one with transparent huge pages off, so each is
 * one page allocation in both the kernel's count and mltrace's.
 * Uses the syscalls directly: no libnuma needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_NODES 8
#define MPOL_DEFAULT 0
#define MPOL_BIND 2

static const char *const numastat_names[] = {"numa_hit", "numa_miss", "numa_foreign", "local_node", "other_node"};
#define NSTATS (sizeof(numastat_names) / sizeof(numastat_names[0]))

struct counters {
	long long node[MAX_NODES][NSTATS];
	long long vmstat[NSTATS]; /* /proc/vmstat's numa_hit... (local_node is numa_local there) */
	long long nr_migrations;
};

static int nodes;

static long long read_key(const char *path, const char *key)
{
	char line[256];
	long long value = -1;
	size_t len = strlen(key);
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* "key value", or "key : value" in /proc/self/sched */
		if (strncmp(line, key, len) == 0 && (line[len] == ' ' || line[len] == '\t')) {
			char *p = line + len;
			while (*p == ' ' || *p == '\t' || *p == ':')
				p++;
			value = atoll(p);
			break;
		}
	}
	fclose(f);
	return value;
}

static void read_counters(struct counters *c)
{
	static const char *const vmstat_names[] = {"numa_hit", "numa_miss", "numa_foreign", "numa_local", "numa_other"};
	char path[128];

	for (int n = 0; n < nodes; n++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/numastat", n);
		for (size_t s = 0; s < NSTATS; s++)
			c->node[n][s] = read_key(path, numastat_names[s]);
	}
	for (size_t s = 0; s < NSTATS; s++)
		c->vmstat[s] = read_key("/proc/vmstat", vmstat_names[s]);
	c->nr_migrations = read_key("/proc/self/sched", "se.nr_migrations");
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		exit(1);
	}
}

static void set_policy(int mode, int node)
{
	unsigned long mask = mode == MPOL_DEFAULT ? 0 : 1UL << node;

	/* maxnode counts bits; the kernel reads one fewer than it is told. */
	if (syscall(SYS_set_mempolicy, mode, mode == MPOL_DEFAULT ? NULL : &mask, 8 * sizeof(mask) + 1)) {
		perror("set_mempolicy");
		exit(1);
	}
}

#define MAX_PHASES 8

/* What the phases allocated, unmapped at the end inside the window: freeing
 * may allocate too (the kernel's batches of pages to free), and outside the
 * window mltrace would count those pages and the in-process reading not. */
static struct {
	void *addr;
	size_t bytes;
} mappings[MAX_PHASES];
static int nmappings;

/* Fresh anonymous memory, one page fault and one page allocation per page. */
static void touch(size_t bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(p, bytes, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < bytes; off += page)
		p[off] = 1;
	if (nmappings < MAX_PHASES) {
		mappings[nmappings].addr = p;
		mappings[nmappings++].bytes = bytes;
	}
}

static size_t node_free_bytes(int node)
{
	char path[128], line[256];
	long long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", node);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "MemFree:");
		if (p) {
			kb = atoll(p + strlen("MemFree:"));
			break;
		}
	}
	if (f)
		fclose(f);
	if (kb < 0) {
		fprintf(stderr, "numa_place: no MemFree for node %d\n", node);
		exit(1);
	}
	return (size_t)kb * 1024;
}

static void write_deltas(FILE *out, const char *prefix, const struct counters *before, const struct counters *after)
{
	for (int n = 0; n < nodes; n++)
		for (size_t s = 0; s < NSTATS; s++)
			fprintf(out, "%snode%d.%s %lld\n", prefix, n, numastat_names[s], after->node[n][s] - before->node[n][s]);
	for (size_t s = 0; s < NSTATS; s++)
		fprintf(out, "%svmstat.%s %lld\n", prefix, numastat_names[s], after->vmstat[s] - before->vmstat[s]);
	fprintf(out, "%snr_migrations %lld\n", prefix, after->nr_migrations - before->nr_migrations);
}

static void run_phase(const char *phase, long mb, long spill_mb, long hops)
{
	if (!strcmp(phase, "bind0") || !strcmp(phase, "bind1")) {
		set_policy(MPOL_BIND, phase[4] - '0');
		touch((size_t)mb << 20);
		set_policy(MPOL_DEFAULT, 0);
	} else if (!strcmp(phase, "spill")) {
		/* Past what node 0 has free: the kernel must go elsewhere. */
		touch(node_free_bytes(0) + ((size_t)spill_mb << 20));
	} else if (!strcmp(phase, "hop")) {
		for (long i = 1; i <= hops; i++)
			pin(i % 2);
		pin(0);
	} else {
		fprintf(stderr, "numa_place: unknown phase %s\n", phase);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	char *phases = NULL;
	const char *results = NULL;
	long mb = 32, spill_mb = 32, hops = 200;
	struct counters first, last, before[MAX_PHASES], after[MAX_PHASES];
	const char *names[MAX_PHASES];
	int count = 0;
	char path[64];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--phase") && i + 1 < argc)
			phases = argv[++i];
		else if (!strcmp(argv[i], "--mb") && i + 1 < argc)
			mb = atol(argv[++i]);
		else if (!strcmp(argv[i], "--spill-mb") && i + 1 < argc)
			spill_mb = atol(argv[++i]);
		else if (!strcmp(argv[i], "--hops") && i + 1 < argc)
			hops = atol(argv[++i]);
		else if (!strcmp(argv[i], "--results") && i + 1 < argc)
			results = argv[++i];
		else {
			fprintf(stderr, "usage: numa_place --phase bind0,bind1,spill,hop [--mb N] [--spill-mb N] [--hops N] [--results FILE]\n");
			return 2;
		}
	}
	for (char *name = strtok(phases ? phases : (char[]){"bind1"}, ","); name && count < MAX_PHASES; name = strtok(NULL, ","))
		names[count++] = name;
	for (nodes = 0; nodes < MAX_NODES; nodes++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", nodes);
		if (access(path, F_OK))
			break;
	}

	pin(0);
	read_counters(&first);
	for (int p = 0; p < count; p++) {
		read_counters(&before[p]);
		run_phase(names[p], mb, spill_mb, hops);
		read_counters(&after[p]);
	}
	for (int m = 0; m < nmappings; m++)
		munmap(mappings[m].addr, mappings[m].bytes);
	read_counters(&last);

	FILE *out = results ? fopen(results, "w") : stdout;
	if (!out) {
		perror(results);
		return 1;
	}
	for (int p = 0; p < count; p++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "%s.", names[p]);
		write_deltas(out, prefix, &before[p], &after[p]);
	}
	write_deltas(out, "", &first, &last);
	/* The whole life of this thread, fork included, as mltrace counts it. */
	fprintf(out, "nr_migrations_life %lld\n", last.nr_migrations);
	if (out != stdout)
		fclose(out);
	return 0;
}
