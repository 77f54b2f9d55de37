// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * File-destroying syscalls of session processes: unlink, unlinkat, rmdir,
 * rename, renameat, renameat2, truncate, and open/openat/openat2/creat when
 * they truncate.
 *
 * A syscall tracepoint cannot stop the syscall that fired it, so for
 * reporting we note the arguments at sys_enter and emit one event at sys_exit
 * with the result.  Strings are read at exit: the caller's buffers are still
 * there, and a dirfd is still open, so the path can be resolved then.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"
#include "path.bpf.h"

#define AT_FDCWD   -100
#define AT_REMOVEDIR 0x200
#define O_TRUNC    01000
#define O_CREAT    0100
#define O_WRONLY   01

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct file_call {
	__u64 id;             /* pid_tgid of the call, 0 when none is in progress */
	__u64 session_id;
	__u64 path, path2;    /* user pointers */
	__s32 dfd, dfd2;
	__u32 op;
	__u32 flags;          /* AW_FILE_AT_REMOVEDIR */
	__u32 open_flags;
	__u32 rule_id;        /* AW_FILE_PROTECTED */
};

/* Paths whose first touch stops the process (file rules with literal
 * `target under` paths), filled by the collector. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct aw_prot_key);
	__type(value, struct aw_prot_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} protected_paths SEC(".maps");

/*
 * The call in progress, from sys_enter to sys_exit, in the thread's own
 * task local storage: a few loads, where the pid_tgid hash this replaced
 * cost about 0.3 us more per call for its insert and delete.  Tracepoint
 * programs may use it since Linux 5.13, before bpf_loop (5.17), which the
 * sensor needs anyway.  A thread's storage goes with the thread.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct file_call);
} file_calls SEC(".maps");

/*
 * How many calls are in progress, about: every exit of every unlink,
 * rename and (truncating or not) open on the host reads this one word and,
 * when it is 0, is done, instead of looking for its call.  Counted up when
 * a call is noted, down when its exit takes it.  A call whose exit never
 * comes (the programs detached in between) leaves it high, which only
 * means exits look their call up.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} file_calls_live SEC(".maps");

static __always_inline __u64 *calls_live(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&file_calls_live, &zero);
}

/* Note c, the call this thread is entering, for its exit. */
static __always_inline void call_put(__u64 id, struct file_call *c)
{
	struct file_call *slot;
	__u64 *live;

	c->id = id;
	slot = bpf_task_storage_get(&file_calls, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!slot) {
		count(AW_CNT_INFLIGHT_FULL); /* no memory, or the storage busy on this CPU */
		return;
	}
	/* a call of this thread whose exit was missed is counted already */
	if (!slot->id && (live = calls_live()))
		__sync_fetch_and_add(live, 1);
	*slot = *c;
}

/* Take the call this thread noted at entry into *c: false if none. */
static __always_inline bool call_take(__u64 id, struct file_call *c)
{
	struct file_call *slot;
	__u64 *live = calls_live();

	if (live && !*live)
		return false;
	slot = bpf_task_storage_get(&file_calls, bpf_get_current_task_btf(), 0, 0);
	if (!slot || slot->id != id)
		return false;
	*c = *slot;
	slot->id = 0;
	if (live)
		__sync_fetch_and_sub(live, 1);
	return true;
}

/* tgid -> deletions in the current window.  LRU: exited processes age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct aw_breaker);
} breaker SEC(".maps");

/*
 * The mass-deletion breaker: the Nth deletion by one session process within
 * the window stops it (SIGSTOP, delivered on the return to user space, so
 * this deletion still completes and the next one never starts).  The
 * collector then looks at what it was deleting: it resumes and exempts a
 * process that stayed inside the workspace, and holds one that did not for
 * a human.  A runaway rmtree loses at most N files before that.
 */
