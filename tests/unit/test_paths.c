// SPDX-License-Identifier: GPL-2.0
/* Tests for user/paths.c. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "paths.h"

static char out[4096];

#define ASSERT_JOIN(dir, path, expect) do {				\
	int r__ = path_join_normalize(dir, path, out, sizeof(out));	\
	ASSERT_EQ_STR(out, expect);					\
	ASSERT_EQ_INT(r__, strlen(expect));				\
} while (0)

void test_paths_join_basic(void)
{
	ASSERT_JOIN("/home/u", "a/b", "/home/u/a/b");
	ASSERT_JOIN("/home/u", "file", "/home/u/file");
	ASSERT_JOIN("/", "etc/passwd", "/etc/passwd");
	ASSERT_JOIN("/home/u", "", "/home/u");
	ASSERT_JOIN("/", "", "/");
}

void test_paths_absolute_ignores_dir(void)
{
	ASSERT_JOIN("/home/u", "/etc/passwd", "/etc/passwd");
	ASSERT_JOIN(NULL, "/etc/passwd", "/etc/passwd");
	ASSERT_JOIN("", "/x", "/x");
	ASSERT_JOIN("relative/dir", "/x", "/x");
}

void test_paths_dot(void)
{
	ASSERT_JOIN("/a", "./b/./c/.", "/a/b/c");
	ASSERT_JOIN("/a/./b", ".", "/a/b");
	ASSERT_JOIN("/", ".", "/");
	/* names that merely start with dots are names */
	ASSERT_JOIN("/a", ".hidden/..x/.../x..", "/a/.hidden/..x/.../x..");
}

void test_paths_dotdot(void)
{
	ASSERT_JOIN("/a/b/c", "../d", "/a/b/d");
	ASSERT_JOIN("/a/b/c", "../../../d", "/d");
	ASSERT_JOIN("/a/b", "c/../../e/f/..", "/a/e");
	ASSERT_JOIN("/a/b/../c", "d", "/a/c/d");
	ASSERT_JOIN("/", "/a/b/../../c", "/c");
	ASSERT_JOIN("/a", "b/..", "/a");
}

void test_paths_never_above_root(void)
{
	ASSERT_JOIN("/", "..", "/");
	ASSERT_JOIN("/", "../../../etc/shadow", "/etc/shadow");
	ASSERT_JOIN("/a", "../../..", "/");
	ASSERT_JOIN(NULL, "/../a/../../b", "/b");
	ASSERT_JOIN("/..", "x", "/x");
}

void test_paths_slashes(void)
{
	ASSERT_JOIN("/", "//a///b//", "/a/b");
	ASSERT_JOIN("//home//u//", "x//y", "/home/u/x/y");
	ASSERT_JOIN(NULL, "/", "/");
	ASSERT_JOIN(NULL, "////", "/");
	ASSERT_JOIN("/a/b/", "", "/a/b");
	ASSERT_JOIN("/a/b", "c/", "/a/b/c");
}

void test_paths_einval(void)
{
	out[0] = 'Z';
	ASSERT_EQ_INT(path_join_normalize(NULL, "a", out, sizeof(out)), -EINVAL);
	ASSERT_EQ_STR(out, "");
	ASSERT_EQ_INT(path_join_normalize("", "a", out, sizeof(out)), -EINVAL);
	ASSERT_EQ_INT(path_join_normalize("rel", "a", out, sizeof(out)), -EINVAL);
	ASSERT_EQ_INT(path_join_normalize("rel", "", out, sizeof(out)), -EINVAL);
	ASSERT_EQ_INT(path_join_normalize("/a", NULL, out, sizeof(out)), -EINVAL);
	ASSERT_EQ_INT(path_join_normalize(NULL, NULL, out, sizeof(out)), -EINVAL);
}

