// SPDX-License-Identifier: GPL-2.0
/*
 * `agentwatch doctor`: what this machine gives the sensor, what degrades
 * without each missing piece, and what to do about it.  Every check is a
 * probe of the real thing (a BPF program type is loaded, a mount is read
 * from /proc/mounts), never a guess from the kernel version.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "doctor.h"
#include "json.h"
#include "probe.h"
#include "rules.h"
#include "sensor.h"
#include "util.h"

enum level { OK, WARN, FAIL };

struct report {
	bool json;
	struct jsonw *w;
	int fails, warns;
};

static const char *const level_name[] = { "ok", "warn", "FAIL" };

/* One finding: what was checked, the verdict, what it means. */
static void say(struct report *r, enum level lv, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void say(struct report *r, enum level lv, const char *check, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	r->fails += lv == FAIL;
	r->warns += lv == WARN;
	if (r->json) {
		jsonw__obj_begin(r->w);
		jsonw__key(r->w, "check"); jsonw__str(r->w, check);
		jsonw__key(r->w, "level"); jsonw__str(r->w, lv == FAIL ? "fail" : level_name[lv]);
		jsonw__key(r->w, "detail"); jsonw__str(r->w, detail);
		jsonw__obj_end(r->w);
		return;
	}
	printf("%-4s  %-22s %s\n", level_name[lv], check, detail);
}

/* Effective capabilities, from /proc/self/status. */
static unsigned long long cap_eff(void)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			v = strtoull(line + 7, NULL, 16);
	fclose(f);
	return v;
}

static void check_feature(struct report *r, enum feature f, const char *check, const char *ok);

static void check_privileges(struct report *r)
{
	static const struct { int cap; const char *name, *why; } caps[] = {
		{ 39, "CAP_BPF", "load the programs and read the maps" },
		{ 38, "CAP_PERFMON", "attach tracing programs" },
		{ 21, "CAP_SYS_ADMIN", "mount tracefs/bpffs, pin, cgroup v2" },
		{ 12, "CAP_NET_ADMIN", "attach the cgroup network hooks" },
		{ 19, "CAP_SYS_PTRACE", "read other users' /proc/PID/environ, exe, cwd" },
		{ 5, "CAP_KILL", "stop, resume and kill processes of other users" },
	};
	unsigned long long eff = cap_eff();
	char missing[256] = "";

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (!(eff & (1ull << caps[i].cap))) {
			size_t n = strlen(missing);

			snprintf(missing + n, sizeof(missing) - n, "%s%s", n ? ", " : "", caps[i].name);
		}
	if (!missing[0])
		say(r, OK, "privileges", "%s with every capability needed",
		    geteuid() ? "not root, but" : "root,");
	else
		say(r, FAIL, "privileges", "missing %s: run as root (sudo agentwatch run), or give "
		    "the service these capabilities", missing);
}

static void check_kernel(struct report *r)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &maj, &min) != 2) {
		say(r, WARN, "kernel", "could not read the kernel version");
		return;
	}
	if (maj > 5 || (maj == 5 && min >= 17))
		say(r, OK, "kernel", "%s %s", u.release, u.machine);
	else
		say(r, FAIL, "kernel", "%s: the sensor needs bpf_loop (5.17 or later)", u.release);
	check_feature(r, FEAT_BTF, "BTF", "/sys/kernel/btf/vmlinux");
}

/*
 * One optional or required feature through the shared probe (user/probe.c)
 * and the shared words (user/featureset.c): doctor and `run` say the same
 * thing about a reduced kernel.
 */
static void check_feature(struct report *r, enum feature f, const char *check, const char *ok)
{
	const struct feature_info *fi = feature__info(f);
	char why[FEATURE_REASON_MAX];

	if (probe_feature(f, why, sizeof(why)) == 0)
		say(r, OK, check, "%s", ok);
	else if (fi->required)
		say(r, FAIL, check, "%s: agentwatch needs %s; without it %s", why, fi->needs,
		    fi->without);
	else
		say(r, WARN, check, "%s: agentwatch run starts reduced: %s", why, fi->without);
}

