// A synthetic training job, shaped like a PyTorch trainer with DataLoader
// workers: the trainer process has a pool of compute threads; it forks
// worker processes that read batches from a dataset file, "decode" them
// (burn CPU), and hand them over pipes; the trainer keeps one request in
// flight per worker (prefetch) and runs a compute step per batch.
//
// --slow-loader makes the job input-bound: each batch costs the workers
// SLOW_LOADER_FACTOR times the trainer's step, so the trainer mostly waits.
//
// Each process appends its own getrusage(RUSAGE_SELF) to --results at exit,
// so tests can compare mltrace with the kernel's accounting.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct options {
	int workers, threads, batches, step_us, load_us, batch_kib;
	const char *dataset, *results;
};

static struct options opt = {2, 3, 200, 2000, 3000, 256, NULL, NULL};
static int slow_loader;

#define SLOW_LOADER_FACTOR 10

static void die(const char *what)
{
	fprintf(stderr, "pipeline: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Burns `us` of this thread's CPU time, however often it is preempted. */
static void burn_cpu(long us)
{
	struct timespec start, now;
	volatile uint64_t sink = 0;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
	do {
		for (int i = 0; i < 2000; i++)
			sink += i * 2654435761u;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000 < us);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("write");
		p += n;
		len -= (size_t)n;
	}
}

/* Returns 0 at end of file. */
static size_t read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* The calling thread's run-queue wait, from the kernel's schedstat. */
static unsigned long long run_delay_ns(void)
{
	unsigned long long on_cpu = 0, waited = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (f) {
		if (fscanf(f, "%llu %llu", &on_cpu, &waited) != 2)
			waited = 0;
		fclose(f);
	}
	return waited;
}

/* "role pid nvcsw nivcsw utime_us stime_us run_delay_ns" */
static void report_rusage(const char *role)
{
	struct rusage ru;
	char line[256];
	int fd, len;

	if (!opt.results)
		return;
	getrusage(RUSAGE_SELF, &ru);
	len = snprintf(line, sizeof(line), "%s %d %ld %ld %ld %ld %llu\n", role, getpid(), ru.ru_nvcsw, ru.ru_nivcsw,
		       ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
		       ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec, run_delay_ns());
	fd = open(opt.results, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		die("open results");
	write_all(fd, line, (size_t)len); /* one write: lines never interleave */
	close(fd);
}

/* "reaped pid nvcsw nivcsw utime_us stime_us -": a worker's rusage as wait4()
 * returns it once the worker has exited for good, its exit path included
 * (its own line is read just before it exits). */
static void report_reaped(pid_t pid, const struct rusage *ru)
{
	char line[256];
	int fd, len;

	if (!opt.results)
		return;
	len = snprintf(line, sizeof(line), "reaped %d %ld %ld %ld %ld -\n", pid, ru->ru_nvcsw, ru->ru_nivcsw,
		       ru->ru_utime.tv_sec * 1000000L + ru->ru_utime.tv_usec,
		       ru->ru_stime.tv_sec * 1000000L + ru->ru_stime.tv_usec);
	fd = open(opt.results, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		die("open results");
	write_all(fd, line, (size_t)len);
	close(fd);
}

static void make_dataset(const char *path, size_t bytes)
{
	struct stat st;
	char block[65536];
	int fd;

	if (stat(path, &st) == 0 && (size_t)st.st_size >= bytes)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("create dataset");
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (char)(i * 131);
	for (size_t done = 0; done < bytes; done += sizeof(block))
		write_all(fd, block, sizeof(block));
	close(fd);
}

static void worker(int requests, int batches_out)
{
	size_t batch = (size_t)opt.batch_kib * 1024;
	char *buf = malloc(batch);
	int dataset = opt.dataset ? open(opt.dataset, O_RDONLY) : -1;
	struct stat st;
	uint32_t index;

	if (!buf)
		die("malloc");
	if (dataset >= 0 && fstat(dataset, &st))
		die("stat dataset");
	while (read_all(requests, &index, sizeof(index)) == sizeof(index)) {
		if (dataset >= 0) {
			off_t at = (off_t)(((uint64_t)index * batch) % (uint64_t)(st.st_size - (off_t)batch + 1));
			if (pread(dataset, buf, batch, at) < 0)
				die("read dataset");
		}
		burn_cpu(opt.load_us); /* decode + augment */
		write_all(batches_out, buf, batch);
	}
	report_rusage("worker");
	exit(0);
}

/* The trainer's intra-op pool: each step, every thread burns its share. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t step_ready = PTHREAD_COND_INITIALIZER, step_done = PTHREAD_COND_INITIALIZER;
static int step_id, pending, stopping;

static void *pool_thread(void *arg)
{
	int seen = 0;
	char name[16];

	snprintf(name, sizeof(name), "pool-%ld", (long)(intptr_t)arg);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		pthread_mutex_lock(&lock);
		while (step_id == seen && !stopping)
			pthread_cond_wait(&step_ready, &lock);
		if (stopping) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		seen = step_id;
		pthread_mutex_unlock(&lock);
		burn_cpu(opt.step_us / opt.threads);
		pthread_mutex_lock(&lock);
		if (--pending == 0)
			pthread_cond_signal(&step_done);
		pthread_mutex_unlock(&lock);
	}
}

static void train_step(void)
{
	pthread_mutex_lock(&lock);
	pending = opt.threads - 1;
	step_id++;
	pthread_cond_broadcast(&step_ready);
	pthread_mutex_unlock(&lock);
	burn_cpu(opt.step_us / opt.threads);
	pthread_mutex_lock(&lock);
	while (pending > 0)
		pthread_cond_wait(&step_done, &lock);
	pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"workers", required_argument, 0, 'w'}, {"threads", required_argument, 0, 't'},
		{"batches", required_argument, 0, 'b'}, {"step-us", required_argument, 0, 's'},
		{"load-us", required_argument, 0, 'l'}, {"batch-kib", required_argument, 0, 'k'},
		{"dataset", required_argument, 0, 'd'}, {"results", required_argument, 0, 'r'},
		{"slow-loader", no_argument, 0, 'S'}, {0, 0, 0, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'w': opt.workers = atoi(optarg); break;
		case 't': opt.threads = atoi(optarg); break;
		case 'b': opt.batches = atoi(optarg); break;
		case 's': opt.step_us = atoi(optarg); break;
		case 'l': opt.load_us = atoi(optarg); break;
		case 'k': opt.batch_kib = atoi(optarg); break;
		case 'd': opt.dataset = optarg; break;
		case 'r': opt.results = optarg; break;
		case 'S': slow_loader = 1; break;
		default:
			fprintf(stderr, "usage: pipeline [--workers N] [--threads N] [--batches N] [--step-us US] "
					"[--load-us US] [--batch-kib K] [--dataset FILE] [--results FILE] [--slow-loader]\n");
			return 2;
		}
	}
	if (opt.workers < 1 || opt.threads < 1 || opt.batch_kib < 1)
		return 2;
	if (slow_loader)
		opt.load_us = SLOW_LOADER_FACTOR * opt.step_us;
	if (opt.dataset)
		make_dataset(opt.dataset, 64u << 20);

	int requests[opt.workers], batches_in[opt.workers];
	pid_t pids[opt.workers];
	for (int w = 0; w < opt.workers; w++) {
		int req[2], data[2];
		if (pipe(req) || pipe(data))
			die("pipe");
		pids[w] = fork();
		if (pids[w] < 0)
			die("fork");
		if (pids[w] == 0) {
			close(req[1]);
			close(data[0]);
			for (int o = 0; o < w; o++) { /* siblings' ends are not ours */
				close(requests[o]);
				close(batches_in[o]);
			}
			worker(req[0], data[1]);
		}
		close(req[0]);
		close(data[1]);
		requests[w] = req[1];
		batches_in[w] = data[0];
	}

	pthread_t pool[opt.threads];
	for (long t = 1; t < opt.threads; t++)
		pthread_create(&pool[t], NULL, pool_thread, (void *)(intptr_t)t);

	size_t batch = (size_t)opt.batch_kib * 1024;
	char *buf = malloc(batch);
	uint32_t next = 0;
	for (int w = 0; w < opt.workers && (int)next < opt.batches; w++, next++) /* prefetch */
		write_all(requests[w], &next, sizeof(next));
	for (int b = 0; b < opt.batches; b++) {
		int w = b % opt.workers;
		if (read_all(batches_in[w], buf, batch) != batch) {
			fprintf(stderr, "pipeline: worker %d ended early\n", w);
			return 1;
		}
		if ((int)next < opt.batches) {
			write_all(requests[w], &next, sizeof(next));
			next++;
		}
		train_step();
	}

	for (int w = 0; w < opt.workers; w++)
		close(requests[w]);
	for (int w = 0; w < opt.workers; w++) {
		struct rusage ru;

		if (wait4(pids[w], NULL, 0, &ru) == pids[w])
			report_reaped(pids[w], &ru);
	}
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&step_ready);
	pthread_mutex_unlock(&lock);
	for (int t = 1; t < opt.threads; t++)
		pthread_join(pool[t], NULL);
	report_rusage("trainer");
	return 0;
}
