// Forks and reaps N short-lived processes as fast as it can, in bursts of
// B children alive at once: a storm of fork and exit records for mltrace's
// ring buffer (test/ebpf/overflow.test.ts). Each child exits at once with
// status 0. The children's pids, in fork order, go to PIDS_FILE (one a line)
// once all are reaped, so a test can check every process mltrace listed.
//
// usage: forkstorm N [B] [PIDS_FILE]
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	long burst = argc > 2 ? atol(argv[2]) : 64;
	const char *path = argc > 3 ? argv[3] : NULL;
	pid_t *pids = calloc(n > 0 ? n : 1, sizeof(*pids));
	long forked = 0;

	if (n < 1 || burst < 1 || !pids) {
		fprintf(stderr, "usage: forkstorm N [BURST] [PIDS_FILE]\n");
		return 2;
	}
	while (forked < n) {
		long in_burst = 0;

		for (; in_burst < burst && forked < n; in_burst++) {
			pid_t pid = fork();

			if (pid < 0) {
				fprintf(stderr, "forkstorm: fork: %s\n", strerror(errno));
				return 1;
			}
			if (pid == 0)
				_exit(0);
			pids[forked++] = pid;
		}
		for (; in_burst > 0; in_burst--) {
			int status;

			if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "forkstorm: a child did not exit 0\n");
				return 1;
			}
		}
	}
	if (path) {
		FILE *out = fopen(path, "w");

		if (!out)
			return 1;
		for (long i = 0; i < n; i++)
			fprintf(out, "%d\n", pids[i]);
		if (fclose(out))
			return 1;
	}
	return 0;
}
