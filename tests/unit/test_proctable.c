// SPDX-License-Identifier: GPL-2.0
/* Tests for user/proctable.c. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "proctable.h"

#define ARGV(lit) lit, (uint32_t)(sizeof(lit) - 1)

/* The start time a test gives pid: distinct and increasing with pid. */
static uint64_t st(uint32_t pid)
{
	return 1000000ull + pid * 10ull;
}

/* Check that a lineage lists exactly the given pids, root-most first. */
static bool lineage_is(const struct proc **l, size_t n, const uint32_t *pids, size_t npids)
{
	size_t i;

	if (n != npids)
		return false;
	for (i = 0; i < n; i++)
		if (l[i]->pid != pids[i])
			return false;
	return true;
}

void test_proctable_new_free(void)
{
	struct proctable *pt;
	struct proctable_stats s;

	errno = 0;
	ASSERT_NULL(proctable__new(15));
	ASSERT_EQ_INT(errno, EINVAL);
	ASSERT_NULL(proctable__new(0));
	pt = proctable__new(16);
	ASSERT_NOT_NULL(pt);
	proctable__stats(pt, &s);
	ASSERT_EQ_U64(s.total, 0);
	ASSERT_TRUE(s.bytes > 0);
	ASSERT_NULL(proctable__lookup(pt, 1, 0));
	proctable__free(pt);
	proctable__free(NULL);
	/* NULL table: harmless */
	ASSERT_NULL(proctable__lookup(NULL, 1, 0));
	ASSERT_NULL(proctable__fork(NULL, 2, 2, 1, 1, 0, 0));
	proctable__exit(NULL, 1, 0, 0, 0);
	proctable__stats(NULL, &s);
	ASSERT_EQ_U64(s.total, 0);
}

void test_proctable_fork_exec_exit(void)
{
	struct proctable *pt = proctable__new(64);
	const struct proc *l[8];
	struct proc *root, *child, *p;
	struct proctable_stats s;
	bool complete = false;
	size_t n;

	ASSERT_NOT_NULL(pt);
	root = proctable__exec(pt, 100, st(100), 1, 0, 7, "/usr/bin/claude", "/work",
			       ARGV("claude\0--yes\0"), 500);
	ASSERT_NOT_NULL(root);
	ASSERT_EQ_INT(root->pid, 100);
	ASSERT_EQ_U64(root->start, st(100));
	ASSERT_EQ_INT(root->ppid, 1);
	ASSERT_NULL(root->parent);		/* pid 1 is not in the table */
	ASSERT_EQ_U64(root->session_id, 7);
	ASSERT_EQ_STR(root->exe, "/usr/bin/claude");
	ASSERT_EQ_STR(root->cwd, "/work");
	ASSERT_EQ_INT(root->argc, 2);
	ASSERT_EQ_INT(root->argv_len, 13);
	ASSERT_EQ_MEM(root->argv, "claude\0--yes\0", 14);
	ASSERT_FALSE(root->argv_trunc);
	ASSERT_EQ_U64(root->exec_ts, 500);
	ASSERT_FALSE(root->exited);

	child = proctable__fork(pt, 101, st(101), 100, st(100), 0, 600);
	ASSERT_NOT_NULL(child);
	ASSERT_TRUE(child->parent == root);
	ASSERT_EQ_INT(child->ppid, 100);
	ASSERT_EQ_U64(child->session_id, 7);	/* inherited */
	/* the forked child runs the parent's image until it execs */
	ASSERT_EQ_STR(child->exe, "/usr/bin/claude");
	ASSERT_EQ_STR(child->cwd, "/work");
	ASSERT_EQ_INT(child->argc, 2);
	ASSERT_EQ_MEM(child->argv, "claude\0--yes\0", 14);

	p = proctable__exec(pt, 101, st(101), 100, st(100), 0, "/bin/sh", NULL,
			    ARGV("sh\0-c\0rm -rf build\0"), 700);
	ASSERT_TRUE(p == child);
	ASSERT_EQ_STR(child->exe, "/bin/sh");
	ASSERT_EQ_STR(child->cwd, "/work");	/* NULL keeps it */
	ASSERT_EQ_INT(child->argc, 3);
	ASSERT_EQ_U64(child->exec_ts, 700);
	/* the parent's image is untouched */
	ASSERT_EQ_STR(root->exe, "/usr/bin/claude");
	ASSERT_EQ_INT(root->argc, 2);

	n = proctable__lineage(pt, child, 100, st(100), l, 8, &complete);
	ASSERT_EQ_U64(n, 2);
	ASSERT_TRUE(l[0] == root && l[1] == child);
	ASSERT_TRUE(complete);

	ASSERT_TRUE(proctable__lookup(pt, 101, st(101)) == child);
	ASSERT_TRUE(proctable__lookup(pt, 101, 0) == child);
	ASSERT_NULL(proctable__lookup(pt, 101, st(101) + 1));
	ASSERT_NULL(proctable__lookup(pt, 102, 0));

	proctable__exit(pt, 101, st(101), 256, 800);
	ASSERT_TRUE(child->exited);
	ASSERT_EQ_INT(child->exit_code, 256);
	ASSERT_EQ_U64(child->exit_ts, 800);
	/* a second exit does not overwrite the first */
	proctable__exit(pt, 101, 0, 9, 900);
	ASSERT_EQ_INT(child->exit_code, 256);
	/* still found after its exit: late events need its lineage */
	ASSERT_TRUE(proctable__lookup(pt, 101, 0) == child);
	proctable__exit(pt, 555, 0, 0, 0);		/* unknown: ignored */

	proctable__stats(pt, &s);
	ASSERT_EQ_U64(s.total, 2);
	ASSERT_EQ_U64(s.live, 1);
	ASSERT_EQ_U64(s.exited, 1);
	ASSERT_EQ_U64(s.evicted, 0);
	proctable__free(pt);
}

