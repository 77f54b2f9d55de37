// SPDX-License-Identifier: GPL-2.0
/* Tests for user/procpath.c on a real directory tree: the test process's
 * own /proc/PID/root, and a fake /proc whose PID/root is a link to a
 * directory, which is what a chrooted process looks like from outside. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "procpath.h"
#include "util.h"

static char tree[PATH_MAX];

static bool make_tree(void)
{
	static const char *const dirs[] = { "ws", "ws/build", "scratch", "real", "real/ws", "etc",
					    "proc", "proc/4242", NULL };
	char p[PATH_MAX], t[PATH_MAX];
	size_t i;

	strcpy(tree, "/tmp/aw-procpath-XXXXXX");
	if (!mkdtemp(tree))
		return false;
	/* mkdtemp's name may itself sit behind a link (/tmp on some hosts) */
	if (!realpath(tree, p))
		return false;
	strcpy(tree, p);
	for (i = 0; dirs[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", tree, dirs[i]);
		if (mkdir(p, 0755))
			return false;
	}
	snprintf(p, sizeof(p), "%s/scratch/keep", tree);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	snprintf(p, sizeof(p), "%s/ws/out", tree);
	if (symlink("../scratch", p))
		return false;
	snprintf(p, sizeof(p), "%s/ws/loop", tree);
	if (symlink("loop", p))
		return false;
	snprintf(p, sizeof(p), "%s/ws/etc", tree);          /* absolute: means the root's /etc */
	if (symlink("/etc", p))
		return false;
	snprintf(p, sizeof(p), "%s/into", tree);
	if (symlink("ws/build", p))
		return false;
	snprintf(p, sizeof(p), "%s/alias", tree);
	snprintf(t, sizeof(t), "%s/real/ws", tree);
	if (symlink(t, p))
		return false;
	/* the fake /proc: PID 4242 is chrooted into the tree */
	snprintf(p, sizeof(p), "%s/proc/4242/root", tree);
	return symlink(tree, p) == 0;
}

#define RESOLVE(pp, cwd, path, flags) \
	procpath__resolve(pp, cwd, path, flags, out, sizeof(out), &last)

void test_procpath_own_process(void)
{
	char out[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX];
	struct procpath pp;
	bool last;
	int r;

	ASSERT_TRUE(make_tree());
	procpath__init(&pp, "/proc", (uint32_t)getpid());
	snprintf(cwd, sizeof(cwd), "%s/ws", tree);
	r = RESOLVE(&pp, cwd, "out/keep", 0);
	snprintf(want, sizeof(want), "%s/scratch/keep", tree);
	ASSERT_EQ_STR(out, want);
	ASSERT_EQ_INT(r, strlen(want));
	r = RESOLVE(&pp, cwd, "out", 0);
	snprintf(want, sizeof(want), "%s/ws/out", tree);
	ASSERT_EQ_STR(out, want);
	ASSERT_TRUE(last);
	r = RESOLVE(&pp, cwd, "out/", 0);
	snprintf(want, sizeof(want), "%s/scratch", tree);
	ASSERT_EQ_STR(out, want);
	ASSERT_FALSE(last);
	/* the workspace through a link, and .. from it */
	snprintf(cwd, sizeof(cwd), "%s/alias/../scratch", tree);
	r = RESOLVE(&pp, "/", cwd, 0);
	snprintf(want, sizeof(want), "%s/real/scratch", tree);
	ASSERT_EQ_STR(out, want);
	/* an absolute link means our root: we are not chrooted */
	snprintf(cwd, sizeof(cwd), "%s/ws", tree);
	r = RESOLVE(&pp, cwd, "etc/passwd", 0);
	ASSERT_EQ_STR(out, "/etc/passwd");
	r = RESOLVE(&pp, cwd, "loop/x", 0);
	ASSERT_EQ_INT(r, -ELOOP);
	snprintf(want, sizeof(want), "%s/ws/loop/x", tree);
	ASSERT_EQ_STR(out, want);                       /* lexical, on failure */
	/* /proc/self is the process named, here ourselves */
	r = RESOLVE(&pp, "/", "/proc/self/", 0);
	snprintf(want, sizeof(want), "/proc/%d", getpid());
	ASSERT_EQ_STR(out, want);
	/* magic links are not followed */
	r = RESOLVE(&pp, "/", "/proc/self/cwd/x", 0);
	ASSERT_EQ_INT(r, -EXDEV);
	procpath__release(&pp);
	test__rmtree(tree);
}

