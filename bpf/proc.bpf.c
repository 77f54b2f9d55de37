// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Process lifecycle: fork, exec and exit.  These keep the `sessions` map —
 * which processes belong to which agent session — and report exec, fork and
 * exit of session processes.
 *
 * The session is inherited at fork, in the kernel, so that a child forked a
 * microsecond after the agent started is already attributed, and setsid,
 * double fork or reparenting to init can't lose it.  It is never derived from
 * real_parent at exec time: by then the parent may be init.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"
#include "path.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct exec_scratch {
	struct aw_exec_event ev;
	char data[AW_EXEC_DATA_MAX + AW_PATH_MAX];
	struct aw_name_key key;
	__u64 gate_ts;      /* when gate() stopped it: its gated_pending value */
};

/* One slot per CPU (the collector sizes it to the possible CPUs).  A plain
 * array, not per-CPU, because per-CPU values are capped at 32 KiB and an exec
 * event with its argv is larger.  Tracepoint programs run with preemption
 * disabled, so a slot is never used by two programs at once. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} exec_scratch SEC(".maps");

static __always_inline struct exec_scratch *get_scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&exec_scratch, &cpu);
}

/*
 * Look a basename up in the agent_names trie.  name points at the basename
 * inside a kernel string; we copy at most AW_NAME_KEY_LEN - 1 bytes and pad
 * with NULs, so an exact entry (whose prefix covers the NUL) only matches a
 * name of exactly its length.
 */
static __always_inline struct aw_agent_name *lookup_name(struct aw_name_key *key,
							 const char *name)
{
	__builtin_memset(key->name, 0, sizeof(key->name));
	if (bpf_probe_read_kernel_str(key->name, sizeof(key->name), name) <= 1)
		return NULL;
	key->prefixlen = AW_NAME_KEY_LEN * 8;
	return bpf_map_lookup_elem(&agent_names, key);
}

/* Is this basename gated by some enforcing rule?  key is scratch space. */
static __always_inline bool gated(struct aw_name_key *key, const char *name)
{
	__builtin_memset(key->name, 0, sizeof(key->name));
	if (bpf_probe_read_kernel_str(key->name, sizeof(key->name), name) <= 1)
		return false;
	return bpf_map_lookup_elem(&gated_binaries, key->name) != NULL;
}

/*
 * Stop the exec'ing process before its first instruction: the signal is
 * queued now and delivered on the return to user space that starts the new
 * image.  The collector resumes it (SIGCONT), kills it, or leaves it for a
 * human.  If nobody is there to decide — the heartbeat is stale — apply the
 * configured fallback in the kernel instead of stopping it for good.
 */
static __always_inline __u32 gate(struct aw_config *cfg, __u32 tgid, __u64 *stopped_at)
{
	__u32 zero = 0;
	__u64 *hb = bpf_map_lookup_elem(&heartbeat, &zero);
	__u64 now = bpf_ktime_get_boot_ns();

	if (cfg->quiesce)
		return 0;
	/* No bpf_send_signal: nothing can stop it before it runs.  Say so in
	 * the record, and wake the collector at once: it acts late. */
	if (!aw_send_signal)
		return AW_EXEC_UNGATED;
	if (hb && *hb && now - *hb < cfg->heartbeat_stale_ns) {
		aw_signal(19 /* SIGSTOP */);
		bpf_map_update_elem(&gated_pending, &tgid, &now, BPF_ANY);
		*stopped_at = now;
		count(AW_CNT_GATE_STOPS);
		return AW_EXEC_GATED;
	}
	count(AW_CNT_GATE_FALLBACKS);
	if (cfg->gate_fallback == AW_FALLBACK_ALLOW)
		return AW_EXEC_FALLBACK_ALLOW;
	aw_signal(9 /* SIGKILL */);
	return AW_EXEC_FALLBACK_KILL;
}

/*
 * Offset of the basename of the filename held at data + AW_ARGV_MAX (len
 * bytes, NUL excluded).  A global function, so the verifier checks it once
 * and sees its result as one unknown value: inlined, each possible offset
 * was a separate state downstream and the exec program hit the 1M limit.
 */
