// SPDX-License-Identifier: GPL-2.0
/* Path resolution through /proc/PID/root; see procpath.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"
#include "procpath.h"
#include "util.h"

void procpath__init(struct procpath *pp, const char *proc_root, uint32_t pid)
{
	size_t i;

	pp->proc_root = proc_root ? proc_root : "/proc";
	pp->pid = pid;
	pp->state = 0;
	pp->rootfd = -1;
	pp->gone = false;
	pp->own_root = false;
	pp->root[0] = '\0';
	pp->rootlen = 0;
	for (i = 0; i < PROCPATH_DIRS; i++) {
		pp->dirs[i].fd = -1;
		pp->dirs[i].dir[0] = '\0';
	}
	pp->next_dir = 0;
	pp->steps = 0;
	pp->opens = 0;
}

void procpath__release(struct procpath *pp)
{
	size_t i;

	if (!pp)
		return;
	for (i = 0; i < PROCPATH_DIRS; i++)
		if (pp->dirs[i].fd >= 0)
			close(pp->dirs[i].fd);
	if (pp->rootfd >= 0 && !pp->own_root)
		close(pp->rootfd);
	procpath__init(pp, pp->proc_root, pp->pid);
}

/*
 * Our own root, opened once: a process that is gone is looked up in it,
 * and so is one the kernel said is rooted where we are.  Never closed (a
 * collector lives as long as the process).
 */
static int own_root(void)
{
	static int fd = -1;

	if (fd < 0) {
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	return fd;
}

static int open_root(struct procpath *pp)
{
	char link[64];
	ssize_t n;
	int ofd;

	if (pp->state)
		return pp->state < 0 ? pp->state : 0;
	snprintf(link, sizeof(link), "%s/%u/root", pp->proc_root, pp->pid);
	pp->rootfd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pp->rootfd < 0 && (errno == ENOENT || errno == ESRCH)) {
		if ((ofd = own_root()) < 0)
			return (pp->state = ofd);
		pp->gone = true;
		pp->own_root = true;
		pp->rootfd = ofd;
		strcpy(pp->root, "/");
		pp->rootlen = 1;
		pp->state = 1;
		return 0;
	}
	if (pp->rootfd < 0)
		return (pp->state = -errno);
	n = readlink(link, pp->root, sizeof(pp->root));
	/* "/x (deleted)" or a root outside our namespace: not a place we
	 * can name paths from. */
	if (n <= 0 || (size_t)n >= sizeof(pp->root) || pp->root[0] != '/')
		return (pp->state = n < 0 ? -errno : -EXDEV);
	pp->root[n] = '\0';
	pp->rootlen = (size_t)n;
	if (strstr(pp->root, " (deleted)"))
		return (pp->state = -EXDEV);
	pp->state = 1;
	return 0;
}

int procpath__own_root(struct procpath *pp)
{
	int ofd = own_root();

	if (ofd < 0)
		return ofd;
	if (pp->rootfd >= 0 && !pp->own_root)
		close(pp->rootfd);
	pp->rootfd = ofd;
	pp->own_root = true;
	strcpy(pp->root, "/");
	pp->rootlen = 1;
	pp->state = 1;
	return 0;
}

/* An open O_PATH fd on dir (relative to the process's root, "" for the
 * root itself), kept for the next steps; or -errno. */
static int dir_fd(struct procpath *pp, const char *dir)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS,
	};
	unsigned i;
	int fd;

	if (!dir[0])
		return pp->rootfd;
	for (i = 0; i < PROCPATH_DIRS; i++)
		if (pp->dirs[i].fd >= 0 && !strcmp(pp->dirs[i].dir, dir))
			return pp->dirs[i].fd;
	pp->opens++;
	fd = (int)syscall(SYS_openat2, pp->rootfd, dir, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	i = pp->next_dir++ % PROCPATH_DIRS;
	if (pp->dirs[i].fd >= 0)
		close(pp->dirs[i].fd);
	pp->dirs[i].fd = fd;
	snprintf(pp->dirs[i].dir, sizeof(pp->dirs[i].dir), "%s", dir);
	return fd;
}

/* /proc/self and /proc/thread-self mean the process; other links in
 * procfs are magic and name no path we may follow for it. */
