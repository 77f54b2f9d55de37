// SPDX-License-Identifier: GPL-2.0
/*
 * Load, attach and talk to the BPF side.  Order follows libbpf-bootstrap:
 * open, size the maps and set autoload from what this machine has, load,
 * write the initial config, attach.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agentwatch.skel.h"
#include "probe.h"
#include "sensor.h"
#include "util.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

/* The ring buffer absorbs the collector's stalls, not its steady load: at
 * the project VM's top record rate (about 1.4 MB/s, 4 exec loops on 2
 * CPUs) 2 MiB is over a second of stall.  The collector maps it twice (the
 * second copy makes a record that wraps around the end contiguous), and
 * the kernel populates both at mmap: every MiB here is 2 MiB of its RSS. */
#define DEFAULT_RINGBUF (2u << 20)

struct sensor {
	struct agentwatch_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *cg_links[4];
	int cg_fd;
	char cg_path[PATH_MAX];
	char pin_dir[PATH_MAX];
	sensor_event_fn fn;
	void *fn_ctx;
	bool net_attached;
	bool pinned;           /* we own the pins in pin_dir (remove them on exit) */
	bool takeover;         /* reattached to a predecessor's pinned programs */
	uint64_t prev_heartbeat; /* takeover: the predecessor's last heartbeat */
	uint32_t *orphans;     /* processes a predecessor left stopped by the gate */
	size_t n_orphans;
	size_t pins_failed;
	struct features feat;  /* what this kernel gave us (reduced mode) */
};

/*
 * What to load and attach, from the features: each optional group of
 * programs goes in only if the kernel can take it.
 */
struct plan {
	bool tp_btf;           /* else the raw_tp twins */
	bool send_signal;      /* rodata aw_send_signal */
	bool syscall_tp;       /* file programs, net exits, ptrace/bpf tamper */
	bool net_hooks;        /* cgroup connect/sendmsg */
	bool net_tp;           /* ... or their syscall-entry fallback */
	bool signal_tp;        /* tamper: signal_generate */
};

/* How many times a load or attach may be retried with less. */
#define MAX_ATTEMPTS 4

static bool verbose_libbpf;

static int size_maps(struct agentwatch_bpf *skel, const struct sensor_opts *o);
static void detach_all(struct sensor *s);