static __always_inline bool breaker_step(__u32 tgid)
{
	struct aw_config *cfg = get_config();
	struct aw_breaker *b, fresh = {};
	__u64 now;

	if (!cfg || !cfg->breaker_n || cfg->quiesce)
		return false;
	now = bpf_ktime_get_boot_ns();
	b = bpf_map_lookup_elem(&breaker, &tgid);
	if (!b) {
		fresh.window_start = now;
		fresh.count = 1;
		bpf_map_update_elem(&breaker, &tgid, &fresh, BPF_ANY);
		return false; /* the collector keeps breaker_n >= 2 */
	}
	if (b->state == AW_BREAKER_EXEMPT)
		return false;
	if (now - b->window_start > cfg->breaker_window_ns) {
		b->window_start = now;
		b->count = 0;
		if (b->state == AW_BREAKER_TRIPPED)
			b->state = AW_BREAKER_ARMED; /* resumed by a human: a new window */
	}
	b->count++;
	if (b->count < cfg->breaker_n || b->state == AW_BREAKER_TRIPPED)
		return false;
	b->state = AW_BREAKER_TRIPPED;
	/* Without bpf_send_signal the trip is still reported at once (an
	 * urgent record), and the collector stops the process itself. */
	aw_signal(19 /* SIGSTOP */);
	count(AW_CNT_BREAKER_TRIPS);
	return true;
}

struct file_scratch {
	struct aw_file_event ev;
	char data[AW_FILE_DATA_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct file_scratch);
} file_scratch SEC(".maps");

/*
 * Is this user path protected for op?  Returns the rule id, or 0.  Absolute
 * paths, and paths relative to the cwd, are checked (joined in the per-CPU
 * scratch, which sys_enter and sys_exit on one CPU never use at once since
 * tracepoint programs don't nest); dirfd-relative ones are left to the
 * collector's check of the event.  The comparison is on the bytes as given:
 * a path with ".." in it is caught by the collector, after the fact.
 */
static __noinline __u32 protected_rule(__u32 op, int dfd, __u64 uptr)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct file_scratch *s = bpf_map_lookup_elem(&file_scratch, &cpu);
	struct aw_prot_key *key;
	struct aw_prot_val *v;
	bool trunc = false;
	long n;
	int d;

	if (!s || !uptr)
		return 0;
	/* the event header area doubles as the LPM key while we look */
	key = (struct aw_prot_key *)s->data;
	__builtin_memset(key, 0, sizeof(*key));
	n = bpf_probe_read_user_str(key->path, sizeof(key->path), (const void *)uptr);
	if (n <= 1)
		return 0;
	if (key->path[0] != '/') {
		__u32 off;

		if (dfd != AT_FDCWD)
			return 0;
		/* cwd at data[AW_PATH_MAX..], then "/" and the relative path */
		d = aw_read_cwd(s->data + AW_PATH_MAX, &trunc);
		if (d <= 1 || trunc)
			return 0;
		off = (__u32)d - 1;
		aw_barrier_var(off);
		if (off >= AW_PATH_MAX)
			return 0;
		s->data[(AW_PATH_MAX + off) & (2 * AW_PATH_MAX - 1)] = '/';
		off += 1;
		aw_barrier_var(off);
		if (off >= AW_PATH_MAX)
			return 0;
		n = bpf_probe_read_user_str(s->data + AW_PATH_MAX + off, AW_PATH_MAX,
					    (const void *)uptr);
		if (n <= 0 || off + n > AW_PROT_KEY_LEN)
			return 0; /* longer than any key: not a prefix we hold */
		__builtin_memset(key->path, 0, sizeof(key->path));
		bpf_probe_read_kernel(key->path, sizeof(key->path) - 1, s->data + AW_PATH_MAX);
	}
	key->prefixlen = AW_PROT_KEY_LEN * 8;
	v = bpf_map_lookup_elem(&protected_paths, key);
	if (!v || !(v->ops_mask & (1u << op)))
		return 0;
	return v->rule_id;
}

