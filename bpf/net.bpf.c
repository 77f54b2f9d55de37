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

/*
 * Note a session process's destination for the syscall's exit to report.
 * hook: called from a cgroup hook, which can refuse it (returns 0 then:
 * EPERM); from the syscall-entry fallback nothing is refused, and a deny
 * rule's id is only noted.  Returns 1 to allow.
 */
static __always_inline int note_dest(struct aw_session *sess, __u64 id, __u32 op, __u16 family,
				     __u16 port, const __u8 *addr, __u32 sock_type,
				     __u32 protocol, bool hook)
{
	struct aw_net_event ev = {}, *prev;
	struct aw_config *cfg = get_config();
	__u32 rule = 0;

	ev.hdr.type = AW_EV_NET;
	ev.hdr.size = sizeof(ev);
	ev.hdr.ts = bpf_ktime_get_boot_ns();
	ev.hdr.pid = id >> 32;
	ev.hdr.tid = (__u32)id;
	ev.hdr.session_id = sess->id;
	ev.op = op;
	ev.family = family;
	ev.port = port;
	ev.sock_type = sock_type;
	ev.protocol = protocol;
	if (family == AF_INET) {
		struct aw_net_key4 k = { .prefixlen = 32 };

		__builtin_memcpy(ev.addr, addr, 4);
		__builtin_memcpy(k.addr, addr, 4);
		rule = deny_rule(bpf_map_lookup_elem(&net_deny4, &k), ev.port, ev.protocol);
	} else {
		struct aw_net_key6 k = { .prefixlen = 128 };

		__builtin_memcpy(ev.addr, addr, 16);
		__builtin_memcpy(k.addr, addr, 16);
		rule = deny_rule(bpf_map_lookup_elem(&net_deny6, &k), ev.port, ev.protocol);
	}
	ev.flags = AW_NET_NO_RESULT; /* cleared when sys_exit fills it in */
	ev.rule_id = rule; /* not denied (monitor mode, no hook): what would have been */
	if (hook && rule && cfg && cfg->net_enforce) {
		ev.flags |= AW_NET_DENIED;
		count(AW_CNT_NET_DENIED);
	}
	if (cfg && (cfg->off & AW_OFF_SYSCALL_TP)) {
		/* No syscall tracepoints on this kernel: nobody would emit it
		 * at the exit, so report it now, without a result. */
		emit_flags(&ev, sizeof(ev), AW_EV_NET, ev.flags & AW_NET_DENIED);
	} else if (bpf_map_update_elem(&net_calls, &id, &ev, BPF_NOEXIST)) {
		/* A hook with no syscall exit in between (io_uring, or sendmmsg
		 * with several destinations): report the earlier one now,
		 * without result.  (Looked for only here: one map operation
		 * fewer for every other connect.) */
		prev = bpf_map_lookup_elem(&net_calls, &id);
		if (prev) {
			prev->flags |= AW_NET_NO_RESULT;
			emit(prev, sizeof(*prev), AW_EV_NET);
		}
		if (bpf_map_update_elem(&net_calls, &id, &ev, BPF_ANY))
			count(AW_CNT_INFLIGHT_FULL);
	}
	return (ev.flags & AW_NET_DENIED) ? 0 : 1;
}

/* A cgroup hook: the destination as the kernel parsed it. */
static __always_inline int note(struct bpf_sock_addr *ctx, __u32 op, __u16 family)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct aw_session *sess = session_of(id >> 32);
	__u32 a[4];

	if (!sess)
		return 1;
	if (family == AF_INET) {
		a[0] = ctx->user_ip4;
	} else {
		a[0] = ctx->user_ip6[0];
		a[1] = ctx->user_ip6[1];
		a[2] = ctx->user_ip6[2];
		a[3] = ctx->user_ip6[3];
	}
	return note_dest(sess, id, op, family, bpf_ntohs((__u16)ctx->user_port), (__u8 *)a,
			 ctx->type, ctx->protocol, true);
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
	if ((ev.flags & AW_NET_DENIED) && collector_alive() && aw_signal(19 /* SIGSTOP */)) {
		/* Held at the syscall's return until the collector has written
		 * the reason on its stderr; it may otherwise exit on the error
		 * before anyone can tell it why. */
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

/*
 * The fallback where the cgroup hooks are missing (no cgroup v2, or they
 * would not attach): the destination as the process handed it to connect,
 * sendto or sendmsg, read at sys_enter; the sys_exit programs above report
 * it with its result.  The collector loads these only then (autoload).
 * Records, not enforcement: a tracepoint can't refuse the call, and the
 * address is read from user memory that another thread could rewrite
 * before the kernel copies it.  sendmmsg and io_uring are not seen.
 */
static __always_inline struct socket *fd_socket(int fd)
{
	struct file *f = aw_fd_file(fd);
	struct socket *sock;

	if (!f)
		return NULL;
	/* A socket's file has the socket as private_data, and the socket
	 * points back at its file; any other file does not. */
	sock = BPF_CORE_READ(f, private_data);
	if (!sock || BPF_CORE_READ(sock, file) != f)
		return NULL;
	return sock;
}

static __always_inline int note_user(struct aw_session *sess, __u64 id, __u32 op, int fd,
				     __u64 uaddr, __u32 addrlen)
{
	struct socket *sock;
	__u8 sa[24];
	__u16 family, port;
	__u32 type;

	if (!uaddr || addrlen < 16)
		return 0;
	if (bpf_probe_read_user(sa, 16, (const void *)uaddr))
		return 0;
	family = *(__u16 *)sa;
	if (family != AF_INET && family != AF_INET6)
		return 0; /* unix, netlink...: the cgroup hooks don't see them either */
	if (family == AF_INET6 && (addrlen < 24 || bpf_probe_read_user(sa, 24, (const void *)uaddr)))
		return 0;
	sock = fd_socket(fd);
	type = sock ? BPF_CORE_READ(sock, type) : 0;
	/* The cgroup sendmsg hooks see UDP sends to an address, nothing else. */
	if (op == AW_NET_SENDMSG && type != 2 /* SOCK_DGRAM */)
		return 0;
	port = bpf_ntohs(*(__u16 *)(sa + 2));
	note_dest(sess, id, op, family, port, family == AF_INET ? sa + 4 : sa + 8, type,
		  sock ? BPF_CORE_READ(sock, sk, sk_protocol) : 0, false);
	return 0;
}

SEC("tp/syscalls/sys_enter_connect")
int handle_sys_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct aw_session *sess = session_of(id >> 32);

	if (!sess)
		return 0;
	return note_user(sess, id, AW_NET_CONNECT, (int)ctx->args[0], ctx->args[1],
			 (__u32)ctx->args[2]);
}

SEC("tp/syscalls/sys_enter_sendto")
int handle_sys_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct aw_session *sess = session_of(id >> 32);

	if (!sess)
		return 0;
	return note_user(sess, id, AW_NET_SENDMSG, (int)ctx->args[0], ctx->args[4],
			 (__u32)ctx->args[5]);
}

SEC("tp/syscalls/sys_enter_sendmsg")
int handle_sys_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct aw_session *sess = session_of(id >> 32);
	struct user_msghdr m;

	if (!sess || bpf_probe_read_user(&m, sizeof(m), (const void *)ctx->args[1]))
		return 0;
	return note_user(sess, id, AW_NET_SENDMSG, (int)ctx->args[0], (__u64)m.msg_name,
			 m.msg_namelen);
}