void test_paths_too_long(void)
{
	char buf[8];
	int r;

	/* "/abc/de" is 7 bytes: fits in 8, not in 7 */
	r = path_join_normalize("/abc", "de", buf, 8);
	ASSERT_EQ_INT(r, 7);
	ASSERT_EQ_STR(buf, "/abc/de");
	memset(buf, 'Z', sizeof(buf));
	r = path_join_normalize("/abc", "de", buf, 7);
	ASSERT_EQ_INT(r, -ENAMETOOLONG);
	ASSERT_EQ_STR(buf, "/abc/d");
	ASSERT_TRUE(buf[7] == 'Z');
	r = path_join_normalize("/abc", "de", buf, 3);
	ASSERT_EQ_INT(r, -ENAMETOOLONG);
	ASSERT_EQ_STR(buf, "/a");
	r = path_join_normalize("/abc", "de", buf, 1);
	ASSERT_EQ_INT(r, -ENAMETOOLONG);
	ASSERT_EQ_STR(buf, "");
	buf[0] = 'Z';
	r = path_join_normalize("/abc", "de", buf, 0);
	ASSERT_EQ_INT(r, -ENAMETOOLONG);
	ASSERT_TRUE(buf[0] == 'Z');
	ASSERT_EQ_INT(path_join_normalize("/", "", NULL, 0), -ENAMETOOLONG);
	/* the root in a buffer of one byte */
	ASSERT_EQ_INT(path_join_normalize("/", "..", buf, 1), -ENAMETOOLONG);
	ASSERT_EQ_INT(path_join_normalize("/", "..", buf, 2), 1);
	ASSERT_EQ_STR(buf, "/");
}

/* Only the result must fit: the inputs may be far longer than out. */
void test_paths_long_input_short_result(void)
{
	size_t n = 100000, i;
	char *dir = malloc(n + 1), *path = malloc(3 * 5000 + 8);
	char buf[16];

	ASSERT_NOT_NULL(dir);
	ASSERT_NOT_NULL(path);
	dir[0] = '/';
	memset(dir + 1, 'a', n - 1);
	dir[n] = '\0';
	ASSERT_EQ_INT(path_join_normalize(dir, "../etc", buf, sizeof(buf)), 4);
	ASSERT_EQ_STR(buf, "/etc");
	ASSERT_EQ_INT(path_join_normalize(dir, "x", buf, sizeof(buf)), -ENAMETOOLONG);
	ASSERT_EQ_INT(strlen(buf), sizeof(buf) - 1);
	ASSERT_EQ_MEM(buf, dir, sizeof(buf) - 1);
	/* 5000 ".." components */
	for (i = 0; i < 5000; i++)
		memcpy(path + 3 * i, "../", 3);
	strcpy(path + 3 * 5000, "tmp");
	ASSERT_EQ_INT(path_join_normalize("/a/b", path, buf, sizeof(buf)), 4);
	ASSERT_EQ_STR(buf, "/tmp");
	free(dir);
	free(path);
}

/* Straightforward left-to-right stack normalization to compare against. */
static void ref_normalize(const char *dir, const char *path, char *res)
{
	char tmp[512], *save, *tok;
	size_t len = 0;

	snprintf(tmp, sizeof(tmp), "%s/%s", path[0] == '/' ? "" : dir, path);
	res[0] = '\0';
	for (tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			while (len > 0 && res[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			res[len] = '\0';
			continue;
		}
		len += (size_t)sprintf(res + len, "/%s", tok);
	}
	if (!len)
		strcpy(res, "/");
}

static uint64_t prng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	prng ^= prng << 13;
	prng ^= prng >> 7;
	prng ^= prng << 17;
	return prng;
}

static void random_path(char *s, bool absolute)
{
	static const char *const parts[] = { "a", "b", "..", ".", "", "cd", "...", ".e" };
	size_t n = next_rand() % 8, i, len = 0;

	if (absolute)
		s[len++] = '/';
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "%s%s", i ? "/" : "",
				       parts[next_rand() % 8]);
	s[len] = '\0';
}

void test_paths_random_against_reference(void)
{
	char dir[128], path[128], want[512];
	int iter, r;

	for (iter = 0; iter < 20000; iter++) {
		random_path(dir, true);
		random_path(path, next_rand() % 4 == 0);
		ref_normalize(dir, path, want);
		r = path_join_normalize(dir, path, out, sizeof(out));
		ASSERT_EQ_STR(out, want);
		ASSERT_EQ_INT(r, strlen(want));
	}
}