static void check_bpf(struct report *r)
{
	char why[FEATURE_REASON_MAX];
	bool loop, sig;

	check_feature(r, FEAT_RINGBUF, "ring buffer", "BPF_MAP_TYPE_RINGBUF");
	check_feature(r, FEAT_TP_BTF, "tp_btf programs", "exec, fork and exit hooks");
	check_feature(r, FEAT_SYSCALL_TP, "syscall tracepoints",
		      "file syscalls (unlink, rename, truncate...), connect/send results");
	check_feature(r, FEAT_CGROUP_SOCK, "cgroup socket hooks",
		      "connect/sendmsg records and deny rules");
	check_feature(r, FEAT_SIGNAL_TP, "signal tracepoint", "signals to the collector are reported");
	/* The two helpers in one line, as before: bpf_loop is required,
	 * bpf_send_signal only makes the sensor reduced. */
	loop = probe_feature(FEAT_BPF_LOOP, why, sizeof(why)) == 0;
	if (!loop)
		say(r, FAIL, "helpers", "%s: agentwatch needs %s; without it %s", why,
		    feature__info(FEAT_BPF_LOOP)->needs, feature__info(FEAT_BPF_LOOP)->without);
	sig = probe_feature(FEAT_SEND_SIGNAL, why, sizeof(why)) == 0;
	if (!sig)
		say(r, WARN, loop ? "helpers" : "bpf_send_signal", "%s: agentwatch run starts "
		    "reduced: %s", why, feature__info(FEAT_SEND_SIGNAL)->without);
	if (loop && sig)
		say(r, OK, "helpers", "bpf_loop, bpf_send_signal");
	/* Optional and unused: LSM programs would let deny rules block a
	 * syscall outright; agentwatch does not need them, nor fentry. */
	if (probe_feature(FEAT_LSM, why, sizeof(why)) == 0)
		say(r, OK, "BPF LSM", "available (not used: %s)", feature__info(FEAT_LSM)->without);
	else
		say(r, OK, "BPF LSM", "%s (optional): enforcement stops processes at exec "
		    "and denies connects in cgroup hooks instead", why);
	if (probe_feature(FEAT_FENTRY, why, sizeof(why)) == 0)
		say(r, OK, "fentry", "available (not used: every hook is a tracepoint)");
	else
		say(r, OK, "fentry", "%s (not used: every hook is a tracepoint)", why);
}

static void check_mounts(struct report *r)
{
	char where[4096];

	if (probe_mounted("bpf", where, sizeof(where)))
		say(r, OK, "bpffs", "%s: maps and links are pinned, so enforcement survives a "
		    "collector restart", where);
	else
		say(r, OK, "bpffs", "not mounted: agentwatch run mounts it at /sys/fs/bpf");
	if (probe_mounted("tracefs", where, sizeof(where)))
		say(r, OK, "tracefs", "%s", where);
	else
		say(r, OK, "tracefs", "not mounted: agentwatch run mounts it at /sys/kernel/tracing");
	if (probe__disabled(FEAT_CGROUP2))
		check_feature(r, FEAT_CGROUP2, "cgroup v2", "");
	else if (probe_mounted("cgroup2", where, sizeof(where)))
		say(r, OK, "cgroup v2", "%s (network hooks attach to its root)", where);
	else if (probe_feature(FEAT_CGROUP2, where, sizeof(where)) == 0)
		say(r, OK, "cgroup v2", "not mounted (cgroup v1 only): agentwatch run mounts a private "
		    "cgroup2 hierarchy for the network hooks");
	else
		check_feature(r, FEAT_CGROUP2, "cgroup v2", "");
}