/* libbpf's own messages: debug only with -v; warnings always. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose_libbpf)
		return 0;
	/* A verifier log is hundreds of lines: only with -v.  The warning
	 * that names the program and the error is printed apart from it. */
	if (!verbose_libbpf && strstr(fmt, "PROG LOAD LOG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

int sensor_mount_bpffs(void)
{
	const char *dir = "/sys/fs/bpf";

	if (is_fs(dir, BPF_FS_MAGIC))
		return 0;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (mount("bpf", dir, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

/* libbpf finds tracepoint ids under tracefs; a fresh machine may not have it
 * mounted.  /sys/kernel/tracing is the mount point the kernel provides. */
static int mount_tracefs(void)
{
	const char *dir = "/sys/kernel/tracing";

	if (is_fs(dir, TRACEFS_MAGIC))
		return 0;
	if (access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return 0; /* libbpf prefers the debugfs copy when present */
	if (mount("tracefs", dir, "tracefs", 0, NULL))
		return -errno;
	return 0;
}

/* The cgroup-v2 hierarchy, wherever this machine mounts it (unified, hybrid
 * or under /sys/fs/cgroup/unified): read it from /proc/mounts. */
int sensor_find_cgroup2(char *path, size_t len)
{
	char line[PATH_MAX + 256], dev[256], mnt[PATH_MAX], type[64];
	FILE *f = fopen("/proc/mounts", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %4095s %63s", dev, mnt, type) != 3)
			continue;
		if (strcmp(type, "cgroup2") != 0)
			continue;
		err = copy_str(path, len, mnt) ? 0 : -ENAMETOOLONG;
		break;
	}
	fclose(f);
	return err;
}

static int open_cgroup2(struct sensor *s)
{
	const char *own = "/run/agentwatch/cgroup2";
	int err;

	if (probe__disabled(FEAT_CGROUP2))
		return PROBE_DISABLED; /* as if none were mounted nor mountable */
	err = sensor_find_cgroup2(s->cg_path, sizeof(s->cg_path));
	if (err == -ENOENT) {
		/* No v2 hierarchy mounted (pure v1): mount one of our own.  Every
		 * process is in its root, so hooks attached there see them all. */
		if (mkdir_p(own, 0700))
			return -errno;
		if (mount("cgroup2", own, "cgroup2", 0, NULL) && errno != EBUSY)
			return -errno;
		copy_str(s->cg_path, sizeof(s->cg_path), own);
		err = 0;
	}
	if (err)
		return err;
	s->cg_fd = open(s->cg_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return s->cg_fd < 0 ? -errno : 0;
}

static int rb_trampoline(void *ctx, void *data, size_t size)
{
	struct sensor *s = ctx;

	return s->fn(s->fn_ctx, data, size);
}

/* The programs, by what they need from the kernel. */
enum group {
	G_CORE,        /* tp_btf exec, fork, exit */
	G_CORE_RAW,    /* their raw_tp twins */
	G_SIGNAL,      /* tp_btf signal_generate (tamper) */
	G_SIGNAL_RAW,
	G_SYSCALL,     /* file syscalls, ptrace/bpf tamper */
	G_NET_EXIT,    /* connect/send exits: report what a hook noted */
	G_NET_TP,      /* connect/send entries: the fallback for the hooks */
	G_NET_HOOK,    /* cgroup connect/sendmsg */
};

static enum group group_of(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	bool raw = !strncmp(sec, "raw_tp/", 7);
	size_t i;
	static const char *const net_exit[] = {
		"tp/syscalls/sys_exit_connect", "tp/syscalls/sys_exit_sendto",
		"tp/syscalls/sys_exit_sendmsg", "tp/syscalls/sys_exit_sendmmsg",
	};
	static const char *const net_tp[] = {
		"tp/syscalls/sys_enter_connect", "tp/syscalls/sys_enter_sendto",
		"tp/syscalls/sys_enter_sendmsg",
	};

	if (!strncmp(sec, "cgroup/", 7))
		return G_NET_HOOK;
	for (i = 0; i < sizeof(net_exit) / sizeof(net_exit[0]); i++)
		if (!strcmp(sec, net_exit[i]))
			return G_NET_EXIT;
	for (i = 0; i < sizeof(net_tp) / sizeof(net_tp[0]); i++)
		if (!strcmp(sec, net_tp[i]))
			return G_NET_TP;
	if (!strncmp(sec, "tp/syscalls/", 12))
		return G_SYSCALL;
	if (strstr(sec, "/signal_generate"))
		return raw ? G_SIGNAL_RAW : G_SIGNAL;
	return raw ? G_CORE_RAW : G_CORE;
}

static bool group_wanted(enum group g, const struct plan *p)
{
	switch (g) {
	case G_CORE: return p->tp_btf;
	case G_CORE_RAW: return !p->tp_btf;
	case G_SIGNAL: return p->signal_tp && p->tp_btf;
	case G_SIGNAL_RAW: return p->signal_tp && !p->tp_btf;
	case G_SYSCALL: return p->syscall_tp;
	case G_NET_EXIT: return p->syscall_tp && (p->net_hooks || p->net_tp);
	case G_NET_TP: return p->net_tp;
	case G_NET_HOOK: return p->net_hooks;
	}
	return false;
}

static void plan_from(const struct sensor *s, const struct sensor_opts *o, struct plan *p)
{
	const struct features *f = &s->feat;

	p->tp_btf = features__on(f, FEAT_TP_BTF);
	p->send_signal = features__on(f, FEAT_SEND_SIGNAL);
	p->syscall_tp = features__on(f, FEAT_SYSCALL_TP);
	p->signal_tp = features__on(f, FEAT_SIGNAL_TP);
	p->net_hooks = !o->no_network && features__on(f, FEAT_CGROUP2) &&
		       features__on(f, FEAT_CGROUP_SOCK);
	p->net_tp = !o->no_network && !p->net_hooks && p->syscall_tp;
}

/* Open, set from the plan what only a load can fix (autoload, rodata). */
static int open_skel(struct sensor *s, const struct sensor_opts *o, const struct plan *p)
{
	struct bpf_program *prog;
	int err;

	s->skel = agentwatch_bpf__open();
	if (!s->skel) {
		err = -errno;
		fprintf(stderr, "agentwatch: failed to open BPF object: %s\n", strerror(-err));
		return err;
	}
	if ((err = size_maps(s->skel, o))) {
		fprintf(stderr, "agentwatch: failed to size BPF maps: %s\n", strerror(-err));
		return err;
	}
	bpf_object__for_each_program(prog, s->skel->obj)
		bpf_program__set_autoload(prog, group_wanted(group_of(prog), p));
	s->skel->rodata->aw_send_signal = p->send_signal;
	return 0;
}

/* Back to nothing loaded, for another attempt with less. */
static void close_skel(struct sensor *s)
{
	detach_all(s);
	agentwatch_bpf__destroy(s->skel);
	s->skel = NULL;
	s->net_attached = false;
}

static int size_maps(struct agentwatch_bpf *skel, const struct sensor_opts *o)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t rb = o->ringbuf_bytes ? o->ringbuf_bytes : DEFAULT_RINGBUF;
	int err;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	/* One scratch slot per CPU, indexed by bpf_get_smp_processor_id(). */
	if ((err = bpf_map__set_max_entries(skel->maps.exec_scratch, ncpu)) ||
	    (err = bpf_map__set_max_entries(skel->maps.file_scratch, ncpu)) ||
	    (err = bpf_map__set_max_entries(skel->maps.path_scratch, ncpu)) ||
	    (err = bpf_map__set_max_entries(skel->maps.events, rb)))
		return err;
	if (o->max_session_procs &&
	    (err = bpf_map__set_max_entries(skel->maps.sessions, o->max_session_procs)))
		return err;
	return 0;
}

/*
 * The cgroup hooks, at the cgroup-v2 root.  If they can't be attached, the
 * network is reported from syscall tracepoints instead; that needs
 * programs this load left out, so the caller loads again (-EAGAIN).
 */
static int attach_network(struct sensor *s, const struct plan *p)
{
	struct bpf_program *progs[4] = {
		s->skel->progs.handle_connect4, s->skel->progs.handle_connect6,
		s->skel->progs.handle_sendmsg4, s->skel->progs.handle_sendmsg6,
	};
	int err = 0, i;

	for (i = 0; i < 4 && !err; i++) {
		if (probe__disabled(FEAT_CGROUP_SOCK)) {
			err = PROBE_DISABLED; /* as a kernel that refuses the attach */
			break;
		}
		s->cg_links[i] = bpf_program__attach_cgroup(progs[i], s->cg_fd);
		if (!s->cg_links[i])
			err = -errno;
	}
	if (!err) {
		s->net_attached = true;
		return 0;
	}
	for (int j = 0; j < 4; j++) {
		bpf_link__destroy(s->cg_links[j]);
		s->cg_links[j] = NULL;
	}
	if (err == PROBE_DISABLED)
		features__off(&s->feat, FEAT_CGROUP_SOCK, "disabled by AGENTWATCH_TEST_DISABLE");
	else
		features__off(&s->feat, FEAT_CGROUP_SOCK, "attaching %s to %s failed: %s",
			      bpf_program__name(progs[i - 1]), s->cg_path, strerror(-err));
	return p->syscall_tp ? -EAGAIN : 0;
}

static bool syscall_group(enum group g)
{
	return g == G_SYSCALL || g == G_NET_EXIT || g == G_NET_TP;
}

/* Every syscall tracepoint link goes: the group is off. */
static void drop_syscall_links(struct sensor *s)
{
	const struct bpf_object_skeleton *sk = s->skel->skeleton;

	for (int i = 0; i < sk->prog_cnt; i++)
		if (syscall_group(group_of(*sk->progs[i].prog)) && *sk->progs[i].link) {
			bpf_link__destroy(*sk->progs[i].link);
			*sk->progs[i].link = NULL;
		}
}

/*
 * Attach every loaded program but the cgroup hooks.  Exec, fork and exit
 * are required.  The signal hook is optional.  A syscall tracepoint that
 * does not exist (ENOENT: arm64 has no rename or unlink, only the *at
 * forms) watches a syscall this kernel does not have, so nothing is lost;
 * any other failure turns the syscall group off.
 */
static int attach_progs(struct sensor *s)
{
	const struct bpf_object_skeleton *sk = s->skel->skeleton;
	char missing[512] = "";
	size_t nm = 0;
	int i, err;

	for (i = 0; i < sk->prog_cnt; i++) {
		struct bpf_program *prog = *sk->progs[i].prog;
		enum group g = group_of(prog);
		bool sig = g == G_SIGNAL || g == G_SIGNAL_RAW;
		struct bpf_link *link = NULL;

		if (!bpf_program__autoload(prog) || g == G_NET_HOOK)
			continue;
		if (syscall_group(g) && !features__on(&s->feat, FEAT_SYSCALL_TP))
			continue;
		err = sig && probe__disabled(FEAT_SIGNAL_TP) ? PROBE_DISABLED : 0;
		if (!err) {
			link = bpf_program__attach(prog);
			err = link ? 0 : -errno;
		}
		if (!err) {
			*sk->progs[i].link = link;
			continue;
		}
		if (g == G_CORE || g == G_CORE_RAW) {
			fprintf(stderr, "agentwatch: failed to attach %s: %s\n",
				bpf_program__name(prog), strerror(-err));
			return err;
		}
		if (sig && err == PROBE_DISABLED)
			features__off(&s->feat, FEAT_SIGNAL_TP, "disabled by AGENTWATCH_TEST_DISABLE");
		else if (sig)
			features__off(&s->feat, FEAT_SIGNAL_TP, "attaching %s failed: %s",
				      bpf_program__name(prog), strerror(-err));
		else if (err == -ENOENT && nm + 64 < sizeof(missing))
			nm += snprintf(missing + nm, sizeof(missing) - nm, "%s%s", nm ? ", " : "",
				       bpf_program__section_name(prog) + strlen("tp/syscalls/"));
		else if (err != -ENOENT) {
			features__off(&s->feat, FEAT_SYSCALL_TP, "attaching %s failed: %s",
				      bpf_program__name(prog), strerror(-err));
			drop_syscall_links(s);
		}
	}
	if (nm)
		fprintf(stderr, "agentwatch: no tracepoint for %s on this kernel (no such syscall "
			"here): nothing to watch there\n", missing);
	return 0;
}

/*
 * Pinning.  Every map and link is pinned under pin_dir (map_NAME, link_NAME,
 * and the sessions map also as "sessions" for `agentwatch exec`), so that
 * if the collector dies the programs stay attached and keep enforcing — the
 * gate falls back to its kernel-side default once the heartbeat is stale —
 * and a restarted collector reattaches to the same maps instead of loading
 * a second copy.  A clean exit removes the pins, which detaches everything.
 */
static uint64_t object_build_id(void)
{
	size_t sz = 0;
	const void *b = agentwatch_bpf__elf_bytes(&sz);

	return fnv1a64(b, sz) | 1; /* never 0: 0 is "no config written" */
}

/* bpffs refuses names with a '.' (".rodata" is a map's name): '_' instead. */
static int pin_path(char *buf, size_t len, const char *dir, const char *prefix, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, prefix), m;

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	m = snprintf(buf + n, len - n, "%s", name);
	if (m < 0 || (size_t)m >= len - n)
		return -ENAMETOOLONG;
	for (char *c = buf + n; *c; c++)
		if (*c == '.')
			*c = '_';
	return 0;
}

/* Remove every pin in dir, then dir; what they held goes with its last
 * reference (links detach). */
static void unpin_all(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* The build id of the programs pinned in dir (0 if none), and the pid of
 * the collector that last owned them. */
static uint64_t pinned_build(const char *dir, uint32_t *owner)
{
	struct aw_config cfg;
	char path[PATH_MAX];
	__u32 zero = 0;
	uint64_t id = 0;
	int fd;

	*owner = 0;
	if (pin_path(path, sizeof(path), dir, "map_", "aw_config"))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &zero, &cfg) == 0) {
		id = cfg.build_id;
		*owner = cfg.collector_tgid;
	}
	close(fd);
	return id;
}

/* Is pid a running agentwatch (the owner of pins we are about to take)? */
static bool agentwatch_alive(uint32_t pid)
{
	char path[64], exe[PATH_MAX];
	ssize_t n;

	if (!pid || pid == (uint32_t)getpid())
		return false;
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	return strstr(exe, "agentwatch") != NULL;
}

/* Processes a predecessor's gate left stopped (its gated_pending map). */
static void collect_orphans(struct sensor *s, const char *dir)
{
	char path[PATH_MAX];
	__u32 key, next;
	bool first = true;
	int fd;

	if (pin_path(path, sizeof(path), dir, "map_", "gated_pending"))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	while (bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		uint32_t *nv = realloc(s->orphans, (s->n_orphans + 1) * sizeof(*nv));

		first = false;
		key = next;
		if (!nv)
			break;
		s->orphans = nv;
		s->orphans[s->n_orphans++] = next;
		if (s->n_orphans >= 8192)
			break;
	}
	close(fd);
}

static int reuse_pinned_maps(struct sensor *s)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	struct bpf_program *prog;
	int err;

	bpf_object__for_each_map(map, s->skel->obj) {
		int fd;

		if ((err = pin_path(path, sizeof(path), s->pin_dir, "map_", bpf_map__name(map))))
			return err;
		fd = bpf_obj_get(path);
		if (fd < 0)
			return -errno;
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			return err;
	}
	/* The programs are already attached through the pinned links. */
	bpf_object__for_each_program(prog, s->skel->obj)
		bpf_program__set_autoload(prog, false);
	return 0;
}

static int pin_maps(struct sensor *s)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, s->skel->obj) {
		if ((err = pin_path(path, sizeof(path), s->pin_dir, "map_", bpf_map__name(map))))
			return err;
		if ((err = bpf_obj_pin(bpf_map__fd(map), path)))
			return -errno;
	}
	if ((err = pin_path(path, sizeof(path), s->pin_dir, "", "sessions")))
		return err;
	if (bpf_obj_pin(bpf_map__fd(s->skel->maps.sessions), path))
		return -errno;
	return 0;
}

static void pin_link(struct sensor *s, struct bpf_link *link, const char *name)
{
	char path[PATH_MAX];

	if (!link || pin_path(path, sizeof(path), s->pin_dir, "link_", name))
		return;
	if (bpf_link__pin(link, path)) {
		/* Not fatal: enforcement then ends with this collector. */
		if (!s->pins_failed++)
			fprintf(stderr, "agentwatch: cannot pin link %s (%s): enforcement will not "
				"outlive this collector\n", name, strerror(errno));
	}
}

static void pin_links(struct sensor *s)
{
	const struct bpf_object_skeleton *sk = s->skel->skeleton;
	int i;

	for (i = 0; i < sk->prog_cnt; i++)
		if (*sk->progs[i].link)
			pin_link(s, *sk->progs[i].link, sk->progs[i].name);
	pin_link(s, s->cg_links[0], "handle_connect4");
	pin_link(s, s->cg_links[1], "handle_connect6");
	pin_link(s, s->cg_links[2], "handle_sendmsg4");
	pin_link(s, s->cg_links[3], "handle_sendmsg6");
}

/*
 * Decide, before loading, whether to reattach: programs of our own build
 * pinned in dir are taken over; anything else there is a stale leftover,
 * whose stopped processes we remember before clearing it.
 */
static int prepare_pins(struct sensor *s, const char *dir)
{
	uint32_t owner;
	uint64_t have;
	int err;

	if (!dir || !*dir)
		return 0;
	if ((err = sensor_mount_bpffs())) {
		fprintf(stderr, "agentwatch: failed to mount bpffs: %s\n", strerror(-err));
		return err;
	}
	if (!copy_str(s->pin_dir, sizeof(s->pin_dir), dir))
		return -ENAMETOOLONG;
	have = pinned_build(dir, &owner);
	/* Two collectors on one pin dir would share one ring buffer and undo
	 * each other's pins: the live owner keeps them. */
	if (have && agentwatch_alive(owner)) {
		fprintf(stderr, "agentwatch: %s is in use by a running agentwatch (pid %u); "
			"stop it or use --pin-dir\n", dir, owner);
		return -EBUSY;
	}
	collect_orphans(s, dir);
	if (have && have == object_build_id()) {
		s->takeover = true;  /* the caller reuses the maps once it has opened */
		return 0;
	}
	if (access(dir, F_OK) == 0) {
		fprintf(stderr, "agentwatch: removing stale pins in %s%s\n", dir,
			have ? " (another build)" : "");
		unpin_all(dir);
	}
	if (mkdir_p(dir, 0700) && errno != EEXIST)
		return -errno;
	s->pinned = true; /* ours from here: a failed start removes the dir again */
	return 0;
}

/*
 * AGENTWATCH_TEST_DISABLE: a load that needs a disabled feature fails, as
 * it would on a kernel without it, so the tests of reduced mode go through
 * the same failure, probes and second load.
 */
static int load_skel(struct sensor *s, const struct plan *p)
{
	if (probe__disabled(FEAT_RINGBUF) || probe__disabled(FEAT_BTF) ||
	    probe__disabled(FEAT_BPF_LOOP) || (p->tp_btf && probe__disabled(FEAT_TP_BTF)) ||
	    (p->send_signal && probe__disabled(FEAT_SEND_SIGNAL))) {
		fprintf(stderr, "agentwatch: failed to load BPF programs: %s (%s)\n",
			strerror(EINVAL), probe__disabled_env());
		return -EINVAL;
	}
	return agentwatch_bpf__load(s->skel);
}

/*
 * The load failed.  Probe what this kernel lacks (only now: a kernel with
 * everything never pays for the probes).  A missing required feature ends
 * it, with the kernel requirement named.  A missing optional one is left
 * out and the caller loads again (-EAGAIN).  If nothing is missing, the
 * load error stands.
 */
static int explain_load_failure(struct sensor *s, const struct plan *p, int err, bool verbose)
{
	static const enum feature required[] = { FEAT_RINGBUF, FEAT_BTF, FEAT_BPF_LOOP };
	const struct { enum feature f; bool planned; } optional[] = {
		{ FEAT_TP_BTF, p->tp_btf }, { FEAT_SEND_SIGNAL, p->send_signal },
		{ FEAT_SIGNAL_TP, p->signal_tp }, { FEAT_CGROUP_SOCK, p->net_hooks },
	};
	char why[FEATURE_REASON_MAX];
	bool fatal = false, less = false;
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const struct feature_info *fi = feature__info(required[i]);

		if (!probe_feature(required[i], why, sizeof(why)))
			continue;
		features__off(&s->feat, required[i], "%s", why);
		fprintf(stderr, "agentwatch: cannot run on this kernel: it needs %s [%s]; "
			"without it %s\n", fi->needs, why, fi->without);
		fatal = true;
	}
	if (fatal)
		return -EOPNOTSUPP;
	for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		if (!optional[i].planned || !probe_feature(optional[i].f, why, sizeof(why)))
			continue;
		features__off(&s->feat, optional[i].f, "%s", why);
		less = true;
	}
	if (!less) {
		fprintf(stderr, "agentwatch: failed to load BPF programs: %s%s\n", strerror(-err),
			verbose ? "" : " (run with -v for the verifier log)");
		return err;
	}
	fprintf(stderr, "agentwatch: loading again without what this kernel lacks\n");
	return -EAGAIN;
}

