/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rule engine: the language of rules/<name>.rules (documented in
 * rules/README.md), the matcher for exec, network and file events, the
 * knobs pushed into kernel maps, and the inline tests.
 *
 * A ruleset is loaded whole or not at all: a file (or a directory of
 * files) that does not parse leaves the set exactly as it was, and err
 * says "file:line:col: expected ...".  Matching never changes the set, so
 * one set may serve several threads; the rate state lives in a separate
 * struct ratetab that the caller owns (one per thread, or locked).
 */
#ifndef AW_RULES_H
#define AW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RULES_FILE_MAX   (1u << 20) /* bytes in one rules file */
#define RULES_LINE_MAX   4096       /* bytes in one line, newline excluded */
#define RULES_MAX        4096       /* rules in one set */
#define RULES_FILES_MAX  256        /* *.rules files in one directory */
#define RULE_ID_MAX      63         /* bytes in a rule id */
#define RULE_HITS_MAX    32         /* hits a match_result names */
#define RULE_MESSAGE_MAX 512        /* rendered message, NUL included */

/* Ordered: a stronger action has a larger value (see rule_action_max). */
enum rule_action {
	RA_NONE = 0,            /* allow */
	RA_LOG,
	RA_ALERT,
	RA_PAUSE,
	RA_DENY,
	RA_KILL,
	RA_FREEZE,
	RA_KILL_SESSION,
};

enum rule_mode { RM_DEFAULT = 0, RM_MONITOR, RM_ENFORCE };

struct ruleset;
struct ratetab;

struct ruleset *ruleset__new(void);
void ruleset__free(struct ruleset *rs);

/*
 * Append the rules of one file, or of every "*.rules" file in dir (sorted
 * by name, dot files skipped).  0 or -errno; on error err holds
 * "file:line:col: message" (or "file: message") and rs is unchanged.
 * Files are opened with O_NOFOLLOW and may not exceed RULES_FILE_MAX.
 * Lists and rule ids are shared by every file of a set: a list must be
 * defined before it is used (in load order) and a rule id may appear once.
 */
int ruleset__load_file(struct ruleset *rs, const char *path, char *err, size_t errlen);
int ruleset__load_dir(struct ruleset *rs, const char *dir, char *err, size_t errlen);

size_t ruleset__count(const struct ruleset *rs);

/* Inline tests in the set. */
size_t ruleset__test_count(const struct ruleset *rs);

/* `set mode ...` (RM_DEFAULT when no file said), `set workspace ...`
 * (NULL when none).  The workspace setting replaces the one the collector
 * passes in every context. */
enum rule_mode ruleset__mode(const struct ruleset *rs);
const char *ruleset__workspace(const struct ruleset *rs);

/*
 * What the collector knows about one exec.  Every pointer may be NULL.
 * argv and env are NUL-separated (as in /proc/PID/cmdline and environ) and
 * are read only within their lengths.  exe is the real binary after
 * symlinks; filename is the path given to execve.  ancestors are exe
 * paths, parent first.  workspace is the agent root's cwd.
 */
struct exec_ctx {
	const char *exe, *filename;
	const char *argv;
	size_t argv_len;
	bool argv_truncated;
	const char *cwd, *workspace, *agent;
	const char *const *ancestors;
	size_t n_ancestors;
	const char *env;
	size_t env_len;
	/* Or, with env NULL: called at most once per match, and only if a rule
	 * looks at the environment (an env predicate, or a ~ path that needs
	 * HOME), so an exec no such rule applies to costs no /proc read.  The
	 * block stays the caller's. */
	int (*load_env)(void *ctx, const char **env, size_t *len);
	void *env_ctx;
	/* Or NULL: path operands are taken lexically (inline tests do).  The
	 * collector's resolves a path the way the process's own lookup will:
	 * path (absolute, or relative to cwd, which is then non-NULL) with
	 * every symbolic link followed, the last component only with
	 * PATH_RESOLVE_FOLLOW or a trailing '/'; the contract of
	 * path_resolve() in paths.h.  Called only for the operands a target
	 * predicate looks at, at most twice each per match. */
	int (*resolve)(void *ctx, const char *cwd, const char *path, unsigned flags, char *out,
		       size_t len, bool *last_link);
	void *resolve_ctx;
	uint64_t session_id;
	uint64_t now_ns;        /* any monotonic clock: only differences count */
};

/* addr: IPv4 in the first 4 bytes, network order, as in aw_net_event. */
struct net_ctx {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;          /* host order */
	int protocol;           /* IPPROTO_TCP, IPPROTO_UDP, ... */
	const char *agent, *exe;
	uint64_t session_id, now_ns;
};

/* op: enum aw_file_op.  A relative path is taken relative to cwd (the
 * collector passes the dirfd's directory there). */
