// SPDX-License-Identifier: MIT
/*
 * Reads a file through the page cache, 1 MiB at a time, then asks the
 * kernel's delay accounting (taskstats over generic netlink) how long this
 * thread stalled freeing pages: in a memory cgroup smaller than the file,
 * every read past the limit reclaims first. Writes
 * "freepages_count N\nfreepages_delay_ns N\nbytes N\n" to --results. Needs
 * kernel.task_delayacct=1 before it starts. No libnl: the few netlink
 * messages are built by hand.
 *
 *   reclaim_reader --file PATH --results FILE [--hold-ms MS]
 *
 * --hold-ms: stay that long after reading (asleep), so a tracer that reads
 * the process's cgroup once a second sees it there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "reclaim_reader: %s: %s\n", what, strerror(errno));
	exit(1);
}

struct request {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char attrs[256];
};

/* Appends one netlink attribute to the request. */
static void put_attr(struct request *req, unsigned short type, const void *data, unsigned short len)
{
	struct nlattr *a = (struct nlattr *)((char *)req + NLMSG_ALIGN(req->n.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	req->n.nlmsg_len = NLMSG_ALIGN(req->n.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static int transact(int fd, struct request *req, char *reply, size_t size)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t got;

	if (sendto(fd, req, req->n.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		die("send");
	got = recv(fd, reply, size, 0);
	if (got < 0)
		die("recv");
	if (((struct nlmsghdr *)reply)->nlmsg_type == NLMSG_ERROR) {
		errno = -((struct nlmsgerr *)NLMSG_DATA(reply))->error;
		die("netlink");
	}
	return (int)got;
}

/* The first attribute of `type` in a reply's generic-netlink payload (searching nested ones too). */
static struct nlattr *find_attr(char *start, int len, unsigned short type)
{
	while (len >= NLA_HDRLEN) {
		struct nlattr *a = (struct nlattr *)start;
		unsigned short t = a->nla_type & NLA_TYPE_MASK;

		if (a->nla_len < NLA_HDRLEN)
			return NULL;
		if (t == type)
			return a;
		if (t == TASKSTATS_TYPE_AGGR_PID || t == TASKSTATS_TYPE_AGGR_TGID) {
			struct nlattr *inner = find_attr(start + NLA_HDRLEN, a->nla_len - NLA_HDRLEN, type);
			if (inner)
				return inner;
		}
		start += NLA_ALIGN(a->nla_len);
		len -= NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static struct nlattr *reply_attr(char *reply, unsigned short type)
{
	struct nlmsghdr *n = (struct nlmsghdr *)reply;
	char *payload = (char *)NLMSG_DATA(n) + GENL_HDRLEN;

	return find_attr(payload, (int)(n->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN), type);
}

static struct taskstats own_taskstats(void)
{
	static char reply[8192];
	struct request req;
	struct nlattr *a;
	struct taskstats stats;
	unsigned short family;
	__u32 tid = (__u32)syscall(SYS_gettid);
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);

	if (fd < 0)
		die("socket");
	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req.n.nlmsg_type = GENL_ID_CTRL;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.g.cmd = CTRL_CMD_GETFAMILY;
	req.g.version = 1;
	put_attr(&req, CTRL_ATTR_FAMILY_NAME, TASKSTATS_GENL_NAME, sizeof(TASKSTATS_GENL_NAME));
	transact(fd, &req, reply, sizeof(reply));
	{
		struct nlmsghdr *n = (struct nlmsghdr *)reply;
		a = find_attr((char *)NLMSG_DATA(n) + GENL_HDRLEN, (int)(n->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN), CTRL_ATTR_FAMILY_ID);
	}
	if (!a) {
		errno = ENOENT;
		die("taskstats family");
	}
	memcpy(&family, (char *)a + NLA_HDRLEN, sizeof(family));

	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req.n.nlmsg_type = family;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.g.cmd = TASKSTATS_CMD_GET;
	req.g.version = 1;
	put_attr(&req, TASKSTATS_CMD_ATTR_PID, &tid, sizeof(tid));
	transact(fd, &req, reply, sizeof(reply));
	a = reply_attr(reply, TASKSTATS_TYPE_STATS);
	if (!a) {
		errno = ENOENT;
		die("taskstats reply");
	}
	/* A kernel of another taskstats version may send more or fewer bytes: take what both know. */
	memset(&stats, 0, sizeof(stats));
	memcpy(&stats, (char *)a + NLA_HDRLEN, (size_t)(a->nla_len - NLA_HDRLEN) < sizeof(stats) ? (size_t)(a->nla_len - NLA_HDRLEN) : sizeof(stats));
	close(fd);
	return stats;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {{"file", required_argument, 0, 'f'}, {"results", required_argument, 0, 'r'}, {"hold-ms", required_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *file = NULL, *results = NULL;
	long hold_ms = 0;
	static char buf[1 << 20];
	unsigned long long bytes = 0;
	struct taskstats stats;
	ssize_t got;
	FILE *out;
	int fd, c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'f')
			file = optarg;
		else if (c == 'r')
			results = optarg;
		else if (c == 'h')
			hold_ms = atol(optarg);
		else
			return 2;
	}
	if (!file || !results) {
		fprintf(stderr, "usage: reclaim_reader --file PATH --results FILE\n");
		return 2;
	}
	fd = open(file, O_RDONLY);
	if (fd < 0)
		die("open");
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		bytes += (unsigned long long)got;
	if (got < 0)
		die("read");
	close(fd);
	if (hold_ms > 0)
		usleep((useconds_t)(hold_ms * 1000));
	stats = own_taskstats();
	out = fopen(results, "w");
	if (!out)
		die("results");
	fprintf(out, "freepages_count %llu\nfreepages_delay_ns %llu\nbytes %llu\n", (unsigned long long)stats.freepages_count,
		(unsigned long long)stats.freepages_delay_total, bytes);
	fclose(out);
	return 0;
}