static int write_config(struct sensor *s, const struct sensor_opts *o)
{
	struct aw_config cfg = {0};
	__u32 zero = 0;

	cfg.all_execs = o->all_execs;
	cfg.collector_tgid = getpid();
	cfg.gate_fallback = o->gate_fallback;
	cfg.net_enforce = o->net_enforce;
	cfg.heartbeat_stale_ns = o->heartbeat_stale_ns ? o->heartbeat_stale_ns : 2000000000ull;
	cfg.breaker_n = o->breaker_n;
	cfg.breaker_window_ns = o->breaker_window_ns;
	cfg.build_id = object_build_id();
	cfg.scope_tgid = o->scope_tgid;
	cfg.off = features__off_bits(&s->feat);
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.aw_config), &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

/* Say once what this sensor runs without, and what that costs. */
static void report_reduced(const struct sensor *s)
{
	for (int i = 0; i < FEAT_MAX; i++) {
		const struct feature_info *fi = feature__info(i);

		if (s->feat.state[i] != FEAT_OFF || fi->required)
			continue;
		fprintf(stderr, "agentwatch: reduced mode: %s off (%s): %s\n", fi->name,
			s->feat.reason[i], fi->without);
	}
}

/* Checks that cost no load: made before the first one. */
static void precheck(struct sensor *s, const struct sensor_opts *o)
{
	char why[FEATURE_REASON_MAX];
	int err;

	if (probe_feature(FEAT_SYSCALL_TP, why, sizeof(why)))
		features__off(&s->feat, FEAT_SYSCALL_TP, "%s", why);
	if (o->no_network) {
		features__unused(&s->feat, FEAT_CGROUP2, "turned off by --no-network");
		features__unused(&s->feat, FEAT_CGROUP_SOCK, "turned off by --no-network");
		return;
	}
	if ((err = open_cgroup2(s))) {
		if (err == PROBE_DISABLED)
			features__off(&s->feat, FEAT_CGROUP2, "disabled by AGENTWATCH_TEST_DISABLE");
		else
			features__off(&s->feat, FEAT_CGROUP2, "no cgroup v2 hierarchy, and mounting "
				      "one failed: %s", strerror(-err));
		features__unused(&s->feat, FEAT_CGROUP_SOCK, "not attached: no cgroup v2 "
				 "hierarchy (see cgroup2)");
	}
}

