// SPDX-License-Identifier: GPL-2.0
/* /proc scanner; see procscan.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procscan.h"

#define PF_KTHREAD_FLAG 0x00200000u /* include/linux/sched.h PF_KTHREAD */
#define KTHREADD_PID    2
#define STAT_MAX        4096        /* a stat line is ~300 bytes */
#define STATUS_MAX      8192

static const char deleted_suffix[] = " (deleted)";

void procinfo__release(struct procinfo *pi)
{
	if (!pi)
		return;
	free(pi->argv);
	free(pi->env);
	pi->argv = pi->env = NULL;
	pi->argv_len = pi->env_len = 0;
}

/* ---- stat --------------------------------------------------------------- */

static int parse_u64_word(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	while (s < end && *s == ' ')
		s++;
	if (s == end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (s < end && *s != ' ' && *s != '\n')
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}

/* Skip one space-separated field that may be negative or non-numeric. */
static int skip_word(const char **p, const char *end)
{
	const char *s = *p;

	while (s < end && *s == ' ')
		s++;
	if (s == end)
		return -EINVAL;
	while (s < end && *s != ' ' && *s != '\n')
		s++;
	*p = s;
	return 0;
}

/*
 * "pid (comm) state ppid pgrp session tty_nr tpgid flags ... starttime".
 * comm is whatever the process set with prctl(PR_SET_NAME): spaces, ')'
 * and "(" included, so the comm field ends at the last ')'.
 */
int procscan__parse_stat(const char *buf, size_t len, struct proc_stat *st)
{
	const char *end = buf + len, *open, *close = NULL, *p;
	uint64_t v;
	size_t n, field;

	memset(st, 0, sizeof(*st));
	open = memchr(buf, '(', len);
	for (p = buf; p < end; p++)
		if (*p == ')')
			close = p;
	if (!open || !close || close < open)
		return -EINVAL;
	p = buf;
	if (parse_u64_word(&p, open, &v) || v > UINT32_MAX)
		return -EINVAL;
	st->pid = v;
	n = close - open - 1;
	if (n > sizeof(st->comm) - 1)
		n = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, n);
	p = close + 1;
	if (p + 2 > end || p[0] != ' ')
		return -EINVAL;
	st->state = p[1];
	p += 2;
	/* Fields 4.. : ppid is 4, flags 9, starttime 22. */
	for (field = 4; field <= 22; field++) {
		if (field != 4 && field != 9 && field != 22) {
			if (skip_word(&p, end))
				return -EINVAL;
			continue;
		}
		if (parse_u64_word(&p, end, &v))
			return -EINVAL;
		if (field == 4) {
			if (v > UINT32_MAX)
				return -EINVAL;
			st->ppid = v;
		} else if (field == 9) {
			st->flags = v;
		} else {
			st->start_ticks = v;
		}
	}
	return 0;
}

/* ticks * 1e9 / hz without overflowing for any realistic uptime. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	static long hz;

	if (hz <= 0)
		hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;   /* USER_HZ on every Linux architecture */
	return ticks / hz * 1000000000ull + ticks % hz * 1000000000ull / hz;
}

/* ---- file reads --------------------------------------------------------- */