__noinline int aw_filename_base(struct exec_scratch *s, __u32 len)
{
	int i;

	if (!s)
		return 0;
	/* NAME_MAX is 255, so the last slash is within the last 256 bytes of
	 * any path whose basename is a name at all. */
	for (i = 1; i <= 256; i++) {
		__u32 j;

		if ((__u32)i > len)
			break;
		j = (len - i) & (AW_PATH_MAX - 1);
		if (s->data[AW_ARGV_MAX + j] == '/')
			return j + 1;
	}
	return 0;
}

/* Copy the current task's argv into dst (AW_ARGV_MAX bytes).  Returns bytes
 * captured; sets *total to what the process really has. */
static __always_inline __u32 read_argv(struct task_struct *t, char *dst, __u32 *total)
{
	unsigned long start = BPF_CORE_READ(t, mm, arg_start);
	unsigned long end = BPF_CORE_READ(t, mm, arg_end);
	__u64 len;

	if (end <= start) {
		*total = 0;
		return 0;
	}
	len = end - start;
	*total = len > 0xffffffffUL ? 0xffffffffU : (__u32)len;
	if (len > AW_ARGV_MAX)
		len = AW_ARGV_MAX;
	/* Make clang pass the clamped value, in a register the verifier has
	 * bounded, rather than re-deriving it from the unclamped one. */
	aw_barrier_var(len);
	if (len > AW_ARGV_MAX)
		return 0;
	if (bpf_probe_read_user(dst, len, (const void *)start)) {
		count(AW_CNT_READ_FAIL);
		return 0;
	}
	return len;
}

/*
 * Each hook has two entry points: tp_btf (the default) and a raw_tp twin
 * that the collector loads instead on a kernel that refuses tp_btf
 * programs (set_autoload, user/sensor.c).  The bodies only read through
 * BPF_CORE_READ, so they are the same for the typed and the raw pointers.
 */
