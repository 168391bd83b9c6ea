// Makes the kernel hand one pid to two processes in turn, within one traced
// session (test/ebpf/pid-reuse.test.ts). Child A (same program, so a
// DataLoader-like child of the trainer) burns --a-ms of CPU and exits 3;
// once it is reaped, the initial namespace's ns_last_pid is set to A's pid
// minus one and child B is forked, which then has A's pid. B burns --b-ms
// and execs `sh -c 'exit 5'` (another program: not a worker). Other forks on
// the machine can take the pid first: then B exits 99 at once and it is
// tried again. Each line of --results: "A|B pid oncpu_ns" (oncpu from the
// task's own schedstat just before it exits or execs).
//
// usage: pidreuse --results FILE [--a-ms MS] [--b-ms MS]   (root)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "pidreuse: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void burn_cpu(long ms)
{
	struct timespec start, now;
	volatile uint64_t sink = 0;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
	do {
		for (int i = 0; i < 2000; i++)
			sink += i * 2654435761u;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

static void report(int fd, const char *who)
{
	char stat[128], line[96];
	unsigned long long oncpu = 0;
	int sfd = open("/proc/thread-self/schedstat", O_RDONLY), n;

	if (sfd >= 0) {
		n = read(sfd, stat, sizeof(stat) - 1);
		if (n > 0) {
			stat[n] = 0;
			oncpu = strtoull(stat, NULL, 10);
		}
		close(sfd);
	}
	n = snprintf(line, sizeof(line), "%s %d %llu\n", who, getpid(), oncpu);
	if (write(fd, line, n) != n)
		die("write results");
}

static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	const char *results = NULL;
	long a_ms = 200, b_ms = 50;
	pid_t a;
	int fd;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--results"))
			results = argv[i + 1];
		else if (!strcmp(argv[i], "--a-ms"))
			a_ms = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--b-ms"))
			b_ms = atol(argv[i + 1]);
	}
	if (!results) {
		fprintf(stderr, "usage: pidreuse --results FILE [--a-ms MS] [--b-ms MS]\n");
		return 2;
	}
	fd = open(results, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0)
		die(results);

	a = fork();
	if (a < 0)
		die("fork");
	if (a == 0) {
		burn_cpu(a_ms);
		report(fd, "A");
		_exit(3);
	}
	if (reap(a) != 3)
		die("child A");
	for (int attempt = 0; attempt < 200; attempt++) {
		char last[32];
		int n = snprintf(last, sizeof(last), "%d", a - 1);
		int ns = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
		pid_t b;

		if (ns < 0)
			die("open ns_last_pid");
		if (write(ns, last, n) != n)
			die("write ns_last_pid");
		close(ns);
		b = fork();
		if (b < 0)
			die("fork");
		if (b == 0) {
			if (getpid() != a)
				_exit(99); /* someone else's fork took the pid: try again */
			burn_cpu(b_ms);
			report(fd, "B");
			execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
			_exit(127);
		}
		if (reap(b) == 5)
			return 0;
	}
	fprintf(stderr, "pidreuse: pid %d was never handed out again\n", a);
	return 1;
}