void test_procpath_chrooted_process(void)
{
	char out[PATH_MAX], proc[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX];
	struct procpath pp;
	bool last;
	int r;

	ASSERT_TRUE(make_tree());
	snprintf(proc, sizeof(proc), "%s/proc", tree);
	procpath__init(&pp, proc, 4242);
	/* ws/etc -> /etc is the chroot's /etc, named in our view */
	snprintf(cwd, sizeof(cwd), "%s/ws", tree);
	r = RESOLVE(&pp, cwd, "etc/passwd", 0);
	snprintf(want, sizeof(want), "%s/etc/passwd", tree);
	ASSERT_EQ_STR(out, want);
	ASSERT_EQ_INT(r, strlen(want));
	/* an absolute operand is in the chroot too */
	r = RESOLVE(&pp, cwd, "/into/", 0);
	snprintf(want, sizeof(want), "%s/ws/build", tree);
	ASSERT_EQ_STR(out, want);
	/* .. never leaves the chroot */
	r = RESOLVE(&pp, cwd, "../../../../x", 0);
	snprintf(want, sizeof(want), "%s/x", tree);
	ASSERT_EQ_STR(out, want);
	/* a cwd outside the root can't be walked from */
	r = RESOLVE(&pp, "/", "x", 0);
	ASSERT_EQ_INT(r, -EXDEV);
	procpath__release(&pp);
	/* a process that is gone: our own root */
	procpath__init(&pp, proc, 4243);
	r = RESOLVE(&pp, cwd, "out/keep", 0);
	snprintf(want, sizeof(want), "%s/scratch/keep", tree);
	ASSERT_EQ_STR(out, want);
	procpath__release(&pp);
	test__rmtree(tree);
}

/* An operand whose directory exists costs one lookup by the kernel; one
 * that does not is walked, and the directories of one walk stay open for
 * the next operand. */
void test_procpath_lookup_costs(void)
{
	char out[PATH_MAX], cwd[PATH_MAX], op[32], want[PATH_MAX];
	struct procpath pp;
	bool last;
	int i;

	ASSERT_TRUE(make_tree());
	procpath__init(&pp, "/proc", (uint32_t)getpid());
	snprintf(cwd, sizeof(cwd), "%s/ws", tree);
	for (i = 0; i < 100; i++) {
		snprintf(op, sizeof(op), "out/f%d", i);
		ASSERT_TRUE(RESOLVE(&pp, cwd, op, 0) > 0);
		snprintf(want, sizeof(want), "%s/scratch/f%d", tree, i);
		ASSERT_EQ_STR(out, want);
	}
	ASSERT_EQ_INT(pp.steps, 0);
	ASSERT_EQ_INT(pp.opens, 100);
	pp.opens = 0;
	for (i = 0; i < 100; i++) {
		snprintf(op, sizeof(op), "out/new/f%d", i);
		ASSERT_TRUE(RESOLVE(&pp, cwd, op, 0) > 0);
		snprintf(want, sizeof(want), "%s/scratch/new/f%d", tree, i);
		ASSERT_EQ_STR(out, want);
	}
	/* each: the kernel's lookup fails, then out, scratch, new walked */
	ASSERT_EQ_INT(pp.steps, 300);
	ASSERT_TRUE(pp.opens <= 100 + 3);
	procpath__release(&pp);
	test__rmtree(tree);
}

/* procpath_cache__resolve for our own process, for a call that returned
 * at ts. */
static int cache_resolve(struct procpath_cache *pc, const char *path, uint64_t ts, char *out,
			 size_t len)
{
	struct procpath pp;
	int r;

	procpath__init(&pp, "/proc", (uint32_t)getpid());
	procpath__own_root(&pp);
	r = procpath_cache__resolve(pc, &pp, NULL, path, ts, out, len);
	procpath__release(&pp);
	return r;
}

/* The directory cache is reused only while a directory as spelled still
 * leads where it did and its resolved name still names it: a link swapped
 * or a directory renamed since is resolved again. */
