// SPDX-License-Identifier: GPL-2.0
/*
 * Process table; see proctable.h.
 *
 * Every entry is on one of three eviction lists, oldest first:
 *   LIVE    not exited; ordered by last fork or exec activity;
 *   FREE    exited and no entry's parent: dropping it loses nothing
 *           that a live descendant's lineage needs;
 *   PINNED  exited but still some entry's parent (a double-forked daemon
 *           whose parents exited still needs them for its lineage).
 * Eviction takes FREE, then PINNED, then LIVE, so memory stays bounded
 * while lineage survives as long as it can.  An entry moves between FREE
 * and PINNED when its child count crosses zero, which keeps every choice
 * O(1): no list is ever scanned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proctable.h"
#include "util.h"

enum { LIST_LIVE, LIST_FREE, LIST_PINNED, NR_LISTS };

#define INIT_BUCKETS 64

struct plist {
	struct proc *head, *tail;
	size_t n;
};

struct proctable {
	struct proc **buckets;
	size_t nbuckets;		/* power of two */
	struct plist lists[NR_LISTS];
	size_t max, total;
	size_t evicted, superseded;
	size_t bytes;
	struct rstr **strs;		/* interned strings, by hash */
	size_t nstrs_buckets, nstrs;	/* power of two; live strings */
};

/*
 * A refcounted, interned string.  Forked children share their parent's;
 * and since an agent runs the same few binaries, in the same few
 * directories, often with the same arguments, equal strings are stored
 * once: 100,000 processes of a session cost ~190 bytes each instead of
 * ~330.
 */
struct rstr {
	struct rstr *next;		/* same bucket */
	uint32_t hash;
	uint32_t refs;
	uint32_t len;
	char data[];
};

static struct rstr *rstr_of(char *data)
{
	return (struct rstr *)(data - offsetof(struct rstr, data));
}

/* Keep the intern table at most one string per bucket on average. */
static void strs_grow(struct proctable *pt)
{
	size_t n = pt->nstrs_buckets ? pt->nstrs_buckets * 2 : 1024;
	struct rstr **nb = calloc(n, sizeof(*nb)), *r, *next;

	if (!nb)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < pt->nstrs_buckets; i++)
		for (r = pt->strs[i]; r; r = next) {
			next = r->next;
			r->next = nb[r->hash & (n - 1)];
			nb[r->hash & (n - 1)] = r;
		}
	pt->bytes += (n - pt->nstrs_buckets) * sizeof(*nb);
	free(pt->strs);
	pt->strs = nb;
	pt->nstrs_buckets = n;
}

/* A reference to len bytes of s and a NUL, shared with any equal string
 * already held; NULL when out of memory. */
static char *rstr_new(struct proctable *pt, const char *s, size_t len)
{
	uint32_t h = fnv1a32(s, len);
	struct rstr *r;

	if (pt->nstrs >= pt->nstrs_buckets)
		strs_grow(pt);
	if (!pt->strs)
		return NULL;
	for (r = pt->strs[h & (pt->nstrs_buckets - 1)]; r; r = r->next)
		if (r->hash == h && r->len == len && !memcmp(r->data, s, len)) {
			r->refs++;
			return r->data;
		}
	r = malloc(sizeof(*r) + len + 1);
	if (!r)
		return NULL;
	r->hash = h;
	r->refs = 1;
	r->len = (uint32_t)len;
	memcpy(r->data, s, len);
	r->data[len] = '\0';
	r->next = pt->strs[h & (pt->nstrs_buckets - 1)];
	pt->strs[h & (pt->nstrs_buckets - 1)] = r;
	pt->nstrs++;
	pt->bytes += sizeof(*r) + len + 1;
	return r->data;
}

static char *rstr_get(char *data)
{
	if (data)
		rstr_of(data)->refs++;
	return data;
}