struct file_ctx {
	int op;
	const char *path, *path2;
	/* The collector could not resolve the symlinks in path (path2): it
	 * is lexical, and counts as outside the workspace. */
	bool unresolved, unresolved2;
	const char *cwd, *workspace, *agent, *exe;
	uint64_t session_id, now_ns;
};

struct rule_hit {
	const char *id;         /* valid while the set lives */
	const char *severity;   /* "info", "low", "medium", "high", "critical" */
	const char *origin;     /* "rules/git.rules:12", valid while the set lives */
	enum rule_action action;
	enum rule_mode mode;    /* effective: RM_MONITOR or RM_ENFORCE */
	bool argv_truncated;    /* fired because truncated argv made it undecidable */
	char message[RULE_MESSAGE_MAX];
	uint32_t pause_timeout_s;       /* action pause only */
	enum rule_action pause_default; /* RA_NONE (allow), RA_DENY or RA_KILL */
};

struct match_result {
	enum rule_action verdict;   /* strongest over enforce-mode hits */
	enum rule_action would;     /* strongest over all hits, monitor ones too */
	size_t n_hits;              /* rules that fired (may exceed RULE_HITS_MAX) */
	bool hits_truncated;        /* n_hits > RULE_HITS_MAX: hits[] is the first ones */
	size_t n_evaluated;         /* rules whose predicates were looked at (index test hook) */
	struct rule_hit hits[RULE_HITS_MAX];
};

/*
 * Evaluate every rule that can apply and fill out.  rt may be NULL: a rate
 * predicate then counts this event alone.  0 or -ENOMEM (out then says
 * RA_NONE).  Hits are in rule load order.
 *
 * The per-event state lives on the caller's stack (about 64 KiB; give a
 * thread that matches more than a small default stack), so the set stays
 * const and any number of threads may match against it at once, each
 * with its own ratetab or a locked one.  Nothing is allocated unless argv
 * has more than 64 words or is longer than 1 KiB joined (for regex).
 */
int ruleset__match_exec(const struct ruleset *rs, struct ratetab *rt, const struct exec_ctx *x,
			struct match_result *out);
int ruleset__match_net(const struct ruleset *rs, struct ratetab *rt, const struct net_ctx *x,
		       struct match_result *out);
int ruleset__match_file(const struct ruleset *rs, struct ratetab *rt, const struct file_ctx *x,
			struct match_result *out);

/*
 * Knobs for the kernel.  Each calls fn once per entry and stops at, and
 * returns, fn's first nonzero return; else 0.  Only enforcing rules (an
 * action of pause or stronger, in effective enforce mode) give entries.
 *
 * gated_binaries: basenames (exact, at most 63 bytes, each once) that some
 * enforcing exec rule's binary predicate names, or an exec rule with an env
 * predicate (its environment must be read while the process is stopped);
 * the exec gate stops these.
 */
int ruleset__gated_binaries(const struct ruleset *rs, int (*fn)(const char *basename, void *ctx),
			    void *ctx);

/*
 * net_denies: deny-or-stronger net rules whose only predicates are dest,
 * port and proto (so the kernel can decide alone).  One call per
 * (CIDR, port range, protocol); a rule without dest gives 0.0.0.0/0 and
 * ::/0, without port 0-65535, without proto protocol 0 (any).  An IPv4
 * CIDR is also given as its IPv4-mapped IPv6 prefix (::ffff:a.b.c.d/96+n),
 * since a dual-stack socket reaches IPv4 through connect6.
 */
int ruleset__net_denies(const struct ruleset *rs,
			int (*fn)(int family, const uint8_t *addr, int prefixlen, uint16_t port_lo,
				  uint16_t port_hi, int protocol, const char *rule_id, void *ctx),
			void *ctx);

/*
 * protected_paths: file rules whose only predicates are op and
 * `target under|equal` with literal absolute paths (no glob; "~" gives
 * /root).  ops_mask has bit (1u << enum aw_file_op) set per op.
 */
int ruleset__protected_paths(const struct ruleset *rs,
			     int (*fn)(const char *prefix, uint32_t ops_mask, enum rule_action act,
				       const char *rule_id, void *ctx),
			     void *ctx);

/*
 * Run every inline test of every rule.  Prints one line per failure,
 * "file:line: rule ID: ...", to out (may be NULL).  Counts go to passed
 * and failed (may be NULL).  Returns 0, or -ENOMEM.
 */
int ruleset__run_tests(const struct ruleset *rs, FILE *out, int *passed, int *failed);

/* "allow", "log", "alert", "pause", "deny", "kill", "freeze", "kill-session". */
const char *rule_action_name(enum rule_action a);
/* "default", "monitor", "enforce". */
const char *rule_mode_name(enum rule_mode m);

/*
 * Rate state: per (session, rule id) counters of the last window, at most
 * max entries (the least recently used is dropped).  max 0 means 4096.
 */
struct ratetab *ratetab__new(size_t max);
void ratetab__free(struct ratetab *rt);
size_t ratetab__count(const struct ratetab *rt);

#endif /* AW_RULES_H */