/*
 * Reattach to a predecessor's pinned programs: nothing is loaded or
 * attached, and what they run without is what the predecessor wrote in
 * the config map.
 */
static int open_takeover(struct sensor *s, const struct sensor_opts *o)
{
	struct aw_config prev = {0};
	struct plan p = {0};
	char path[PATH_MAX];
	__u32 zero = 0;
	int err;

	if ((err = open_skel(s, o, &p)) || (err = reuse_pinned_maps(s)))
		return err;
	if ((err = agentwatch_bpf__load(s->skel))) {
		fprintf(stderr, "agentwatch: failed to reuse the pinned maps: %s\n", strerror(-err));
		return err;
	}
	bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.heartbeat), &zero, &s->prev_heartbeat);
	bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.aw_config), &zero, &prev);
	features__from_off_bits(&s->feat, prev.off, "as the pinned programs were loaded "
				"by the collector this one took over from");
	if (!features__on(&s->feat, FEAT_CGROUP2))
		features__unused(&s->feat, FEAT_CGROUP_SOCK, "not attached: no cgroup v2 "
				 "hierarchy (see cgroup2)");
	fprintf(stderr, "agentwatch: taking over the programs pinned in %s\n", s->pin_dir);
	/* Attached already; the cgroup path is only for status. */
	if (!pin_path(path, sizeof(path), s->pin_dir, "link_", "handle_connect4") &&
	    access(path, F_OK) == 0 && sensor_find_cgroup2(s->cg_path, sizeof(s->cg_path)) == 0)
		s->net_attached = true;
	if (o->no_network) {
		features__unused(&s->feat, FEAT_CGROUP2, "turned off by --no-network");
		features__unused(&s->feat, FEAT_CGROUP_SOCK, "turned off by --no-network");
	}
	return 0;
}