void test_paths_is_under(void)
{
	ASSERT_TRUE(path_is_under("/a/b", "/a/b"));
	ASSERT_TRUE(path_is_under("/a/b/c", "/a/b"));
	ASSERT_TRUE(path_is_under("/a/b/c/d", "/a"));
	ASSERT_FALSE(path_is_under("/a/bc", "/a/b"));
	ASSERT_FALSE(path_is_under("/a", "/a/b"));
	ASSERT_FALSE(path_is_under("/ab", "/a"));
	ASSERT_FALSE(path_is_under("/etc", "/home"));
	ASSERT_TRUE(path_is_under("/", "/"));
	ASSERT_TRUE(path_is_under("/anything", "/"));
	ASSERT_TRUE(path_is_under("/a/b/c", "/a/b/"));
	ASSERT_FALSE(path_is_under("/a/bc", "/a/b/"));
	ASSERT_FALSE(path_is_under(NULL, "/"));
	ASSERT_FALSE(path_is_under("/a", NULL));
	ASSERT_FALSE(path_is_under("", "/"));
	ASSERT_FALSE(path_is_under("/a", ""));
	ASSERT_FALSE(path_is_under("relative", "/"));
}

void test_paths_basename(void)
{
	const char *root = "///";

	ASSERT_EQ_STR(path_basename("/usr/bin/rm"), "rm");
	ASSERT_EQ_STR(path_basename("rm"), "rm");
	ASSERT_EQ_STR(path_basename("./rm"), "rm");
	ASSERT_EQ_STR(path_basename("/rm"), "rm");
	ASSERT_EQ_STR(path_basename("/"), "/");
	ASSERT_EQ_STR(path_basename(root), "/");
	ASSERT_TRUE(path_basename(root) >= root && path_basename(root) < root + 3);
	ASSERT_EQ_STR(path_basename("/a/b/"), "");
	ASSERT_EQ_STR(path_basename("a//"), "");
	ASSERT_EQ_STR(path_basename(""), "");
	ASSERT_EQ_STR(path_basename(NULL), "");
	ASSERT_EQ_STR(path_basename("/a/.."), "..");
}

/* ---- path_resolve against a made-up filesystem ------------------------- */

/* Directories and links of the made-up tree; anything else under an
 * existing directory does not exist.  "?" marks a path nobody can read. */
static const char *const fake_dirs[] = {
	"/", "/tmp", "/tmp/ws", "/tmp/ws/build", "/tmp/scratch", "/tmp/real", "/tmp/real/ws",
	"/tmp/real/ws/src", "/tmp/real/sibling", "/etc", "/home", "/home/u", NULL,
};
static const char *const fake_links[][2] = {
	{ "/tmp/ws/out", "../scratch" },                /* inside -> outside */
	{ "/tmp/ws/abs", "/tmp/scratch/" },
	{ "/tmp/ws/etc", "/etc" },
	{ "/tmp/ws/chain1", "chain2" },
	{ "/tmp/ws/chain2", "out" },
	{ "/tmp/ws/loop", "loop" },
	{ "/tmp/ws/dangling", "/nowhere/x" },
	{ "/tmp/into", "ws/build" },                    /* outside -> inside */
	{ "/tmp/alias", "real/ws" },                    /* a workspace reached by a link */
	{ "/tmp/ws/root", "/" },
	{ "/tmp/ws/secret", "?" },
	{ NULL, NULL },
};

static int fake_calls;

static int fake_readlink(void *ctx, const char *path, char *buf, size_t len)
{
	size_t i;

	(void)ctx;
	fake_calls++;
	for (i = 0; fake_links[i][0]; i++)
		if (!strcmp(fake_links[i][0], path)) {
			size_t n = strlen(fake_links[i][1]);

			if (!strcmp(fake_links[i][1], "?"))
				return -EACCES;
			if (n >= len)
				return -ENAMETOOLONG;
			memcpy(buf, fake_links[i][1], n);
			return (int)n;
		}
	for (i = 0; fake_dirs[i]; i++)
		if (!strcmp(fake_dirs[i], path))
			return -EINVAL;
	/* files: leaf names starting with 'f' exist */
	if (path_basename(path)[0] == 'f')
		return -EINVAL;
	return -ENOENT;
}

static const struct path_fs fake_fs = { fake_readlink, NULL };