static void rstr_put(struct proctable *pt, char *data)
{
	struct rstr *r;

	if (!data)
		return;
	r = rstr_of(data);
	if (--r->refs)
		return;
	for (struct rstr **pp = &pt->strs[r->hash & (pt->nstrs_buckets - 1)]; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	pt->nstrs--;
	pt->bytes -= sizeof(*r) + r->len + 1;
	free(r);
}

/* Replace *field with a new reference, dropping the old one. */
static void rstr_set(struct proctable *pt, char **field, char *data)
{
	rstr_put(pt, *field);
	*field = data;
}

/* --- eviction lists --- */

static void list_del(struct proctable *pt, struct proc *p)
{
	struct plist *l = &pt->lists[p->priv.list];

	if (p->priv.lprev)
		p->priv.lprev->priv.lnext = p->priv.lnext;
	else
		l->head = p->priv.lnext;
	if (p->priv.lnext)
		p->priv.lnext->priv.lprev = p->priv.lprev;
	else
		l->tail = p->priv.lprev;
	p->priv.lprev = p->priv.lnext = NULL;
	l->n--;
}

static void list_add_tail(struct proctable *pt, struct proc *p, int list)
{
	struct plist *l = &pt->lists[list];

	p->priv.list = (uint8_t)list;
	p->priv.lnext = NULL;
	p->priv.lprev = l->tail;
	if (l->tail)
		l->tail->priv.lnext = p;
	else
		l->head = p;
	l->tail = p;
	l->n++;
}

static void list_move_tail(struct proctable *pt, struct proc *p, int list)
{
	list_del(pt, p);
	list_add_tail(pt, p, list);
}

/* Recent activity makes a live entry the last one evicted. */
static void touch(struct proctable *pt, struct proc *p)
{
	if (p && !p->exited)
		list_move_tail(pt, p, LIST_LIVE);
}

/* The list an exited entry belongs on, given its children. */
static int exited_list(const struct proc *p)
{
	return p->priv.nchildren ? LIST_PINNED : LIST_FREE;
}

/* --- parent links --- */

static void link_parent(struct proctable *pt, struct proc *child, struct proc *parent)
{
	child->parent = parent;
	child->priv.sprev = NULL;
	child->priv.snext = parent->priv.child;
	if (parent->priv.child)
		parent->priv.child->priv.sprev = child;
	parent->priv.child = child;
	if (parent->priv.nchildren++ == 0 && parent->exited)
		list_move_tail(pt, parent, LIST_PINNED);
}

static void unlink_parent(struct proctable *pt, struct proc *child)
{
	struct proc *parent = child->parent;

	if (!parent)
		return;
	if (child->priv.sprev)
		child->priv.sprev->priv.snext = child->priv.snext;
	else
		parent->priv.child = child->priv.snext;
	if (child->priv.snext)
		child->priv.snext->priv.sprev = child->priv.sprev;
	child->parent = NULL;
	child->priv.sprev = child->priv.snext = NULL;
	/* Its last child gone, an exited parent becomes evictable; it goes
	 * to the young end of FREE, ordered by when it became evictable. */
	if (--parent->priv.nchildren == 0 && parent->exited)
		list_move_tail(pt, parent, LIST_FREE);
}

/* --- hash on pid: entries of one pid (superseded ones) share a chain --- */

static size_t bucket_of(const struct proctable *pt, uint32_t pid)
{
	/* Fibonacci hashing: pids are dense and sequential. */
	return (size_t)(((uint64_t)pid * 0x9e3779b97f4a7c15ull) >> 32) & (pt->nbuckets - 1);
}

/* Keep the load factor <= 1.  Failing to grow only makes chains longer. */
static void maybe_grow(struct proctable *pt)
{
	size_t old_n = pt->nbuckets, i;
	struct proc **old = pt->buckets, **nb, *p, *next;

	if (pt->total < old_n || old_n > SIZE_MAX / 2 / sizeof(*nb))
		return;
	nb = calloc(old_n * 2, sizeof(*nb));
	if (!nb)
		return;
	pt->buckets = nb;
	pt->nbuckets = old_n * 2;
	for (i = 0; i < old_n; i++) {
		for (p = old[i]; p; p = next) {
			size_t b = bucket_of(pt, p->pid);

			next = p->priv.hnext;
			p->priv.hnext = nb[b];
			nb[b] = p;
		}
	}
	free(old);
	pt->bytes += old_n * sizeof(*nb);
}

static void hash_add(struct proctable *pt, struct proc *p)
{
	size_t b = bucket_of(pt, p->pid);

	p->priv.hnext = pt->buckets[b];
	pt->buckets[b] = p;
}

static void hash_del(struct proctable *pt, struct proc *p)
{
	struct proc **pp = &pt->buckets[bucket_of(pt, p->pid)];

	while (*pp && *pp != p)
		pp = &(*pp)->priv.hnext;
	if (*pp)
		*pp = p->priv.hnext;
}

static struct proc *find_exact(const struct proctable *pt, uint32_t pid, uint64_t start)
{
	struct proc *p;

	for (p = pt->buckets[bucket_of(pt, pid)]; p; p = p->priv.hnext)
		if (p->pid == pid && p->start == start)
			return p;
	return NULL;
}

/* start 0: newest live entry of pid, else newest. */
static struct proc *find_any(const struct proctable *pt, uint32_t pid)
{
	struct proc *p, *best = NULL;

	for (p = pt->buckets[bucket_of(pt, pid)]; p; p = p->priv.hnext) {
		if (p->pid != pid)
			continue;
		if (!best || (best->exited && !p->exited) ||
		    (best->exited == p->exited && p->start > best->start))
			best = p;
	}
	return best;
}

static struct proc *find(const struct proctable *pt, uint32_t pid, uint64_t start)
{
	return start ? find_exact(pt, pid, start) : find_any(pt, pid);
}

/*
 * The entry to link (pid, start) to as parent.  A parent starts no later
 * than its child; an entry that started later holds a reused pid and is
 * not the parent.  (Equal starts are allowed: /proc seeding only knows
 * start times to a clock tick.)
 */
static struct proc *find_parent(const struct proctable *pt, uint32_t ppid, uint64_t parent_start,
				uint32_t pid, uint64_t start)
{
	struct proc *parent = find(pt, ppid, parent_start);

	if (!parent || (parent->pid == pid && parent->start == start))
		return NULL;
	if (start && parent->start > start)
		return NULL;
	return parent;
}

/* --- entries --- */

static void mark_exited(struct proctable *pt, struct proc *p, uint32_t code, uint64_t ts)
{
	p->exited = true;
	p->exit_code = code;
	p->exit_ts = ts;
	list_move_tail(pt, p, exited_list(p));
}

static void evict(struct proctable *pt, struct proc *p)
{
	struct proc *c, *next;

	unlink_parent(pt, p);
	for (c = p->priv.child; c; c = next) {
		next = c->priv.snext;
		c->parent = NULL;
		c->priv.sprev = c->priv.snext = NULL;
	}
	hash_del(pt, p);
	list_del(pt, p);
	rstr_put(pt, p->exe);
	rstr_put(pt, p->cwd);
	rstr_put(pt, p->argv);
	free(p);
	pt->bytes -= sizeof(*p);
	pt->total--;
	pt->evicted++;
}

/* Oldest entry of the first non-empty list in eviction order, never keep. */
static struct proc *victim(const struct proctable *pt, const struct proc *keep)
{
	static const int order[] = { LIST_FREE, LIST_PINNED, LIST_LIVE };
	struct proc *p;
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		p = pt->lists[order[i]].head;
		if (p == keep)
			p = p->priv.lnext;
		if (p)
			return p;
	}
	return NULL;
}