static __always_inline int on_proc_exec(struct task_struct *p, struct linux_binprm *bprm)
{
	struct aw_config *cfg = get_config();
	struct aw_session *sess, fresh;
	struct aw_agent_name *hit = NULL;
	struct exec_scratch *s;
	struct aw_exec_event *ev;
	__u32 tgid = BPF_CORE_READ(p, tgid);
	const char *base = NULL, *exe_name;
	__u32 off, n;
	bool trunc = false;
	long r;

	if (!cfg || tgid == cfg->collector_tgid)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	ev = &s->ev;
	/* Flags live in the map value, not a register: the verifier does not
	 * track map memory precisely, so the exec, candidate, gated and
	 * fallback cases merge into one state instead of multiplying every
	 * path walk below. */
	ev->flags = 0;

	/* filename as passed to execve: the script for a #! launcher, the
	 * symlink for a symlinked binary.  Read it first; the signature check
	 * needs its basename. */
	r = bpf_probe_read_kernel_str(s->data + AW_ARGV_MAX, AW_PATH_MAX, BPF_CORE_READ(bprm, filename));
	n = r > 0 ? r : 0;

	if (n > 1)
		base = s->data + AW_ARGV_MAX + (aw_filename_base(s, n - 1) & (AW_PATH_MAX - 1));
	exe_name = (const char *)BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name);

	sess = session_of(tgid);
	if (sess && (sess->flags & AW_SESS_UNANNOUNCED) && sess->root_tgid == tgid) {
		/* A declared root's first exec: that is where the session starts. */
		sess->flags &= ~AW_SESS_UNANNOUNCED;
		ev->flags |= AW_EXEC_SESSION_START;
	}
	/* --within: outside the scoped tree no signature opens a session. */
	if (!sess && cfg->scope_tgid && !bpf_map_lookup_elem(&scope, &tgid)) {
		if (!cfg->all_execs)
			return 0;
		ev->flags |= AW_EXEC_ALL;
	} else if (!sess) {
		if (base)
			hit = lookup_name(&s->key, base);
		if (!hit)
			hit = lookup_name(&s->key, exe_name);
		if (hit && (hit->flags & AW_NAME_AGENT)) {
			__builtin_memset(&fresh, 0, sizeof(fresh));
			fresh.id = bpf_ktime_get_boot_ns();
			fresh.root_start = BPF_CORE_READ(p, group_leader, start_boottime);
			fresh.root_tgid = tgid;
			fresh.sig_id = hit->sig_id;
			fresh.reason = AW_REASON_SIG_NAME;
			__builtin_memcpy(fresh.agent, hit->agent, sizeof(fresh.agent));
			if (bpf_map_update_elem(&sessions, &tgid, &fresh, BPF_ANY))
				count(AW_CNT_SESSIONS_FULL);
			sess = &fresh;
			ev->flags |= AW_EXEC_SESSION_START;
		} else if (hit && (hit->flags & AW_NAME_INTERPRETER)) {
			ev->flags |= AW_EXEC_CANDIDATE;
		} else if (cfg->all_execs) {
			ev->flags |= AW_EXEC_ALL;
		} else {
			return 0;
		}
	}

	if (sess && ((sess->flags & AW_SESS_GATE_ALL) || (base && gated(&s->key, base)) ||
		     gated(&s->key, exe_name)))
		ev->flags |= gate(cfg, tgid, &s->gate_ts);

	if (sess)
		ev->sess = *sess;
	else
		__builtin_memset(&ev->sess, 0, sizeof(ev->sess));
	fill_hdr(&ev->hdr, AW_EV_EXEC, sess ? sess->id : 0);
	/* A gated exec is stamped with the moment it was stopped, the value
	 * gated_pending holds for it: the collector's proof, when it resumes
	 * the pid, that it is this very stop it resolves (and the start of
	 * the gate latency it reports). */
	if (ev->flags & AW_EXEC_GATED)
		ev->hdr.ts = s->gate_ts;
	ev->hdr.pid = tgid;
	ev->hdr.start = BPF_CORE_READ(p, group_leader, start_boottime);
	ev->ppid = BPF_CORE_READ(p, real_parent, tgid);
	ev->parent_start = BPF_CORE_READ(p, real_parent, group_leader, start_boottime);
	ev->cgroup_id = bpf_get_current_cgroup_id();
	ev->uid = BPF_CORE_READ(p, cred, uid.val);
	ev->euid = BPF_CORE_READ(p, cred, euid.val);
	ev->gid = BPF_CORE_READ(p, cred, gid.val);
	ev->egid = BPF_CORE_READ(p, cred, egid.val);
	ev->argc = BPF_CORE_READ(bprm, argc);
	bpf_probe_read_kernel_str(ev->comm, sizeof(ev->comm), p->comm);

	/* data: argv | filename | exe | cwd.  argv goes first at offset 0; the
	 * filename we already read sits at AW_ARGV_MAX and moves down. */
	off = read_argv(p, s->data, &ev->argv_total);
	ev->argv_len = off;
	if (ev->argv_total > off) {
		ev->flags |= AW_EXEC_ARGV_TRUNC;
		count(AW_CNT_ARGV_TRUNC);
	}
	if (n == AW_PATH_MAX)
		ev->flags |= AW_EXEC_FILENAME_TRUNC;
	if (off > AW_ARGV_MAX)
		return 0;
	if (off < AW_ARGV_MAX && n)
		bpf_probe_read_kernel(s->data + off, n & (AW_PATH_MAX - 1), s->data + AW_ARGV_MAX);
	ev->filename_len = n;
	off += n;

	if (off > AW_ARGV_MAX + AW_PATH_MAX)
		return 0;
	n = aw_read_path(BPF_CORE_READ(bprm, file, f_path.dentry),
			 BPF_CORE_READ(bprm, file, f_path.mnt), s->data + off, &trunc);
	if (trunc) {
		ev->flags |= AW_EXEC_EXE_TRUNC;
		count(AW_CNT_PATH_TRUNC);
	}
	ev->exe_len = n;
	off += n;

	trunc = false;
	if (off > AW_ARGV_MAX + 2 * AW_PATH_MAX)
		return 0;
	n = aw_read_cwd(s->data + off, &trunc);
	if (trunc) {
		ev->flags |= AW_EXEC_CWD_TRUNC;
		count(AW_CNT_PATH_TRUNC);
	}
	ev->cwd_len = n;
	off += n;

	if (off > AW_EXEC_DATA_MAX)
		return 0;
	ev->hdr.size = sizeof(*ev) + off;
	/* A candidate is waited on: children it forks before the collector
	 * confirms it are adopted by a /proc scan, the sooner the better. */
	emit_flags(ev, sizeof(*ev) + off, AW_EV_EXEC,
		   ev->flags & (AW_EXEC_SESSION_START | AW_EXEC_CANDIDATE | AW_EXEC_GATED |
			    AW_EXEC_FALLBACK_KILL | AW_EXEC_FALLBACK_ALLOW | AW_EXEC_UNGATED));
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	return on_proc_exec(p, bprm);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(handle_sched_process_exec_raw, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	return on_proc_exec(p, bprm);
}

