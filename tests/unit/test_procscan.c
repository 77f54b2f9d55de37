// SPDX-License-Identifier: GPL-2.0
/* Tests for user/procscan.c, on a fake /proc tree and on the real one. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "procscan.h"

static char root[64];

static void root_remove(void)
{
	if (root[0])
		test__rmtree(root);
	root[0] = '\0';
}

static bool put(const char *pid, const char *name, const char *data, size_t len)
{
	char path[256];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, pid, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	ok = write(fd, data, len) == (ssize_t)len;
	close(fd);
	return ok;
}

static bool link_to(const char *pid, const char *name, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/%s", root, pid, name);
	return symlink(target, path) == 0;
}

/* A stat line with fields 4.. filled: ppid at 4, flags at 9, start at 22. */
static bool put_stat(const char *pid, const char *comm, unsigned ppid, unsigned long flags,
		     unsigned long long start)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "%s (%s) S %u %s 0 0 -1 %lu 10 0 0 0 1 2 0 0 20 0 1 0 %llu 1000 50 "
		     "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
		     pid, comm, ppid, pid, flags, start);
	return put(pid, "stat", buf, n);
}

static bool put_status(const char *pid, unsigned uid)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "Name:\tx\nState:\tS (sleeping)\nUid:\t%u\t%u\t%u\t%u\n"
			 "Gid:\t0\t0\t0\t0\n", uid, uid + 1, uid + 2, uid + 3);

	return put(pid, "status", buf, n);
}

