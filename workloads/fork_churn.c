// Many short processes, as a job that respawns its workers: forks N
// children one after another (at most PARALLEL alive at once); each burns
// BURN_US of CPU in slices with a short sleep between them (voluntary
// switches), then exits. The parent writes the children's pids in fork
// order, then its own and its children's getrusage, to --results:
//   child PID           (one line per child, in fork order)
//   self CPU_NS NVCSW NIVCSW
//   children CPU_NS NVCSW NIVCSW
// so a test can check mltrace's totals against the kernel's accounting.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void child(long burn_us)
{
	const long long slice = burn_us * 1000LL / 4;
	for (int i = 0; i < 4; i++) {
		long long until = thread_cpu_ns() + slice;
		while (thread_cpu_ns() < until)
			;
		struct timespec nap = {0, 200000};
		nanosleep(&nap, NULL);
	}
	_exit(0);
}

static void print_usage(FILE *out, const char *who, int which)
{
	struct rusage ru;
	getrusage(which, &ru);
	long long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
	fprintf(out, "%s %lld %ld %ld\n", who, cpu, ru.ru_nvcsw, ru.ru_nivcsw);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: fork_churn N PARALLEL BURN_US RESULTS\n");
		return 2;
	}
	int n = atoi(argv[1]), parallel = atoi(argv[2]);
	long burn_us = atol(argv[3]);
	FILE *out = fopen(argv[4], "w");
	if (!out || n < 1 || parallel < 1) {
		fprintf(stderr, "fork_churn: bad arguments or %s: %s\n", argv[4], strerror(errno));
		return 2;
	}
	int alive = 0;
	for (int i = 0; i < n; i++) {
		if (alive == parallel) {
			if (wait(NULL) < 0) return 1;
			alive--;
		}
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork_churn: fork");
			return 1;
		}
		if (pid == 0) child(burn_us);
		fprintf(out, "child %d\n", pid);
		alive++;
	}
	while (alive-- > 0)
		if (wait(NULL) < 0) return 1;
	print_usage(out, "self", RUSAGE_SELF);
	print_usage(out, "children", RUSAGE_CHILDREN);
	return fclose(out) == 0 ? 0 : 1;
}