/*
 * Load and attach the best set of programs this kernel takes: everything
 * first; after a failure, what the probes say it lacks is left out and we
 * try again.  Nothing can be stopped by a discarded attempt: the sessions
 * and gated_binaries maps are empty until sensor__open() returns.
 */
static int load_and_attach(struct sensor *s, const struct sensor_opts *o)
{
	struct plan p;
	int err = 0, attempt;

	for (attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		if (s->skel)
			close_skel(s);
		plan_from(s, o, &p);
		if ((err = open_skel(s, o, &p)))
			return err;
		if ((err = load_skel(s, &p))) {
			err = explain_load_failure(s, &p, err, o->verbose);
			if (err == -EAGAIN)
				continue;
			return err;
		}
		/* Alive before the first exec can be gated. */
		if ((err = write_config(s, o))) {
			fprintf(stderr, "agentwatch: failed to write config map: %s\n", strerror(-err));
			return err;
		}
		sensor__heartbeat(s);
		if ((err = attach_progs(s)))
			return err;
		if (p.net_hooks && (err = attach_network(s, &p)) == -EAGAIN) {
			fprintf(stderr, "agentwatch: loading again with the network on syscall "
				"tracepoints\n");
			continue;
		}
		/* What attaching turned off (the syscall group) the programs
		 * must know: the hooks then report without waiting for an exit. */
		if ((err = write_config(s, o)))
			return err;
		return 0;
	}
	fprintf(stderr, "agentwatch: gave up loading after %d attempts\n", MAX_ATTEMPTS);
	return err ? err : -EAGAIN;
}

