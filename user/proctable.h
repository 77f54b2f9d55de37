/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Process table for lineage.
 *
 * An entry is keyed by (pid, start), start being the process start time in
 * ns since boot (the kernel's task->start_boottime), so a reused pid never
 * inherits a stranger's lineage.  Memory is bounded by max_procs entries.
 *
 * Pointers returned by the table stay valid until the next call that may
 * insert (fork, exec) or until proctable__free(): an insert can evict.
 * exe, cwd and argv are owned by the table and read-only; a forked child
 * shares its parent's strings rather than copying them (refcounted), which
 * is what keeps a fork-heavy session cheap.  Not thread-safe: one thread
 * (the collector) owns a table.
 */
#ifndef AW_PROCTABLE_H
#define AW_PROCTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROCTABLE_ARGV_CAP 4096
#define PROCTABLE_MIN_PROCS 16

struct proc {
	uint32_t pid;
	uint32_t ppid;			/* parent pid as last known */
	uint64_t start;			/* key: (pid, start) */
	struct proc *parent;		/* forking parent entry, or NULL if unknown */
	uint64_t session_id;		/* 0 = none */
	char *exe;			/* NULL if unknown */
	char *cwd;			/* NULL if unknown */
	char *argv;			/* argv_len bytes of NUL-separated args, then
					 * always one more NUL; NULL if unknown */
	uint32_t argv_len;
	uint32_t argc;			/* strings in argv, an unterminated last one included */
	uint32_t exit_code;
	bool argv_trunc;		/* argv was capped at PROCTABLE_ARGV_CAP */
	bool exited;
	uint64_t exec_ts, exit_ts;	/* a forked child has its parent's exec_ts */

	/* Private to proctable.c.  (Fields ordered so nothing pads: a table
	 * of 100,000 entries is most of the collector's heap.) */
	struct {
		struct proc *hnext;		/* hash chain */
		struct proc *lprev, *lnext;	/* eviction list, oldest first */
		struct proc *child;		/* first child linked to us */
		struct proc *sprev, *snext;	/* siblings: children of our parent */
		uint64_t birth_ts;		/* ts of the fork or exec that created us */
		uint32_t nchildren;		/* entries whose parent is us */
		uint8_t list;			/* which eviction list */
	} priv;
};

struct proctable;

/* max_procs >= PROCTABLE_MIN_PROCS, else NULL with errno EINVAL. */
struct proctable *proctable__new(size_t max_procs);
void proctable__free(struct proctable *pt);	/* NULL ok */

/*
 * Find a process.  start == 0 means "the newest (largest start) entry with
 * this pid that has not exited, else the newest".  Does not change the
 * table.
 */
struct proc *proctable__lookup(struct proctable *pt, uint32_t pid, uint64_t start);

/*
 * A fork.  Creates the child (pid, start); if an entry with that key exists
 * already (its exec was seen first, events from different CPUs can arrive
 * out of order) it is returned, with its missing parent link, session and
 * image filled in.  The child's parent link is the entry (ppid,
 * parent_start) if present (parent_start 0 = as lookup).  The child shares
 * exe/cwd/argv with the parent: a forked child runs the parent's image
 * until it execs.  session_id 0 inherits the parent's.  Any other entry
 * with the same pid and an older start is marked exited and counted as
 * superseded: the pid was reused, so that process is gone even if its exit
 * was never seen.  Returns NULL only when out of memory.
 */
struct proc *proctable__fork(struct proctable *pt, uint32_t pid, uint64_t start,
			     uint32_t ppid, uint64_t parent_start,
			     uint64_t session_id, uint64_t ts);

/*
 * An exec.  Creates the entry (pid, start) if missing (start 0 = as lookup;
 * linked to its parent if (ppid, parent_start) is known, parent_start 0 =
 * any), else updates its image.
 * Any of exe, cwd and argv may be NULL to keep the current value.  argv is
 * argv_len bytes, capped at PROCTABLE_ARGV_CAP (argv_trunc then set).
 * session_id 0 keeps the current one (or inherits the parent's for a new
 * entry).  A string that cannot be allocated is left unchanged.  Returns
 * NULL only when the entry cannot be allocated.
 */
struct proc *proctable__exec(struct proctable *pt, uint32_t pid, uint64_t start,
			     uint32_t ppid, uint64_t parent_start, uint64_t session_id,
			     const char *exe, const char *cwd,
			     const char *argv, uint32_t argv_len, uint64_t ts);

/* An exit (start 0 = as lookup).  Unknown or already exited: ignored. */
void proctable__exit(struct proctable *pt, uint32_t pid, uint64_t start,
		     uint32_t exit_code, uint64_t ts);

/*
 * Lineage from the session root down to p: out[0] is root-most, out[n-1]
 * == p.  Walks parent links up from p and stops at the entry whose pid ==
 * root_pid (and start == root_start if root_start != 0), or where the chain
 * ends.  Returns n (<= max).  *complete (may be NULL) is set true only when
 * the root was reached; if the chain is longer than max, the max entries
 * nearest p are kept and *complete is false.
 */
size_t proctable__lineage(struct proctable *pt, const struct proc *p,
			  uint32_t root_pid, uint64_t root_start,
			  const struct proc **out, size_t max, bool *complete);

struct proctable_stats {
	size_t live, exited, total;
	size_t evicted;		/* entries dropped to respect max_procs */
	size_t superseded;	/* entries marked exited because their pid was reused */
	size_t bytes;		/* heap held by the table, strings and buckets included */
};

void proctable__stats(const struct proctable *pt, struct proctable_stats *st);

/*
 * Call fn on every entry (live ones first, oldest first) until it returns
 * non-zero; returns that value, or 0.  fn may read the table (lookup,
 * lineage) and change public fields, but must not fork, exec or exit.
 */
int proctable__for_each(struct proctable *pt, int (*fn)(struct proc *p, void *ctx), void *ctx);

#endif /* AW_PROCTABLE_H */
