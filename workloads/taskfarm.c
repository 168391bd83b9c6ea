// Many tasks alive at once, each with a known amount of CPU: T threads in
// this process and P single-threaded child processes. Each task burns
// --spin-ms of its own CPU time, appends "pid tid oncpu_ns" to --results
// from its own /proc/thread-self/schedstat (the kernel's sum_exec_runtime),
// then waits until every task has reported (and --hold-s has passed), so all
// of them are alive together; then all exit. Used by the tests of more tasks
// than mltrace has slots or target entries for, and as a --pid tree to
// attach to (test/ebpf/overflow.test.ts, bench/kill-loop.mjs).
//
// usage: taskfarm [--threads T] [--procs P] [--spin-ms M] [--hold-s S] [--results FILE]
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long spin_ms;
static int results_fd = -1;
static int done_pipe[2], gate_pipe[2];

static void die(const char *what)
{
	fprintf(stderr, "taskfarm: %s: %s\n", what, strerror(errno));
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

/* One task's life: burn, report, wait for the gate to close. */
static void task(void)
{
	char line[96], stat[128];
	unsigned long long oncpu = 0;
	int fd, n;

	burn_cpu(spin_ms);
	fd = open("/proc/thread-self/schedstat", O_RDONLY);
	if (fd >= 0) {
		n = read(fd, stat, sizeof(stat) - 1);
		if (n > 0) {
			stat[n] = 0;
			oncpu = strtoull(stat, NULL, 10);
		}
		close(fd);
	}
	if (results_fd >= 0) {
		n = snprintf(line, sizeof(line), "%d %d %llu\n", getpid(), gettid(), oncpu);
		if (write(results_fd, line, n) != n) /* O_APPEND: one write, one line */
			die("write results");
	}
	if (write(done_pipe[1], "x", 1) != 1)
		die("write done");
	/* EOF once the main thread closes the last write end. */
	while (read(gate_pipe[0], line, 1) < 0 && errno == EINTR)
		;
}

static void *thread_main(void *arg)
{
	(void)arg;
	task();
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"threads", required_argument, NULL, 't'}, {"procs", required_argument, NULL, 'p'},
		{"spin-ms", required_argument, NULL, 's'}, {"hold-s", required_argument, NULL, 'h'},
		{"results", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0},
	};
	long threads = 0, procs = 0, hold_s = 0;
	pthread_t *ids;
	char byte;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't': threads = atol(optarg); break;
		case 'p': procs = atol(optarg); break;
		case 's': spin_ms = atol(optarg); break;
		case 'h': hold_s = atol(optarg); break;
		case 'r':
			results_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
			if (results_fd < 0)
				die(optarg);
			break;
		default:
			fprintf(stderr, "usage: taskfarm [--threads T] [--procs P] [--spin-ms M] [--hold-s S] [--results FILE]\n");
			return 2;
		}
	}
	if (pipe(done_pipe) || pipe(gate_pipe))
		die("pipe");
	for (long i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(gate_pipe[1]); /* only the main process holds the gate open */
			task();
			_exit(0);
		}
	}
	ids = calloc(threads > 0 ? threads : 1, sizeof(*ids));
	if (!ids)
		die("calloc");
	for (long i = 0; i < threads; i++) {
		/* small stacks: thousands of threads fit in a test's memory */
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		if ((errno = pthread_create(&ids[i], &attr, thread_main, NULL)))
			die("pthread_create");
		pthread_attr_destroy(&attr);
	}
	for (long i = 0; i < threads + procs; i++)
		if (read(done_pipe[0], &byte, 1) != 1)
			die("read done");
	if (hold_s > 0)
		sleep(hold_s);
	close(gate_pipe[1]);
	for (long i = 0; i < threads; i++)
		pthread_join(ids[i], NULL);
	for (long i = 0; i < procs; i++)
		if (wait(NULL) < 0)
			die("wait");
	return 0;
}