void test_procpath_cache_notices_changes(void)
{
	char out[PATH_MAX], p[PATH_MAX], want[PATH_MAX], t[PATH_MAX];
	struct procpath_cache pc;

	ASSERT_TRUE(make_tree());
	procpath_cache__init(&pc);
#define CRES(path) cache_resolve(&pc, path, now_ns(CLOCK_BOOTTIME), out, sizeof(out))
	snprintf(p, sizeof(p), "%s/ws/out/f1", tree);
	snprintf(want, sizeof(want), "%s/scratch/f1", tree);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_EQ_STR(out, want);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_EQ_STR(out, want);
	ASSERT_EQ_INT(pc.hits, 1);
	/* the link now points into the workspace */
	snprintf(t, sizeof(t), "%s/ws/out", tree);
	ASSERT_EQ_INT(unlink(t), 0);
	ASSERT_EQ_INT(symlink("build", t), 0);
	snprintf(want, sizeof(want), "%s/ws/build/f1", tree);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_EQ_STR(out, want);
	ASSERT_EQ_INT(pc.hits, 1);
	/* the directory it led to is renamed: the old name names nothing */
	snprintf(t, sizeof(t), "%s/ws/build", tree);
	snprintf(want, sizeof(want), "%s/ws/built", tree);
	ASSERT_EQ_INT(rename(t, want), 0);
	ASSERT_EQ_INT(symlink("built", t), 0);          /* and build -> built */
	snprintf(want, sizeof(want), "%s/ws/built/f1", tree);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_EQ_STR(out, want);
	ASSERT_EQ_INT(pc.hits, 1);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_EQ_INT(pc.hits, 2);
	/* a directory spelled without links, moved out and replaced by a link
	 * to where it went: the same directory, a different place */
	snprintf(p, sizeof(p), "%s/ws/built/f2", tree);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_EQ_INT(pc.hits, 3);
	snprintf(t, sizeof(t), "%s/ws/built", tree);
	snprintf(want, sizeof(want), "%s/scratch/built", tree);
	ASSERT_EQ_INT(rename(t, want), 0);
	ASSERT_EQ_INT(symlink(want, t), 0);
	snprintf(want, sizeof(want), "%s/scratch/built/f2", tree);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_EQ_STR(out, want);
	ASSERT_EQ_INT(pc.hits, 3);
	/* a directory above a cached one renamed, and the same names made
	 * again: the string is the same, the directory another one */
	snprintf(p, sizeof(p), "%s/real/ws/f3", tree);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_EQ_INT(pc.hits, 4);
	snprintf(t, sizeof(t), "%s/real", tree);
	snprintf(want, sizeof(want), "%s/real-old", tree);
	ASSERT_EQ_INT(rename(t, want), 0);
	ASSERT_EQ_INT(mkdir(t, 0755), 0);
	snprintf(t, sizeof(t), "%s/real/ws", tree);
	ASSERT_EQ_INT(mkdir(t, 0755), 0);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_EQ_INT(pc.hits, 4);
	ASSERT_TRUE(CRES(p) > 0);
	ASSERT_EQ_INT(pc.hits, 5);
	/* removed and made again (the filesystem may give the new directory
	 * the old inode number: a hit or not, the name is the same) */
	ASSERT_EQ_INT(rmdir(t), 0);
	ASSERT_EQ_INT(mkdir(t, 0755), 0);
	ASSERT_TRUE(CRES(p) > 0);
	snprintf(want, sizeof(want), "%s/real/ws/f3", tree);
	ASSERT_EQ_STR(out, want);
#undef CRES
	procpath_cache__free(&pc);
	test__rmtree(tree);
}

/* A record stamped before a directory's last check is answered from that
 * check: it is no older than a new one would be, for a call that had
 * already returned.  A later record, or one with no time, is checked. */
void test_procpath_cache_checks_once_per_batch(void)
{
	char out[PATH_MAX], p[PATH_MAX], want[PATH_MAX], t[PATH_MAX];
	struct procpath_cache pc;
	uint64_t before;
	int i;

	ASSERT_TRUE(make_tree());
	procpath_cache__init(&pc);
#define CRES(path, ts) cache_resolve(&pc, path, ts, out, sizeof(out))
	snprintf(p, sizeof(p), "%s/ws/out/f1", tree);
	snprintf(want, sizeof(want), "%s/scratch/f1", tree);
	before = now_ns(CLOCK_BOOTTIME);
	ASSERT_TRUE(CRES(p, before) > 0);       /* looked up after the call */
	ASSERT_EQ_STR(out, want);
	ASSERT_EQ_INT(pc.misses, 1);
	for (i = 0; i < 5; i++) {               /* the rest of the batch */
		ASSERT_TRUE(CRES(p, before) > 0);
		ASSERT_EQ_STR(out, want);
	}
	ASSERT_EQ_INT(pc.hits, 5);
	ASSERT_EQ_INT(pc.checks, 0);
	/* the link is swapped: calls made before the lookup still went
	 * through the old one, as far as any check now could tell */
	snprintf(t, sizeof(t), "%s/ws/out", tree);
	ASSERT_EQ_INT(unlink(t), 0);
	ASSERT_EQ_INT(symlink("build", t), 0);
	ASSERT_TRUE(CRES(p, before) > 0);
	ASSERT_EQ_STR(out, want);
	ASSERT_EQ_INT(pc.checks, 0);
	/* a call made after it is checked, and finds the new link */
	snprintf(want, sizeof(want), "%s/ws/build/f1", tree);
	ASSERT_TRUE(CRES(p, now_ns(CLOCK_BOOTTIME)) > 0);
	ASSERT_EQ_STR(out, want);
	ASSERT_EQ_INT(pc.checks, 1);
	ASSERT_EQ_INT(pc.misses, 2);
	/* that lookup covers calls up to it; a check that passes moves the
	 * time on too */
	before = now_ns(CLOCK_BOOTTIME);
	ASSERT_TRUE(CRES(p, before) > 0);
	ASSERT_EQ_INT(pc.checks, 2);
	ASSERT_TRUE(CRES(p, before) > 0);
	ASSERT_EQ_INT(pc.checks, 2);
	ASSERT_EQ_STR(out, want);
	/* no time: always checked */
	ASSERT_TRUE(CRES(p, 0) > 0);
	ASSERT_TRUE(CRES(p, 0) > 0);
	ASSERT_EQ_INT(pc.checks, 4);
	ASSERT_EQ_STR(out, want);
#undef CRES
	procpath_cache__free(&pc);
	test__rmtree(tree);
}