/* Make room for one more entry, sparing keep (the new entry's parent). */
static void make_room(struct proctable *pt, const struct proc *keep)
{
	struct proc *p;

	while (pt->total >= pt->max && (p = victim(pt, keep)))
		evict(pt, p);
}

/*
 * Only the newest process of a pid can be alive: the kernel reuses a pid
 * only after its previous owner was reaped.  So whichever of p and the
 * other entries of its pid is older is dead, even if its exit event was
 * lost.  Unknown start times (0) cannot be ordered and are left alone.
 */
static void supersede(struct proctable *pt, struct proc *p, uint64_t ts)
{
	struct proc *q;

	if (!p->start)
		return;
	for (q = pt->buckets[bucket_of(pt, p->pid)]; q; q = q->priv.hnext) {
		struct proc *old;

		if (q == p || q->pid != p->pid || !q->start || q->start == p->start)
			continue;
		old = q->start < p->start ? q : p;
		if (old->exited)
			continue;
		mark_exited(pt, old, 0, ts);
		pt->superseded++;
	}
}

static struct proc *proc_new(struct proctable *pt, uint32_t pid, uint64_t start,
			     uint32_t ppid, struct proc *parent, uint64_t session_id, uint64_t ts)
{
	struct proc *p;

	make_room(pt, parent);
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pt->bytes += sizeof(*p);
	p->pid = pid;
	p->start = start;
	p->ppid = ppid;
	p->session_id = session_id;
	p->priv.birth_ts = ts;
	if (parent) {
		link_parent(pt, p, parent);
		if (!p->session_id)
			p->session_id = parent->session_id;
	}
	pt->total++;
	maybe_grow(pt);
	hash_add(pt, p);
	list_add_tail(pt, p, LIST_LIVE);
	supersede(pt, p, ts);
	return p;
}

