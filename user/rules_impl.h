/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals of the rule engine, shared by rules.c (parser), rules_match.c
 * (matcher), rules_rate.c (rate table) and rules_test.c (inline tests and
 * kernel knobs).  Not for other modules: use rules.h.
 */
#ifndef AW_RULES_IMPL_H
#define AW_RULES_IMPL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agentwatch.h"
#include "cmdline.h"
#include "rules.h"

#define RULE_PREDS_MAX   32
#define RULE_TESTS_MAX   64
#define RULE_ALTS_MAX    1024   /* alternatives in one predicate or list */
#define RULE_WORDS_MAX   16     /* subcommand words */
#define RULE_LISTS_MAX   1024
#define RULE_VALOPTS_MAX 64
#define TEST_ANC_MAX     8
#define TEST_ENV_MAX     16
#define RATE_N_MAX       1000000
#define BASENAME_MAX     255    /* NAME_MAX: no exec has a longer basename */
#define GATE_NAME_MAX    (AW_NAME_KEY_LEN - 1)

enum rule_kind { RK_EXEC, RK_NET, RK_FILE };

/* Evaluation order: cheap and argv-independent first, rate last. */
enum pred_kind {
	P_BINARY, P_AGENT, P_PARENT, P_ANCESTOR, P_ENV, P_OP, P_DEST, P_PORT, P_PROTO,
	P_SUBCMD, P_FLAG, P_ARG, P_REGEX, P_TARGET, P_RATE,
};

/* Predicates that read argv: undecidable when argv was truncated. */
static inline bool pred_reads_argv(enum pred_kind k)
{
	return k == P_SUBCMD || k == P_FLAG || k == P_ARG || k == P_REGEX || k == P_TARGET;
}

enum target_kind { TK_EQUAL, TK_UNDER, TK_OUTSIDE_WS, TK_INSIDE_WS };

/*
 * P_TARGET paths (`target equal|under`), sorted out at load time so the
 * matcher can compare bytes instead of calling fnmatch.  For "~" and
 * "~/x" the form and length are those of the part after the '~'.
 */
enum path_form {
	PF_GLOB,        /* brackets, escapes, "//", a trailing '/': fnmatch */
	PF_LITERAL,     /* no magic: compare bytes ("" for "~" itself) */
	PF_SIMPLE,      /* '*' and '?' only, no empty component */
};

struct alt {
	char *s;
	uint32_t col;
	struct flagspec fs;     /* P_FLAG: parsed from s */
	char *env_value;        /* P_ENV: s is NAME, this the value glob */
	const char *literal;    /* P_BINARY: the basename when it has no wildcard */
	size_t len;             /* strlen(s) */
	bool magic;             /* s has glob magic (glob_has_magic) */
	enum path_form pform;   /* P_TARGET */
	size_t plen;            /* P_TARGET: strlen of the path (after '~') */
};

struct altv {
	struct alt *v;
	size_t n;
};

struct cidr {
	int family;
	uint8_t addr[16];
	int plen;
};

struct prange {
	uint16_t lo, hi;
};

struct pred {
	enum pred_kind kind;
	bool neg;
	uint32_t line, col;
	struct altv alts;           /* most kinds */
	struct altv words[RULE_WORDS_MAX]; /* P_SUBCMD */
	size_t n_words;
	regex_t *re;                /* P_REGEX: heap, so preds can move */
	char *re_lits;              /* P_REGEX: relit_extract() list, or NULL */
	bool re_icase;
	enum target_kind tk;        /* P_TARGET */
	struct cidr *cidrs;         /* P_DEST */
	size_t n_cidrs;
	struct prange *ports;       /* P_PORT */
	size_t n_ports;
	int protos[8];              /* P_PROTO */
	size_t n_protos;
	uint32_t ops;               /* P_OP: bit per enum aw_file_op */
	/* P_TARGET equal|under, from the alternatives' forms: the bytes that
	 * come right after the first '/' of the absolute ones ([0]) and of
	 * the part after '~' of the "~" ones ([1]).  A path or the rest of it
	 * below a home that starts with none of them matches none of them.
	 * tany: some alternative starts with magic or is "~"; tglob: some
	 * is PF_GLOB (then each is tried in turn). */
	uint64_t tfirst[2][4];
	bool tany[2], tglob, ttilde;
	uint32_t rate_n;            /* P_RATE */
	uint64_t rate_ns;
};

