/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lexical path handling: no filesystem access, so no symlink resolution.
 * "a/link/.." is treated as "a", which is what the process asked for by
 * name; rules that must see through symlinks need the kernel's resolved
 * path instead.
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

#endif /* AW_PATHS_H */