#define ASSERT_RESOLVE(cwd, path, flags, expect, expect_link) do {		\
	bool l__ = !(expect_link);						\
	int r__ = path_resolve(&fake_fs, cwd, path, flags, out, sizeof(out), &l__); \
	ASSERT_EQ_STR(out, expect);						\
	ASSERT_EQ_INT(r__, strlen(expect));					\
	ASSERT_EQ_INT(l__, expect_link);					\
} while (0)

void test_paths_resolve_no_links(void)
{
	ASSERT_RESOLVE("/tmp/ws", "build", 0, "/tmp/ws/build", false);
	ASSERT_RESOLVE("/tmp/ws", "./build/../build/", 0, "/tmp/ws/build", false);
	ASSERT_RESOLVE("/tmp/ws", "../scratch", 0, "/tmp/scratch", false);
	ASSERT_RESOLVE("/", "/", 0, "/", false);
	ASSERT_RESOLVE("/tmp", "../../..", 0, "/", false);
	/* what does not exist is taken lexically */
	ASSERT_RESOLVE("/tmp/ws", "nope/a/../b", 0, "/tmp/ws/nope/b", false);
	ASSERT_RESOLVE("/tmp/ws", "build/new.o", 0, "/tmp/ws/build/new.o", false);
}

void test_paths_resolve_link_in_the_middle(void)
{
	/* a link inside the workspace leads out of it */
	ASSERT_RESOLVE("/tmp/ws", "out/x", 0, "/tmp/scratch/x", false);
	ASSERT_RESOLVE("/tmp/ws", "out/.", 0, "/tmp/scratch", false);
	ASSERT_RESOLVE("/tmp/ws", "abs/f1", 0, "/tmp/scratch/f1", false);
	ASSERT_RESOLVE("/", "/tmp/ws/etc/passwd", 0, "/etc/passwd", false);
	/* ".." after a link is the parent of its target, not of the link */
	ASSERT_RESOLVE("/tmp/ws", "etc/../tmp/ws", 0, "/tmp/ws", false);
	ASSERT_RESOLVE("/tmp/ws", "root/..", 0, "/", false);
	ASSERT_RESOLVE("/tmp/ws", "out/../real", 0, "/tmp/real", false);
	/* chains */
	ASSERT_RESOLVE("/tmp/ws", "chain1/f", 0, "/tmp/scratch/f", false);
	/* outside -> inside */
	ASSERT_RESOLVE("/", "/tmp/into/f", 0, "/tmp/ws/build/f", false);
	/* a workspace reached through a link, and .. from it */
	ASSERT_RESOLVE("/", "/tmp/alias/src", 0, "/tmp/real/ws/src", false);
	ASSERT_RESOLVE("/", "/tmp/alias/../sibling", 0, "/tmp/real/sibling", false);
	/* a dangling link: as far as it goes, then lexically */
	ASSERT_RESOLVE("/tmp/ws", "dangling/y", 0, "/nowhere/x/y", false);
}

void test_paths_resolve_last_component(void)
{
	/* unlink, rmdir, rm: the link itself */
	ASSERT_RESOLVE("/tmp/ws", "out", 0, "/tmp/ws/out", true);
	ASSERT_RESOLVE("/tmp/ws", "chain1", 0, "/tmp/ws/chain1", true);
	ASSERT_RESOLVE("/", "/tmp/into", 0, "/tmp/into", true);
	ASSERT_RESOLVE("/tmp/ws", "loop", 0, "/tmp/ws/loop", true);
	/* a trailing slash, or FOLLOW: what it points to */
	ASSERT_RESOLVE("/tmp/ws", "out/", 0, "/tmp/scratch", false);
	ASSERT_RESOLVE("/tmp/ws", "out//", 0, "/tmp/scratch", false);
	ASSERT_RESOLVE("/tmp/ws", "out", PATH_RESOLVE_FOLLOW, "/tmp/scratch", false);
	ASSERT_RESOLVE("/tmp/ws", "chain1", PATH_RESOLVE_FOLLOW, "/tmp/scratch", false);
	ASSERT_RESOLVE("/", "/tmp/into/", 0, "/tmp/ws/build", false);
	ASSERT_RESOLVE("/tmp/ws", "dangling", PATH_RESOLVE_FOLLOW, "/nowhere/x", false);
	/* a link to a link: only the first is the last component */
	ASSERT_RESOLVE("/tmp/ws", "abs", PATH_RESOLVE_FOLLOW, "/tmp/scratch", false);
}