int sensor__open(const struct sensor_opts *o, sensor_event_fn fn, void *ctx,
		 struct sensor **out)
{
	struct sensor *s;
	int err;

	*out = NULL;
	verbose_libbpf = o->verbose;
	libbpf_set_print(libbpf_print);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cg_fd = -1;
	features__init(&s->feat);

	if ((err = mount_tracefs()))
		fprintf(stderr, "agentwatch: could not mount tracefs (%s); file and network "
			"syscall tracepoints may fail to attach\n", strerror(-err));
	if ((err = prepare_pins(s, o->pin_dir))) {
		fprintf(stderr, "agentwatch: failed to set up pins in %s: %s\n", o->pin_dir,
			strerror(-err));
		goto cleanup;
	}
	if (s->takeover) {
		if ((err = open_takeover(s, o)) || (err = write_config(s, o)))
			goto cleanup;
		sensor__heartbeat(s);
	} else {
		precheck(s, o);
		if ((err = load_and_attach(s, o)))
			goto cleanup;
	}

	s->fn = fn;
	s->fn_ctx = ctx;
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), rb_trampoline, s, NULL);
	if (!s->rb) {
		err = -errno;
		fprintf(stderr, "agentwatch: failed to create ring buffer reader: %s\n",
			strerror(-err));
		goto cleanup;
	}
	if (s->pin_dir[0]) {
		s->pinned = true;
		if (!s->takeover && (err = pin_maps(s))) {
			fprintf(stderr, "agentwatch: failed to pin maps in %s: %s\n", s->pin_dir,
				strerror(-err));
			goto cleanup;
		}
		if (!s->takeover)
			pin_links(s);
	}
	report_reduced(s);

	/* Let the unlink hook note our root (collector_root): an unlink of a
	 * name procfs never has fails with no effect, and is not reported. */
	if (unlink("/proc/agentwatch-root-probe") == 0)
		fprintf(stderr, "agentwatch: the root probe unlink succeeded?\n");

	*out = s;
	return 0;
cleanup:
	sensor__free(s);
	return err;
}

/*
 * Detaching a tracepoint link waits for an RCU grace period (~85 ms each on
 * the project's VM), and we hold ~30 of them: one after the other that was
 * 2 s of every shutdown.  Closing them from a few threads lets the grace
 * periods overlap.
 */
#define DETACH_THREADS 8

struct detach_job {
	struct bpf_link **links;
	size_t n;
};

static void *detach_some(void *arg)
{
	struct detach_job *j = arg;
	size_t i;

	for (i = 0; i < j->n; i++)
		bpf_link__destroy(j->links[i]);
	return NULL;
}

static void detach_all(struct sensor *s)
{
	struct bpf_object_skeleton *sk = s->skel ? s->skel->skeleton : NULL;
	struct bpf_link *links[128];
	struct detach_job jobs[DETACH_THREADS];
	pthread_t th[DETACH_THREADS];
	bool started[DETACH_THREADS] = { false };
	size_t n = 0, i, t;

	for (i = 0; i < 4; i++)
		if (s->cg_links[i] && n < 128)
			links[n++] = s->cg_links[i];
	for (i = 0; sk && i < (size_t)sk->prog_cnt && n < 128; i++) {
		if (*sk->progs[i].link)
			links[n++] = *sk->progs[i].link;
		*sk->progs[i].link = NULL; /* so the skeleton doesn't destroy it twice */
	}
	memset(s->cg_links, 0, sizeof(s->cg_links));
	for (t = 0; t < DETACH_THREADS; t++) {
		jobs[t].links = links + n * t / DETACH_THREADS;
		jobs[t].n = n * (t + 1) / DETACH_THREADS - n * t / DETACH_THREADS;
		if (jobs[t].n)
			started[t] = pthread_create(&th[t], NULL, detach_some, &jobs[t]) == 0;
		if (jobs[t].n && !started[t])
			detach_some(&jobs[t]); /* no thread: do it here */
	}
	for (t = 0; t < DETACH_THREADS; t++)
		if (started[t])
			pthread_join(th[t], NULL);
}

void sensor__free(struct sensor *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	/* Unpin first: a link then detaches when we drop our reference. */
	if (s->pinned)
		unpin_all(s->pin_dir);
	detach_all(s);
	free(s->orphans);
	agentwatch_bpf__destroy(s->skel);
	if (s->cg_fd >= 0)
		close(s->cg_fd);
	free(s);
}

