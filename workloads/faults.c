// A page-fault workload: touches fresh anonymous pages (minor faults), then
// reads a file through mmap (major faults when it is not in the page cache).
// Appends "faults <pid> <minflt> <majflt>" from its own getrusage to
// --results at exit, so tests can compare mltrace with the kernel.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "faults: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"pages", required_argument, 0, 'p'}, {"file", required_argument, 0, 'f'},
		{"results", required_argument, 0, 'r'}, {"rounds", required_argument, 0, 'n'},
		{0, 0, 0, 0},
	};
	long pages = 10000, rounds = 1, page = sysconf(_SC_PAGESIZE);
	const char *file = NULL, *results = NULL;
	volatile unsigned long sum = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'p': pages = atol(optarg); break;
		case 'f': file = optarg; break;
		case 'r': results = optarg; break;
		case 'n': rounds = atol(optarg); break;
		default:
			fprintf(stderr, "usage: faults [--pages N] [--rounds N] [--file PATH] [--results FILE]\n");
			return 2;
		}
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	/* Fresh anonymous memory: the first write to each page is a minor fault. */
	for (long r = 0; r < rounds; r++) {
		char *anon = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (anon == MAP_FAILED)
			die("mmap anonymous");
		for (long i = 0; i < pages; i++)
			anon[i * page] = (char)i;
		munmap(anon, pages * page);
	}

	/* A file through mmap: pages not in the page cache are major faults. */
	if (file) {
		struct stat st;
		int fd = open(file, O_RDONLY);
		if (fd < 0 || fstat(fd, &st))
			die("open file");
		const unsigned char *data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED)
			die("mmap file");
		/* No readahead: every page not cached is its own major fault. */
		if (madvise((void *)data, st.st_size, MADV_RANDOM))
			die("madvise");
		for (off_t at = 0; at < st.st_size; at += page)
			sum += data[at];
		munmap((void *)data, st.st_size);
		close(fd);
	}

	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* For benchmarks: the faulting part alone, without start-up and exit. */
	printf("elapsed_us %ld\n", (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000);

	if (results) {
		struct rusage ru;
		char line[128];
		int fd = open(results, O_WRONLY | O_APPEND | O_CREAT, 0644);
		if (fd < 0)
			die("open results");
		getrusage(RUSAGE_SELF, &ru);
		int len = snprintf(line, sizeof(line), "faults %d %ld %ld\n", getpid(), ru.ru_minflt, ru.ru_majflt);
		if (write(fd, line, (size_t)len) != len)
			die("write results");
		close(fd);
	}
	return 0;
}
