/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Path handling.  path_join_normalize() and friends are lexical: no
 * filesystem access, so "a/link/.." is "a".  path_resolve() follows
 * symbolic links the way the kernel's own lookup does, through a readlink
 * function the caller gives it (the collector's looks inside the
 * process's root through /proc; a unit test's is a table).
 */
#ifndef AW_PATHS_H
#define AW_PATHS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Join dir and path (path absolute -> dir ignored), collapse "//", "." and
 * "..", never above "/" ("/.." is "/").  A trailing slash is dropped
 * ("/a/b/" -> "/a/b").  Writes a NUL-terminated absolute path to out.
 * Returns its length, or
 *   -ENAMETOOLONG  it does not fit out: out holds the leading outlen-1
 *                  bytes of the result, NUL-terminated (if outlen > 0);
 *   -EINVAL        the result cannot be absolute: path is NULL, or path is
 *                  relative and dir is NULL, empty or relative (out is "").
 */
int path_join_normalize(const char *dir, const char *path, char *out, size_t outlen);

/*
 * True if path equals dir or lies under it, compared component-wise
 * ("/a/bc" is not under "/a/b"; everything absolute is under "/").  Both
 * are expected normalized and absolute; a trailing slash on dir is
 * tolerated.  NULL or empty -> false.
 */
bool path_is_under(const char *path, const char *dir);

/*
 * The last component of path, as a pointer into path.  Like GNU
 * basename(3), a path ending in a slash names a directory and yields ""
 * ("/a/b/" -> ""), except that a path made only of slashes yields "/".
 * "a" -> "a", "" -> "", NULL -> "".
 */
const char *path_basename(const char *path);

/* The kernel follows at most 40 links in one lookup (MAXSYMLINKS), then
 * fails with ELOOP. */
#define PATH_MAXSYMLINKS 40

/*
 * How path_resolve() sees the filesystem.  readlink is given an absolute,
 * normalized path every component of which but the last is a directory
 * that is not a symbolic link (as far as path_resolve knows), and returns
 *   n >= 0        the last component is a symbolic link; its target is
 *                 buf[0..n) (not NUL-terminated; n < len);
 *   -EINVAL       it exists and is not a symbolic link;
 *   -ENOENT       it does not exist (-ENOTDIR: a component is not a
 *                 directory; the same to path_resolve);
 *   other -errno  nobody can tell (no permission, the tree changed under
 *                 the walk, a link too long): the path is unresolvable.
 */
struct path_fs {
	int (*readlink)(void *ctx, const char *path, char *buf, size_t len);
	void *ctx;
};

/* path_resolve() flags */
#define PATH_RESOLVE_FOLLOW 1u  /* follow a symlink in the last component too */

/*
 * Where path (relative to cwd, which must be absolute and free of
 * symlinks, as the kernel reports a cwd) leads: every symbolic link is
 * replaced by its target, and ".." goes to the parent of where the walk
 * really is (physically, as the kernel does: "link/.." is the parent of
 * link's target, not the directory holding link).  The last component is
 * followed only with PATH_RESOLVE_FOLLOW or when path ends with '/'
 * (unlink, rmdir and lstat act on a link itself; "link/" names what it
 * points to).  From the first component that does not exist on, the rest
 * is taken lexically (it can't be a link; the kernel would fail there).
 *
 * Writes the normalized absolute result to out and returns its length,
 * sets *last_link (may be NULL) when the last component of the result is a
 * symbolic link that was not followed, or returns
 *   -EINVAL        path is NULL or empty, or relative with no absolute cwd;
 *   -ELOOP         more than PATH_MAXSYMLINKS links;
 *   -ENAMETOOLONG  the result or an intermediate form does not fit;
 *   another -errno from fs->readlink: unresolvable.
 * On error out holds the lexical form (path_join_normalize) as far as it
 * fits, so a caller can still report what was asked for.
 */
int path_resolve(const struct path_fs *fs, const char *cwd, const char *path, unsigned flags,
		 char *out, size_t outlen, bool *last_link);

#endif /* AW_PATHS_H */