static bool fake_tree(void)
{
	static const char cmd100[] = "/usr/bin/node\0/usr/local/bin/claude\0-p\0";
	static const char env100[] = "PATH=/bin\0CLAUDECODE=1\0";
	char path[256];

	strcpy(root, "/tmp/aw-proc-XXXXXX");
	if (!mkdtemp(root))
		return false;
	/* 100: comm with ") (" inside, a negative field, an exe and a cwd */
	if (!put_stat("100", "my) (proc", 1, 0x400000, 12345) || !put_status("100", 1000) ||
	    !put("100", "cmdline", cmd100, sizeof(cmd100) - 1) ||
	    !put("100", "environ", env100, sizeof(env100) - 1) ||
	    !link_to("100", "exe", "/usr/bin/node") || !link_to("100", "cwd", "/home/u/proj"))
		return false;
	/* 101: child of 100, running a binary replaced on disk */
	if (!put_stat("101", "claude", 100, 0, 12400) || !put_status("101", 1000) ||
	    !put("101", "cmdline", "claude", 6) ||
	    !link_to("101", "exe", "/opt/claude/bin/claude.exe (deleted)") ||
	    !link_to("101", "cwd", "/"))
		return false;
	/* 2: kthreadd; 150: a kernel thread (PF_KTHREAD); 170: a child of
	 * kthreadd without the flag and without an exe */
	if (!put_stat("2", "kthreadd", 0, 0x208040, 0) || !put_stat("150", "kworker/0:1", 2, 0x4208060, 5) ||
	    !put_stat("170", "weird", 2, 0, 5))
		return false;
	/* 160: unparsable stat; 180: vanished (empty dir); "abc", "self" */
	if (!put("160", "stat", "160 no-parens S 1\n", 18))
		return false;
	snprintf(path, sizeof(path), "%s/180", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/abc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/self", root);
	return symlink("100", path) == 0;
}

struct seen {
	uint32_t pids[16];
	struct procinfo copy[2];
	size_t n;
};

static int collect(const struct procinfo *pi, void *ctx)
{
	struct seen *s = ctx;

	if (s->n == 16)
		return -E2BIG;
	if (pi->pid == 100 || pi->pid == 101) {
		struct procinfo *c = &s->copy[pi->pid - 100];

		*c = *pi;
		c->argv = NULL;  /* not ours past the callback */
		c->env = NULL;
		c->argv_len = pi->argv_len;
		c->env_len = pi->env_len;
	}
	s->pids[s->n++] = pi->pid;
	return 0;
}

static int stop_now(const struct procinfo *pi, void *ctx)
{
	++*(int *)ctx;
	return 42;
}

void test_procscan_fake_tree(void)
{
	struct seen s;
	int calls = 0;
	long hz = sysconf(_SC_CLK_TCK);

	memset(&s, 0, sizeof(s));
	ASSERT_TRUE(fake_tree());
	ASSERT_EQ_INT(procscan__each(root, true, collect, &s), 0);
	ASSERT_EQ_INT(s.n, 2);
	ASSERT_TRUE((s.pids[0] == 100 && s.pids[1] == 101) || (s.pids[0] == 101 && s.pids[1] == 100));
	ASSERT_EQ_STR(s.copy[0].comm, "my) (proc");
	ASSERT_EQ_INT(s.copy[0].ppid, 1);
	ASSERT_EQ_U64(s.copy[0].start_ns, 12345ull * 1000000000ull / hz);
	ASSERT_EQ_STR(s.copy[0].exe, "/usr/bin/node");
	ASSERT_FALSE(s.copy[0].exe_deleted);
	ASSERT_EQ_STR(s.copy[0].cwd, "/home/u/proj");
	ASSERT_EQ_INT(s.copy[0].uid, 1000);
	ASSERT_EQ_INT(s.copy[0].argv_len, 39);
	ASSERT_EQ_INT(s.copy[0].env_len, 23);
	ASSERT_EQ_INT(s.copy[1].ppid, 100);
	ASSERT_EQ_STR(s.copy[1].exe, "/opt/claude/bin/claude.exe");
	ASSERT_TRUE(s.copy[1].exe_deleted);
	ASSERT_EQ_INT(s.copy[1].env_len, 0);   /* no environ file */
	/* fn's nonzero return stops the walk and is returned */
	ASSERT_EQ_INT(procscan__each(root, false, stop_now, &calls), 42);
	ASSERT_EQ_INT(calls, 1);
	root_remove();
}

void test_procscan_one(void)
{
	struct procinfo *pi = calloc(1, sizeof(*pi));
	const char *s191;

	ASSERT_NOT_NULL(pi);
	ASSERT_TRUE(fake_tree());
	ASSERT_EQ_INT(procscan__one(root, 100, true, pi), 0);
	ASSERT_EQ_INT(pi->argv_len, 39);
	ASSERT_EQ_MEM(pi->argv, "/usr/bin/node\0/usr/local/bin/claude\0-p\0", 39);
	ASSERT_EQ_INT(pi->env_len, 23);
	ASSERT_EQ_MEM(pi->env, "PATH=/bin\0CLAUDECODE=1\0", 23);
	procinfo__release(pi);
	ASSERT_NULL(pi->argv);
	ASSERT_EQ_INT(procscan__one(root, 100, false, pi), 0);
	ASSERT_NULL(pi->env);
	ASSERT_EQ_INT(pi->env_len, 0);
	procinfo__release(pi);
	procinfo__release(NULL);
	ASSERT_EQ_INT(procscan__one(root, 999, false, pi), -ENOENT);
	ASSERT_EQ_INT(procscan__one(root, 180, false, pi), -ENOENT);
	ASSERT_EQ_INT(procscan__one(root, 150, false, pi), -ESRCH);
	ASSERT_EQ_INT(procscan__one(root, 2, false, pi), -ESRCH);
	ASSERT_EQ_INT(procscan__one(root, 170, false, pi), -ESRCH);
	ASSERT_EQ_INT(procscan__one(root, 160, false, pi), -EINVAL);
	/* a stat claiming another pid is not this process */
	s191 = "191 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n";
	ASSERT_TRUE(put("190", "stat", s191, strlen(s191)));
	ASSERT_EQ_INT(procscan__one(root, 190, false, pi), -EINVAL);
	ASSERT_NULL(pi->argv);
	free(pi);
	root_remove();
}

void test_procscan_caps(void)
{
	struct procinfo *pi = calloc(1, sizeof(*pi));
	size_t big = PROCSCAN_ENV_MAX + 1000;
	char *buf = malloc(big);

	ASSERT_NOT_NULL(pi);
	ASSERT_NOT_NULL(buf);
	ASSERT_TRUE(fake_tree());
	memset(buf, 'x', big);
	ASSERT_TRUE(put("100", "cmdline", buf, big));
	ASSERT_TRUE(put("100", "environ", buf, big));
	free(buf);
	ASSERT_EQ_INT(procscan__one(root, 100, true, pi), 0);
	ASSERT_EQ_INT(pi->argv_len, PROCSCAN_ARGV_MAX);
	ASSERT_EQ_INT(pi->env_len, PROCSCAN_ENV_MAX);
	procinfo__release(pi);
	free(pi);
	root_remove();
}

void test_procscan_parse_stat(void)
{
	struct proc_stat st;
	const char *s;

	s = "42 (a b) c)) R 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 999 0 0\n";
	ASSERT_EQ_INT(procscan__parse_stat(s, strlen(s), &st), 0);
	ASSERT_EQ_INT(st.pid, 42);
	ASSERT_EQ_STR(st.comm, "a b) c)");
	ASSERT_EQ_INT(st.state, 'R');
	ASSERT_EQ_INT(st.ppid, 7);
	ASSERT_EQ_U64(st.flags, 4194560);
	ASSERT_EQ_U64(st.start_ticks, 999);
	/* empty comm; comm longer than the kernel's 15 bytes is cut */
	s = "1 () S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n";
	ASSERT_EQ_INT(procscan__parse_stat(s, strlen(s), &st), 0);
	ASSERT_EQ_STR(st.comm, "");
	ASSERT_EQ_U64(st.start_ticks, 5);
	s = "1 (0123456789abcdefghij) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n";
	ASSERT_EQ_INT(procscan__parse_stat(s, strlen(s), &st), 0);
	ASSERT_EQ_STR(st.comm, "0123456789abcde");
	/* malformed */
	s = "1 (x S 0";
	ASSERT_EQ_INT(procscan__parse_stat(s, strlen(s), &st), -EINVAL);
	s = "1 (x) S 0 1 1 0 -1 0 0";           /* too few fields */
	ASSERT_EQ_INT(procscan__parse_stat(s, strlen(s), &st), -EINVAL);
	s = "x (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5";
	ASSERT_EQ_INT(procscan__parse_stat(s, strlen(s), &st), -EINVAL);
	s = "1 (x) S -3 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5";
	ASSERT_EQ_INT(procscan__parse_stat(s, strlen(s), &st), -EINVAL);
	s = "1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999";
	ASSERT_EQ_INT(procscan__parse_stat(s, strlen(s), &st), -EINVAL);
	s = ") (x";
	ASSERT_EQ_INT(procscan__parse_stat(s, strlen(s), &st), -EINVAL);
	/* no NUL needed: the length bounds the parse */
	s = "1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77777";
	ASSERT_EQ_INT(procscan__parse_stat(s, strlen(s) - 1, &st), 0);
	ASSERT_EQ_U64(st.start_ticks, 7777);
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static size_t read_self(const char *name, char *buf, size_t len)
{
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len);

	if (fd >= 0)
		close(fd);
	return n > 0 ? (size_t)n : 0;
}

void test_procscan_real_self(void)
{
	struct procinfo *pi = calloc(1, sizeof(*pi));
	static char exe[4096], cmd[PROCSCAN_ARGV_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t cmd_len = read_self("/proc/self/cmdline", cmd, sizeof(cmd));
	uint64_t now = boottime_ns();

	ASSERT_NOT_NULL(pi);
	ASSERT_TRUE(n > 0);
	exe[n] = '\0';
	ASSERT_EQ_INT(procscan__one("/proc", getpid(), true, pi), 0);
	ASSERT_EQ_INT(pi->pid, getpid());
	ASSERT_EQ_INT(pi->ppid, getppid());
	ASSERT_EQ_STR(pi->exe, exe);
	ASSERT_FALSE(pi->exe_deleted);
	ASSERT_EQ_INT(pi->uid, getuid());
	ASSERT_TRUE(pi->cwd[0] == '/');
	ASSERT_EQ_INT(pi->argv_len, cmd_len);
	ASSERT_EQ_MEM(pi->argv, cmd, cmd_len);
	/* Started before now (stat has tick precision: allow one tick), and
	 * not long ago: this test binary was just launched. */
	ASSERT_TRUE(pi->start_ns > 0);
	ASSERT_TRUE(pi->start_ns <= now + 10000000ull);
	ASSERT_TRUE(now - pi->start_ns < 600ull * 1000000000ull);
	procinfo__release(pi);
	free(pi);
}

struct find_self {
	uint32_t pid;
	bool found, saw_kthreadd;
	size_t n;
};

static int find_self_cb(const struct procinfo *pi, void *ctx)
{
	struct find_self *f = ctx;

	f->n++;
	if (pi->pid == f->pid)
		f->found = true;
	if (pi->pid == 2)
		f->saw_kthreadd = true;
	return 0;
}

void test_procscan_real_each(void)
{
	struct find_self f = { .pid = getpid() };

	ASSERT_EQ_INT(procscan__each("/proc", false, find_self_cb, &f), 0);
	ASSERT_TRUE(f.found);
	ASSERT_FALSE(f.saw_kthreadd);
	ASSERT_TRUE(f.n >= 1);
	ASSERT_EQ_INT(procscan__each("/nonexistent-proc", false, find_self_cb, &f), -ENOENT);
}

/* ---- descendants -------------------------------------------------------- */

static int index_of(const uint32_t *v, size_t n, uint32_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == pid)
			return i;
	return -1;
}

void test_procscan_descendants(void)
{
	static const struct proc_pair pairs[] = {
		{ 13, 11 }, { 1, 0 }, { 10, 1 }, { 12, 10 }, { 11, 10 }, { 20, 1 },
		{ 11, 10 },               /* listed twice (racy scan) */
		{ 30, 31 }, { 31, 30 },   /* a ppid cycle */
		{ 14, 13 },
	};
	size_t n = sizeof(pairs) / sizeof(pairs[0]), got = 99;
	uint32_t *out = NULL;

	ASSERT_EQ_INT(procscan__descendants(pairs, n, 10, &out, &got), 0);
	ASSERT_EQ_INT(got, 4);
	ASSERT_TRUE(index_of(out, got, 11) >= 0 && index_of(out, got, 12) >= 0);
	/* parents before children */
	ASSERT_TRUE(index_of(out, got, 11) < index_of(out, got, 13));
	ASSERT_TRUE(index_of(out, got, 13) < index_of(out, got, 14));
	free(out);

	ASSERT_EQ_INT(procscan__descendants(pairs, n, 1, &out, &got), 0);
	ASSERT_EQ_INT(got, 6);
	ASSERT_TRUE(index_of(out, got, 10) < index_of(out, got, 11));
	ASSERT_TRUE(index_of(out, got, 20) >= 0);
	ASSERT_EQ_INT(index_of(out, got, 1), -1);
	free(out);

	ASSERT_EQ_INT(procscan__descendants(pairs, n, 30, &out, &got), 0);
	ASSERT_EQ_INT(got, 1);
	ASSERT_EQ_INT(out[0], 31);
	free(out);

	ASSERT_EQ_INT(procscan__descendants(pairs, n, 14, &out, &got), 0);
	ASSERT_EQ_INT(got, 0);
	ASSERT_NULL(out);
	ASSERT_EQ_INT(procscan__descendants(pairs, n, 999, &out, &got), 0);
	ASSERT_EQ_INT(got, 0);
	ASSERT_EQ_INT(procscan__descendants(NULL, 0, 1, &out, &got), 0);
	ASSERT_EQ_INT(got, 0);
}
