/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Agent signatures: which execs start an AI agent session.
 *
 * The grammar of rules/agents.conf is documented at the top of that file
 * and in rules/README.md.  A set holds signatures loaded from files and
 * from --agent; each signature has a stable id (its index, 0-based, in load
 * order) that the kernel stores in the session so the collector can later
 * say which line recognised the agent.
 *
 * The kernel can only look up basenames in an LPM trie, so a signature is
 * split in two halves: agentset__kernel_entries() gives the cheap part (a
 * basename, exact or prefix) and whether a hit is enough on its own
 * (AW_NAME_AGENT) or only makes the exec a candidate (AW_NAME_INTERPRETER)
 * that agentset__match() decides with argv, exe path and environment.
 */
#ifndef AW_AGENTS_H
#define AW_AGENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agentset;

#define AGENTS_FILE_MAX   (1u << 20) /* bytes in one signature file */
#define AGENTS_LINE_MAX   4096       /* bytes in one line, newline excluded */
#define AGENTS_SIGS_MAX   1024       /* signatures in one set */

struct agentset *agentset__new(void);
void agentset__free(struct agentset *s);

/*
 * Append the signatures of a file.  0 or -errno; on error err holds
 * "file:line:col: message" (or "file: message" when the file could not be
 * read) and the set is unchanged: a file is loaded whole or not at all.
 * The file is opened with O_NOFOLLOW and may not exceed AGENTS_FILE_MAX.
 */
int agentset__load_file(struct agentset *s, const char *path, char *err, size_t errlen);

/*
 * Append one signature from the command line, "NAME:PATTERN".  PATTERN is
 * a glob on the exe basename (`exe` signature) or, if it contains '/', on
 * the absolute exe path (`path` signature).  0 or -errno; err gets
 * "--agent:1:col: message", col counting from the start of spec.
 */
int agentset__add_cli(struct agentset *s, const char *spec, char *err, size_t errlen);

size_t agentset__count(const struct agentset *s);

/* Writes e.g. "claude: exe claude (rules/agents.conf:12)" (agent: the
 * signature's words: where it was defined) into buf, truncated to fit;
 * returns buf, or NULL if sig_id is unknown. */
const char *agentset__describe(const struct agentset *s, uint32_t sig_id, char *buf, size_t len);

/* The agent name of a signature, NULL if sig_id is unknown. */
const char *agentset__agent(const struct agentset *s, uint32_t sig_id);

/*
 * Call fn once per kernel LPM entry.  name points to at least prefix_bytes
 * bytes (not a C string: for an exact entry the last byte is the NUL, for
 * a prefix entry there is no NUL); prefix_bytes is at most AW_NAME_KEY_LEN.
 * flags is AW_NAME_AGENT when the hit alone is enough (an exe signature
 * whose glob the key checks in full), else AW_NAME_INTERPRETER (the exec is
 * a candidate for agentset__match()).  Signatures giving the same key are
 * merged: AGENT beats INTERPRETER, then the lowest sig_id wins.  Because the
 * LPM trie returns only the longest matching key, a key that is not AGENT
 * itself takes the verdict of the longest shorter AGENT prefix key covering
 * it (`exe nod*` makes `node` an AGENT key).  Env signatures and path globs
 * whose last component starts with a wildcard give no key.  Stops at and
 * returns fn's first nonzero return; 0, or -EINVAL/-ENOMEM.
 */
typedef int (*agentset_entry_fn)(const char *name, uint32_t prefix_bytes, uint32_t sig_id,
				 uint32_t flags, const char *agent, void *ctx);
int agentset__kernel_entries(const struct agentset *s, agentset_entry_fn fn, void *ctx);

/* What userspace knows about one exec or one running process.  Every field
 * may be NULL/0.  Strings are attacker-controlled and are only read within
 * the given lengths. */
struct agent_probe {
	const char *exe;        /* absolute exe path (after symlinks) */
	const char *filename;   /* path given to execve */
	const char *argv;       /* NUL-separated, as in /proc/PID/cmdline */
	size_t argv_len;
	const char *env;        /* NUL-separated NAME=VALUE */
	size_t env_len;
	const char *cwd;        /* to make a relative script operand absolute */
};

/*
 * Full match.  Returns 1 and sets *sig_id to the first matching signature,
 * 0 if none.  Identity signatures (exe, path, script, module) are tried
 * before env markers, so codex run from a Claude shell is codex.
 */
int agentset__match(const struct agentset *s, const struct agent_probe *p, uint32_t *sig_id);

/*
 * Is path inside one of agent's own state directories (its `state` lines:
 * ~/.codex, /tmp/claude-*...)?  `~/` and `$NAME/` are expanded from env
 * (the deleting process's NUL-separated environment; an unset variable
 * names nothing).  path must be absolute, with no "." or ".." component
 * (such a path is never "inside").  Returns the matching line's pattern, or
 * NULL.
 */
const char *agentset__own_state(const struct agentset *s, const char *agent, const char *path,
				const char *env, size_t env_len);

#endif /* AW_AGENTS_H */
