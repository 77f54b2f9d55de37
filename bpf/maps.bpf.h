/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps shared by every bpf/<concern>.bpf.c.  Each concern is compiled on its own and
 * `bpftool gen object` links them; the definitions are __weak so that the
 * linker merges the identical copies into one map instead of refusing a
 * duplicate strong symbol.
 */
#ifndef AW_MAPS_BPF_H
#define AW_MAPS_BPF_H

#include "agentwatch.h"

/* tgid -> agent session.  Set at exec (signature), by the collector (/proc
 * scan, declared roots, confirmed candidates), copied to the child at fork,
 * deleted when the last thread exits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AW_MAX_SESSIONS_PROCS);
	__type(key, __u32);
	__type(value, struct aw_session);
} sessions SEC(".maps") __weak;

/* Agent signatures the kernel can check by itself: basenames and basename
 * prefixes.  Everything richer is decided by the collector on candidates. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AW_MAX_AGENT_NAMES);
	__type(key, struct aw_name_key);
	__type(value, struct aw_agent_name);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} agent_names SEC(".maps") __weak;

/* Every event to the collector.  Size is set by the collector at load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps") __weak;

/* Loss and health counters, summed over CPUs by the collector. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aw_config);
} aw_config SEC(".maps") __weak;

/*
 * Set by the collector before load, from what the kernel offers (see
 * user/sensor.c).  Read-only data the verifier knows the value of: with 0,
 * every bpf_send_signal() below is dead code, never verified, so the same
 * object loads on a kernel without the helper, and the collector stops
 * processes itself, late.
 */
const volatile __u32 aw_send_signal __weak = 1;

/* Stop or kill the current task in the kernel, if this kernel can. */
static __always_inline bool aw_signal(__u32 sig)
{
	if (!aw_send_signal)
		return false;
	bpf_send_signal(sig);
	return true;
}

/* Keep clang from re-deriving a value the verifier has already bounded. */
#define aw_barrier_var(v) asm volatile("" : "+r"(v))

/* Basenames of binaries whose execs in a session stop for a verdict. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct aw_gate_key);
	__type(value, __u32);
} gated_binaries SEC(".maps") __weak;

/* tgid -> when the gate stopped it.  The collector deletes the entry when
 * it resolves the verdict; one that restarts after a crash finds here the
 * processes its predecessor left stopped. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} gated_pending SEC(".maps") __weak;

/* --within PID: PID and its descendants (key tgid), followed at fork and
 * exit.  Only they can open a session. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} scope SEC(".maps") __weak;

/* Records lost to a full ring buffer, per session id: the collector marks
 * those sessions degraded and says exactly how much each one lost. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} session_losses SEC(".maps") __weak;

/* [AW_HB_TIME]: CLOCK_BOOTTIME ns of the collector's last sign of life.
 * [AW_HB_NAPPING]: nonzero while the collector sleeps with nothing to read
 * (see emit_flags()).  A map pinned by an older collector has only the
 * first slot: the lookup of the second fails and nobody naps. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AW_HB_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} heartbeat SEC(".maps") __weak;

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1; /* per-CPU slot: no atomic needed */
}

static __always_inline struct aw_config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&aw_config, &zero);
}

/*
 * Waking the collector costs more than everything else an event does: on
 * the project's 6.18 VM a fork record took 21 us with a wakeup per record
 * and 1.3 us without (the irq_work behind each wakeup).  So ordinary records
 * are queued silently, and the collector drains them on a short timer.  A
 * record someone is waiting on (urgent), or a ring more than a quarter
 * full, wakes it at once.
 *
 * That timer is itself a wakeup, 100 a second, each costing the collector
 * about 80 us of CPU on that VM even with nothing to read.  So a collector
 * that found nothing naps (up to its 100 ms heartbeat) and says so in the
 * heartbeat map; while it naps, a record is sent with the ring buffer's
 * default wakeup, which wakes the reader only if it has read everything
 * before this record: the first record after a quiet spell wakes it at
 * once, and the rest of a burst does not.  (A record whose program read
 * the flag just before the collector set it, and committed just after the
 * collector's last look, waits for the nap to end: at most 100 ms, and
 * never a gated exec, which is urgent.)
 */
static __always_inline bool collector_napping(void)
{
	__u32 k = AW_HB_NAPPING;
	__u64 *v = bpf_map_lookup_elem(&heartbeat, &k);

	return v && *v;
}

static __always_inline void emit_flags(void *ev, __u64 size, __u32 type, bool urgent)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (urgent || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
		      bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4)
		flags = BPF_RB_FORCE_WAKEUP;
	else if (collector_napping())
		flags = 0;
	if (bpf_ringbuf_output(&events, ev, size, flags)) {
		__u64 sid = ((struct aw_event_hdr *)ev)->session_id, one = 1, *n;

		count(type == AW_EV_TAMPER ? AW_CNT_RB_FAIL_TAMPER : AW_CNT_RB_FAIL_EXEC + type - AW_EV_EXEC);
		if (sid) {
			n = bpf_map_lookup_elem(&session_losses, &sid);
			if (n)
				__sync_fetch_and_add(n, 1);
			else
				bpf_map_update_elem(&session_losses, &sid, &one, BPF_NOEXIST);
		}
		return;
	}
	count(AW_CNT_EVENTS);
}

/* Ring buffer output with a loss counter per event type. */
static __always_inline void emit(void *ev, __u64 size, __u32 type)
{
	emit_flags(ev, size, type, false);
}

/* Is someone reading the ring buffer (heartbeat fresh)? */
static __always_inline bool collector_alive(void)
{
	struct aw_config *cfg = get_config();
	__u32 zero = 0;
	__u64 *hb = bpf_map_lookup_elem(&heartbeat, &zero);

	return cfg && !cfg->quiesce && hb && *hb &&
	       bpf_ktime_get_boot_ns() - *hb < cfg->heartbeat_stale_ns;
}

static __always_inline struct aw_session *session_of(__u32 tgid)
{
	return bpf_map_lookup_elem(&sessions, &tgid);
}

static __always_inline void fill_hdr(struct aw_event_hdr *h, __u32 type,
				     __u64 session_id)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->ts = bpf_ktime_get_boot_ns();
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->start = BPF_CORE_READ(t, group_leader, start_boottime);
	h->session_id = session_id;
}

/* The current task's open file fd, or NULL. */
static __always_inline struct file *aw_fd_file(int fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	struct file **fdarr = BPF_CORE_READ(t, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(t, files, fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fdarr[fd]);
	return f;
}

#endif /* AW_MAPS_BPF_H */