static __always_inline int on_proc_fork(struct task_struct *parent, struct task_struct *child)
{
	struct aw_config *cfg;
	struct aw_fork_event ev;
	struct aw_session *sess;
	__u32 ptgid, ctgid;

	ctgid = BPF_CORE_READ(child, tgid);
	if (BPF_CORE_READ(child, pid) != ctgid)
		return 0; /* a new thread, not a new process */
	ptgid = BPF_CORE_READ(parent, tgid);
	cfg = get_config();
	if (cfg && cfg->scope_tgid && bpf_map_lookup_elem(&scope, &ptgid)) {
		__u8 one = 1;

		bpf_map_update_elem(&scope, &ctgid, &one, BPF_ANY);
	}
	sess = session_of(ptgid);
	if (!sess)
		return 0;
	if (bpf_map_update_elem(&sessions, &ctgid, sess, BPF_ANY))
		count(AW_CNT_SESSIONS_FULL);

	__builtin_memset(&ev, 0, sizeof(ev));
	fill_hdr(&ev.hdr, AW_EV_FORK, sess->id);
	ev.hdr.size = sizeof(ev);
	ev.hdr.pid = ctgid;
	ev.hdr.tid = ctgid;
	ev.hdr.start = BPF_CORE_READ(child, start_boottime);
	ev.ppid = ptgid;
	ev.parent_start = BPF_CORE_READ(parent, group_leader, start_boottime);
	emit(&ev, sizeof(ev), AW_EV_FORK);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	return on_proc_fork(parent, child);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(handle_sched_process_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return on_proc_fork(parent, child);
}

static __always_inline int on_proc_exit(struct task_struct *p)
{
	struct aw_config *cfg;
	struct aw_exit_event ev;
	struct aw_session *sess;
	__u32 tgid = BPF_CORE_READ(p, tgid);

	/* One event per process: only the last thread out reports.  signal->live
	 * was decremented before this tracepoint fires. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	cfg = get_config();
	if (cfg && cfg->scope_tgid)
		bpf_map_delete_elem(&scope, &tgid);  /* only --within fills it */
	sess = session_of(tgid);
	if (!sess)
		return 0;

	__builtin_memset(&ev, 0, sizeof(ev));
	fill_hdr(&ev.hdr, AW_EV_EXIT, sess->id);
	ev.hdr.size = sizeof(ev);
	ev.hdr.pid = tgid;
	ev.hdr.start = BPF_CORE_READ(p, group_leader, start_boottime);
	/* exit_code is set before the tracepoint: (status << 8) for exit(),
	 * the signal number (| 0x80 for a core dump) when killed. */
	ev.exit_code = BPF_CORE_READ(p, exit_code);
	bpf_probe_read_kernel_str(ev.comm, sizeof(ev.comm), p->comm);
	emit(&ev, sizeof(ev), AW_EV_EXIT);
	bpf_map_delete_elem(&sessions, &tgid);
	/* Only a living process has a gated_pending entry: once its pid can
	 * be reused, no entry can vouch for the next holder. */
	bpf_map_delete_elem(&gated_pending, &tgid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_sched_process_exit, struct task_struct *p)
{
	return on_proc_exit(p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(handle_sched_process_exit_raw, struct task_struct *p)
{
	return on_proc_exit(p);
}