void test_proctable_exec_keeps_null_fields(void)
{
	struct proctable *pt = proctable__new(16);
	struct proc *p;

	ASSERT_NOT_NULL(pt);
	p = proctable__exec(pt, 5, st(5), 1, 0, 0, NULL, NULL, NULL, 0, 1);
	ASSERT_NOT_NULL(p);
	ASSERT_NULL(p->exe);
	ASSERT_NULL(p->cwd);
	ASSERT_NULL(p->argv);
	ASSERT_EQ_INT(p->argc, 0);
	p = proctable__exec(pt, 5, st(5), 1, 0, 3, "/bin/a", "/", ARGV("a\0"), 2);
	ASSERT_EQ_STR(p->exe, "/bin/a");
	ASSERT_EQ_U64(p->session_id, 3);
	p = proctable__exec(pt, 5, st(5), 1, 0, 0, NULL, "/tmp", NULL, 0, 3);
	ASSERT_EQ_STR(p->exe, "/bin/a");
	ASSERT_EQ_STR(p->cwd, "/tmp");
	ASSERT_EQ_INT(p->argc, 1);
	ASSERT_EQ_U64(p->session_id, 3);	/* 0 keeps it */
	/* an empty argv is an argv */
	p = proctable__exec(pt, 5, st(5), 1, 0, 0, NULL, NULL, "", 0, 4);
	ASSERT_NOT_NULL(p->argv);
	ASSERT_EQ_INT(p->argc, 0);
	ASSERT_EQ_INT(p->argv_len, 0);
	proctable__free(pt);
}

