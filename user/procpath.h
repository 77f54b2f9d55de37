/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Paths as one process's own lookups see them: path_resolve() (paths.h)
 * walking the filesystem through /proc/PID/root, so a symbolic link is
 * followed inside the process's root (an absolute link in a chroot stays
 * in the chroot), and the result is given back as the collector sees it,
 * the way the kernel's paths in events are.
 *
 * Each step opens the directory with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_SYMLINKS): a link that appears behind the walk's back makes
 * the path unresolvable instead of sending the walk somewhere else.
 * Links in /proc other than /proc/self and /proc/thread-self (which mean
 * the process, not us) are magic (fd/N, cwd, root): unresolvable.
 *
 * When the process is gone (a short-lived command whose event is matched
 * after it ended) the walk uses the collector's own root, which is the
 * process's for everything not chrooted.
 */
#ifndef AW_PROCPATH_H
#define AW_PROCPATH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCPATH_DIRS 4         /* directories kept open between steps */

struct procpath {
	const char *proc_root;
	uint32_t pid;
	int state;                      /* 0 not opened, 1 open, -errno failed */
	int rootfd;
	bool gone;                      /* walking our own root instead */
	bool own_root;                  /* rootfd is ours (shared, never closed here) */
	char root[PATH_MAX];            /* the process's root in our view */
	size_t rootlen;
	struct {
		int fd;
		char dir[PATH_MAX];
	} dirs[PROCPATH_DIRS];
	unsigned next_dir;
	unsigned long steps, opens;     /* readlink steps, directories opened (tests) */
};

/* Nothing is opened until the first resolve. */
void procpath__init(struct procpath *pp, const char *proc_root, uint32_t pid);
/* The caller knows the process is rooted where we are, in our mount
 * namespace (the kernel said so: AW_FILE_OWN_ROOT): skip /proc/PID/root. */
int procpath__own_root(struct procpath *pp);
void procpath__release(struct procpath *pp);

/*
 * path_resolve() for the process: cwd is its cwd as the kernel reported it
 * (our view), path what it passed; out gets the result in our view.  The
 * same returns as path_resolve, and -EXDEV when cwd is outside the
 * process's root.
 */
int procpath__resolve(struct procpath *pp, const char *cwd, const char *path, unsigned flags,
		      char *out, size_t len, bool *last_link);

/*
 * Deletion storms name many files in few directories.  For a process in
 * our own root, the resolved form of a directory is kept with its device
 * and inode, and reused while the directory as spelled still leads to
 * that directory and its resolved form still names it with no link on
 * the way: one openat2(RESOLVE_NO_SYMLINKS) and fstat (and a stat when
 * the spelling went through a link) instead of a lookup and a readlink
 * through /proc.  A link swapped, or a directory renamed (and a link put
 * in its place) since, fails the check and is resolved again.
 *
 * Every check runs after the call it is for: the record is read from the
 * ring once the call has returned.  So a check made at time T tells as much
 * about a call that returned before T as a new check would (and a later one
 * could only have seen more changes made after that call).  Each entry
 * keeps the time of its last check or lookup, and a record stamped before
 * it (the kernel's CLOCK_BOOTTIME at the call's exit) is answered without
 * another: in a storm the collector drains the ring in batches, and one
 * check covers the rest of a batch.
 */
#define PROCPATH_CACHE 16

struct procpath_cache {
	struct {
		char *p, *r;            /* as spelled (a joined, not normalized path), resolved */
		dev_t dev;
		ino_t ino;
		uint64_t used;
		uint64_t checked;       /* CLOCK_BOOTTIME ns when last found right */
	} e[PROCPATH_CACHE];
	uint64_t tick;
	unsigned long hits, misses;
	unsigned long checks;           /* cached directories checked again (found right or not) */
};

void procpath_cache__init(struct procpath_cache *pc);
void procpath_cache__free(struct procpath_cache *pc);

/* procpath__resolve(pp, cwd, path, 0, ...) through the cache (used only
 * when pp is known to be in our own root).  ts: when the call returned
 * (CLOCK_BOOTTIME ns), or 0 when unknown: then every hit is checked. */
int procpath_cache__resolve(struct procpath_cache *pc, struct procpath *pp, const char *cwd,
			    const char *path, uint64_t ts, char *out, size_t len);

#endif /* AW_PROCPATH_H */