static void check_limits(struct report *r)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (64u << 20))
		say(r, OK, "memlock", "%llu KiB: fine on 5.11+, where BPF memory is charged to the "
		    "cgroup instead", (unsigned long long)rl.rlim_cur / 1024);
	else
		say(r, OK, "memlock", "unlimited or large");
}

static void check_rules(struct report *r, const char *dir)
{
	struct ruleset *rs = ruleset__new();
	char err[512];

	if (!rs)
		return;
	if (ruleset__load_dir(rs, dir, err, sizeof(err)))
		say(r, FAIL, "rules", "%s", err);
	else
		say(r, OK, "rules", "%zu rules in %s", ruleset__count(rs), dir);
	ruleset__free(rs);
}

static void check_log_dir(struct report *r, const char *dir)
{
	char probe[4096];
	struct statvfs v;
	struct stat st;

	if (stat(dir, &st)) {
		say(r, OK, "audit log", "%s does not exist yet: agentwatch run creates it", dir);
		return;
	}
	if (statvfs(dir, &v) == 0) {
		unsigned long long free_mb = (unsigned long long)v.f_bavail * v.f_frsize >> 20;

		if (v.f_flag & ST_RDONLY)
			say(r, WARN, "audit log", "%s is on a read-only mount: enforcement goes on, "
			    "but nothing is logged", dir);
		else if (free_mb < 256)
			say(r, WARN, "audit log", "%s: %llu MiB free; a full disk drops records "
			    "(counted) but never stops enforcement", dir, free_mb);
		else
			say(r, OK, "audit log", "%s, %llu MiB free", dir, free_mb);
	}
	if (st.st_mode & 077) {
		snprintf(probe, sizeof(probe), "%s is mode %03o: records name other users' files and "
			 "commands; agentwatch run makes it 0700", dir, st.st_mode & 0777);
		say(r, WARN, "audit log perms", "%s", probe);
	}
}

static void check_running(struct report *r, const char *state_dir, const char *pin_dir)
{
	char path[4096], *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/status.json", state_dir);
	if (read_file_capped(path, 1 << 20, &buf, &len) == 0 && strstr(buf, "\"running\":true"))
		say(r, OK, "collector", "running (agentwatch status for details)");
	else
		say(r, WARN, "collector", "not running: nothing is enforced until agentwatch run "
		    "(or systemctl start agentwatch)");
	free(buf);
	if (access(pin_dir, F_OK) == 0)
		say(r, OK, "pins", "%s", pin_dir);
}

int doctor_run(const struct doctor_opts *o)
{
	struct report r = { .json = o->json };

	if (r.json) {
		r.w = jsonw__new();
		if (!r.w)
			return -ENOMEM;
		jsonw__obj_begin(r.w);
		jsonw__key(r.w, "checks");
		jsonw__arr_begin(r.w);
	}
	/* the probes print libbpf warnings for what is missing: quiet */
	libbpf_set_print(NULL);
	check_privileges(&r);
	check_kernel(&r);
	check_bpf(&r);
	check_mounts(&r);
	check_limits(&r);
	check_rules(&r, o->rules_dir);
	check_log_dir(&r, o->log_dir);
	check_running(&r, o->state_dir, o->pin_dir);
	if (r.json) {
		jsonw__arr_end(r.w);
		jsonw__key(r.w, "ok"); jsonw__bool(r.w, r.fails == 0);
		jsonw__key(r.w, "failures"); jsonw__u64(r.w, r.fails);
		jsonw__key(r.w, "warnings"); jsonw__u64(r.w, r.warns);
		jsonw__obj_end(r.w);
		printf("%s\n", jsonw__data(r.w, NULL));
		jsonw__free(r.w);
	} else {
		printf("%s: %d failure(s), %d warning(s)\n",
		       r.fails ? "agentwatch cannot run here as it is" : "agentwatch can run here",
		       r.fails, r.warns);
	}
	return r.fails ? 1 : 0;
}