void test_proctable_argv_cap_and_count(void)
{
	struct proctable *pt = proctable__new(16);
	size_t big = PROCTABLE_ARGV_CAP + 1000, i;
	char *argv = malloc(big);
	struct proc *p;

	ASSERT_NOT_NULL(pt);
	ASSERT_NOT_NULL(argv);
	/* unterminated last argument still counts */
	p = proctable__exec(pt, 7, st(7), 1, 0, 0, NULL, NULL, ARGV("a\0bc"), 1);
	ASSERT_EQ_INT(p->argc, 2);
	ASSERT_EQ_INT(p->argv_len, 4);
	ASSERT_TRUE(p->argv[4] == '\0');	/* always one more NUL */

	/* 10-byte args "xxxxxxxxx\0" ... */
	for (i = 0; i < big; i++)
		argv[i] = i % 10 == 9 ? '\0' : 'x';
	p = proctable__exec(pt, 7, st(7), 1, 0, 0, NULL, NULL, argv, (uint32_t)big, 2);
	ASSERT_TRUE(p->argv_trunc);
	ASSERT_EQ_INT(p->argv_len, PROCTABLE_ARGV_CAP);
	ASSERT_EQ_MEM(p->argv, argv, PROCTABLE_ARGV_CAP);
	ASSERT_TRUE(p->argv[PROCTABLE_ARGV_CAP] == '\0');
	/* 409 whole args and a cut one of 6 bytes */
	ASSERT_EQ_INT(p->argc, PROCTABLE_ARGV_CAP / 10 + 1);

	/* exactly at the cap is not truncated; a later exec clears the flag */
	p = proctable__exec(pt, 7, st(7), 1, 0, 0, NULL, NULL, argv, PROCTABLE_ARGV_CAP, 3);
	ASSERT_FALSE(p->argv_trunc);
	ASSERT_EQ_INT(p->argv_len, PROCTABLE_ARGV_CAP);
	free(argv);
	proctable__free(pt);
}

/*
 * R forks A, A forks B, B forks C, then A and B exit: the double-forked C
 * is a daemon whose parents are gone.  Heavy churn of unrelated short-lived
 * processes must evict those, not A and B.
 */
void test_proctable_double_fork_exited_parents(void)
{
	struct proctable *pt = proctable__new(64);
	static const uint32_t want[] = { 100, 101, 102, 103 };
	const struct proc *l[8];
	struct proctable_stats s;
	struct proc *c;
	bool complete = false;
	uint32_t pid;
	size_t n;

	ASSERT_NOT_NULL(pt);
	ASSERT_NOT_NULL(proctable__exec(pt, 100, st(100), 1, 0, 9, "/usr/bin/agent", "/w", NULL, 0, 1));
	ASSERT_NOT_NULL(proctable__fork(pt, 101, st(101), 100, st(100), 0, 2));
	ASSERT_NOT_NULL(proctable__fork(pt, 102, st(102), 101, st(101), 0, 3));
	c = proctable__fork(pt, 103, st(103), 102, st(102), 0, 4);
	ASSERT_NOT_NULL(c);
	proctable__exit(pt, 102, st(102), 0, 5);
	proctable__exit(pt, 101, st(101), 0, 6);

	for (pid = 1000; pid < 6000; pid++) {
		ASSERT_NOT_NULL(proctable__fork(pt, pid, st(pid), 100, st(100), 0, pid));
		proctable__exit(pt, pid, st(pid), 0, pid);
	}
	proctable__stats(pt, &s);
	ASSERT_TRUE(s.evicted >= 5000 - 64);
	ASSERT_TRUE(s.total <= 64);

	c = proctable__lookup(pt, 103, st(103));
	ASSERT_NOT_NULL(c);
	n = proctable__lineage(pt, c, 100, st(100), l, 8, &complete);
	ASSERT_TRUE(complete);
	ASSERT_TRUE(lineage_is(l, n, want, 4));
	ASSERT_TRUE(l[1]->exited && l[2]->exited);
	ASSERT_EQ_STR(l[3]->exe, "/usr/bin/agent");

	/* once C exits and is evicted, B and A become evictable in turn */
	proctable__exit(pt, 103, st(103), 0, 7000);
	for (pid = 7000; pid < 7200; pid++) {
		proctable__fork(pt, pid, st(pid), 100, st(100), 0, pid);
		proctable__exit(pt, pid, st(pid), 0, pid);
	}
	ASSERT_NULL(proctable__lookup(pt, 103, 0));
	ASSERT_NULL(proctable__lookup(pt, 102, 0));
	ASSERT_NULL(proctable__lookup(pt, 101, 0));
	ASSERT_NOT_NULL(proctable__lookup(pt, 100, st(100)));
	proctable__free(pt);
}