struct rtest {
	bool block;
	char *origin;               /* "file:line" */
	char *text;                 /* the test line as written, for reports */
	/* exec */
	char *argv;
	size_t argv_len;
	char *env;
	size_t env_len;
	char *cwd, *workspace, *agent, *exe, *filename;
	char *anc[TEST_ANC_MAX];
	size_t n_anc;
	bool truncated;
	/* net */
	int family;
	uint8_t addr[16];
	uint16_t port;
	int proto;
	/* file */
	int op;
	char *path, *path2;
};

struct rule {
	char id[RULE_ID_MAX + 1];
	enum rule_kind kind;
	const char *severity;
	enum rule_action action;
	enum rule_mode mode;
	uint32_t timeout_s;
	enum rule_action pause_default;
	bool has_action;
	char *message;
	char *origin;               /* "file:line" of the rule line */
	uint32_t id_col;
	struct pred *preds;
	size_t n_preds;
	char **valopts;
	size_t n_valopts;
	struct cmd_valopts vo;      /* valopts, prepared (finish_rule) */
	uint32_t vo_id;             /* rules with equal lists share it; 0: unset */
	struct rtest *tests;
	size_t n_tests;
	uint64_t rate_key;          /* hash of the id: survives a reload */
	bool links_nofollow;        /* `links nofollow`: a link operand is judged where it is */
};

struct rlist {
	char *name;
	char **items;
	size_t n;
	char *origin;
};

struct idx_ent {
	const char *base;
	uint32_t rule;
};

/* The index's basenames in a hash table: idx[start..start+n) are the
 * entries of base, hash its fnv1a32.  An empty slot has base NULL. */
struct idx_slot {
	const char *base;
	uint32_t hash, start, n;
};

struct ruleset {
	struct rule *v;
	size_t n, cap;
	struct rlist *lists;
	size_t n_lists, cap_lists;
	enum rule_mode mode;
	char *workspace;
	char *mode_origin, *workspace_origin;
	struct idx_ent *idx;        /* exec rules by literal binary basename, sorted */
	size_t n_idx;
	struct idx_slot *slots;     /* idx by basename: idx_mask + 1 slots, or NULL */
	uint32_t idx_mask;
	uint32_t *unidx;            /* exec rules every exec is checked against */
	size_t n_unidx;
	size_t n_tests;
};

/* rules.c */
void rule_release(struct rule *r);
enum rule_mode rule_effective_mode(const struct ruleset *rs, const struct rule *r);
bool glob_has_magic(const char *s);
enum path_form path_form_of(const char *s);

/* rules_match.c: evaluate one rule; used by the test runner too. */
int rules_match_exec_one(const struct ruleset *rs, struct ratetab *rt, const struct exec_ctx *x,
			 const struct rule *only, struct match_result *out);
int rules_match_net_one(const struct ruleset *rs, struct ratetab *rt, const struct net_ctx *x,
			const struct rule *only, struct match_result *out);
int rules_match_file_one(const struct ruleset *rs, struct ratetab *rt, const struct file_ctx *x,
			 const struct rule *only, struct match_result *out);

/* rules_rate.c: count one event of (session, key) at now; returns the
 * events seen in the last window_ns, this one included. */
uint32_t ratetab__hit(struct ratetab *rt, uint64_t session, uint64_t key, uint64_t now_ns,
		      uint64_t window_ns);

#endif /* AW_RULES_IMPL_H */