int sensor__fd(const struct sensor *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

int sensor__drain(struct sensor *s)
{
	return ring_buffer__consume(s->rb);
}

int sensor__add_agent_name(struct sensor *s, const char *name, uint32_t prefix_bytes,
			   uint32_t sig_id, uint32_t flags, const char *agent)
{
	struct aw_name_key key;
	struct aw_agent_name val;

	if (prefix_bytes > AW_NAME_KEY_LEN)
		return -ENAMETOOLONG;
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.prefixlen = prefix_bytes * 8;
	memcpy(key.name, name, strnlen(name, prefix_bytes));
	val.sig_id = sig_id;
	val.flags = flags;
	copy_str(val.agent, sizeof(val.agent), agent);
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.agent_names), &key, &val, BPF_ANY))
		return -errno;
	return 0;
}

int sensor__set_session(struct sensor *s, uint32_t tgid, const struct aw_session *sess)
{
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.sessions), &tgid, sess, BPF_ANY))
		return -errno;
	return 0;
}

int sensor__get_session(struct sensor *s, uint32_t tgid, struct aw_session *sess)
{
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.sessions), &tgid, sess))
		return -errno;
	return 0;
}

/* Empty a hash or LPM map: delete keys until none is left. */
static void map_clear(int fd, size_t key_size)
{
	char key[512], next[512];
	int guard = 1 << 20;

	if (key_size > sizeof(key))
		return;
	while (guard-- > 0 && bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

int sensor__set_gated(struct sensor *s, const char *const *names, size_t n)
{
	int fd = bpf_map__fd(s->skel->maps.gated_binaries);
	struct aw_gate_key k;
	__u32 one = 1;
	size_t i;

	/* Insert the new names first, then drop the stale ones, so a reload
	 * never opens a window where a binary that stays gated is not. */
	for (i = 0; i < n; i++) {
		if (strlen(names[i]) >= sizeof(k.name))
			return -ENAMETOOLONG;
		memset(&k, 0, sizeof(k));
		memcpy(k.name, names[i], strlen(names[i]));
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			return -errno;
	}
	for (;;) {
		struct aw_gate_key cur, next;
		bool stale = false, first = true;

		memset(&cur, 0, sizeof(cur));
		while (bpf_map_get_next_key(fd, first ? NULL : &cur, &next) == 0) {
			bool keep = false;

			first = false;
			for (i = 0; i < n && !keep; i++)
				keep = strncmp(next.name, names[i], sizeof(next.name)) == 0;
			if (!keep) {
				bpf_map_delete_elem(fd, &next);
				stale = true;
				break; /* iteration restarts after a delete */
			}
			cur = next;
		}
		if (!stale)
			break;
	}
	return 0;
}

int sensor__set_net_deny(struct sensor *s, const struct aw_net_key4 *k4,
			 const struct aw_net_deny *v4, size_t n4, const struct aw_net_key6 *k6,
			 const struct aw_net_deny *v6, size_t n6)
{
	int fd4 = bpf_map__fd(s->skel->maps.net_deny4);
	int fd6 = bpf_map__fd(s->skel->maps.net_deny6);
	size_t i;

	/* Deny lists change only on reload; a brief gap while they are
	 * rewritten is acceptable and documented. */
	map_clear(fd4, sizeof(*k4));
	map_clear(fd6, sizeof(*k6));
	for (i = 0; i < n4; i++)
		if (bpf_map_update_elem(fd4, &k4[i], &v4[i], BPF_ANY))
			return -errno;
	for (i = 0; i < n6; i++)
		if (bpf_map_update_elem(fd6, &k6[i], &v6[i], BPF_ANY))
			return -errno;
	return 0;
}

bool sensor__takeover(const struct sensor *s, uint64_t *prev_heartbeat)
{
	if (prev_heartbeat)
		*prev_heartbeat = s->prev_heartbeat;
	return s->takeover;
}

size_t sensor__orphans(const struct sensor *s, const uint32_t **pids)
{
	*pids = s->orphans;
	return s->n_orphans;
}

void sensor__gate_done(struct sensor *s, uint32_t tgid)
{
	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.gated_pending), &tgid);
}

bool sensor__gate_take(struct sensor *s, uint32_t tgid, uint64_t stopped_at)
{
	__u64 v;

	if (bpf_map_lookup_and_delete_elem(bpf_map__fd(s->skel->maps.gated_pending), &tgid, &v))
		return false;
	return v == stopped_at;
}

size_t sensor__gated_stale(struct sensor *s, uint64_t min_age_ns, uint32_t *out, size_t max)
{
	int fd = bpf_map__fd(s->skel->maps.gated_pending);
	uint64_t now = now_ns(CLOCK_BOOTTIME);
	__u32 key, next;
	size_t n = 0;
	__u64 stopped;
	bool first = true;

	while (n < max && bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &stopped))
			continue; /* resolved meanwhile */
		if (now > stopped && now - stopped >= min_age_ns)
			out[n++] = key;
	}
	return n;
}

int sensor__session_losses_each(struct sensor *s, int (*fn)(uint64_t sid, uint64_t lost, void *ctx),
				void *ctx)
{
	int fd = bpf_map__fd(s->skel->maps.session_losses);
	__u64 key, next, lost;
	bool first = true;
	int r = 0;

	while (!r && bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		first = false;
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &lost))
			r = fn(key, lost, ctx);
	}
	return r;
}

size_t sensor__session_set_flag(struct sensor *s, uint64_t id, uint32_t flag)
{
	uint32_t pids[4096];
	size_t n = sensor__session_members(s, id, pids, 4096), done = 0;
	struct aw_session ks;

	for (size_t i = 0; i < n; i++) {
		if (sensor__get_session(s, pids[i], &ks) || ks.id != id)
			continue;
		ks.flags |= flag;
		done += sensor__set_session(s, pids[i], &ks) == 0;
	}
	return done;
}