/* Read up to len-1 bytes of dfd/name into buf, NUL-terminated. */
static ssize_t read_small(int dfd, const char *name, char *buf, size_t len)
{
	size_t used = 0;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (used + 1 < len) {
		ssize_t n = read(fd, buf + used, len - 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (n == 0)
			break;
		used += n;
	}
	close(fd);
	buf[used] = '\0';
	return used;
}

/*
 * Read at most cap bytes of dfd/name into a new heap buffer.  An empty or
 * unreadable file (EACCES on another user's environ, ESRCH once the
 * process is a zombie) gives NULL/0 and 0: the caller can do without.
 */
static int read_capped(int dfd, const char *name, size_t cap, char **out, size_t *out_len)
{
	size_t used = 0, size = 0;
	char *buf = NULL;
	int fd, err = 0;

	*out = NULL;
	*out_len = 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (used < cap) {
		ssize_t n;

		if (used == size) {
			size_t ns = size ? size * 2 : 4096;
			char *nb;

			if (ns > cap)
				ns = cap;
			nb = realloc(buf, ns);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
			size = ns;
		}
		n = read(fd, buf + used, size - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += n;
	}
	close(fd);
	if (err || !used) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = used;
	return 0;
}

/* readlink into buf, "" on failure (kernel threads have no exe). */
static void read_link(int dfd, const char *name, char *buf, size_t len)
{
	ssize_t n = readlinkat(dfd, name, buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
}

/* The kernel appends " (deleted)" to the exe of a replaced binary (an
 * agent updated while running); matching wants the path it had. */
static bool strip_deleted(char *path)
{
	size_t n = strlen(path), k = sizeof(deleted_suffix) - 1;

	if (n <= k || strcmp(path + n - k, deleted_suffix) != 0)
		return false;
	path[n - k] = '\0';
	return true;
}

static uid_t read_uid(int dfd)
{
	char buf[STATUS_MAX];
	const char *p;
	unsigned long uid;

	if (read_small(dfd, "status", buf, sizeof(buf)) <= 0)
		return (uid_t)-1;
	p = strstr(buf, "\nUid:");
	if (!p || sscanf(p + 5, "%lu", &uid) != 1)
		return (uid_t)-1;
	return (uid_t)uid;
}

/* ---- one process -------------------------------------------------------- */

static int fill_from_stat(int dfd, uint32_t pid, struct procinfo *pi)
{
	char buf[STAT_MAX];
	struct proc_stat st;
	ssize_t n = read_small(dfd, "stat", buf, sizeof(buf));

	if (n < 0)
		return n == -ESRCH ? -ENOENT : (int)n;
	if (procscan__parse_stat(buf, n, &st) || st.pid != pid)
		return -EINVAL;
	if ((st.flags & PF_KTHREAD_FLAG) || pid == KTHREADD_PID)
		return -ESRCH;
	pi->pid = st.pid;
	pi->ppid = st.ppid;
	pi->start_ns = ticks_to_ns(st.start_ticks);
	memcpy(pi->comm, st.comm, sizeof(pi->comm));
	return 0;
}

static int fill(int dfd, uint32_t pid, bool want_env, struct procinfo *pi)
{
	int err = fill_from_stat(dfd, pid, pi);

	if (err)
		return err;
	read_link(dfd, "exe", pi->exe, sizeof(pi->exe));
	/* Without PF_KTHREAD in a fake tree, or on kernels that hide it, a
	 * child of kthreadd with no exe is a kernel thread all the same. */
	if (!pi->exe[0] && pi->ppid == KTHREADD_PID)
		return -ESRCH;
	pi->exe_deleted = strip_deleted(pi->exe);
	read_link(dfd, "cwd", pi->cwd, sizeof(pi->cwd));
	pi->uid = read_uid(dfd);
	if ((err = read_capped(dfd, "cmdline", PROCSCAN_ARGV_MAX, &pi->argv, &pi->argv_len)))
		return err;
	if (want_env)
		err = read_capped(dfd, "environ", PROCSCAN_ENV_MAX, &pi->env, &pi->env_len);
	return err;
}

int procscan__one(const char *proc_root, uint32_t pid, bool want_env, struct procinfo *pi)
{
	char dir[4096];
	int dfd, err, n;

	memset(pi, 0, sizeof(*pi));
	n = snprintf(dir, sizeof(dir), "%s/%u", proc_root ? proc_root : "/proc", pid);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	/* /proc/self is a symlink; a pid directory never is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	err = fill(dfd, pid, want_env, pi);
	close(dfd);
	if (err)
		procinfo__release(pi);
	return err;
}

/* ---- all processes ------------------------------------------------------ */

static bool parse_pid(const char *name, uint32_t *pid)
{
	uint64_t v = 0;

	if (!*name)
		return false;
	for (; *name; name++) {
		if (*name < '0' || *name > '9')
			return false;
		v = v * 10 + (uint64_t)(*name - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*pid = v;
	return v != 0;
}

int procscan__each(const char *proc_root, bool want_env,
		   int (*fn)(const struct procinfo *pi, void *ctx), void *ctx)
{
	struct procinfo *pi;
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (!fn)
		return -EINVAL;
	d = opendir(proc_root ? proc_root : "/proc");
	if (!d)
		return -errno;
	/* 8 KiB of paths: heap, not the caller's stack. */
	pi = malloc(sizeof(*pi));
	if (!pi) {
		closedir(d);
		return -ENOMEM;
	}
	while (!err && (de = readdir(d))) {
		uint32_t pid;
		int r;

		if (!parse_pid(de->d_name, &pid))
			continue;
		r = procscan__one(proc_root, pid, want_env, pi);
		if (r == -ENOMEM)
			err = r;
		if (r)
			continue;   /* exited, kernel thread, or unreadable */
		err = fn(pi, ctx);
		procinfo__release(pi);
	}
	free(pi);
	closedir(d);
	return err;
}

/* ---- descendants -------------------------------------------------------- */

static int pair_by_ppid(const void *a, const void *b)
{
	const struct proc_pair *x = a, *y = b;

	if (x->ppid != y->ppid)
		return x->ppid < y->ppid ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* First index in v (sorted by ppid) with ppid >= ppid. */
static size_t lower_ppid(const struct proc_pair *v, size_t n, uint32_t ppid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].ppid < ppid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t lower_u32(const uint32_t *v, size_t n, uint32_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Mark pid as seen; false if it already was.  pids holds every pid. */
static bool mark_seen(const uint32_t *pids, bool *seen, size_t n, uint32_t pid)
{
	size_t i = lower_u32(pids, n, pid);

	if (i == n || pids[i] != pid)
		return true;    /* root not in the list: nothing to remember */
	if (seen[i])
		return false;
	seen[i] = true;
	return true;
}

int procscan__descendants(const struct proc_pair *pairs, size_t n, uint32_t root,
			  uint32_t **out, size_t *n_out)
{
	struct proc_pair *byp = NULL;
	uint32_t *pids = NULL, *q = NULL, cur = root;
	bool *seen = NULL;
	size_t i, nq = 0, head = 0;
	int err = -ENOMEM;

	*out = NULL;
	*n_out = 0;
	if (!n || !pairs)
		return 0;
	byp = malloc(n * sizeof(*byp));
	pids = malloc(n * sizeof(*pids));
	seen = calloc(n, sizeof(*seen));
	q = malloc(n * sizeof(*q));
	if (!byp || !pids || !seen || !q)
		goto cleanup;
	memcpy(byp, pairs, n * sizeof(*byp));
	qsort(byp, n, sizeof(*byp), pair_by_ppid);
	for (i = 0; i < n; i++)
		pids[i] = pairs[i].pid;
	qsort(pids, n, sizeof(*pids), u32_cmp);
	mark_seen(pids, seen, n, root);
	for (;;) {
		for (i = lower_ppid(byp, n, cur); i < n && byp[i].ppid == cur; i++)
			if (mark_seen(pids, seen, n, byp[i].pid) && byp[i].pid != root)
				q[nq++] = byp[i].pid;
		if (head == nq)
			break;
		cur = q[head++];
	}
	err = 0;
	if (nq) {
		*out = q;
		*n_out = nq;
		q = NULL;
	}
cleanup:
	free(byp);
	free(pids);
	free(seen);
	free(q);
	return err;
}