/* sess: the caller's process's session, or NULL (then nothing to note). */
static __always_inline int file_enter_in(struct aw_session *sess, __u64 id, __u32 op, int dfd,
					 __u64 path, int dfd2, __u64 path2, __u32 flags,
					 __u32 open_flags)
{
	struct file_call c = {};
	struct aw_config *cfg;

	if (!sess)
		return 0;
	/* A syscall tracepoint can't stop the syscall that fired it: the
	 * signal lands on its return, so this first hit completes and nothing
	 * after it runs until the collector has decided. */
	/* With no protected paths (the usual case) don't read the path and
	 * walk the cwd on every deletion of every session process. */
	cfg = get_config();
	if (cfg && cfg->n_protected) {
		c.rule_id = protected_rule(op, dfd, path);
		if (!c.rule_id && path2)
			c.rule_id = protected_rule(op, dfd2, path2);
	}
	if (c.rule_id) {

		count(AW_CNT_PROTECTED_HITS);
		if (!aw_send_signal) {
			flags |= AW_FILE_PROT_UNSTOPPED; /* the collector acts, late */
		} else if (collector_alive()) {
			aw_signal(19 /* SIGSTOP */);
			flags |= AW_FILE_PROTECTED;
		} else if (cfg && !cfg->quiesce && cfg->gate_fallback == AW_FALLBACK_KILL) {
			aw_signal(9 /* SIGKILL */);
			flags |= AW_FILE_PROTECTED | AW_FILE_PROT_KILLED;
		}
	}
	c.session_id = sess->id;
	c.op = op;
	c.dfd = dfd;
	c.path = path;
	c.dfd2 = dfd2;
	c.path2 = path2;
	c.flags = flags;
	c.open_flags = open_flags;
	call_put(id, &c);
	return 0;
}

static __always_inline int file_enter(__u32 op, int dfd, __u64 path, int dfd2, __u64 path2,
				      __u32 flags, __u32 open_flags)
{
	__u64 id = bpf_get_current_pid_tgid();

	return file_enter_in(session_of(id >> 32), id, op, dfd, path, dfd2, path2, flags,
			     open_flags);
}

/*
 * Append the user string at uptr to data at off, and — if it is relative —
 * the directory it is relative to.  Returns the new offset; *plen and *dlen
 * get the two lengths (NUL included, 0 when absent).
 */
static __always_inline __u32 put_path(char *data, __u32 off, __u64 uptr, int dfd,
				      __u16 *plen, __u16 *dlen, __u32 *flags,
				      __u32 ptrunc, __u32 dtrunc)
{
	bool trunc = false;
	long n;
	int d;

	*plen = 0;
	*dlen = 0;
	if (!uptr)
		return off;
	aw_barrier_var(off);
	if (off > AW_FILE_DATA_MAX - 2 * AW_PATH_MAX)
		return off;
	n = bpf_probe_read_user_str(data + off, AW_PATH_MAX, (const void *)uptr);
	if (n <= 0) {
		count(AW_CNT_READ_FAIL);
		return off;
	}
	if (n == AW_PATH_MAX) {
		*flags |= ptrunc;
		count(AW_CNT_PATH_TRUNC);
	}
	*plen = n;
	if (data[off & (AW_FILE_DATA_MAX - 1)] == '/')
		return off + n;
	off += n;
	aw_barrier_var(off);
	if (off > AW_FILE_DATA_MAX - AW_PATH_MAX)
		return off;
	if (dfd == AT_FDCWD)
		d = aw_read_cwd(data + off, &trunc);
	else
		d = aw_read_fd_path(dfd, data + off, &trunc);
	if (trunc) {
		*flags |= dtrunc;
		count(AW_CNT_PATH_TRUNC);
	}
	*dlen = d;
	return off + d;
}

/* See struct aw_root. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aw_root);
} collector_root SEC(".maps");

static __always_inline void task_root(struct aw_root *r)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();

	r->mnt = (__u64)BPF_CORE_READ(t, fs, root.mnt);
	r->dentry = (__u64)BPF_CORE_READ(t, fs, root.dentry);
}

/*
 * Is the current task rooted where the collector is?  Then its paths mean
 * what they mean to the collector, which can look them up as they are,
 * not through /proc/PID/root (a chroot, a container or the collector's
 * own private namespace make them mean something else).
 */