void test_paths_resolve_errors(void)
{
	int r;

	r = path_resolve(&fake_fs, "/tmp/ws", "loop/x", 0, out, sizeof(out), NULL);
	ASSERT_EQ_INT(r, -ELOOP);
	ASSERT_EQ_STR(out, "/tmp/ws/loop/x");           /* the lexical form */
	r = path_resolve(&fake_fs, "/tmp/ws", "loop", PATH_RESOLVE_FOLLOW, out, sizeof(out), NULL);
	ASSERT_EQ_INT(r, -ELOOP);
	/* unreadable: unresolvable, never guessed */
	r = path_resolve(&fake_fs, "/tmp/ws", "secret/x", 0, out, sizeof(out), NULL);
	ASSERT_EQ_INT(r, -EACCES);
	ASSERT_EQ_STR(out, "/tmp/ws/secret/x");
	ASSERT_EQ_INT(path_resolve(&fake_fs, "/tmp/ws", "", 0, out, sizeof(out), NULL), -EINVAL);
	ASSERT_EQ_INT(path_resolve(&fake_fs, NULL, "x", 0, out, sizeof(out), NULL), -EINVAL);
	ASSERT_EQ_INT(path_resolve(&fake_fs, "rel", "x", 0, out, sizeof(out), NULL), -EINVAL);
	ASSERT_EQ_INT(path_resolve(&fake_fs, NULL, NULL, 0, out, sizeof(out), NULL), -EINVAL);
	/* the result must fit out */
	{
		char small[8];

		ASSERT_EQ_INT(path_resolve(&fake_fs, "/tmp/ws", "out/x", 0, small, sizeof(small), NULL),
			      -ENAMETOOLONG);
		ASSERT_EQ_INT(path_resolve(&fake_fs, "/", "/tmp/ws/root/etc", 0, small, sizeof(small),
					   NULL), 4);
		ASSERT_EQ_STR(small, "/etc");
	}
}

/* 40 links are followed, the 41st fails, as in the kernel. */
static int chain_readlink(void *ctx, const char *path, char *buf, size_t len)
{
	int k;

	(void)ctx;
	if (!strcmp(path, "/") || !strcmp(path, "/d"))
		return -EINVAL;
	if (sscanf(path, "/d/l%d", &k) == 1 && k > 0)
		return snprintf(buf, len, "l%d", k - 1);
	return strcmp(path, "/d/l0") ? -ENOENT : -EINVAL;
}

void test_paths_resolve_forty_links(void)
{
	const struct path_fs fs = { chain_readlink, NULL };

	ASSERT_EQ_INT(path_resolve(&fs, "/d", "l40", PATH_RESOLVE_FOLLOW, out, sizeof(out), NULL), 5);
	ASSERT_EQ_STR(out, "/d/l0");
	ASSERT_EQ_INT(path_resolve(&fs, "/d", "l41", PATH_RESOLVE_FOLLOW, out, sizeof(out), NULL),
		      -ELOOP);
	ASSERT_EQ_INT(path_resolve(&fs, "/d", "l41/x", 0, out, sizeof(out), NULL), -ELOOP);
	ASSERT_EQ_INT(path_resolve(&fs, "/d", "l40/", 0, out, sizeof(out), NULL), 5);
}

/* Without links, resolution is the lexical normalization (on paths that
 * exist component by component: "." and ".." never cross a link). */
static int nolink_readlink(void *ctx, const char *path, char *buf, size_t len)
{
	(void)ctx; (void)path; (void)buf; (void)len;
	return -EINVAL;
}

void test_paths_resolve_without_links_is_lexical(void)
{
	const struct path_fs fs = { nolink_readlink, NULL };
	char dir[128], path[128], want[512];
	int iter, r;

	for (iter = 0; iter < 5000; iter++) {
		random_path(dir, true);
		random_path(path, next_rand() % 4 == 0);
		if (!path[0])
			continue;
		ref_normalize(dir, path, want);
		r = path_resolve(&fs, dir, path, 0, out, sizeof(out), NULL);
		ASSERT_EQ_STR(out, want);
		ASSERT_EQ_INT(r, strlen(want));
	}
}