/* Fill what p does not know yet from its parent's image. */
static void inherit_image(struct proc *p, const struct proc *parent)
{
	if (!p->exe)
		p->exe = rstr_get(parent->exe);
	if (!p->cwd)
		p->cwd = rstr_get(parent->cwd);
	if (!p->argv && parent->argv) {
		p->argv = rstr_get(parent->argv);
		p->argv_len = parent->argv_len;
		p->argc = parent->argc;
		p->argv_trunc = parent->argv_trunc;
	}
	if (!p->exec_ts)
		p->exec_ts = parent->exec_ts;
}

/* An entry found again: adopt a parent and session it did not know. */
static void refresh(struct proctable *pt, struct proc *p, uint32_t ppid,
		    uint64_t parent_start, uint64_t session_id)
{
	struct proc *parent;

	if (!p->parent && ppid) {
		parent = find_parent(pt, ppid, parent_start, p->pid, p->start);
		if (parent)
			link_parent(pt, p, parent);
	}
	if (ppid)
		p->ppid = ppid;
	if (session_id)
		p->session_id = session_id;
	else if (!p->session_id && p->parent)
		p->session_id = p->parent->session_id;
}

struct proctable *proctable__new(size_t max_procs)
{
	struct proctable *pt;

	if (max_procs < PROCTABLE_MIN_PROCS) {
		errno = EINVAL;
		return NULL;
	}
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return NULL;
	pt->buckets = calloc(INIT_BUCKETS, sizeof(*pt->buckets));
	if (!pt->buckets) {
		free(pt);
		return NULL;
	}
	pt->nbuckets = INIT_BUCKETS;
	pt->max = max_procs;
	pt->bytes = sizeof(*pt) + INIT_BUCKETS * sizeof(*pt->buckets);
	return pt;
}

void proctable__free(struct proctable *pt)
{
	struct proc *p, *next;
	int l;

	if (!pt)
		return;
	for (l = 0; l < NR_LISTS; l++) {
		for (p = pt->lists[l].head; p; p = next) {
			next = p->priv.lnext;
			rstr_put(pt, p->exe);
			rstr_put(pt, p->cwd);
			rstr_put(pt, p->argv);
			free(p);
		}
	}
	free(pt->buckets);
	free(pt->strs);
	free(pt);
}

struct proc *proctable__lookup(struct proctable *pt, uint32_t pid, uint64_t start)
{
	return pt ? find(pt, pid, start) : NULL;
}

struct proc *proctable__fork(struct proctable *pt, uint32_t pid, uint64_t start,
			     uint32_t ppid, uint64_t parent_start,
			     uint64_t session_id, uint64_t ts)
{
	struct proc *p, *parent;

	if (!pt)
		return NULL;
	p = find_exact(pt, pid, start);
	if (p) {
		refresh(pt, p, ppid, parent_start, session_id);
	} else {
		parent = find_parent(pt, ppid, parent_start, pid, start);
		p = proc_new(pt, pid, start, ppid, parent, session_id, ts);
		if (!p)
			return NULL;
	}
	if (p->parent) {
		inherit_image(p, p->parent);
		touch(pt, p->parent);
	}
	touch(pt, p);
	return p;
}