/* A reused pid must not graft the old process's lineage onto the new one. */
void test_proctable_pid_reuse(void)
{
	struct proctable *pt = proctable__new(64);
	const struct proc *l[8];
	struct proc *old, *new, *x;
	struct proctable_stats s;
	bool complete = true;
	size_t n;

	ASSERT_NOT_NULL(pt);
	ASSERT_NOT_NULL(proctable__exec(pt, 100, 1000, 1, 0, 5, "/usr/bin/agent", "/w", NULL, 0, 1));
	old = proctable__fork(pt, 200, 2000, 100, 1000, 0, 2);
	ASSERT_NOT_NULL(old);
	ASSERT_EQ_U64(old->session_id, 5);
	proctable__exit(pt, 200, 2000, 0, 3);

	/* an unrelated process X, outside the session, gets pid 200 later */
	x = proctable__exec(pt, 300, 3000, 1, 0, 0, "/usr/sbin/cron", "/", NULL, 0, 4);
	ASSERT_NOT_NULL(x);
	new = proctable__fork(pt, 200, 5000, 300, 3000, 0, 5);
	ASSERT_NOT_NULL(new);
	ASSERT_TRUE(new != old);
	ASSERT_TRUE(new->parent == x);
	ASSERT_EQ_U64(new->session_id, 0);
	ASSERT_EQ_STR(new->exe, "/usr/sbin/cron");

	ASSERT_TRUE(proctable__lookup(pt, 200, 0) == new);
	ASSERT_TRUE(proctable__lookup(pt, 200, 2000) == old);
	ASSERT_TRUE(proctable__lookup(pt, 200, 5000) == new);

	n = proctable__lineage(pt, new, 100, 1000, l, 8, &complete);
	ASSERT_FALSE(complete);
	ASSERT_EQ_U64(n, 2);
	ASSERT_TRUE(l[0] == x && l[1] == new);

	/* an exec event for pid 200 that only knows "the parent is pid 300"
	 * and no start links to the live entry, not the dead one */
	ASSERT_TRUE(proctable__exec(pt, 200, 5000, 300, 0, 0, "/bin/true", NULL, NULL, 0, 6) == new);
	ASSERT_TRUE(new->parent == x);

	/* both exited: start 0 gives the newest */
	proctable__exit(pt, 200, 5000, 1, 7);
	ASSERT_TRUE(proctable__lookup(pt, 200, 0) == new);
	proctable__stats(pt, &s);
	ASSERT_EQ_U64(s.superseded, 0);	/* the exit was seen: nothing inferred */
	proctable__free(pt);
}

/* A lost exit event: the pid's reuse proves the old process is gone. */
void test_proctable_pid_reuse_supersedes(void)
{
	struct proctable *pt = proctable__new(64);
	struct proctable_stats s;
	struct proc *old, *new, *late;

	ASSERT_NOT_NULL(pt);
	old = proctable__exec(pt, 300, 10, 1, 0, 0, "/bin/old", NULL, NULL, 0, 1);
	ASSERT_NOT_NULL(old);
	new = proctable__fork(pt, 300, 20, 1, 0, 0, 2);
	ASSERT_NOT_NULL(new);
	ASSERT_TRUE(old->exited);
	ASSERT_FALSE(new->exited);
	ASSERT_EQ_U64(old->exit_ts, 2);
	ASSERT_TRUE(proctable__lookup(pt, 300, 0) == new);
	proctable__stats(pt, &s);
	ASSERT_EQ_U64(s.superseded, 1);
	ASSERT_EQ_U64(s.live, 1);
	ASSERT_EQ_U64(s.exited, 1);

	/* a late event for an even older owner of the pid: born dead */
	late = proctable__exec(pt, 300, 5, 1, 0, 0, "/bin/older", NULL, NULL, 0, 3);
	ASSERT_NOT_NULL(late);
	ASSERT_TRUE(late->exited);
	ASSERT_FALSE(new->exited);
	ASSERT_TRUE(proctable__lookup(pt, 300, 0) == new);
	proctable__stats(pt, &s);
	ASSERT_EQ_U64(s.superseded, 2);
	proctable__free(pt);
}

/* A parent entry that started after the child holds a reused pid. */
void test_proctable_parent_must_be_older(void)
{
	struct proctable *pt = proctable__new(16);
	struct proc *p;

	ASSERT_NOT_NULL(pt);
	ASSERT_NOT_NULL(proctable__exec(pt, 50, 9000, 1, 0, 0, "/bin/new", NULL, NULL, 0, 1));
	p = proctable__exec(pt, 60, 5000, 50, 0, 0, "/bin/child", NULL, NULL, 0, 2);
	ASSERT_NOT_NULL(p);
	ASSERT_NULL(p->parent);
	ASSERT_EQ_INT(p->ppid, 50);
	/* never its own parent */
	p = proctable__fork(pt, 70, 7000, 70, 7000, 0, 3);
	ASSERT_NOT_NULL(p);
	ASSERT_NULL(p->parent);
	proctable__free(pt);
}

