// SPDX-License-Identifier: GPL-2.0
/*
 * Load, attach and talk to the BPF side.  Order follows libbpf-bootstrap:
 * open, size the maps and set autoload from what this machine has, load,
 * write the initial config, attach.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "sensor.h"
#include "util.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

#define DEFAULT_RINGBUF (16u << 20)

struct sensor {
	struct agentwatch_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *cg_links[4];
	int cg_fd;
	char cg_path[PATH_MAX];
	char pin_path[PATH_MAX];
	char pin_dir[PATH_MAX];
	sensor_event_fn fn;
	void *fn_ctx;
	bool net_attached;
	bool pinned;
};

static bool verbose_libbpf;

/* libbpf's own messages: debug only with -v; warnings always. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose_libbpf)
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

static void set_net_autoload(struct agentwatch_bpf *skel, bool on)
{
	bpf_program__set_autoload(skel->progs.handle_connect4, on);
	bpf_program__set_autoload(skel->progs.handle_connect6, on);
	bpf_program__set_autoload(skel->progs.handle_sendmsg4, on);
	bpf_program__set_autoload(skel->progs.handle_sendmsg6, on);
	bpf_program__set_autoload(skel->progs.handle_sys_exit_connect, on);
	bpf_program__set_autoload(skel->progs.handle_sys_exit_sendto, on);
	bpf_program__set_autoload(skel->progs.handle_sys_exit_sendmsg, on);
	bpf_program__set_autoload(skel->progs.handle_sys_exit_sendmmsg, on);
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

static int attach_network(struct sensor *s)
{
	struct bpf_program *progs[4] = {
		s->skel->progs.handle_connect4, s->skel->progs.handle_connect6,
		s->skel->progs.handle_sendmsg4, s->skel->progs.handle_sendmsg6,
	};
	int err, i;

	if ((err = open_cgroup2(s))) {
		fprintf(stderr, "agentwatch: no cgroup v2 hierarchy, network events disabled: %s\n",
			strerror(-err));
		return 0;
	}
	for (i = 0; i < 4; i++) {
		s->cg_links[i] = bpf_program__attach_cgroup(progs[i], s->cg_fd);
		if (!s->cg_links[i]) {
			err = -errno;
			fprintf(stderr, "agentwatch: failed to attach %s to %s: %s\n",
				bpf_program__name(progs[i]), s->cg_path, strerror(-err));
			return err;
		}
	}
	s->net_attached = true;
	return 0;
}

static int pin_sessions(struct sensor *s, const char *dir)
{
	int err;

	if (!dir || !*dir)
		return 0;
	if ((err = sensor_mount_bpffs())) {
		fprintf(stderr, "agentwatch: failed to mount bpffs: %s\n", strerror(-err));
		return err;
	}
	if (mkdir_p(dir, 0700) && errno != EEXIST)
		return -errno;
	if (!copy_str(s->pin_dir, sizeof(s->pin_dir), dir) ||
	    snprintf(s->pin_path, sizeof(s->pin_path), "%s/sessions", dir) >= (int)sizeof(s->pin_path))
		return -ENAMETOOLONG;
	/* A pin left by a collector that died: replace it. */
	if (access(s->pin_path, F_OK) == 0) {
		fprintf(stderr, "agentwatch: replacing stale pin %s\n", s->pin_path);
		unlink(s->pin_path);
	}
	err = bpf_map__pin(s->skel->maps.sessions, s->pin_path);
	if (err) {
		fprintf(stderr, "agentwatch: failed to pin sessions map at %s: %s\n",
			s->pin_path, strerror(-err));
		return err;
	}
	s->pinned = true;
	return 0;
}

int sensor__open(const struct sensor_opts *o, sensor_event_fn fn, void *ctx,
		 struct sensor **out)
{
	struct aw_config cfg = {0};
	struct sensor *s;
	__u32 zero = 0;
	int err;

	*out = NULL;
	verbose_libbpf = o->verbose;
	libbpf_set_print(libbpf_print);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cg_fd = -1;

	if ((err = mount_tracefs()))
		fprintf(stderr, "agentwatch: could not mount tracefs (%s); file and network "
			"syscall tracepoints may fail to attach\n", strerror(-err));

	s->skel = agentwatch_bpf__open();
	if (!s->skel) {
		err = -errno;
		fprintf(stderr, "agentwatch: failed to open BPF object: %s\n", strerror(-err));
		goto cleanup;
	}
	if ((err = size_maps(s->skel, o))) {
		fprintf(stderr, "agentwatch: failed to size BPF maps: %s\n", strerror(-err));
		goto cleanup;
	}
	set_net_autoload(s->skel, !o->no_network);

	if ((err = agentwatch_bpf__load(s->skel))) {
		fprintf(stderr, "agentwatch: failed to load BPF programs: %s%s\n", strerror(-err),
			o->verbose ? "" : " (run with -v for the verifier log)");
		goto cleanup;
	}

	cfg.all_execs = o->all_execs;
	cfg.collector_tgid = getpid();
	cfg.gate_fallback = o->gate_fallback;
	cfg.net_enforce = o->net_enforce;
	cfg.heartbeat_stale_ns = o->heartbeat_stale_ns ? o->heartbeat_stale_ns : 2000000000ull;
	cfg.breaker_n = o->breaker_n;
	cfg.breaker_window_ns = o->breaker_window_ns;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.aw_config), &zero, &cfg, BPF_ANY)) {
		err = -errno;
		fprintf(stderr, "agentwatch: failed to write config map: %s\n", strerror(-err));
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

	if ((err = pin_sessions(s, o->pin_dir)))
		goto cleanup;
	/* Alive before the first exec can be gated. */
	sensor__heartbeat(s);

	if ((err = agentwatch_bpf__attach(s->skel))) {
		fprintf(stderr, "agentwatch: failed to attach tracepoints: %s\n", strerror(-err));
		goto cleanup;
	}
	if (!o->no_network && (err = attach_network(s)))
		goto cleanup;

	*out = s;
	return 0;
cleanup:
	sensor__free(s);
	return err;
}

void sensor__free(struct sensor *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < 4; i++)
		bpf_link__destroy(s->cg_links[i]);
	ring_buffer__free(s->rb);
	if (s->pinned) {
		unlink(s->pin_path);
		rmdir(s->pin_dir); /* only if empty */
	}
	agentwatch_bpf__destroy(s->skel);
	if (s->cg_fd >= 0)
		close(s->cg_fd);
	free(s);
}

int sensor__poll(struct sensor *s, int timeout_ms)
{
	int n = ring_buffer__poll(s->rb, timeout_ms);
	int m;

	if (n < 0 && n != -EINTR)
		return n;
	/* Most records are queued without a wakeup (see emit_flags()), so
	 * epoll may time out with data waiting: drain it either way. */
	m = ring_buffer__consume(s->rb);
	if (m < 0)
		return m;
	return (n > 0 ? n : 0) + m;
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
	char key[128], next[128];
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

int sensor__heartbeat(struct sensor *s)
{
	struct timespec ts;
	__u32 zero = 0;
	__u64 now;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.heartbeat), &zero, &now, BPF_ANY))
		return -errno;
	return 0;
}

size_t sensor__session_members(struct sensor *s, uint64_t id, uint32_t *out, size_t max)
{
	int fd = bpf_map__fd(s->skel->maps.sessions);
	__u32 key, next;
	struct aw_session v;
	bool first = true;
	size_t n = 0;

	while (n < max && bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &v) == 0 && v.id == id)
			out[n++] = key;
	}
	return n;
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

int sensor_pinned_sessions_fd(const char *pin_dir)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/sessions", pin_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}
