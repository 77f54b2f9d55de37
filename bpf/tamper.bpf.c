// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * An agent that fights back: a session process signalling or tracing the
 * collector, or calling bpf() at all (to detach agentwatch's links, write
 * its pinned maps, or load programs of its own).  These are reported at
 * once (the record wakes the collector) with the actor's lineage; they are
 * not blocked, which would need an LSM hook this sensor does not require.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void tamper(struct aw_session *sess, __u32 kind, __u32 arg, __u32 target)
{
	struct aw_tamper_event ev = {};

	fill_hdr(&ev.hdr, AW_EV_TAMPER, sess->id);
	ev.hdr.size = sizeof(ev);
	ev.kind = kind;
	ev.arg = arg;
	ev.target = target;
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	count(AW_CNT_TAMPER);
	emit_flags(&ev, sizeof(ev), AW_EV_TAMPER, true);
}

/* The sender's context: current is whoever sends the signal. */
static __always_inline int on_signal(int sig, struct task_struct *task)
{
	struct aw_config *cfg = get_config();
	struct aw_session *sess;
	__u32 target;

	if (!cfg || !cfg->collector_tgid)
		return 0;
	target = BPF_CORE_READ(task, tgid);
	if (target != cfg->collector_tgid)
		return 0;
	sess = session_of(bpf_get_current_pid_tgid() >> 32);
	if (sess)
		tamper(sess, AW_TAMPER_SIGNAL, sig, target);
	return 0;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(handle_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	return on_signal(sig, task);
}

/* Loaded instead of the above where tp_btf programs are refused. */
SEC("raw_tp/signal_generate")
int BPF_PROG(handle_signal_generate_raw, int sig, struct kernel_siginfo *info,
	     struct task_struct *task, int group, int result)
{
	return on_signal(sig, task);
}

SEC("tp/syscalls/sys_enter_ptrace")
int handle_sys_enter_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	struct aw_config *cfg = get_config();
	struct aw_session *sess;
	__u32 target = (__u32)ctx->args[1];

	if (!cfg || !cfg->collector_tgid || target != cfg->collector_tgid)
		return 0;
	sess = session_of(bpf_get_current_pid_tgid() >> 32);
	if (sess)
		tamper(sess, AW_TAMPER_PTRACE, (__u32)ctx->args[0], target);
	return 0;
}

SEC("tp/syscalls/sys_enter_bpf")
int handle_sys_enter_bpf(struct trace_event_raw_sys_enter *ctx)
{
	struct aw_session *sess = session_of(bpf_get_current_pid_tgid() >> 32);

	if (sess)
		tamper(sess, AW_TAMPER_BPF, (__u32)ctx->args[0], 0);
	return 0;
}
