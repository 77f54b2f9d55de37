// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Network destinations of session processes: IPv4/IPv6 connect() and UDP
 * sendmsg()/sendto() to an address.
 *
 * The cgroup sock_addr hooks (attached at the cgroup-v2 root, so they see
 * every process) get the destination already parsed by the kernel, for every
 * protocol, in the context of the calling thread.  They note it; the
 * syscall's sys_exit tracepoint emits it with the result.  The same hooks are
 * where a verdict can deny with EPERM.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"

#define AF_INET  2
#define AF_INET6 10

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* pid_tgid -> destination noted by the hook, waiting for sys_exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct aw_net_event);
} net_calls SEC(".maps");

/* Destinations agent sessions may not reach (metadata endpoint, production
 * ranges, database ports...), filled by the collector from deny rules. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct aw_net_key4);
	__type(value, struct aw_net_deny);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} net_deny4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct aw_net_key6);
	__type(value, struct aw_net_deny);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} net_deny6 SEC(".maps");

/* The deny rule that covers this destination, or 0. */
static __always_inline __u32 deny_rule(const struct aw_net_deny *d, __u16 port, __u32 protocol)
{
	int i;

	if (!d)
		return 0;
	for (i = 0; i < AW_NET_RULES_PER_PREFIX; i++) {
		if ((__u32)i >= d->n)
			break;
		if (port < d->r[i].port_lo || port > d->r[i].port_hi)
			continue;
		if (d->r[i].protocol && d->r[i].protocol != protocol)
			continue;
		return d->r[i].rule_id;
	}
	return 0;
}

/* Note the destination; returns 1 to allow the call, 0 to refuse it with
 * EPERM (what a cgroup sock_addr program returning 0 means). */
static __always_inline int note(struct bpf_sock_addr *ctx, __u32 op, __u16 family)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct aw_session *sess = session_of(id >> 32);
	struct aw_net_event ev = {}, *prev;
	struct aw_config *cfg;
	__u32 rule = 0;

	if (!sess)
		return 1;
	/* A hook with no syscall exit in between (io_uring, or sendmmsg with
	 * several destinations): report the earlier one now, without result. */
	prev = bpf_map_lookup_elem(&net_calls, &id);
	if (prev) {
		prev->flags |= AW_NET_NO_RESULT;
		emit(prev, sizeof(*prev), AW_EV_NET);
	}

	ev.hdr.type = AW_EV_NET;
	ev.hdr.size = sizeof(ev);
	ev.hdr.ts = bpf_ktime_get_boot_ns();
	ev.hdr.pid = id >> 32;
	ev.hdr.tid = (__u32)id;
	ev.hdr.session_id = sess->id;
	ev.op = op;
	ev.family = family;
	ev.port = bpf_ntohs((__u16)ctx->user_port);
	ev.sock_type = ctx->type;
	ev.protocol = ctx->protocol;
	if (family == AF_INET) {
		__u32 a = ctx->user_ip4;

		__builtin_memcpy(ev.addr, &a, 4);
	} else {
		__u32 a[4];

		a[0] = ctx->user_ip6[0];
		a[1] = ctx->user_ip6[1];
		a[2] = ctx->user_ip6[2];
		a[3] = ctx->user_ip6[3];
		__builtin_memcpy(ev.addr, a, 16);
	}
	if (family == AF_INET) {
		struct aw_net_key4 k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, ev.addr, 4);
		rule = deny_rule(bpf_map_lookup_elem(&net_deny4, &k), ev.port, ev.protocol);
	} else {
		struct aw_net_key6 k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, ev.addr, 16);
		rule = deny_rule(bpf_map_lookup_elem(&net_deny6, &k), ev.port, ev.protocol);
	}
	ev.flags = AW_NET_NO_RESULT; /* cleared when sys_exit fills it in */
	cfg = get_config();
	if (rule && cfg && cfg->net_enforce) {
		ev.flags |= AW_NET_DENIED;
		ev.rule_id = rule;
		count(AW_CNT_NET_DENIED);
	} else if (rule) {
		ev.rule_id = rule; /* monitor mode: report what would have been denied */
	}
	if (bpf_map_update_elem(&net_calls, &id, &ev, BPF_ANY))
		count(AW_CNT_INFLIGHT_FULL);
	return (ev.flags & AW_NET_DENIED) ? 0 : 1;
}

SEC("cgroup/connect4")
int handle_connect4(struct bpf_sock_addr *ctx)
{
	return note(ctx, AW_NET_CONNECT, AF_INET);
}

SEC("cgroup/connect6")
int handle_connect6(struct bpf_sock_addr *ctx)
{
	return note(ctx, AW_NET_CONNECT, AF_INET6);
}

SEC("cgroup/sendmsg4")
int handle_sendmsg4(struct bpf_sock_addr *ctx)
{
	return note(ctx, AW_NET_SENDMSG, AF_INET);
}

SEC("cgroup/sendmsg6")
int handle_sendmsg6(struct bpf_sock_addr *ctx)
{
	return note(ctx, AW_NET_SENDMSG, AF_INET6);
}

static __always_inline int net_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct aw_net_event *p, ev;
	struct task_struct *t;

	p = bpf_map_lookup_elem(&net_calls, &id);
	if (!p)
		return 0;
	ev = *p;
	bpf_map_delete_elem(&net_calls, &id);
	t = (struct task_struct *)bpf_get_current_task_btf();
	ev.hdr.start = BPF_CORE_READ(t, group_leader, start_boottime);
	ev.result = ret;
	ev.flags &= ~AW_NET_NO_RESULT;
	if ((ev.flags & AW_NET_DENIED) && collector_alive()) {
		/* Hold the process at the syscall's return until the collector
		 * has written the reason on its stderr; it may otherwise exit
		 * on the error before anyone can tell it why. */
		bpf_send_signal(19 /* SIGSTOP */);
		ev.flags |= AW_NET_STOPPED;
	}
	emit_flags(&ev, sizeof(ev), AW_EV_NET, ev.flags & AW_NET_DENIED);
	return 0;
}

#define NET_EXIT(name)							\
SEC("tp/syscalls/sys_exit_" #name)					\
int handle_sys_exit_##name(struct trace_event_raw_sys_exit *ctx)	\
{									\
	return net_exit(ctx->ret);					\
}

NET_EXIT(connect)
NET_EXIT(sendto)
NET_EXIT(sendmsg)
NET_EXIT(sendmmsg)
