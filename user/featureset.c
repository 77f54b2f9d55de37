// SPDX-License-Identifier: GPL-2.0
/*
 * The feature table: one line per kernel feature the sensor can use, what
 * it needs, and what is lost without it.  `agentwatch run` and `agentwatch
 * doctor` print the same words, so an operator reads one account of a
 * reduced sensor wherever they look.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agentwatch.h"
#include "featureset.h"
#include "json.h"
#include "util.h"

static const char NET_WITHOUT[] =
	"no network deny rules (a deny is reported, not enforced); network records come from "
	"syscall tracepoints instead (connect, sendto, sendmsg: not sendmmsg or io_uring)";

static const struct feature_info table[FEAT_MAX] = {
	[FEAT_RINGBUF] = { "ringbuf", true, false, "the BPF ring buffer (Linux 5.8 or later)",
		"the sensor cannot report anything, so no mode can run (a perf buffer fallback "
		"would not help: bpf_loop, which the sensor also needs, came later, in 5.17)", 0 },
	[FEAT_BTF] = { "btf", true, false,
		"the kernel's BTF (CONFIG_DEBUG_INFO_BTF=y, /sys/kernel/btf/vmlinux)",
		"the CO-RE programs cannot be fitted to this kernel's structures, so no mode can run",
		0 },
	[FEAT_BPF_LOOP] = { "bpf_loop", true, false, "the bpf_loop() helper (Linux 5.17 or later)",
		"executable, cwd and file paths cannot be walked, so no mode can run", 0 },
	[FEAT_TP_BTF] = { "tp_btf", false, false, "tp_btf tracing programs",
		"exec, fork, exit and signal hooks run as raw tracepoints instead: "
		"the same records, nothing lost", AW_OFF_TP_BTF },
	[FEAT_SEND_SIGNAL] = { "send_signal", false, false,
		"the bpf_send_signal() helper (Linux 5.3 or later)",
		"nothing is stopped in the kernel: a gated exec, a protected path and the deletion "
		"breaker are acted on late, by the collector, while the process runs (a short "
		"command can finish first); no kernel fallback while the collector is down; a "
		"denied connect is not held until it is told why", AW_OFF_SEND_SIGNAL },
	[FEAT_SYSCALL_TP] = { "syscall_tp", false, false,
		"syscall tracepoints (CONFIG_FTRACE_SYSCALLS)",
		"no file records, no deletion breaker, no protected paths, no ptrace or bpf tamper "
		"records; network records carry no result", AW_OFF_SYSCALL_TP },
	[FEAT_CGROUP2] = { "cgroup2", false, false,
		"a cgroup v2 hierarchy, mounted or mountable", NET_WITHOUT, AW_OFF_CGROUP2 },
	[FEAT_CGROUP_SOCK] = { "cgroup_sock", false, false,
		"cgroup connect/sendmsg programs attached at the cgroup v2 root (CONFIG_CGROUP_BPF)",
		NET_WITHOUT, AW_OFF_CGROUP_SOCK },
	[FEAT_SIGNAL_TP] = { "signal_tp", false, false, "the signal_generate tracepoint",
		"a signal a session sends to the collector is not reported as tamper",
		AW_OFF_SIGNAL_TP },
	[FEAT_LSM] = { "lsm", false, true, "BPF LSM programs (lsm=...,bpf)",
		"nothing: this build has no LSM program; deny rules act through the exec gate and "
		"the cgroup hooks", 0 },
	[FEAT_FENTRY] = { "fentry", false, true, "fentry/fexit programs",
		"nothing: this build has no fentry program; every hook is a tracepoint", 0 },
};

const struct feature_info *feature__info(enum feature f)
{
	return (unsigned)f < FEAT_MAX ? &table[f] : NULL;
}

int feature__from_name(const char *name, size_t len)
{
	for (int i = 0; i < FEAT_MAX; i++)
		if (strlen(table[i].name) == len && !memcmp(table[i].name, name, len))
			return i;
	return -1;
}

int features__parse_list(const char *list, uint32_t *mask, char *err, size_t errlen)
{
	const char *p = list;

	*mask = 0;
	if (!list)
		return 0;
	while (*p) {
		size_t n = strcspn(p, ", ");
		int f;

		if (n) {
			f = feature__from_name(p, n);
			if (f < 0) {
				snprintf(err, errlen, "unknown feature '%.*s' (known: ringbuf, btf, "
					 "bpf_loop, tp_btf, send_signal, syscall_tp, cgroup2, "
					 "cgroup_sock, signal_tp)", (int)(n > 64 ? 64 : n), p);
				return -1;
			}
			if (table[f].unused) {
				snprintf(err, errlen, "feature '%s' is not used by this build: "
					 "nothing to disable", table[f].name);
				return -1;
			}
			*mask |= 1u << f;
		}
		p += n;
		p += strspn(p, ", ");
	}
	return 0;
}

void features__init(struct features *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < FEAT_MAX; i++)
		if (table[i].unused) {
			f->state[i] = FEAT_UNUSED;
			copy_str(f->reason[i], sizeof(f->reason[i]), "not used by this build");
		}
}

void features__off(struct features *f, enum feature id, const char *fmt, ...)
{
	va_list ap;

	if ((unsigned)id >= FEAT_MAX)
		return;
	if (f->state[id] != FEAT_UNUSED)
		f->state[id] = FEAT_OFF;
	va_start(ap, fmt);
	vsnprintf(f->reason[id], sizeof(f->reason[id]), fmt, ap);
	va_end(ap);
}

void features__unused(struct features *f, enum feature id, const char *why)
{
	if ((unsigned)id >= FEAT_MAX)
		return;
	f->state[id] = FEAT_UNUSED;
	copy_str(f->reason[id], sizeof(f->reason[id]), why);
}

bool features__on(const struct features *f, enum feature id)
{
	return (unsigned)id < FEAT_MAX && f->state[id] == FEAT_ON;
}

uint32_t features__off_bits(const struct features *f)
{
	uint32_t bits = 0;

	for (int i = 0; i < FEAT_MAX; i++)
		if (f->state[i] == FEAT_OFF)
			bits |= table[i].off_bit;
	return bits;
}

void features__from_off_bits(struct features *f, uint32_t bits, const char *why)
{
	for (int i = 0; i < FEAT_MAX; i++)
		if (table[i].off_bit && (bits & table[i].off_bit))
			features__off(f, i, "%s", why);
}

size_t features__reduced(const struct features *f, char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	for (int i = 0; i < FEAT_MAX; i++) {
		int w;

		if (f->state[i] != FEAT_OFF || table[i].required)
			continue;
		w = snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, "%s%s",
			     n ? "," : "", table[i].name);
		if (w > 0)
			n += w;
	}
	return n;
}

void features__coverage(const struct features *f, const struct coverage_opts *o,
			struct coverage *c)
{
	bool sig = features__on(f, FEAT_SEND_SIGNAL);
	bool sys = features__on(f, FEAT_SYSCALL_TP);
	bool hooks = !o->no_network && features__on(f, FEAT_CGROUP2) &&
		     features__on(f, FEAT_CGROUP_SOCK);

	memset(c, 0, sizeof(*c));
	c->exec_hooks = features__on(f, FEAT_TP_BTF) ? "tp_btf" : "raw_tp";
	c->exec_gate = !o->enforcing ? "off" : sig ? "kernel" : "late";
	c->net_records = o->no_network ? "off" : hooks ? "cgroup" : sys ? "tracepoint" : "off";
	c->net_results = strcmp(c->net_records, "off") && sys;
	c->net_deny = hooks && o->enforcing ? "kernel" : "off";
	c->file_records = sys;
	c->breaker = !o->breaker || !sys ? "off" : sig ? "kernel" : "late";
	c->protected_paths = !o->enforcing || !sys ? "off" : sig ? "kernel" : "late";
	c->tamper_signals = features__on(f, FEAT_SIGNAL_TP);
	c->tamper_syscalls = sys;
	c->crash_fallback = o->enforcing && sig;
}

void features__json(const struct features *f, const struct coverage *c, struct jsonw *w)
{
	jsonw__key(w, "reduced");
	jsonw__arr_begin(w);
	for (int i = 0; i < FEAT_MAX; i++)
		if (f->state[i] == FEAT_OFF && !table[i].required)
			jsonw__str(w, table[i].name);
	jsonw__arr_end(w);
	jsonw__key(w, "features");
	jsonw__arr_begin(w);
	for (int i = 0; i < FEAT_MAX; i++) {
		jsonw__obj_begin(w);
		jsonw__key(w, "name"); jsonw__str(w, table[i].name);
		jsonw__key(w, "on"); jsonw__bool(w, f->state[i] == FEAT_ON);
		if (table[i].required) {
			jsonw__key(w, "required"); jsonw__bool(w, true);
		}
		if (f->state[i] != FEAT_ON) {
			jsonw__key(w, "reason"); jsonw__str(w, f->reason[i]);
			jsonw__key(w, "degrades"); jsonw__str(w, table[i].without);
		}
		jsonw__obj_end(w);
	}
	jsonw__arr_end(w);
	jsonw__key(w, "coverage");
	jsonw__obj_begin(w);
	jsonw__key(w, "exec_hooks"); jsonw__str(w, c->exec_hooks);
	jsonw__key(w, "exec_gate"); jsonw__str(w, c->exec_gate);
	jsonw__key(w, "net_records"); jsonw__str(w, c->net_records);
	jsonw__key(w, "net_results"); jsonw__bool(w, c->net_results);
	jsonw__key(w, "net_deny"); jsonw__str(w, c->net_deny);
	jsonw__key(w, "file_records"); jsonw__bool(w, c->file_records);
	jsonw__key(w, "breaker"); jsonw__str(w, c->breaker);
	jsonw__key(w, "protected_paths"); jsonw__str(w, c->protected_paths);
	jsonw__key(w, "tamper_signals"); jsonw__bool(w, c->tamper_signals);
	jsonw__key(w, "tamper_syscalls"); jsonw__bool(w, c->tamper_syscalls);
	jsonw__key(w, "crash_fallback"); jsonw__bool(w, c->crash_fallback);
	jsonw__obj_end(w);
}
