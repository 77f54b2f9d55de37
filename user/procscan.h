/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /proc scanner: the processes running when the collector starts, so that
 * agents already running (and their descendants) get a session too.
 *
 * Every read races with the process exiting, or with the pid being reused;
 * a process that vanishes mid-read is skipped, not an error.  Callers
 * that need identity compare (pid, start_ns), never pid alone.
 */
#ifndef AW_PROCSCAN_H
#define AW_PROCSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCSCAN_ARGV_MAX (32u << 10) /* /proc/PID/cmdline bytes kept */
#define PROCSCAN_ENV_MAX  (64u << 10) /* /proc/PID/environ bytes kept */

struct procinfo {
	uint32_t pid, ppid;
	/* Start time since boot, in ns: /proc/PID/stat field 22 (clock ticks)
	 * converted.  The kernel derives it from task->start_boottime, the
	 * clock the BPF events carry, but only to tick precision (10 ms at
	 * USER_HZ=100): compare with that tolerance. */
	uint64_t start_ns;
	char exe[4096];         /* readlink /proc/PID/exe, "" if unreadable */
	bool exe_deleted;       /* the kernel's " (deleted)" suffix was removed */
	char cwd[4096];         /* readlink /proc/PID/cwd, "" if unreadable */
	char comm[16];
	char *argv;             /* /proc/PID/cmdline, heap, NULL if empty */
	size_t argv_len;
	char *env;              /* /proc/PID/environ if want_env, heap or NULL */
	size_t env_len;
	uid_t uid;              /* real uid (/proc/PID/status) */
};

/*
 * Call fn for every process under proc_root ("/proc", or a fake tree in
 * tests), skipping kernel threads.  fn's pi and its buffers are valid only
 * during the call.  Returns 0, fn's first nonzero return, or -errno if
 * proc_root can't be read.
 */
int procscan__each(const char *proc_root, bool want_env,
		   int (*fn)(const struct procinfo *pi, void *ctx), void *ctx);

/*
 * Read one process.  0, or -ENOENT (gone, or not a process), -ESRCH
 * (a kernel thread), -EINVAL (unparsable stat), -ENOMEM.  On success
 * the caller owns pi's buffers: procinfo__release().
 */
int procscan__one(const char *proc_root, uint32_t pid, bool want_env, struct procinfo *pi);

/* Free argv/env and clear them; NULL is fine. */
void procinfo__release(struct procinfo *pi);

/* Parse the contents of /proc/PID/stat.  comm may hold spaces and ')' so
 * it ends at the LAST ')'.  start_ticks is field 22, flags field 9. */
struct proc_stat {
	uint32_t pid, ppid;
	char comm[16];
	char state;
	uint64_t flags;
	uint64_t start_ticks;
};
int procscan__parse_stat(const char *buf, size_t len, struct proc_stat *st);

struct proc_pair {
	uint32_t pid, ppid;
};

/*
 * The descendants of root (root excluded) by ppid links, parents before
 * their children (breadth first).  *out is a new heap array of *n_out pids
 * (NULL when there are none) for the caller to free.  A pid listed twice
 * counts once; a ppid cycle in racy data can't loop.  0 or -ENOMEM.
 */
int procscan__descendants(const struct proc_pair *pairs, size_t n, uint32_t root,
			  uint32_t **out, size_t *n_out);

#endif /* AW_PROCSCAN_H */