static void set_argv(struct proctable *pt, struct proc *p, const char *argv, uint32_t len)
{
	bool trunc = len > PROCTABLE_ARGV_CAP;
	uint32_t i, argc = 0;
	char *copy;

	if (trunc)
		len = PROCTABLE_ARGV_CAP;
	copy = rstr_new(pt, argv, len);
	if (!copy)
		return;
	for (i = 0; i < len; i++)
		argc += argv[i] == '\0';
	/* An unterminated last argument (cut by a cap) still counts. */
	if (len && argv[len - 1] != '\0')
		argc++;
	rstr_set(pt, &p->argv, copy);
	p->argv_len = len;
	p->argc = argc;
	p->argv_trunc = trunc;
}

static void set_str(struct proctable *pt, char **field, const char *s)
{
	char *copy = rstr_new(pt, s, strlen(s));

	if (copy)
		rstr_set(pt, field, copy);
}

struct proc *proctable__exec(struct proctable *pt, uint32_t pid, uint64_t start,
			     uint32_t ppid, uint64_t parent_start, uint64_t session_id,
			     const char *exe, const char *cwd,
			     const char *argv, uint32_t argv_len, uint64_t ts)
{
	struct proc *p, *parent;

	if (!pt)
		return NULL;
	p = find(pt, pid, start);
	if (p) {
		refresh(pt, p, ppid, parent_start, session_id);
	} else {
		parent = find_parent(pt, ppid, parent_start, pid, start);
		p = proc_new(pt, pid, start, ppid, parent, session_id, ts);
		if (!p)
			return NULL;
	}
	if (exe)
		set_str(pt, &p->exe, exe);
	if (cwd)
		set_str(pt, &p->cwd, cwd);
	if (argv)
		set_argv(pt, p, argv, argv_len);
	p->exec_ts = ts;
	touch(pt, p);
	return p;
}

void proctable__exit(struct proctable *pt, uint32_t pid, uint64_t start,
		     uint32_t exit_code, uint64_t ts)
{
	struct proc *p = pt ? find(pt, pid, start) : NULL;

	if (p && !p->exited)
		mark_exited(pt, p, exit_code, ts);
}

static bool is_root(const struct proc *p, uint32_t root_pid, uint64_t root_start)
{
	return p->pid == root_pid && (!root_start || p->start == root_start);
}

size_t proctable__lineage(struct proctable *pt, const struct proc *p,
			  uint32_t root_pid, uint64_t root_start,
			  const struct proc **out, size_t max, bool *complete)
{
	bool reached = false;
	size_t n = 0, i;

	/* Collected p first, then reversed; max also bounds the walk should
	 * inconsistent events ever have made a cycle. */
	while (p && n < max) {
		out[n++] = p;
		if (is_root(p, root_pid, root_start)) {
			reached = true;
			break;
		}
		p = p->parent;
	}
	for (i = 0; i < n / 2; i++) {
		const struct proc *t = out[i];

		out[i] = out[n - 1 - i];
		out[n - 1 - i] = t;
	}
	if (complete)
		*complete = reached;
	return n;
}

void proctable__stats(const struct proctable *pt, struct proctable_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!pt)
		return;
	st->live = pt->lists[LIST_LIVE].n;
	st->exited = pt->lists[LIST_FREE].n + pt->lists[LIST_PINNED].n;
	st->total = pt->total;
	st->evicted = pt->evicted;
	st->superseded = pt->superseded;
	st->bytes = pt->bytes;
}

int proctable__for_each(struct proctable *pt, int (*fn)(struct proc *p, void *ctx), void *ctx)
{
	static const int order[] = { LIST_LIVE, LIST_PINNED, LIST_FREE };
	struct proc *p, *next;
	size_t i;
	int ret;

	if (!pt)
		return 0;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		for (p = pt->lists[order[i]].head; p; p = next) {
			next = p->priv.lnext;
			ret = fn(p, ctx);
			if (ret)
				return ret;
		}
	}
	return 0;
}