static __always_inline bool own_root(void)
{
	struct aw_root *c, r;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&collector_root, &zero);
	if (!c || !c->mnt)
		return false;
	task_root(&r);
	return r.mnt == c->mnt && r.dentry == c->dentry;
}

/* The collector's probe unlink at start: note its root. */
static __always_inline void note_collector_root(void)
{
	struct aw_config *cfg = get_config();
	struct aw_root r;
	__u32 zero = 0;

	if (!cfg || (bpf_get_current_pid_tgid() >> 32) != cfg->collector_tgid)
		return;
	task_root(&r);
	bpf_map_update_elem(&collector_root, &zero, &r, BPF_ANY);
}

static __always_inline int file_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 cpu = bpf_get_smp_processor_id();
	struct file_scratch *s;
	struct aw_file_event *ev;
	struct file_call c;
	__u32 off = 0, flags;

	if (!call_take(id, &c))
		return 0;
	/* O_TRUNC on anything but a regular file truncates nothing: agents'
	 * shells open /dev/null that way for every `2>/dev/null`, and a tty
	 * or a fifo is no different.  Not reported, unless a protected path
	 * rule stopped the process at entry: the collector must hear of it. */
	if (c.op == AW_FILE_OPEN_TRUNC && ret >= 0 && !c.rule_id) {
		struct file *f = aw_fd_file((int)ret);

		if (f && (BPF_CORE_READ(f, f_inode, i_mode) & 0170000) != 0100000 /* S_IFREG */)
			return 0;
	}
	s = bpf_map_lookup_elem(&file_scratch, &cpu);
	if (!s)
		return 0;
	ev = &s->ev;
	fill_hdr(&ev->hdr, AW_EV_FILE, c.session_id);
	ev->op = c.op;
	ev->result = ret;
	ev->open_flags = c.open_flags;
	ev->rule_id = c.rule_id;
	flags = c.flags;
	off = put_path(s->data, off, c.path, c.dfd, &ev->path_len, &ev->dir_len, &flags,
		       AW_FILE_PATH_TRUNC, AW_FILE_DIR_TRUNC);
	off = put_path(s->data, off, c.path2, c.dfd2, &ev->path2_len, &ev->dir2_len, &flags,
		       AW_FILE_PATH2_TRUNC, AW_FILE_DIR2_TRUNC);
	/* The breaker counts files actually deleted.  A failed unlink
	 * (ENOENT: "remove it if it is there") and rmdir of an empty
	 * directory destroy nothing, and real agents do both in bursts at
	 * start-up: Claude Code's lock directories and stale temp files would
	 * otherwise trip it.  Counted on the way out, the signal lands at the
	 * same place: before the next instruction in user space. */
	if (ret == 0 && (c.op == AW_FILE_UNLINK ||
			 (c.op == AW_FILE_UNLINKAT && !(c.flags & AW_FILE_AT_REMOVEDIR))) &&
	    breaker_step(id >> 32))
		flags |= AW_FILE_BREAKER;
	if (own_root())
		flags |= AW_FILE_OWN_ROOT;
	ev->flags = flags;
	aw_barrier_var(off);
	if (off > AW_FILE_DATA_MAX)
		return 0;
	ev->hdr.size = sizeof(*ev) + off;
	emit_flags(ev, sizeof(*ev) + off, AW_EV_FILE,
		   flags & (AW_FILE_BREAKER | AW_FILE_PROTECTED | AW_FILE_PROT_UNSTOPPED));
	return 0;
}

#define ARG(i) (ctx->args[i])

SEC("tp/syscalls/sys_enter_unlink")
int handle_sys_enter_unlink(struct trace_event_raw_sys_enter *ctx)
{
	note_collector_root();
	return file_enter(AW_FILE_UNLINK, AT_FDCWD, ARG(0), 0, 0, 0, 0);
}

SEC("tp/syscalls/sys_enter_unlinkat")
int handle_sys_enter_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	return file_enter(AW_FILE_UNLINKAT, (int)ARG(0), ARG(1), 0, 0,
			  (ARG(2) & AT_REMOVEDIR) ? AW_FILE_AT_REMOVEDIR : 0, 0);
}