static int proc_link(struct procpath *pp, int dfd, const char *name, char *buf, size_t len)
{
	struct statfs sf;
	int n;

	if (fstatfs(dfd, &sf) || sf.f_type != PROC_SUPER_MAGIC)
		return 1;
	if (!strcmp(name, "self"))
		n = snprintf(buf, len, "%u", pp->pid);
	else if (!strcmp(name, "thread-self"))
		n = snprintf(buf, len, "%u/task/%u", pp->pid, pp->pid);
	else
		return -EXDEV;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

/* path_fs.readlink: path is in the process's view, under its root. */
static int pp_readlink(void *ctx, const char *path, char *buf, size_t len)
{
	struct procpath *pp = ctx;
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/'), *name;
	ssize_t n;
	int dfd, r;

	pp->steps++;
	if (!slash || !slash[1])
		return -EINVAL;                 /* the root */
	name = slash + 1;
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path + 1, (size_t)(slash - path) - (slash > path ? 1 : 0));
	dir[(size_t)(slash - path) - (slash > path ? 1 : 0)] = '\0';
	dfd = dir_fd(pp, dir);
	if (dfd == -ENOENT || dfd == -ENOTDIR)
		return -ENOENT;
	if (dfd == -ELOOP)
		return -ESTALE;                 /* a link appeared where the walk saw none */
	if (dfd < 0)
		return dfd;
	n = readlinkat(dfd, name, buf, len);
	if (n < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	r = proc_link(pp, dfd, name, buf, len);
	return r == 1 ? (int)n : r;
}

/*
 * The common case in one lookup by the kernel: open the directory that
 * holds the last component (or, following it, the whole path) inside the
 * process's root and ask /proc/self/fd what it is.  Returns the length, or
 * -EAGAIN when the component walk must decide: something does not exist,
 * a link loops or is magic, or the walk went through /proc (where "self"
 * would mean us).
 */
static int fast_resolve(struct procpath *pp, const char *vpath, unsigned flags, char *out,
			size_t len, bool *last_link)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	char dir[PATH_MAX], fdl[64], res[PATH_MAX];
	const char *name = NULL, *slash;
	size_t vl = strlen(vpath);
	struct statfs sf;
	struct stat st;
	ssize_t n;
	int fd, r;

	if (!(flags & PATH_RESOLVE_FOLLOW) && vpath[vl - 1] != '/') {
		slash = strrchr(vpath, '/');
		name = slash + 1;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			name = NULL;
	}
	if (name) {
		size_t dl = (size_t)(slash - vpath);

		if (dl + 2 >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, vpath, dl);
		strcpy(dir + dl, "/");
		how.flags |= O_DIRECTORY;
	} else if (vl >= sizeof(dir)) {
		return -ENAMETOOLONG;
	} else {
		memcpy(dir, vpath, vl + 1);
	}
	pp->opens++;
	fd = (int)syscall(SYS_openat2, pp->rootfd, dir, &how, sizeof(how));
	if (fd < 0)
		return -EAGAIN;
	snprintf(fdl, sizeof(fdl), "/proc/self/fd/%d", fd);
	n = readlink(fdl, res, sizeof(res) - 1);
	if (n > 0 && (size_t)n < sizeof(res) - 1)
		res[n] = '\0';
	/* Ending in procfs, the lookup may have gone through /proc/self,
	 * which meant us: let the walk, which knows whose it is, decide.
	 * (Leaving procfs again takes a magic link, which the lookup refused,
	 * or "..", which does not depend on whose self it was.)  In our own
	 * root procfs is /proc; in another, ask the filesystem. */
	if (n <= 0 || (size_t)n >= sizeof(res) - 1 || res[0] != '/' || strstr(res, " (deleted)") ||
	    (pp->own_root ? path_is_under(res, "/proc") :
			    fstatfs(fd, &sf) || sf.f_type == PROC_SUPER_MAGIC)) {
		close(fd);
		return -EAGAIN;
	}
	if (name && last_link)
		*last_link = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
	close(fd);
	if (!name)
		r = snprintf(out, len, "%s", res);
	else
		r = snprintf(out, len, "%s%s%s", res, strcmp(res, "/") ? "/" : "", name);
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : r;
}

int procpath__resolve(struct procpath *pp, const char *cwd, const char *path, unsigned flags,
		      char *out, size_t len, bool *last_link)
{
	const struct path_fs fs = { pp_readlink, pp };
	char vcwd[PATH_MAX], vpath[PATH_MAX], res[PATH_MAX];
	const char *c = cwd;
	int err, n;

	if (last_link)
		*last_link = false;
	if (!path || !path[0] || (path[0] != '/' && (!cwd || cwd[0] != '/')))
		return path_resolve(&fs, cwd, path, flags, out, len, last_link);
	if ((err = open_root(pp))) {
		path_join_normalize(cwd, path, out, len);
		return err;
	}
	/* Our view -> the process's: cwd lies under its root. */
	if (pp->rootlen > 1 && path[0] != '/') {
		if (!path_is_under(cwd, pp->root)) {
			path_join_normalize(cwd, path, out, len);
			return -EXDEV;
		}
		snprintf(vcwd, sizeof(vcwd), "%s", cwd[pp->rootlen] ? cwd + pp->rootlen : "/");
		c = vcwd;
	}
	/* The kernel joins a relative path to the cwd as it is, ".." and all. */
	if (snprintf(vpath, sizeof(vpath), "%s%s%s", path[0] == '/' ? "" : c,
		     path[0] == '/' ? "" : "/", path) < (int)sizeof(vpath)) {
		n = fast_resolve(pp, vpath, flags, out, len, last_link);
		if (n != -EAGAIN)
			return n;
	}
	n = path_resolve(&fs, c, path, flags, res, sizeof(res), last_link);
	if (n < 0) {
		path_join_normalize(cwd, path, out, len);
		return n;
	}
	/* ... and back. */
	if (pp->rootlen > 1) {
		if (snprintf(vcwd, sizeof(vcwd), "%s%s", pp->root, strcmp(res, "/") ? res : "") >=
		    (int)sizeof(vcwd))
			return -ENAMETOOLONG;
		return path_join_normalize(NULL, vcwd, out, len);
	}
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	memcpy(out, res, (size_t)n + 1);
	return n;
}