/* Events from different CPUs arrive out of order: exec before fork. */
void test_proctable_exec_before_fork(void)
{
	struct proctable *pt = proctable__new(16);
	struct proc *root, *c, *f;

	ASSERT_NOT_NULL(pt);
	root = proctable__exec(pt, 10, st(10), 1, 0, 4, "/bin/agent", "/w", ARGV("agent\0"), 1);
	ASSERT_NOT_NULL(root);
	/* the exec knows no parent start, and here not even the parent */
	c = proctable__exec(pt, 11, st(11), 99, 0, 0, "/bin/ls", NULL, ARGV("ls\0"), 3);
	ASSERT_NOT_NULL(c);
	ASSERT_NULL(c->parent);
	f = proctable__fork(pt, 11, st(11), 10, st(10), 0, 2);
	ASSERT_TRUE(f == c);
	ASSERT_TRUE(c->parent == root);
	ASSERT_EQ_INT(c->ppid, 10);
	ASSERT_EQ_U64(c->session_id, 4);
	ASSERT_EQ_STR(c->exe, "/bin/ls");	/* the exec's image wins */
	ASSERT_EQ_STR(c->cwd, "/w");		/* what it lacked is filled in */
	ASSERT_EQ_INT(c->argc, 1);
	ASSERT_EQ_MEM(c->argv, "ls", 3);
	proctable__free(pt);
}

void test_proctable_lineage_limits(void)
{
	struct proctable *pt = proctable__new(64);
	static const uint32_t tail4[] = { 6, 7, 8, 9 };
	static const uint32_t from4[] = { 4, 5, 6, 7, 8, 9 };
	const struct proc *l[16];
	struct proc *p = NULL;
	bool complete = true;
	uint32_t pid;
	size_t n;

	ASSERT_NOT_NULL(pt);
	/* chain 1 <- 2 <- ... <- 9 (1 is the top: its parent is unknown) */
	ASSERT_NOT_NULL(proctable__exec(pt, 1, st(1), 0, 0, 0, NULL, NULL, NULL, 0, 0));
	for (pid = 2; pid <= 9; pid++) {
		p = proctable__fork(pt, pid, st(pid), pid - 1, st(pid - 1), 0, pid);
		ASSERT_NOT_NULL(p);
	}

	/* longer than max: the entries nearest p are kept */
	n = proctable__lineage(pt, p, 1, 0, l, 4, &complete);
	ASSERT_FALSE(complete);
	ASSERT_TRUE(lineage_is(l, n, tail4, 4));

	/* exactly max entries up to the root */
	n = proctable__lineage(pt, p, 4, st(4), l, 6, &complete);
	ASSERT_TRUE(complete);
	ASSERT_TRUE(lineage_is(l, n, from4, 6));

	/* the whole chain; the root may be given without a start */
	n = proctable__lineage(pt, p, 1, 0, l, 16, &complete);
	ASSERT_TRUE(complete);
	ASSERT_EQ_U64(n, 9);
	ASSERT_TRUE(l[0]->pid == 1 && l[8] == p);

	/* the root pid with the wrong start is not the root */
	n = proctable__lineage(pt, p, 4, st(4) + 1, l, 16, &complete);
	ASSERT_FALSE(complete);
	ASSERT_EQ_U64(n, 9);

	/* a root not in the chain: walk to its end, incomplete */
	n = proctable__lineage(pt, p, 12345, 0, l, 16, &complete);
	ASSERT_FALSE(complete);
	ASSERT_EQ_U64(n, 9);

	/* p is the root */
	n = proctable__lineage(pt, p, 9, 0, l, 16, &complete);
	ASSERT_TRUE(complete);
	ASSERT_EQ_U64(n, 1);

	n = proctable__lineage(pt, p, 1, 0, l, 0, &complete);
	ASSERT_EQ_U64(n, 0);
	ASSERT_FALSE(complete);
	n = proctable__lineage(pt, NULL, 1, 0, l, 16, &complete);
	ASSERT_EQ_U64(n, 0);
	ASSERT_FALSE(complete);
	proctable__free(pt);
}

