/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel half of agentwatch as seen from userspace: mounts what the BPF
 * programs need, loads and attaches them, and wraps the maps the collector
 * writes (sessions, agent names, config) and reads (events, counters).
 */
#ifndef AW_SENSOR_H
#define AW_SENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "agentwatch.h"
#include "featureset.h"

struct sensor;

struct sensor_opts {
	bool verbose;            /* libbpf debug output and verifier logs */
	bool all_execs;          /* --all */
	bool no_network;         /* don't attach the cgroup hooks */
	const char *pin_dir;     /* where the sessions map is pinned ("" = none) */
	size_t ringbuf_bytes;    /* power of two; 0 = default */
	uint32_t max_session_procs; /* 0 = default */
	uint32_t gate_fallback;  /* enum aw_fallback */
	uint64_t heartbeat_stale_ns; /* 0 = default (2 s) */
	bool net_enforce;        /* deny rules refuse with EPERM (else report only) */
	uint32_t breaker_n;      /* deletions per window that stop a process; 0 = off */
	uint64_t breaker_window_ns;
	uint32_t scope_tgid;     /* --within PID; 0 = host-wide */
};

/* Called for every ring buffer record; return non-zero to stop polling. */
typedef int (*sensor_event_fn)(void *ctx, const void *data, size_t size);

int sensor__open(const struct sensor_opts *opts, sensor_event_fn fn, void *ctx,
		 struct sensor **out);
void sensor__free(struct sensor *s);  /* detaches, unpins; NULL ok */

/* An fd that is readable when a wakeup was sent, for the caller's poll(),
 * and a drain of whatever is queued (woken or not). */
int sensor__fd(const struct sensor *s);
int sensor__drain(struct sensor *s);

int sensor__add_agent_name(struct sensor *s, const char *name, uint32_t prefix_bytes,
			   uint32_t sig_id, uint32_t flags, const char *agent);
int sensor__set_session(struct sensor *s, uint32_t tgid, const struct aw_session *sess);
int sensor__get_session(struct sensor *s, uint32_t tgid, struct aw_session *sess);

/* Exec gate: replace the set of gated basenames (names: NUL-separated list
 * of n names).  Names longer than AW_NAME_KEY_LEN - 1 are -ENAMETOOLONG. */
int sensor__set_gated(struct sensor *s, const char *const *names, size_t n);
/* Network deny tries: replace their whole content. */
int sensor__set_net_deny(struct sensor *s, const struct aw_net_key4 *k4,
			 const struct aw_net_deny *v4, size_t n4, const struct aw_net_key6 *k6,
			 const struct aw_net_deny *v6, size_t n6);
/* Reattached to a predecessor's pinned programs?  Its last heartbeat
 * (CLOCK_BOOTTIME ns) tells how long nobody was there. */
bool sensor__takeover(const struct sensor *s, uint64_t *prev_heartbeat);
/* Processes a predecessor's gate stopped and never resolved. */
size_t sensor__orphans(const struct sensor *s, const uint32_t **pids);
/* Every (tgid, session) in the kernel's sessions map; fn returns non-zero
 * to stop. */
int sensor__sessions_each(struct sensor *s, int (*fn)(uint32_t tgid, const struct aw_session *ks,
						      void *ctx), void *ctx);
/* A gated process's verdict is carried out: forget it. */
void sensor__gate_done(struct sensor *s, uint32_t tgid);
/*
 * The same, for a caller that holds a pidfd for tgid: true if the kernel's
 * entry was the one its gate made at stopped_at (the exec record's ts).
 * Entries exist only for living processes (the exit hook removes them), so
 * with the pidfd opened first, true proves the pidfd is that process: no
 * /proc read needed.  The entry is gone afterwards either way.
 */
bool sensor__gate_take(struct sensor *s, uint32_t tgid, uint64_t stopped_at);
/* Processes the gate stopped more than min_age_ns ago and nobody has
 * resolved yet (their record was lost, or we are shutting down): up to max
 * pids into out, and how many there were. */
size_t sensor__gated_stale(struct sensor *s, uint64_t min_age_ns, uint32_t *out, size_t max);
/* Every (session id, records lost to a full ring buffer) the kernel
 * counted; fn returns non-zero to stop. */
int sensor__session_losses_each(struct sensor *s, int (*fn)(uint64_t sid, uint64_t lost, void *ctx),
				void *ctx);
/* Set flag (AW_SESS_*) on every process of session id; how many. */
size_t sensor__session_set_flag(struct sensor *s, uint64_t id, uint32_t flag);
/* --within: put tgid in the scoped tree (its descendants follow at fork). */
int sensor__scope_add(struct sensor *s, uint32_t tgid);
/* Shutting down: from now on the kernel stops no process and applies no
 * fallback, so none is left stopped after the last drain. */
int sensor__quiesce(struct sensor *s);

/* Set a process's breaker state (AW_BREAKER_*), e.g. exempt after review. */
int sensor__breaker_set(struct sensor *s, uint32_t tgid, uint32_t state);

/* Protected path LPM trie: replace its content. */
int sensor__set_protected(struct sensor *s, const struct aw_prot_key *k,
			  const struct aw_prot_val *v, size_t n);

/* The collector is alive: stamp the heartbeat map with CLOCK_BOOTTIME. */
int sensor__heartbeat(struct sensor *s);

/*
 * The collector is about to sleep with nothing to read (true), or is
 * reading again (false).  While it naps, the kernel wakes it for the first
 * record instead of leaving records for its next timer (bpf/maps.bpf.h,
 * emit_flags).  An error (a predecessor's pinned map without the slot)
 * means it can't nap: it must keep polling on its short timer.
 */
int sensor__set_napping(struct sensor *s, bool napping);
/* Every tgid currently in session `id` (for freeze / kill-session).  Returns
 * the count written to out (at most max). */
size_t sensor__session_members(struct sensor *s, uint64_t id, uint32_t *out, size_t max);

/* Sums of the per-CPU counters, AW_CNT_MAX of them. */
int sensor__counters(struct sensor *s, uint64_t out[AW_CNT_MAX]);
const char *sensor__counter_name(unsigned int idx);

/* What the sensor could set up, for status and doctor. */
const char *sensor__cgroup_path(const struct sensor *s);
bool sensor__network_attached(const struct sensor *s);
/* What the kernel gave the sensor: on, off (reduced, with why), unused. */
const struct features *sensor__features(const struct sensor *s);

/* Helpers for other commands. */
int sensor_mount_bpffs(void);
int sensor_find_cgroup2(char *path, size_t len);
int sensor_pinned_sessions_fd(const char *pin_dir);  /* -errno if none */

#define SENSOR_DEFAULT_PIN_DIR "/sys/fs/bpf/agentwatch"

#endif /* AW_SENSOR_H */
