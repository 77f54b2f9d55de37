/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel gives the sensor, and what the sensor can do with it.
 *
 * `agentwatch run` starts in the best mode the kernel allows: a missing
 * optional feature turns its hooks off (or onto a fallback), and the
 * sensor says so once on stderr, in status, in its start record and in
 * the metrics.  A missing required feature stops it with a message naming
 * the kernel requirement.  `agentwatch doctor` reports the same table.
 * Plain data and text: no libbpf (the probes are in user/probe.c).
 */
#ifndef AW_FEATURESET_H
#define AW_FEATURESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw;

enum feature {
	/* required: without these no mode can run */
	FEAT_RINGBUF,       /* BPF_MAP_TYPE_RINGBUF */
	FEAT_BTF,           /* the kernel's own BTF, for CO-RE */
	FEAT_BPF_LOOP,      /* bpf_loop(), for the path walks */
	/* optional: the sensor runs without them, reduced */
	FEAT_TP_BTF,        /* tp_btf programs (else raw_tp twins) */
	FEAT_SEND_SIGNAL,   /* bpf_send_signal(): stop or kill in the kernel */
	FEAT_SYSCALL_TP,    /* syscall tracepoints (file, net results, ptrace/bpf) */
	FEAT_CGROUP2,       /* a cgroup v2 hierarchy for the network hooks */
	FEAT_CGROUP_SOCK,   /* cgroup connect/sendmsg programs, attached */
	FEAT_SIGNAL_TP,     /* the signal_generate tracepoint (tamper: signals) */
	/* not used by this build; reported so nobody wonders */
	FEAT_LSM,
	FEAT_FENTRY,
	FEAT_MAX
};

enum feature_state { FEAT_ON = 0, FEAT_OFF, FEAT_UNUSED };

struct feature_info {
	const char *name;     /* as in AGENTWATCH_TEST_DISABLE and status */
	bool required;
	bool unused;          /* the sensor has no program that needs it */
	const char *needs;    /* the kernel requirement, for messages */
	const char *without;  /* what degrades when it is missing */
	uint32_t off_bit;     /* AW_OFF_*, 0 if none */
};

#define FEATURE_REASON_MAX 192

struct features {
	uint8_t state[FEAT_MAX];                 /* enum feature_state */
	char reason[FEAT_MAX][FEATURE_REASON_MAX]; /* why off (or unused) */
};

const struct feature_info *feature__info(enum feature f);
/* -1 if no feature has that name. */
int feature__from_name(const char *name, size_t len);

/* A comma-separated list of feature names (AGENTWATCH_TEST_DISABLE) into a
 * mask of 1u << FEAT_*.  An unknown name is an error, so a typo in a test
 * can't silently test nothing.  NULL or "" is the empty mask. */
int features__parse_list(const char *list, uint32_t *mask, char *err, size_t errlen);

/* Everything on, LSM and fentry unused. */
void features__init(struct features *f);
void features__off(struct features *f, enum feature id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool features__on(const struct features *f, enum feature id);
/* Not used because an option turned it off (--no-network): not reduced. */
void features__unused(struct features *f, enum feature id, const char *why);

/* Optional features that are off, as AW_OFF_* bits (aw_config.off), and
 * back: a collector taking over pinned programs learns what they run
 * without from the map, with why as the reason. */
uint32_t features__off_bits(const struct features *f);
void features__from_off_bits(struct features *f, uint32_t bits, const char *why);

/* Names of the optional features that are off ("" when none), comma
 * separated, into buf. */
size_t features__reduced(const struct features *f, char *buf, size_t len);

/*
 * What the sensor does with these features.  Each field is a word a
 * reviewer can read in status: how processes are followed, where
 * enforcement happens (in the kernel before anything runs, or late, by
 * the collector, on a process that is already running), what is seen.
 */
struct coverage {
	const char *exec_hooks;      /* "tp_btf", "raw_tp" */
	const char *exec_gate;       /* "kernel", "late" (the collector acts after exec),
				      * "off" (--no-rules, monitor) */
	const char *net_records;     /* "cgroup", "tracepoint", "off" */
	bool net_results;            /* records carry the syscall's result */
	const char *net_deny;        /* "kernel", "off" */
	bool file_records;
	const char *breaker;         /* "kernel", "late", "off" */
	const char *protected_paths; /* "kernel", "late", "off" */
	bool tamper_signals, tamper_syscalls;
	bool crash_fallback;         /* the kernel applies --fallback with no collector */
};

struct coverage_opts {
	bool no_network;             /* --no-network */
	bool enforcing;              /* rules loaded and enforce mode */
	bool breaker;                /* --breaker on */
};

void features__coverage(const struct features *f, const struct coverage_opts *o,
			struct coverage *c);

/* "features": [...] and "coverage": {...} as members of the open object. */
void features__json(const struct features *f, const struct coverage *c, struct jsonw *w);

#endif