/* Exited-unreferenced go first, then exited-referenced, then live. */
void test_proctable_eviction_order(void)
{
	struct proctable *pt = proctable__new(16);
	struct proctable_stats s;
	struct proc *orphan;
	uint32_t pid;

	ASSERT_NOT_NULL(pt);
	/* pid 1: live root; 2: exited, parent of live 3; 4..16: live leaves */
	ASSERT_NOT_NULL(proctable__exec(pt, 1, st(1), 0, 0, 0, NULL, NULL, NULL, 0, 0));
	ASSERT_NOT_NULL(proctable__fork(pt, 2, st(2), 1, st(1), 0, 0));
	ASSERT_NOT_NULL(proctable__fork(pt, 3, st(3), 2, st(2), 0, 0));
	proctable__exit(pt, 2, st(2), 0, 0);
	for (pid = 4; pid <= 15; pid++)
		ASSERT_NOT_NULL(proctable__fork(pt, pid, st(pid), 1, st(1), 0, 0));
	/* 15 entries; 16 is a short-lived exited one */
	ASSERT_NOT_NULL(proctable__fork(pt, 16, st(16), 1, st(1), 0, 0));
	proctable__exit(pt, 16, st(16), 0, 0);
	proctable__stats(pt, &s);
	ASSERT_EQ_U64(s.total, 16);
	ASSERT_EQ_U64(s.evicted, 0);

	/* 1st insert over the bound: the unreferenced exited 16 goes */
	ASSERT_NOT_NULL(proctable__fork(pt, 17, st(17), 1, st(1), 0, 0));
	ASSERT_NULL(proctable__lookup(pt, 16, 0));
	ASSERT_NOT_NULL(proctable__lookup(pt, 2, 0));
	/* 2nd: the referenced exited 2 goes; its child loses the link */
	ASSERT_NOT_NULL(proctable__fork(pt, 18, st(18), 1, st(1), 0, 0));
	ASSERT_NULL(proctable__lookup(pt, 2, 0));
	orphan = proctable__lookup(pt, 3, 0);
	ASSERT_NOT_NULL(orphan);
	ASSERT_NULL(orphan->parent);
	ASSERT_EQ_INT(orphan->ppid, 2);
	/* 3rd: the least recently active live one.  Root 1 forked last
	 * time, so it is fresh; 3 has done nothing since its fork. */
	ASSERT_NOT_NULL(proctable__fork(pt, 19, st(19), 1, st(1), 0, 0));
	ASSERT_NULL(proctable__lookup(pt, 3, 0));
	ASSERT_NOT_NULL(proctable__lookup(pt, 1, 0));
	ASSERT_NOT_NULL(proctable__lookup(pt, 4, 0));
	proctable__stats(pt, &s);
	ASSERT_EQ_U64(s.total, 16);
	ASSERT_EQ_U64(s.evicted, 3);
	ASSERT_EQ_U64(s.live, 16);
	ASSERT_EQ_U64(s.exited, 0);
	proctable__free(pt);
}

/* The new entry's parent is never the one evicted to make room. */
void test_proctable_eviction_spares_parent(void)
{
	struct proctable *pt = proctable__new(16);
	struct proc *c;
	uint32_t pid;

	ASSERT_NOT_NULL(pt);
	for (pid = 1; pid <= 16; pid++)
		ASSERT_NOT_NULL(proctable__exec(pt, pid, st(pid), 0, 0, 0, NULL, NULL, NULL, 0, 0));
	/* pid 1 is the oldest live entry, so the first candidate */
	c = proctable__fork(pt, 17, st(17), 1, st(1), 0, 0);
	ASSERT_NOT_NULL(c);
	ASSERT_NOT_NULL(c->parent);
	ASSERT_EQ_INT(c->parent->pid, 1);
	ASSERT_NULL(proctable__lookup(pt, 2, 0));
	proctable__free(pt);
}