SEC("tp/syscalls/sys_enter_rmdir")
int handle_sys_enter_rmdir(struct trace_event_raw_sys_enter *ctx)
{
	return file_enter(AW_FILE_RMDIR, AT_FDCWD, ARG(0), 0, 0, 0, 0);
}

SEC("tp/syscalls/sys_enter_rename")
int handle_sys_enter_rename(struct trace_event_raw_sys_enter *ctx)
{
	return file_enter(AW_FILE_RENAME, AT_FDCWD, ARG(0), AT_FDCWD, ARG(1), 0, 0);
}

SEC("tp/syscalls/sys_enter_renameat")
int handle_sys_enter_renameat(struct trace_event_raw_sys_enter *ctx)
{
	return file_enter(AW_FILE_RENAMEAT, (int)ARG(0), ARG(1), (int)ARG(2), ARG(3), 0, 0);
}

SEC("tp/syscalls/sys_enter_renameat2")
int handle_sys_enter_renameat2(struct trace_event_raw_sys_enter *ctx)
{
	return file_enter(AW_FILE_RENAMEAT2, (int)ARG(0), ARG(1), (int)ARG(2), ARG(3), 0,
			  (__u32)ARG(4));
}

SEC("tp/syscalls/sys_enter_truncate")
int handle_sys_enter_truncate(struct trace_event_raw_sys_enter *ctx)
{
	return file_enter(AW_FILE_TRUNCATE, AT_FDCWD, ARG(0), 0, 0, 0, 0);
}

/* Opens are the hottest syscalls on any host: test the flag before the
 * session lookup, so a non-truncating open costs one branch. */
SEC("tp/syscalls/sys_enter_open")
int handle_sys_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	__u32 fl = ARG(1);

	if (!(fl & O_TRUNC))
		return 0;
	return file_enter(AW_FILE_OPEN_TRUNC, AT_FDCWD, ARG(0), 0, 0, 0, fl);
}

SEC("tp/syscalls/sys_enter_creat")
int handle_sys_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	/* creat(p, m) is open(p, O_CREAT|O_WRONLY|O_TRUNC, m) */
	return file_enter(AW_FILE_OPEN_TRUNC, AT_FDCWD, ARG(0), 0, 0, 0,
			  O_CREAT | O_WRONLY | O_TRUNC);
}

SEC("tp/syscalls/sys_enter_openat")
int handle_sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	__u32 fl = ARG(2);

	if (!(fl & O_TRUNC))
		return 0;
	return file_enter(AW_FILE_OPEN_TRUNC, (int)ARG(0), ARG(1), 0, 0, 0, fl);
}

/* The flags are in user memory here: read them only for a session's
 * process (the collector itself calls openat2 for every file record). */
SEC("tp/syscalls/sys_enter_openat2")
int handle_sys_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct aw_session *sess = session_of(id >> 32);
	struct open_how how = {};

	if (!sess || bpf_probe_read_user(&how, sizeof(how), (void *)ARG(2)))
		return 0;
	if (!(how.flags & O_TRUNC))
		return 0;
	return file_enter_in(sess, id, AW_FILE_OPEN_TRUNC, (int)ARG(0), ARG(1), 0, 0, 0,
			     (__u32)how.flags);
}

#define FILE_EXIT(name)							\
SEC("tp/syscalls/sys_exit_" #name)					\
int handle_sys_exit_##name(struct trace_event_raw_sys_exit *ctx)	\
{									\
	return file_exit(ctx->ret);					\
}

FILE_EXIT(unlink)
FILE_EXIT(unlinkat)
FILE_EXIT(rmdir)
FILE_EXIT(rename)
FILE_EXIT(renameat)
FILE_EXIT(renameat2)
FILE_EXIT(truncate)
FILE_EXIT(open)
FILE_EXIT(creat)
FILE_EXIT(openat)
FILE_EXIT(openat2)
