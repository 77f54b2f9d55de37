// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel feature probes, shared by `agentwatch run` (only after a failed
 * load) and `agentwatch doctor` (always).  See probe.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "probe.h"
#include "util.h"

static uint32_t disabled;
static char disabled_env[256];

int probe__init_from_env(char *err, size_t errlen)
{
	const char *v = getenv("AGENTWATCH_TEST_DISABLE");
	uint32_t mask;

	if (!v || !*v)
		return 0;
	if (features__parse_list(v, &mask, err, errlen))
		return -1;
	snprintf(disabled_env, sizeof(disabled_env), "AGENTWATCH_TEST_DISABLE=%s", v);
	disabled = mask;
	return 0;
}

void probe__set_disabled(uint32_t mask)
{
	disabled = mask;
}

bool probe__disabled(enum feature f)
{
	return (unsigned)f < FEAT_MAX && (disabled & (1u << f));
}

const char *probe__disabled_env(void)
{
	return disabled_env;
}

const char *probe_tracefs(void)
{
	/* libbpf's own choice: the debugfs copy when it is there */
	if (access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return "/sys/kernel/debug/tracing";
	return "/sys/kernel/tracing";
}

/*
 * A trivial tp_btf program for sched_process_exec, the hook the sensor
 * follows processes with.  (libbpf's generic probe for the tracing program
 * type tries fentry, which some kernels refuse while tp_btf works.)
 */
static int probe_tp_btf(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_RAW_TP);
	int id = libbpf_find_vmlinux_btf_id("sched_process_exec", BPF_TRACE_RAW_TP), fd;

	if (id < 0)
		return id;
	o.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "aw_probe", "GPL", insns, 2, &o);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Is name a filesystem this kernel knows (/proc/filesystems)? */
static bool have_fs(const char *name)
{
	char line[128], a[64], b[64];
	FILE *f = fopen("/proc/filesystems", "re");
	bool hit = false;

	if (!f)
		return false;
	while (!hit && fgets(line, sizeof(line), f)) {
		int n = sscanf(line, "%63s %63s", a, b);

		hit = (n == 1 && !strcmp(a, name)) || (n == 2 && !strcmp(b, name));
	}
	fclose(f);
	return hit;
}

bool probe_mounted(const char *type, char *where, size_t len)
{
	char line[4352], dev[256], mnt[4096], t[64];
	FILE *f = fopen("/proc/mounts", "re");
	bool hit = false;

	if (!f)
		return false;
	while (!hit && fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %4095s %63s", dev, mnt, t) == 3 && !strcmp(t, type)) {
			hit = true;
			if (where)
				copy_str(where, len, mnt);
		}
	fclose(f);
	return hit;
}

/* A libbpf probe's answer (1 yes, 0 no, < 0 could not tell) as 0 / -errno. */
static int yes(int r, char *why, size_t len, const char *no)
{
	if (r == 1)
		return 0;
	if (r == 0) {
		snprintf(why, len, "%s", no);
		return -EOPNOTSUPP;
	}
	snprintf(why, len, "%s (the probe itself failed: %s)", no, strerror(-r));
	return r;
}

int probe_feature(enum feature f, char *why, size_t len)
{
	char path[256];
	FILE *lsm;
	int r;

	if (len)
		why[0] = '\0';
	if (probe__disabled(f)) {
		snprintf(why, len, "disabled by AGENTWATCH_TEST_DISABLE");
		return PROBE_DISABLED;
	}
	switch (f) {
	case FEAT_RINGBUF:
		return yes(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL), why, len,
			   "this kernel cannot create a BPF ring buffer");
	case FEAT_BTF: {
		struct btf *btf = btf__load_vmlinux_btf();

		r = libbpf_get_error(btf);
		if (r) {
			snprintf(why, len, "no usable kernel BTF (/sys/kernel/btf/vmlinux: %s)",
				 strerror(-r));
			return r;
		}
		btf__free(btf);
		return 0;
	}
	case FEAT_BPF_LOOP:
		return yes(libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, NULL),
			   why, len, "bpf_loop() is not available to tracing programs");
	case FEAT_SEND_SIGNAL:
		return yes(libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_send_signal,
						   NULL),
			   why, len, "bpf_send_signal() is not available to tracing programs");
	case FEAT_TP_BTF:
		r = probe_tp_btf();
		if (r)
			snprintf(why, len, "a tp_btf program on sched_process_exec does not load: %s",
				 strerror(-r));
		return r;
	case FEAT_SIGNAL_TP:
		r = libbpf_find_vmlinux_btf_id("signal_generate", BPF_TRACE_RAW_TP);
		if (r < 0) {
			snprintf(why, len, "no signal_generate tracepoint in this kernel");
			return r;
		}
		return 0;
	case FEAT_SYSCALL_TP:
		snprintf(path, sizeof(path), "%s/events/syscalls", probe_tracefs());
		if (access(path, F_OK) == 0)
			return 0;
		r = -errno;
		snprintf(why, len, "no syscall tracepoints (%s: %s)", path, strerror(-r));
		return r;
	case FEAT_CGROUP2:
		if (probe_mounted("cgroup2", NULL, 0) || have_fs("cgroup2"))
			return 0;
		snprintf(why, len, "no cgroup v2 hierarchy, and cgroup2 is not in /proc/filesystems");
		return -ENOENT;
	case FEAT_CGROUP_SOCK:
		return yes(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL), why, len,
			   "cgroup sock_addr programs do not load");
	case FEAT_LSM: {
		char list[256] = "";

		lsm = fopen("/sys/kernel/security/lsm", "re");
		if (lsm) {
			if (!fgets(list, sizeof(list), lsm))
				list[0] = '\0';
			fclose(lsm);
		}
		if (strstr(list, "bpf"))
			return 0;
		snprintf(why, len, "BPF LSM not enabled (lsm= does not list bpf)");
		return -EOPNOTSUPP;
	}
	case FEAT_FENTRY:
		return yes(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACING, NULL), why, len,
			   "fentry/fexit programs are refused");
	case FEAT_MAX:
		break;
	}
	snprintf(why, len, "unknown feature");
	return -EINVAL;
}