/* Among live entries, the least recently active goes first. */
void test_proctable_eviction_lru(void)
{
	struct proctable *pt = proctable__new(16);
	uint32_t pid;

	ASSERT_NOT_NULL(pt);
	for (pid = 1; pid <= 16; pid++)
		ASSERT_NOT_NULL(proctable__exec(pt, pid, st(pid), 0, 0, 0, NULL, NULL, NULL, 0, 0));
	/* 1 execs again and 2 forks a child: both are recent now */
	ASSERT_NOT_NULL(proctable__exec(pt, 1, st(1), 0, 0, 0, "/bin/x", NULL, NULL, 0, 1));
	ASSERT_NOT_NULL(proctable__fork(pt, 17, st(17), 2, st(2), 0, 2));
	ASSERT_NOT_NULL(proctable__lookup(pt, 1, 0));
	ASSERT_NOT_NULL(proctable__lookup(pt, 2, 0));
	ASSERT_NULL(proctable__lookup(pt, 3, 0));
	/* lookups are reads: they do not refresh 4; forking refreshed 2 */
	ASSERT_NOT_NULL(proctable__lookup(pt, 4, 0));
	ASSERT_NOT_NULL(proctable__fork(pt, 18, st(18), 1, st(1), 0, 3));
	ASSERT_NULL(proctable__lookup(pt, 4, 0));
	ASSERT_NOT_NULL(proctable__lookup(pt, 2, 0));
	proctable__free(pt);
}

static int count_cb(struct proc *p, void *ctx)
{
	size_t *n = ctx;

	(*n)++;
	return 0;
}

static int stop_at_cb(struct proc *p, void *ctx)
{
	uint32_t *pid = ctx;

	return p->pid == *pid ? 42 : 0;
}

/* 100,000 processes through a table of 1,000: bounded, and counted. */
void test_proctable_eviction_bound_100k(void)
{
	struct proctable *pt = proctable__new(1000);
	struct proctable_stats s;
	const struct proc *l[4];
	struct proc *last = NULL;
	bool complete = false;
	size_t cnt = 0;
	uint32_t i, pid;

	ASSERT_NOT_NULL(pt);
	ASSERT_NOT_NULL(proctable__exec(pt, 2, st(2), 1, 0, 1, "/bin/agent", "/", NULL, 0, 0));
	for (i = 0; i < 100000; i++) {
		/* pids wrap at 32768 like a default pid_max: lots of reuse */
		pid = 10 + i % 32000;
		last = proctable__fork(pt, pid, st(i + 10), 2, st(2), 0, i);
		ASSERT_NOT_NULL(last);
		ASSERT_NOT_NULL(proctable__exec(pt, pid, st(i + 10), 2, st(2), 0,
						"/bin/sh", "/tmp", ARGV("sh\0-c\0true\0"), i));
		/* a tenth stay alive */
		if (i % 10)
			proctable__exit(pt, pid, st(i + 10), 0, i);
		if (i % 1000 == 0) {
			proctable__stats(pt, &s);
			ASSERT_TRUE(s.total <= 1000);
		}
	}
	proctable__stats(pt, &s);
	ASSERT_EQ_U64(s.total, 1000);
	ASSERT_EQ_U64(s.evicted, 100001 - 1000);
	ASSERT_EQ_U64(s.live + s.exited, 1000);
	/* the busy root survived; the newest child is intact */
	ASSERT_NOT_NULL(proctable__lookup(pt, 2, st(2)));
	ASSERT_TRUE(proctable__lookup(pt, last->pid, 0) == last);
	ASSERT_EQ_U64(proctable__lineage(pt, last, 2, st(2), l, 4, &complete), 2);
	ASSERT_TRUE(complete);
	ASSERT_EQ_U64(proctable__for_each(pt, count_cb, &cnt), 0);
	ASSERT_EQ_U64(cnt, 1000);
	pid = 2;
	ASSERT_EQ_INT(proctable__for_each(pt, stop_at_cb, &pid), 42);
	proctable__free(pt);
}