/* ---- directories already resolved --------------------------------------- */

void procpath_cache__init(struct procpath_cache *pc)
{
	memset(pc, 0, sizeof(*pc));
}

static void pc_drop(struct procpath_cache *pc, size_t i)
{
	free(pc->e[i].p);
	free(pc->e[i].r);
	memset(&pc->e[i], 0, sizeof(pc->e[i]));
}

void procpath_cache__free(struct procpath_cache *pc)
{
	size_t i;

	if (!pc)
		return;
	for (i = 0; i < PROCPATH_CACHE; i++)
		pc_drop(pc, i);
}

static bool same_dir(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* stat of a directory named without any symbolic link: fails (ELOOP) if a
 * component is one, so a name that still leads somewhere through a link
 * put in place of a renamed directory is not taken for that place's. */
static int nosym_stat(const char *path, struct stat *st)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how)), r;

	if (fd < 0)
		return -errno;
	r = fstat(fd, st) ? -errno : 0;
	close(fd);
	return r;
}

static bool canonical_dir(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	return nosym_stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* Entry i (spelled dir) still leads where it did, and is still named so
 * without a link.  The spelling with no link and no ".." is its own
 * resolved form: one check covers both. */
static bool still_right(const struct procpath_cache *pc, size_t i, const char *dir)
{
	if (!strcmp(pc->e[i].r, dir))
		return canonical_dir(dir, pc->e[i].dev, pc->e[i].ino);
	return same_dir(dir, pc->e[i].dev, pc->e[i].ino) &&
	       canonical_dir(pc->e[i].r, pc->e[i].dev, pc->e[i].ino);
}

/* r + "/" + name into out. */
static int join_name(const char *r, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s%s", r, strcmp(r, "/") ? "/" : "", name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

int procpath_cache__resolve(struct procpath_cache *pc, struct procpath *pp, const char *cwd,
			    const char *path, uint64_t ts, char *out, size_t len)
{
	char raw[PATH_MAX], dir[PATH_MAX], res[PATH_MAX];
	const char *slash, *name;
	size_t i, dl, victim = 0;
	struct stat st;
	uint64_t now;
	int n;

	if (!pp->own_root || !path || !path[0] || (path[0] != '/' && (!cwd || cwd[0] != '/')))
		return procpath__resolve(pp, cwd, path, 0, out, len, NULL);
	n = snprintf(raw, sizeof(raw), "%s%s%s", path[0] == '/' ? "" : cwd,
		     path[0] == '/' ? "" : "/", path);
	if (n < 0 || (size_t)n >= sizeof(raw) || raw[n - 1] == '/')
		return procpath__resolve(pp, cwd, path, 0, out, len, NULL);
	slash = strrchr(raw, '/');
	name = slash + 1;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return procpath__resolve(pp, cwd, path, 0, out, len, NULL);
	dl = slash == raw ? 1 : (size_t)(slash - raw);
	memcpy(dir, raw, dl);
	dir[dl] = '\0';
	pc->tick++;
	for (i = 0; i < PROCPATH_CACHE; i++) {
		if (!pc->e[i].p || strcmp(pc->e[i].p, dir))
			continue;
		/* A check made since the call returned answers it; check
		 * again only for a later call, or one of unknown time. */
		if (!ts || ts > pc->e[i].checked) {
			/* The time is taken first: what the check sees is at
			 * least that recent. */
			now = now_ns(CLOCK_BOOTTIME);
			pc->checks++;
			if (!still_right(pc, i, dir)) {
				pc_drop(pc, i);
				break;
			}
			pc->e[i].checked = now;
		}
		pc->e[i].used = pc->tick;
		pc->hits++;
		return join_name(pc->e[i].r, name, out, len);
	}
	pc->misses++;
	now = now_ns(CLOCK_BOOTTIME);
	if (procpath__resolve(pp, NULL, dir, PATH_RESOLVE_FOLLOW, res, sizeof(res), NULL) < 0 ||
	    nosym_stat(res, &st))
		return procpath__resolve(pp, cwd, path, 0, out, len, NULL);
	for (i = 0; i < PROCPATH_CACHE; i++) {
		if (!pc->e[i].p) {
			victim = i;
			break;
		}
		if (pc->e[i].used < pc->e[victim].used)
			victim = i;
	}
	pc_drop(pc, victim);
	pc->e[victim].p = strdup(dir);
	pc->e[victim].r = strdup(res);
	if (!pc->e[victim].p || !pc->e[victim].r) {
		pc_drop(pc, victim);
	} else {
		pc->e[victim].dev = st.st_dev;
		pc->e[victim].ino = st.st_ino;
		pc->e[victim].used = pc->tick;
		pc->e[victim].checked = now;
	}
	return join_name(res, name, out, len);
}