int sensor__scope_add(struct sensor *s, uint32_t tgid)
{
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.scope), &tgid, &one, BPF_ANY))
		return -errno;
	return 0;
}

int sensor__quiesce(struct sensor *s)
{
	int fd = bpf_map__fd(s->skel->maps.aw_config);
	struct aw_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &cfg))
		return -errno;
	cfg.quiesce = 1;
	if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY))
		return -errno;
	/* A program that read quiesce == 0 just before the update may still
	 * be stopping its exec and noting it in gated_pending on another CPU.
	 * The hooks run inside RCU read-side sections, so one grace period
	 * (membarrier's global command waits for it) lets every one of them
	 * finish before the caller drains and sweeps.  Without membarrier
	 * (nohz_full), a pause far longer than any program run. */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(20000);
	return 0;
}

int sensor__breaker_set(struct sensor *s, uint32_t tgid, uint32_t state)
{
	int fd = bpf_map__fd(s->skel->maps.breaker);
	struct aw_breaker b;

	if (bpf_map_lookup_elem(fd, &tgid, &b))
		memset(&b, 0, sizeof(b));
	b.state = state;
	b.count = 0;
	if (bpf_map_update_elem(fd, &tgid, &b, BPF_ANY))
		return -errno;
	return 0;
}

int sensor__set_protected(struct sensor *s, const struct aw_prot_key *k,
			  const struct aw_prot_val *v, size_t n)
{
	int fd = bpf_map__fd(s->skel->maps.protected_paths);
	size_t i;

	int cfd = bpf_map__fd(s->skel->maps.aw_config);
	struct aw_config cfg;
	__u32 zero = 0;

	map_clear(fd, sizeof(*k));
	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &k[i], &v[i], BPF_ANY))
			return -errno;
	/* Tell the kernel whether there is anything to look up at all. */
	if (bpf_map_lookup_elem(cfd, &zero, &cfg))
		return -errno;
	cfg.n_protected = n;
	if (bpf_map_update_elem(cfd, &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

int sensor__heartbeat(struct sensor *s)
{
	__u64 now = now_ns(CLOCK_BOOTTIME);
	__u32 k = AW_HB_TIME;

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.heartbeat), &k, &now, BPF_ANY))
		return -errno;
	return 0;
}

int sensor__set_napping(struct sensor *s, bool napping)
{
	__u64 v = napping;
	__u32 k = AW_HB_NAPPING;

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.heartbeat), &k, &v, BPF_ANY))
		return -errno;
	return 0;
}

int sensor__sessions_each(struct sensor *s, int (*fn)(uint32_t tgid, const struct aw_session *ks,
						      void *ctx), void *ctx)
{
	int fd = bpf_map__fd(s->skel->maps.sessions);
	__u32 key, next;
	struct aw_session v;
	bool first = true;
	int r;

	while (bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		if ((r = fn(key, &v, ctx)))
			return r;
	}
	return 0;
}

struct members {
	uint64_t id;
	uint32_t *out;
	size_t n, max;
};

static int member_of(uint32_t tgid, const struct aw_session *ks, void *ctx)
{
	struct members *m = ctx;

	if (ks->id == m->id)
		m->out[m->n++] = tgid;
	return m->n >= m->max;
}

size_t sensor__session_members(struct sensor *s, uint64_t id, uint32_t *out, size_t max)
{
	struct members m = { id, out, 0, max };

	if (max)
		sensor__sessions_each(s, member_of, &m);
	return m.n;
}

int sensor__counters(struct sensor *s, uint64_t out[AW_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(s->skel->maps.counters);
	uint64_t *vals;
	__u32 i;
	int c;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < AW_CNT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

const char *sensor__counter_name(unsigned int idx)
{
	static const char *const names[AW_CNT_MAX] = {
		[AW_CNT_RB_FAIL_EXEC] = "ringbuf_full_exec",
		[AW_CNT_RB_FAIL_FORK] = "ringbuf_full_fork",
		[AW_CNT_RB_FAIL_EXIT] = "ringbuf_full_exit",
		[AW_CNT_RB_FAIL_NET] = "ringbuf_full_net",
		[AW_CNT_RB_FAIL_FILE] = "ringbuf_full_file",
		[AW_CNT_ARGV_TRUNC] = "argv_truncated",
		[AW_CNT_PATH_TRUNC] = "path_truncated",
		[AW_CNT_SESSIONS_FULL] = "sessions_map_full",
		[AW_CNT_INFLIGHT_FULL] = "inflight_map_full",
		[AW_CNT_READ_FAIL] = "user_read_failed",
		[AW_CNT_EVENTS] = "events",
		[AW_CNT_GATE_STOPS] = "gate_stops",
		[AW_CNT_GATE_FALLBACKS] = "gate_fallbacks",
		[AW_CNT_NET_DENIED] = "net_denied",
		[AW_CNT_BREAKER_TRIPS] = "breaker_trips",
		[AW_CNT_PROTECTED_HITS] = "protected_path_hits",
		[AW_CNT_RB_FAIL_TAMPER] = "ringbuf_full_tamper",
		[AW_CNT_TAMPER] = "tamper_attempts",
	};

	return idx < AW_CNT_MAX && names[idx] ? names[idx] : "unknown";
}

const char *sensor__cgroup_path(const struct sensor *s)
{
	return s->cg_path;
}

bool sensor__network_attached(const struct sensor *s)
{
	return s->net_attached;
}

const struct features *sensor__features(const struct sensor *s)
{
	return &s->feat;
}

int sensor_pinned_sessions_fd(const char *pin_dir)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/sessions", pin_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}