/* A table sized for 100,000 holds them all, with O(1) lookups and modest memory. */
void test_proctable_holds_100k(void)
{
	struct proctable *pt = proctable__new(100000);
	const struct proc *l[64];
	struct proctable_stats s;
	bool complete;
	uint32_t i, parent;
	size_t n;

	ASSERT_NOT_NULL(pt);
	ASSERT_NOT_NULL(proctable__exec(pt, 1, st(1), 0, 0, 0, "/sbin/init", "/",
					ARGV("init\0"), 0));
	/* a bushy tree: each process forked by an earlier one */
	for (i = 2; i <= 100000; i++) {
		parent = 1 + (uint32_t)(((uint64_t)i * 2654435761u) % (i - 1));
		ASSERT_NOT_NULL(proctable__fork(pt, i, st(i), parent, st(parent), 0, i));
	}
	proctable__stats(pt, &s);
	ASSERT_EQ_U64(s.total, 100000);
	ASSERT_EQ_U64(s.evicted, 0);
	ASSERT_EQ_U64(s.live, 100000);
	/* ~200 bytes an entry, strings shared with init; the hash grew to
	 * at least a bucket per entry (load factor <= 1 keeps lookups O(1)) */
	ASSERT_TRUE(s.bytes < 32u << 20);
	ASSERT_TRUE(s.bytes >= 100000 * (sizeof(struct proc) + sizeof(void *)));
	for (i = 1; i <= 100000; i++) {
		struct proc *p = proctable__lookup(pt, i, 0);

		ASSERT_NOT_NULL(p);
		ASSERT_EQ_U64(p->start, st(i));
		ASSERT_EQ_STR(p->exe, "/sbin/init");
	}
	n = proctable__lineage(pt, proctable__lookup(pt, 99999, 0), 1, 0, l, 64, &complete);
	ASSERT_TRUE(complete);
	ASSERT_TRUE(n >= 2);
	ASSERT_EQ_INT(l[0]->pid, 1);
	proctable__free(pt);
}

/* Forked children share the parent's strings rather than copying them. */
void test_proctable_fork_shares_strings(void)
{
	struct proctable *pt = proctable__new(2000);
	struct proctable_stats before, after;
	char argv[PROCTABLE_ARGV_CAP];
	struct proc *root, *c = NULL;
	uint32_t pid;

	ASSERT_NOT_NULL(pt);
	memset(argv, 'a', sizeof(argv));
	root = proctable__exec(pt, 1, st(1), 0, 0, 0, "/bin/make", "/src", argv, sizeof(argv), 0);
	ASSERT_NOT_NULL(root);
	proctable__stats(pt, &before);
	for (pid = 2; pid < 1002; pid++) {
		c = proctable__fork(pt, pid, st(pid), 1, st(1), 0, pid);
		ASSERT_NOT_NULL(c);
	}
	proctable__stats(pt, &after);
	/* no 4 KiB per child */
	ASSERT_TRUE(after.bytes - before.bytes < 1000 * 1024);
	ASSERT_EQ_MEM(c->argv, argv, sizeof(argv));
	/* the parent's exec replaces its strings; the children keep theirs */
	proctable__exec(pt, 1, st(1), 0, 0, 0, "/bin/other", "/", ARGV("x\0"), 1);
	ASSERT_EQ_STR(c->exe, "/bin/make");
	ASSERT_EQ_STR(c->cwd, "/src");
	ASSERT_EQ_INT(c->argv_len, sizeof(argv));
	proctable__free(pt);
}

void test_proctable_lookup_prefers_live(void)
{
	struct proctable *pt = proctable__new(16);
	struct proc *a, *b;

	ASSERT_NOT_NULL(pt);
	/* start 0 is an unknown start: no ordering, no inference */
	a = proctable__exec(pt, 40, 0, 1, 0, 0, NULL, NULL, NULL, 0, 0);
	ASSERT_NOT_NULL(a);
	b = proctable__fork(pt, 40, 100, 1, 0, 0, 0);
	ASSERT_NOT_NULL(b);
	ASSERT_FALSE(a->exited);
	/* the newest live one */
	ASSERT_TRUE(proctable__lookup(pt, 40, 0) == b);
	proctable__exit(pt, 40, 100, 0, 1);
	/* a live one beats a newer exited one */
	ASSERT_TRUE(proctable__lookup(pt, 40, 0) == a);
	proctable__free(pt);
}
