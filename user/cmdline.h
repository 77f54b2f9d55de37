/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command lines, two ways.
 *
 * 1. argv as the kernel captured it (NUL-separated words, the last one
 *    possibly cut short): cmdline_init() classifies each word as argv[0],
 *    a short-option cluster ("-rf"), a long option ("--force=true"), the
 *    first "--", or an operand.  Flags and operands are then read with
 *    cmdline_has_flag() and cmdline_operands(), which know that some
 *    options take the next word as their value (struct cmd_valopts):
 *    `kubectl -n prod delete ns x` has operands "delete ns x" once -n is
 *    declared to take a value, "prod delete ns x" otherwise.
 *
 * 2. Text typed by a human (rule files, inline tests): cmdline_split()
 *    splits it into words like a POSIX shell without expansions.
 *
 * No allocation except in cmdline_init() (and cmdline_init_buf() past its
 * buffer); no I/O.  Words may hold any byte but NUL.
 */
#ifndef AW_CMDLINE_H
#define AW_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agentwatch.h"

/* A NUL-separated argv of AW_ARGV_MAX bytes holds at most this many words. */
#define CMDLINE_WORDS_MAX (AW_ARGV_MAX / 2 + 1)

enum cmdword_kind {
	CW_ARG0,        /* argv[0] */
	CW_SHORT,       /* "-x...", before the first "--" (also "-9", "-delete") */
	CW_LONG,        /* "--name" or "--name=value", before the first "--" */
	CW_DDASH,       /* the first "--": ends the options */
	CW_OPERAND,     /* anything else, "-" and everything after "--" */
};

struct cmdword {
	const char *p;  /* not NUL-terminated; points into the caller's argv */
	size_t n;
	enum cmdword_kind kind;
};

struct cmdline {
	struct cmdword *w;
	size_t n;
	size_t ddash;   /* index of the first "--", or n */
	bool w_heap;    /* w was allocated by cmdline_init() */
};

/*
 * Split a NUL-separated argv of len bytes (a final word without its NUL is
 * kept: that is what a truncated capture looks like).  Words past
 * CMDLINE_WORDS_MAX are dropped.  0 or -ENOMEM; c is always safe to
 * release.
 */
int cmdline_init(struct cmdline *c, const char *argv, size_t len);
/* The same, but the words go to buf when at most nbuf of them are present
 * (no allocation: the matcher's hot path); else as cmdline_init(). */
int cmdline_init_buf(struct cmdline *c, const char *argv, size_t len, struct cmdword *buf,
		     size_t nbuf);
void cmdline_release(struct cmdline *c);

/*
 * Options that take a value.  Each entry is written as in a rule file:
 * "-n" (a short option: in a cluster, the rest of the word or else the
 * next word is its value), "--namespace" (the next word, unless written
 * "--namespace=x"), or "-name" (a single-dash long option such as find's
 * "-name": the next word).  NULL or empty: no option takes a value.
 */
struct cmd_valopts {
	const char *const *v;
	size_t n;
	/* Optional, filled by cmd_valopts_prepare(): the short options that
	 * take a value, as a bitmap of their letters, and the lengths of all
	 * entries (bit 63: 63 bytes or more).  Most words are then ruled out
	 * without comparing them to each entry. */
	bool prepared;
	uint64_t shorts[4];
	uint64_t lens;
};

/* Fill in vo's bitmaps; vo->v must not change afterwards. */
void cmd_valopts_prepare(struct cmd_valopts *vo);

/*
 * A flag as a rule names it, parsed once by cmdline_flagspec_parse():
 *   "-x"        a short flag, found in any cluster ("-rf", "-fR");
 *   "--name"    "--name" or "--name=V" where V is not false/no/off/0;
 *   "-name"     a single-dash long flag ("-delete", "-auto-approve"),
 *               same value rule as "--name";
 *   any of those with "=GLOB": the flag with a value matching GLOB, given
 *               as "--name=V", "--name V", "-xV" or "-x V".
 */
enum flagspec_kind { FS_SHORT, FS_LONG, FS_SDLONG };

struct flagspec {
	enum flagspec_kind kind;
	char ch;                /* FS_SHORT */
	const char *name;       /* FS_LONG, FS_SDLONG: without dashes */
	size_t name_len;
	const char *value;      /* glob, or NULL */
};

/* 0, or -EINVAL when spec is not one of the forms above.  fs points into
 * spec, which must outlive it. */
int cmdline_flagspec_parse(const char *spec, struct flagspec *fs);

bool cmdline_has_flag(const struct cmdline *c, const struct cmd_valopts *vo,
		      const struct flagspec *fs);

/*
 * Write the indexes (into c->w) of the operands, in order, to idx (at most
 * max of them); returns how many there are in total.
 */
size_t cmdline_operands(const struct cmdline *c, const struct cmd_valopts *vo,
			size_t *idx, size_t max);

/* The words joined by single spaces, NUL-terminated, into out (truncated
 * to fit).  Returns the full length. */
size_t cmdline_join(const struct cmdline *c, char *out, size_t outlen);

/* "false", "no", "off" or "0", any case. */
bool cmdline_value_is_false(const char *p, size_t n);

/*
 * Shell-like splitting of one line of text.
 *   - words are separated by blanks (space, tab);
 *   - '...' is literal; "..." is literal except \" \\ \$ \` ;
 *   - outside quotes, \c is the character c;
 *   - adjacent pieces join ("a'b c'd" is one word);
 *   - an unquoted '#' at the start of a word starts a comment;
 *   - with mark_bars, an unquoted '|' is written as CMDLINE_BAR, so a
 *     quoted '|' stays literal when the caller splits alternatives.
 * out receives the words' bytes (never more than n), col[i] the 1-based
 * column in line of the byte that gave out[i]; both must hold n bytes/
 * entries.  Words are (off, len, col) into out.  Returns the number of
 * words, or -EINVAL with *err_col and *why set (unterminated quote, too
 * many words), -E2BIG past max words.
 */
#define CMDLINE_BAR '\x01'

struct shword {
	size_t off, len;
	size_t col;     /* column of the word's first byte in line */
};

int cmdline_split(const char *line, size_t n, bool mark_bars, char *out, uint32_t *col,
		  struct shword *w, size_t max, size_t *err_col, const char **why);

#endif /* AW_CMDLINE_H */
