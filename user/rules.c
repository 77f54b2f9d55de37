// SPDX-License-Identifier: GPL-2.0
/*
 * Rule files: reader and parser.  The language is documented in
 * rules/README.md; the matcher is in rules_match.c.
 *
 * A load parses into a scratch set that can see the lists and ids already
 * loaded, and is appended to the real set only when every file parsed and
 * the new index is built: nothing half-loads.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "relit.h"
#include "rules_impl.h"
#include "util.h"

#define LINE_WORDS_MAX 512

/* ---- names -------------------------------------------------------------- */

static const char *const action_names[] = {
	[RA_NONE] = "allow", [RA_LOG] = "log", [RA_ALERT] = "alert", [RA_PAUSE] = "pause",
	[RA_DENY] = "deny", [RA_KILL] = "kill", [RA_FREEZE] = "freeze",
	[RA_KILL_SESSION] = "kill-session",
};

const char *rule_action_name(enum rule_action a)
{
	return (unsigned)a < sizeof(action_names) / sizeof(action_names[0]) ? action_names[a] : "?";
}

const char *rule_mode_name(enum rule_mode m)
{
	return m == RM_MONITOR ? "monitor" : m == RM_ENFORCE ? "enforce" : "default";
}

static const char *const severities[] = { "info", "low", "medium", "high", "critical" };

static const char *const kind_names[] = { [RK_EXEC] = "exec", [RK_NET] = "net", [RK_FILE] = "file" };

struct pred_def {
	const char *name;
	enum pred_kind kind;
	unsigned kinds;         /* bit per enum rule_kind where it is allowed */
	bool negatable;
};

#define K_EXEC (1u << RK_EXEC)
#define K_NET  (1u << RK_NET)
#define K_FILE (1u << RK_FILE)

static const struct pred_def pred_defs[] = {
	{ "binary", P_BINARY, K_EXEC | K_NET | K_FILE, true },
	{ "agent", P_AGENT, K_EXEC | K_NET | K_FILE, true },
	{ "parent", P_PARENT, K_EXEC, true },
	{ "ancestor", P_ANCESTOR, K_EXEC, true },
	{ "env", P_ENV, K_EXEC, true },
	{ "subcommand", P_SUBCMD, K_EXEC, true },
	{ "flag", P_FLAG, K_EXEC, true },
	{ "arg", P_ARG, K_EXEC, true },
	{ "regex", P_REGEX, K_EXEC, true },
	{ "iregex", P_REGEX, K_EXEC, true },
	{ "target", P_TARGET, K_EXEC | K_FILE, true },
	{ "op", P_OP, K_FILE, true },
	{ "dest", P_DEST, K_NET, true },
	{ "port", P_PORT, K_NET, true },
	{ "proto", P_PROTO, K_NET, true },
	{ "rate", P_RATE, K_EXEC | K_NET | K_FILE, false },
};

static const struct { const char *name; uint32_t ops; } op_names[] = {
	{ "unlink", (1u << AW_FILE_UNLINK) | (1u << AW_FILE_UNLINKAT) },
	{ "unlinkat", 1u << AW_FILE_UNLINKAT },
	{ "rmdir", 1u << AW_FILE_RMDIR },
	{ "rename", (1u << AW_FILE_RENAME) | (1u << AW_FILE_RENAMEAT) | (1u << AW_FILE_RENAMEAT2) },
	{ "renameat", 1u << AW_FILE_RENAMEAT },
	{ "renameat2", 1u << AW_FILE_RENAMEAT2 },
	{ "truncate", 1u << AW_FILE_TRUNCATE },
	{ "open_trunc", 1u << AW_FILE_OPEN_TRUNC },
	{ "delete", (1u << AW_FILE_UNLINK) | (1u << AW_FILE_UNLINKAT) | (1u << AW_FILE_RMDIR) },
	{ "write", (1u << AW_FILE_TRUNCATE) | (1u << AW_FILE_OPEN_TRUNC) },
	{ "any", ((1u << AW_FILE_OP_MAX) - 1) & ~1u },
};

static const struct { const char *name; int proto; } proto_names[] = {
	{ "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmpv6", 58 }, { "sctp", 132 },
};

static const char *const placeholders[] = {
	"agent", "cmdline", "target", "workspace", "cwd", "binary", "rule",
};

/* ---- small helpers ------------------------------------------------------ */

static char *dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *fmt_alloc(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

bool glob_has_magic(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/* fnmatch(3) syntax check, so a typo is an error instead of a pattern that
 * silently matches a literal '['.  Offset of the problem, or -1. */
static long glob_check(const char *p, const char **why)
{
	size_t i, j, n = strlen(p);

	for (i = 0; i < n; i++) {
		if (p[i] == '\\') {
			if (i + 1 == n) {
				*why = "trailing backslash in pattern";
				return i;
			}
			i++;
			continue;
		}
		if (p[i] != '[')
			continue;
		j = i + 1;
		if (j < n && (p[j] == '!' || p[j] == '^'))
			j++;
		if (j < n && p[j] == ']')
			j++;
		while (j < n && p[j] != ']')
			j++;
		if (j == n) {
			*why = "unterminated '[' in pattern";
			return i;
		}
		i = j;
	}
	return -1;
}

/* Bytes a string matching glob must have at least: literals and '?'. */
static size_t glob_min_len(const char *p)
{
	size_t n = 0;

	while (*p) {
		if (*p == '*') {
			p++;
			continue;
		}
		if (*p == '[') {
			p++;
			if (*p == '!' || *p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']')
				p++;
			if (*p)
				p++;
			n++;
			continue;
		}
		if (*p == '\\' && p[1])
			p++;
		n++;
		p++;
	}
	return n;
}

enum rule_mode rule_effective_mode(const struct ruleset *rs, const struct rule *r)
{
	if (r->mode != RM_DEFAULT)
		return r->mode;
	return rs->mode == RM_MONITOR ? RM_MONITOR : RM_ENFORCE;
}

/* ---- release ------------------------------------------------------------ */

static void altv_release(struct altv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->v[i].s);
		free(a->v[i].env_value);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static void pred_release(struct pred *p)
{
	size_t i;

	altv_release(&p->alts);
	for (i = 0; i < p->n_words; i++)
		altv_release(&p->words[i]);
	if (p->re) {
		regfree(p->re);
		free(p->re);
	}
	free(p->re_lits);
	free(p->cidrs);
	free(p->ports);
	memset(p, 0, sizeof(*p));
}

static void rtest_release(struct rtest *t)
{
	size_t i;

	free(t->origin);
	free(t->text);
	free(t->argv);
	free(t->env);
	free(t->cwd);
	free(t->workspace);
	free(t->agent);
	free(t->exe);
	free(t->filename);
	for (i = 0; i < t->n_anc; i++)
		free(t->anc[i]);
	free(t->path);
	free(t->path2);
	memset(t, 0, sizeof(*t));
}

void rule_release(struct rule *r)
{
	size_t i;

	for (i = 0; i < r->n_preds; i++)
		pred_release(&r->preds[i]);
	free(r->preds);
	for (i = 0; i < r->n_valopts; i++)
		free(r->valopts[i]);
	free(r->valopts);
	for (i = 0; i < r->n_tests; i++)
		rtest_release(&r->tests[i]);
	free(r->tests);
	free(r->message);
	free(r->origin);
	memset(r, 0, sizeof(*r));
}

static void list_release(struct rlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	free(l->name);
	free(l->origin);
}

/* Free everything a set owns, leaving it empty. */
static void set_release(struct ruleset *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		rule_release(&rs->v[i]);
	free(rs->v);
	for (i = 0; i < rs->n_lists; i++)
		list_release(&rs->lists[i]);
	free(rs->lists);
	free(rs->workspace);
	free(rs->mode_origin);
	free(rs->workspace_origin);
	free(rs->idx);
	free(rs->unidx);
	free(rs->slots);
	memset(rs, 0, sizeof(*rs));
}

struct ruleset *ruleset__new(void)
{
	return calloc(1, sizeof(struct ruleset));
}

void ruleset__free(struct ruleset *rs)
{
	if (!rs)
		return;
	set_release(rs);
	free(rs);
}

size_t ruleset__count(const struct ruleset *rs)
{
	return rs ? rs->n : 0;
}

size_t ruleset__test_count(const struct ruleset *rs)
{
	return rs ? rs->n_tests : 0;
}

enum rule_mode ruleset__mode(const struct ruleset *rs)
{
	return rs ? rs->mode : RM_DEFAULT;
}

const char *ruleset__workspace(const struct ruleset *rs)
{
	return rs ? rs->workspace : NULL;
}

/* ---- parser state ------------------------------------------------------- */

struct parser {
	const struct ruleset *base;     /* what is loaded already */
	struct ruleset *tmp;            /* what this load adds */
	const char *path;
	uint32_t line;
	struct rule *cur;               /* rule being read, in tmp->v */
	/* the current line, split */
	char buf[RULES_LINE_MAX];
	uint32_t colmap[RULES_LINE_MAX];
	struct shword w[LINE_WORDS_MAX];
	size_t nw;
	/* error */
	uint32_t err_line;              /* 0: the current line */
	size_t err_col;
	char msg[320];
};

static int perr(struct parser *P, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *P, size_t col, const char *fmt, ...)
{
	va_list ap;

	P->err_col = col;
	va_start(ap, fmt);
	vsnprintf(P->msg, sizeof(P->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Column of byte k of word i. */
static size_t wcol(const struct parser *P, size_t i, size_t k)
{
	const struct shword *w = &P->w[i];

	if (k < w->len)
		return P->colmap[w->off + k];
	return w->len ? P->colmap[w->off + w->len - 1] + 1 : w->col;
}

static bool weq(const struct parser *P, size_t i, const char *s)
{
	return i < P->nw && P->w[i].len == strlen(s) && memcmp(P->buf + P->w[i].off, s, P->w[i].len) == 0;
}

/* Word i as a new C string, with '|' restored. */
static char *wdup(const struct parser *P, size_t i)
{
	char *s = dupn(P->buf + P->w[i].off, P->w[i].len);
	char *q;

	for (q = s; q && *q; q++)
		if (*q == CMDLINE_BAR)
			*q = '|';
	return s;
}

/* A word as it may appear in an error message: bounded and printable. */
static const char *shown(const struct parser *P, size_t i, char *buf, size_t len)
{
	const char *p = P->buf + P->w[i].off;
	size_t k, n = P->w[i].len < len - 4 ? P->w[i].len : len - 4;

	for (k = 0; k < n; k++)
		buf[k] = p[k] == CMDLINE_BAR ? '|' : (p[k] >= 0x20 && p[k] < 0x7f) ? p[k] : '?';
	if (n < P->w[i].len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static const struct rlist *list_find(const struct parser *P, const char *name, size_t n)
{
	const struct ruleset *sets[2] = { P->tmp, P->base };
	size_t s, i;

	for (s = 0; s < 2; s++)
		for (i = 0; i < sets[s]->n_lists; i++) {
			const struct rlist *l = &sets[s]->lists[i];

			if (strlen(l->name) == n && memcmp(l->name, name, n) == 0)
				return l;
		}
	return NULL;
}

static const struct rule *rule_find(const struct parser *P, const char *id)
{
	const struct ruleset *sets[2] = { P->tmp, P->base };
	size_t s, i;

	for (s = 0; s < 2; s++)
		for (i = 0; i < sets[s]->n; i++)
			if (strcmp(sets[s]->v[i].id, id) == 0)
				return &sets[s]->v[i];
	return NULL;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static int check_name(struct parser *P, size_t wi, const char *what)
{
	const struct shword *w = &P->w[wi];
	size_t k;

	if (w->len == 0 || w->len > RULE_ID_MAX)
		return perr(P, w->col, "expected a %s of 1 to %d characters", what, RULE_ID_MAX);
	for (k = 0; k < w->len; k++)
		if (!name_char(P->buf[w->off + k]))
			return perr(P, wcol(P, wi, k), "expected a %s made of letters, digits, '.', '_' and '-'",
				    what);
	return 0;
}

/* ---- alternatives ------------------------------------------------------- */

static int altv_push(struct parser *P, struct altv *a, const char *s, size_t n, uint32_t col)
{
	struct alt *nv;

	if (a->n >= RULE_ALTS_MAX)
		return perr(P, col, "more than %d alternatives", RULE_ALTS_MAX);
	nv = realloc(a->v, (a->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	a->v = nv;
	memset(&a->v[a->n], 0, sizeof(a->v[0]));
	a->v[a->n].s = dupn(s, n);
	if (!a->v[a->n].s)
		return -ENOMEM;
	a->v[a->n].col = col;
	a->v[a->n].len = n;
	a->v[a->n].magic = glob_has_magic(a->v[a->n].s);
	a->n++;
	return 0;
}

/*
 * Split word wi of the line on unquoted '|' into a, expanding @list
 * references.  An empty alternative is an error: "a||b" is a typo, and
 * an empty glob would only match an empty word.
 */
static int split_alts(struct parser *P, size_t wi, struct altv *a)
{
	const struct shword *w = &P->w[wi];
	const char *p = P->buf + w->off;
	size_t start = 0, k;
	int err;

	for (k = 0; k <= w->len; k++) {
		size_t n = k - start;
		uint32_t col = wcol(P, wi, start);

		if (k < w->len && p[k] != CMDLINE_BAR)
			continue;
		if (n == 0)
			return perr(P, col, "expected a value (empty alternative)");
		if (p[start] == '@') {
			const struct rlist *l = list_find(P, p + start + 1, n - 1);
			size_t i;

			if (!l) {
				char nm[64];

				snprintf(nm, sizeof(nm), "%.*s", (int)(n - 1 > 60 ? 60 : n - 1), p + start + 1);
				return perr(P, col, "expected a defined list: '@%s' is not defined above", nm);
			}
			for (i = 0; i < l->n; i++)
				if ((err = altv_push(P, a, l->items[i], strlen(l->items[i]), col)))
					return err;
		} else if ((err = altv_push(P, a, p + start, n, col))) {
			return err;
		}
		start = k + 1;
	}
	return 0;
}

static int check_globs(struct parser *P, const struct altv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		const char *why = NULL;
		long at = glob_check(a->v[i].s, &why);

		if (at >= 0)
			return perr(P, a->v[i].col + at, "%s", why);
	}
	return 0;
}

/* One value word with alternatives, as the only argument. */
static int one_arg(struct parser *P, size_t first, const char *what)
{
	char sb[48];

	if (P->nw <= first)
		return perr(P, wcol(P, first - 1, P->w[first - 1].len), "expected %s", what);
	if (P->nw > first + 1)
		return perr(P, P->w[first + 1].col,
			    "expected end of line after %s, got '%s' (join alternatives with '|')",
			    what, shown(P, first + 1, sb, sizeof(sb)));
	return 0;
}

/* ---- predicates --------------------------------------------------------- */

static int parse_binary_like(struct parser *P, struct pred *pr, size_t wi, bool is_binary)
{
	size_t i;
	int err;

	if ((err = one_arg(P, wi, "a binary name or absolute path (glob)")) ||
	    (err = split_alts(P, wi, &pr->alts)) || (err = check_globs(P, &pr->alts)))
		return err;
	for (i = 0; i < pr->alts.n; i++) {
		struct alt *a = &pr->alts.v[i];
		const char *base = strrchr(a->s, '/');

		if (base && a->s[0] != '/')
			return perr(P, a->col, "expected a basename or an absolute path, got a relative path");
		base = base ? base + 1 : a->s;
		if (!*base)
			return perr(P, a->col, "expected a binary, not a directory (trailing '/')");
		if (strlen(a->s) >= AW_PATH_MAX)
			return perr(P, a->col, "path longer than %d bytes can never match", AW_PATH_MAX - 1);
		if (glob_min_len(base) > BASENAME_MAX)
			return perr(P, a->col + (base - a->s),
				    "basename longer than %d bytes can never match", BASENAME_MAX);
		if (is_binary && !glob_has_magic(base))
			a->literal = base;
	}
	return 0;
}

static int parse_globs(struct parser *P, struct pred *pr, size_t wi, const char *what)
{
	int err;

	if ((err = one_arg(P, wi, what)) || (err = split_alts(P, wi, &pr->alts)) ||
	    (err = check_globs(P, &pr->alts)))
		return err;
	return 0;
}

static int parse_args(struct parser *P, struct pred *pr, size_t wi)
{
	size_t i;
	int err = parse_globs(P, pr, wi, "an argument glob");

	for (i = 0; !err && i < pr->alts.n; i++)
		if (glob_min_len(pr->alts.v[i].s) >= AW_ARGV_MAX)
			return perr(P, pr->alts.v[i].col,
				    "argument longer than the %d bytes of argv captured can never match",
				    AW_ARGV_MAX);
	return err;
}

static int parse_subcmd(struct parser *P, struct pred *pr, size_t wi)
{
	int err;

	if (P->nw <= wi)
		return perr(P, wcol(P, wi - 1, P->w[wi - 1].len), "expected subcommand words");
	for (; wi < P->nw; wi++) {
		if (pr->n_words == RULE_WORDS_MAX)
			return perr(P, P->w[wi].col, "more than %d subcommand words", RULE_WORDS_MAX);
		/* Counted first, so that pred_release frees a half-built word. */
		pr->n_words++;
		if ((err = split_alts(P, wi, &pr->words[pr->n_words - 1])) ||
		    (err = check_globs(P, &pr->words[pr->n_words - 1])))
			return err;
	}
	return 0;
}

static int parse_flags(struct parser *P, struct pred *pr, size_t wi)
{
	size_t i;
	int err = 0;

	if ((err = one_arg(P, wi, "a flag such as -r, --force or -delete")) ||
	    (err = split_alts(P, wi, &pr->alts)))
		return err;
	for (i = 0; i < pr->alts.n; i++) {
		struct alt *a = &pr->alts.v[i];
		const char *why = NULL;
		long at;

		if (cmdline_flagspec_parse(a->s, &a->fs))
			return perr(P, a->col, "expected a flag such as -r, --force, -delete or --name=VALUE");
		if (a->fs.value && (at = glob_check(a->fs.value, &why)) >= 0)
			return perr(P, a->col + (a->fs.value - a->s) + at, "%s", why);
	}
	return 0;
}

static int parse_regex(struct parser *P, struct pred *pr, size_t wi, bool icase)
{
	char *src;
	int rc, err;

	if ((err = one_arg(P, wi, "a regular expression (quote it if it has blanks)")))
		return err;
	src = wdup(P, wi);
	pr->re = calloc(1, sizeof(*pr->re));
	if (!src || !pr->re) {
		free(src);
		return -ENOMEM;
	}
	if (!*src) {
		free(src);
		free(pr->re);
		pr->re = NULL;
		return perr(P, P->w[wi].col, "expected a regular expression, got an empty one");
	}
	rc = regcomp(pr->re, src, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
	if (rc) {
		char why[128];

		free(src);
		regerror(rc, pr->re, why, sizeof(why));
		free(pr->re);
		pr->re = NULL;
		return perr(P, P->w[wi].col, "expected a POSIX extended regular expression: %s", why);
	}
	/* Literals every match contains: most command lines have none of
	 * them, and a search for them costs far less than regexec. */
	pr->re_icase = icase;
	{
		char lits[1024];
		size_t len = 0;

		if (relit_extract(src, lits, sizeof(lits))) {
			while (lits[len])
				len += strlen(lits + len) + 1;
			pr->re_lits = malloc(len + 1);
			if (pr->re_lits)
				memcpy(pr->re_lits, lits, len + 1);
		}
	}
	free(src);
	return 0;
}

/*
 * How the matcher can compare a path (or the part of a "~" path after
 * the '~', which is "" or starts with '/') against normalized paths.
 */
enum path_form path_form_of(const char *s)
{
	bool magic = false;
	const char *p;

	if (!s[0])
		return PF_LITERAL;
	if (s[0] != '/' || !s[1])
		return PF_GLOB;         /* "/" has its own rule in the matcher */
	for (p = s; *p; p++) {
		if (*p == '[' || *p == '\\' || (*p == '/' && (p[1] == '/' || !p[1])))
			return PF_GLOB;
		magic = magic || *p == '*' || *p == '?';
	}
	return magic ? PF_SIMPLE : PF_LITERAL;
}

/* "~" and "~/x" stay as written (expanded at match time); anything else
 * must be absolute and is normalized ("/home/" -> "/home"). */
static int parse_target(struct parser *P, struct pred *pr, size_t wi)
{
	char sb[48];
	size_t i;
	int err;

	if (weq(P, wi, "outside-workspace") || weq(P, wi, "inside-workspace")) {
		pr->tk = weq(P, wi, "inside-workspace") ? TK_INSIDE_WS : TK_OUTSIDE_WS;
		if (P->nw > wi + 1)
			return perr(P, P->w[wi + 1].col, "expected end of line after %s",
				    shown(P, wi, sb, sizeof(sb)));
		return 0;
	}
	if (weq(P, wi, "equal"))
		pr->tk = TK_EQUAL;
	else if (weq(P, wi, "under"))
		pr->tk = TK_UNDER;
	else if (wi < P->nw)
		return perr(P, P->w[wi].col, "expected equal, under, outside-workspace or "
			    "inside-workspace, got '%s'", shown(P, wi, sb, sizeof(sb)));
	else
		return perr(P, wcol(P, wi - 1, P->w[wi - 1].len),
			    "expected equal, under, outside-workspace or inside-workspace");
	if ((err = parse_globs(P, pr, wi + 1, "a path (absolute, or ~/...)")))
		return err;
	for (i = 0; i < pr->alts.n; i++) {
		struct alt *a = &pr->alts.v[i];
		char norm[AW_PATH_MAX];

		if (a->s[0] == '~' && (a->s[1] == '\0' || a->s[1] == '/'))
			continue;
		if (a->s[0] != '/')
			return perr(P, a->col, "expected an absolute path or ~/..., got '%.40s'", a->s);
		if (path_join_normalize(NULL, a->s, norm, sizeof(norm)) < 0)
			return perr(P, a->col, "path longer than %d bytes can never match", AW_PATH_MAX - 1);
		if (strlen(norm) < strlen(a->s))
			strcpy(a->s, norm);
	}
	for (i = 0; i < pr->alts.n; i++) {
		struct alt *a = &pr->alts.v[i];
		const char *p = a->s[0] == '~' ? a->s + 1 : a->s;
		bool t = a->s[0] == '~';

		a->pform = path_form_of(p);
		a->plen = strlen(p);
		pr->ttilde = pr->ttilde || t;
		if (a->pform == PF_GLOB)
			pr->tglob = true;
		else if (!p[0] || p[1] == '*' || p[1] == '?')
			pr->tany[t] = true;
		else
			pr->tfirst[t][(unsigned char)p[1] / 64] |= 1ull << ((unsigned char)p[1] % 64);
	}
	return 0;
}

static bool env_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static int parse_env(struct parser *P, struct pred *pr, size_t wi)
{
	size_t i;
	int err;

	if ((err = parse_globs(P, pr, wi, "NAME=GLOB")))
		return err;
	for (i = 0; i < pr->alts.n; i++) {
		struct alt *a = &pr->alts.v[i];
		char *eq = strchr(a->s, '=');

		if (!eq)
			return perr(P, a->col + strlen(a->s), "expected '=' in NAME=GLOB");
		if (!env_name_ok(a->s, eq - a->s))
			return perr(P, a->col, "expected a variable name (letters, digits, '_') before '='");
		a->env_value = strdup(eq + 1);
		if (!a->env_value)
			return -ENOMEM;
		*eq = '\0';
	}
	return 0;
}

static int parse_cidr(const char *s, struct cidr *c, const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hn = slash ? (size_t)(slash - s) : strlen(s);
	int max, i;

	memset(c, 0, sizeof(*c));
	*why = "expected an IPv4 or IPv6 address, optionally /PREFIX";
	if (hn == 0 || hn >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hn);
	host[hn] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	c->plen = max;
	if (slash) {
		char *end;
		long v;

		errno = 0;
		v = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || v < 0 || v > max || slash[1] == '+' || slash[1] == '-') {
			*why = max == 32 ? "expected a prefix length from 0 to 32" :
					   "expected a prefix length from 0 to 128";
			return -EINVAL;
		}
		c->plen = (int)v;
	}
	for (i = c->plen; i < max; i++) {
		if (c->addr[i / 8] & (0x80 >> (i % 8))) {
			*why = "expected a network address: host bits are set past the prefix length";
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_dest(struct parser *P, struct pred *pr, size_t wi)
{
	size_t i;
	int err;

	if ((err = one_arg(P, wi, "an address or CIDR")) || (err = split_alts(P, wi, &pr->alts)))
		return err;
	pr->cidrs = calloc(pr->alts.n, sizeof(*pr->cidrs));
	if (!pr->cidrs)
		return -ENOMEM;
	for (i = 0; i < pr->alts.n; i++) {
		const char *why;

		if (parse_cidr(pr->alts.v[i].s, &pr->cidrs[i], &why))
			return perr(P, pr->alts.v[i].col, "%s", why);
	}
	pr->n_cidrs = pr->alts.n;
	return 0;
}

static int parse_port_num(const char *s, size_t n, long *v)
{
	size_t i;

	if (n == 0 || n > 5)
		return -EINVAL;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		*v = *v * 10 + (s[i] - '0');
	}
	return *v > 65535 ? -EINVAL : 0;
}

static int parse_port(struct parser *P, struct pred *pr, size_t wi)
{
	size_t i;
	int err;

	if ((err = one_arg(P, wi, "a port or port range")) || (err = split_alts(P, wi, &pr->alts)))
		return err;
	pr->ports = calloc(pr->alts.n, sizeof(*pr->ports));
	if (!pr->ports)
		return -ENOMEM;
	for (i = 0; i < pr->alts.n; i++) {
		const char *s = pr->alts.v[i].s, *dash = strchr(s, '-');
		long lo, hi;

		if (parse_port_num(s, dash ? (size_t)(dash - s) : strlen(s), &lo) ||
		    (dash && parse_port_num(dash + 1, strlen(dash + 1), &hi)))
			return perr(P, pr->alts.v[i].col, "expected a port (0-65535) or a range LOW-HIGH");
		if (!dash)
			hi = lo;
		if (lo > hi)
			return perr(P, pr->alts.v[i].col, "expected LOW-HIGH with LOW <= HIGH (empty range)");
		pr->ports[i] = (struct prange){ (uint16_t)lo, (uint16_t)hi };
	}
	pr->n_ports = pr->alts.n;
	return 0;
}

static int parse_proto(struct parser *P, struct pred *pr, size_t wi)
{
	size_t i, k;
	int err;

	if ((err = one_arg(P, wi, "a protocol")) || (err = split_alts(P, wi, &pr->alts)))
		return err;
	for (i = 0; i < pr->alts.n; i++) {
		for (k = 0; k < sizeof(proto_names) / sizeof(proto_names[0]); k++)
			if (strcmp(pr->alts.v[i].s, proto_names[k].name) == 0)
				break;
		if (k == sizeof(proto_names) / sizeof(proto_names[0]))
			return perr(P, pr->alts.v[i].col, "expected tcp, udp, icmp, icmpv6 or sctp");
		if (pr->n_protos == sizeof(pr->protos) / sizeof(pr->protos[0]))
			return perr(P, pr->alts.v[i].col, "too many protocols");
		pr->protos[pr->n_protos++] = proto_names[k].proto;
	}
	return 0;
}

static int op_lookup(const char *s, uint32_t *ops)
{
	size_t k;

	for (k = 0; k < sizeof(op_names) / sizeof(op_names[0]); k++)
		if (strcmp(s, op_names[k].name) == 0) {
			*ops = op_names[k].ops;
			return 0;
		}
	return -EINVAL;
}

static int parse_op(struct parser *P, struct pred *pr, size_t wi)
{
	size_t i;
	int err;

	if ((err = one_arg(P, wi, "a file operation")) || (err = split_alts(P, wi, &pr->alts)))
		return err;
	for (i = 0; i < pr->alts.n; i++) {
		uint32_t ops;

		if (op_lookup(pr->alts.v[i].s, &ops))
			return perr(P, pr->alts.v[i].col, "expected unlink, unlinkat, rmdir, rename, "
				    "renameat, renameat2, truncate, open_trunc, delete, write or any");
		pr->ops |= ops;
	}
	return 0;
}

/* "10s", "500ms", "5m", "1h" into ns. */
static int parse_duration(const char *s, uint64_t *ns)
{
	uint64_t v = 0, unit;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > 1000000000ull)
			return -ERANGE;
	}
	if (strcmp(p, "ms") == 0)
		unit = 1000000ull;
	else if (strcmp(p, "s") == 0)
		unit = 1000000000ull;
	else if (strcmp(p, "m") == 0)
		unit = 60000000000ull;
	else if (strcmp(p, "h") == 0)
		unit = 3600000000000ull;
	else
		return -EINVAL;
	if (v == 0 || v > UINT64_MAX / unit / 2)
		return -ERANGE;
	*ns = v * unit;
	return 0;
}

static int parse_rate(struct parser *P, struct pred *pr, size_t wi)
{
	char *s, *slash;
	unsigned long n;
	char *end;
	int err;

	if ((err = one_arg(P, wi, "N/DURATION, e.g. 20/10s")))
		return err;
	s = wdup(P, wi);
	if (!s)
		return -ENOMEM;
	slash = strchr(s, '/');
	errno = 0;
	n = strtoul(s, &end, 10);
	if (!slash || end != slash || s[0] < '0' || s[0] > '9' || errno || n == 0 || n > RATE_N_MAX)
		err = perr(P, P->w[wi].col, "expected N/DURATION with N from 1 to %d, e.g. 20/10s",
			   RATE_N_MAX);
	else if (parse_duration(slash + 1, &pr->rate_ns))
		err = perr(P, wcol(P, wi, slash + 1 - s),
			   "expected a duration such as 500ms, 10s, 5m or 1h");
	pr->rate_n = (uint32_t)n;
	free(s);
	return err;
}

static const struct pred_def *pred_lookup(const struct parser *P, size_t wi)
{
	size_t k;

	for (k = 0; k < sizeof(pred_defs) / sizeof(pred_defs[0]); k++)
		if (weq(P, wi, pred_defs[k].name))
			return &pred_defs[k];
	return NULL;
}

static int rule_push_pred(struct rule *r, struct pred *pr)
{
	struct pred *nv = realloc(r->preds, (r->n_preds + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	r->preds = nv;
	r->preds[r->n_preds++] = *pr;
	return 0;
}

static const char *kinds_text(unsigned kinds)
{
	switch (kinds) {
	case K_EXEC:
		return "exec";
	case K_NET:
		return "net";
	case K_FILE:
		return "file";
	case K_EXEC | K_FILE:
		return "exec and file";
	default:
		return "exec, net and file";
	}
}

static int parse_pred(struct parser *P, size_t wi, bool neg)
{
	const struct pred_def *d = pred_lookup(P, wi);
	struct rule *r = P->cur;
	struct pred pr = { 0 };
	char sb[48];
	size_t i;
	int err;

	if (!d)
		return perr(P, P->w[wi].col, "expected a predicate after 'not', got '%s'",
			    shown(P, wi, sb, sizeof(sb)));
	if (!(d->kinds & (1u << r->kind)))
		return perr(P, P->w[wi].col, "'%s' can never match in %s rule '%s' (it applies to %s "
			    "rules; set the kind with `rule ID on KIND`)", d->name,
			    kind_names[r->kind], r->id, kinds_text(d->kinds));
	if (neg && !d->negatable)
		return perr(P, P->w[wi - 1].col, "'%s' cannot be negated", d->name);
	if (r->n_preds >= RULE_PREDS_MAX)
		return perr(P, P->w[wi].col, "more than %d predicates in one rule", RULE_PREDS_MAX);
	if (d->kind == P_RATE)
		for (i = 0; i < r->n_preds; i++)
			if (r->preds[i].kind == P_RATE)
				return perr(P, P->w[wi].col, "expected one 'rate' per rule");
	pr.kind = d->kind;
	pr.neg = neg;
	pr.line = P->line;
	pr.col = P->w[neg ? wi - 1 : wi].col;
	switch (d->kind) {
	case P_BINARY:
		err = parse_binary_like(P, &pr, wi + 1, true);
		break;
	case P_PARENT:
	case P_ANCESTOR:
		err = parse_binary_like(P, &pr, wi + 1, false);
		break;
	case P_AGENT:
		err = parse_globs(P, &pr, wi + 1, "an agent name (glob)");
		break;
	case P_ENV:
		err = parse_env(P, &pr, wi + 1);
		break;
	case P_SUBCMD:
		err = parse_subcmd(P, &pr, wi + 1);
		break;
	case P_FLAG:
		err = parse_flags(P, &pr, wi + 1);
		break;
	case P_ARG:
		err = parse_args(P, &pr, wi + 1);
		break;
	case P_REGEX:
		err = parse_regex(P, &pr, wi + 1, weq(P, wi, "iregex"));
		break;
	case P_TARGET:
		err = parse_target(P, &pr, wi + 1);
		break;
	case P_OP:
		err = parse_op(P, &pr, wi + 1);
		break;
	case P_DEST:
		err = parse_dest(P, &pr, wi + 1);
		break;
	case P_PORT:
		err = parse_port(P, &pr, wi + 1);
		break;
	case P_PROTO:
		err = parse_proto(P, &pr, wi + 1);
		break;
	case P_RATE:
		err = parse_rate(P, &pr, wi + 1);
		break;
	default:
		err = -EINVAL;
	}
	if (!err)
		err = rule_push_pred(r, &pr);
	if (err)
		pred_release(&pr);
	return err;
}

/* ---- rule properties ---------------------------------------------------- */

static int parse_action_word(struct parser *P, size_t wi, enum rule_action *a)
{
	char sb[48];
	int k;

	for (k = RA_LOG; k <= RA_KILL_SESSION; k++)
		if (weq(P, wi, action_names[k])) {
			*a = k;
			return 0;
		}
	if (wi >= P->nw)
		return perr(P, wcol(P, wi - 1, P->w[wi - 1].len),
			    "expected an action: log, alert, pause, deny, kill, freeze or kill-session");
	return perr(P, P->w[wi].col, "expected an action: log, alert, pause, deny, kill, freeze or "
		    "kill-session, got '%s'", shown(P, wi, sb, sizeof(sb)));
}

static int parse_action(struct parser *P)
{
	struct rule *r = P->cur;
	size_t wi = 2;
	int err;

	if (r->has_action)
		return perr(P, P->w[0].col, "expected one 'action' per rule");
	if ((err = parse_action_word(P, 1, &r->action)))
		return err;
	if (r->kind == RK_NET && r->action == RA_PAUSE)
		return perr(P, P->w[1].col, "pause is not available for net rules (the kernel "
			    "answers connect() at once): expected log, alert, deny, kill, freeze or "
			    "kill-session");
	if (r->kind == RK_FILE && r->action == RA_DENY)
		return perr(P, P->w[1].col, "deny is not available for file rules (a syscall "
			    "tracepoint cannot fail the syscall): expected log, alert, pause, kill, "
			    "freeze or kill-session");
	r->has_action = true;
	r->timeout_s = 60;
	r->pause_default = RA_DENY;
	while (wi < P->nw) {
		char sb[48];

		if (r->action != RA_PAUSE)
			return perr(P, P->w[wi].col, "expected end of line: timeout and default apply "
				    "to pause only");
		if (weq(P, wi, "timeout") && wi + 1 < P->nw) {
			char *s = wdup(P, wi + 1);
			uint64_t ns = 0;
			int bad;

			if (!s)
				return -ENOMEM;
			bad = parse_duration(s, &ns) || ns % 1000000000ull || ns / 1000000000ull > 86400 * 7;
			free(s);
			if (bad)
				return perr(P, P->w[wi + 1].col, "expected a timeout in whole seconds, "
					    "minutes or hours (1s to 168h), e.g. 60s");
			r->timeout_s = (uint32_t)(ns / 1000000000ull);
			wi += 2;
		} else if (weq(P, wi, "default") && wi + 1 < P->nw) {
			if (weq(P, wi + 1, "allow"))
				r->pause_default = RA_NONE;
			else if (weq(P, wi + 1, "deny"))
				r->pause_default = RA_DENY;
			else if (weq(P, wi + 1, "kill"))
				r->pause_default = RA_KILL;
			else
				return perr(P, P->w[wi + 1].col, "expected allow, deny or kill");
			wi += 2;
		} else {
			return perr(P, P->w[wi].col, "expected 'timeout DURATION' or 'default "
				    "allow|deny|kill', got '%s'", shown(P, wi, sb, sizeof(sb)));
		}
	}
	return 0;
}

static int parse_severity(struct parser *P)
{
	size_t k;
	int err;

	if ((err = one_arg(P, 1, "a severity: info, low, medium, high or critical")))
		return err;
	for (k = 0; k < sizeof(severities) / sizeof(severities[0]); k++)
		if (weq(P, 1, severities[k])) {
			P->cur->severity = severities[k];
			return 0;
		}
	return perr(P, P->w[1].col, "expected a severity: info, low, medium, high or critical");
}

static int parse_mode_word(struct parser *P, size_t wi, enum rule_mode *m)
{
	int err;

	if ((err = one_arg(P, wi, "monitor or enforce")))
		return err;
	if (weq(P, wi, "monitor"))
		*m = RM_MONITOR;
	else if (weq(P, wi, "enforce"))
		*m = RM_ENFORCE;
	else
		return perr(P, P->w[wi].col, "expected monitor or enforce");
	return 0;
}

/* Placeholders are checked here, so rendering never meets an unknown one. */
static int parse_message(struct parser *P)
{
	const struct shword *w = &P->w[1];
	const char *p;
	size_t k, j;
	int err;

	if ((err = one_arg(P, 1, "a message (quote it)")))
		return err;
	if (P->cur->message)
		return perr(P, P->w[0].col, "expected one 'message' per rule");
	if (w->len >= RULE_MESSAGE_MAX)
		return perr(P, w->col, "message longer than %d bytes", RULE_MESSAGE_MAX - 1);
	p = P->buf + w->off;
	for (k = 0; k < w->len; k++) {
		if (p[k] == '}' && k + 1 < w->len && p[k + 1] == '}') {
			k++;
			continue;
		}
		if (p[k] == '}')
			return perr(P, wcol(P, 1, k), "unexpected '}' (write '}}' for a literal brace)");
		if (p[k] != '{')
			continue;
		if (k + 1 < w->len && p[k + 1] == '{') {
			k++;
			continue;
		}
		for (j = 0; j < sizeof(placeholders) / sizeof(placeholders[0]); j++) {
			size_t n = strlen(placeholders[j]);

			if (k + n + 1 < w->len && memcmp(p + k + 1, placeholders[j], n) == 0 &&
			    p[k + n + 1] == '}')
				break;
		}
		if (j == sizeof(placeholders) / sizeof(placeholders[0]))
			return perr(P, wcol(P, 1, k), "expected a placeholder: {agent}, {cmdline}, "
				    "{target}, {workspace}, {cwd}, {binary} or {rule} ('{{' for a brace)");
		k += strlen(placeholders[j]) + 1;
	}
	P->cur->message = wdup(P, 1);
	return P->cur->message ? 0 : -ENOMEM;
}

static int parse_valopts(struct parser *P)
{
	struct rule *r = P->cur;
	size_t wi;

	if (P->nw < 2)
		return perr(P, wcol(P, 0, P->w[0].len), "expected options such as -n --namespace");
	for (wi = 1; wi < P->nw; wi++) {
		struct flagspec fs;
		char *s = wdup(P, wi), **nv;

		if (!s)
			return -ENOMEM;
		if (cmdline_flagspec_parse(s, &fs) || fs.value || strchr(s, '|')) {
			free(s);
			return perr(P, P->w[wi].col, "expected an option such as -n, --namespace or -name");
		}
		if (r->n_valopts >= RULE_VALOPTS_MAX) {
			free(s);
			return perr(P, P->w[wi].col, "more than %d value options", RULE_VALOPTS_MAX);
		}
		nv = realloc(r->valopts, (r->n_valopts + 1) * sizeof(*nv));
		if (!nv) {
			free(s);
			return -ENOMEM;
		}
		r->valopts = nv;
		r->valopts[r->n_valopts++] = s;
	}
	return 0;
}

/* ---- inline tests ------------------------------------------------------- */

static int set_str(char **dst, const char *p, size_t n)
{
	free(*dst);
	*dst = dupn(p, n);
	return *dst ? 0 : -ENOMEM;
}

/* Append "s\0" to a NUL-separated buffer. */
static int buf_append(char **buf, size_t *len, const char *s, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);

	if (!nb)
		return -ENOMEM;
	memcpy(nb + *len, s, n);
	nb[*len + n] = '\0';
	*buf = nb;
	*len += n + 1;
	return 0;
}

static int test_kv_exec(struct parser *P, struct rtest *t, size_t wi, const char *key, size_t kn,
			const char *v, size_t vn, char **parent)
{
	size_t vcol = wcol(P, wi, kn + 1);

	if (kn == 3 && memcmp(key, "cwd", 3) == 0) {
		if (vn == 0 || v[0] != '/')
			return perr(P, vcol, "expected an absolute cwd");
		return set_str(&t->cwd, v, vn);
	}
	if (kn == 9 && memcmp(key, "workspace", 9) == 0) {
		if (vn == 0 || v[0] != '/')
			return perr(P, vcol, "expected an absolute workspace");
		return set_str(&t->workspace, v, vn);
	}
	if (kn == 3 && memcmp(key, "exe", 3) == 0) {
		if (vn == 0 || v[0] != '/')
			return perr(P, vcol, "expected an absolute exe path");
		return set_str(&t->exe, v, vn);
	}
	if (kn == 3 && memcmp(key, "env", 3) == 0) {
		const char *eq = memchr(v, '=', vn);
		size_t k, entries = 0;

		for (k = 0; k < t->env_len; k++)
			entries += t->env[k] == '\0';
		if (!eq || !env_name_ok(v, eq - v))
			return perr(P, vcol, "expected env=NAME=VALUE");
		if (entries >= TEST_ENV_MAX)
			return perr(P, P->w[wi].col, "more than %d env entries", TEST_ENV_MAX);
		return buf_append(&t->env, &t->env_len, v, vn);
	}
	if (kn == 6 && memcmp(key, "parent", 6) == 0)
		return set_str(parent, v, vn);
	if (kn == 8 && memcmp(key, "ancestor", 8) == 0) {
		if (t->n_anc + 1 >= TEST_ANC_MAX)
			return perr(P, P->w[wi].col, "more than %d ancestors", TEST_ANC_MAX - 1);
		return set_str(&t->anc[t->n_anc++], v, vn);
	}
	return perr(P, P->w[wi].col, "expected cwd=, workspace=, agent=, exe=, env=, parent=, "
		    "ancestor=, truncated or '--' before the command");
}

static int test_kv_net(struct parser *P, struct rtest *t, size_t wi, const char *key, size_t kn,
		       const char *v, size_t vn)
{
	size_t vcol = wcol(P, wi, kn + 1);
	char tmp[64];

	if (vn >= sizeof(tmp))
		return perr(P, vcol, "value too long");
	memcpy(tmp, v, vn);
	tmp[vn] = '\0';
	if (kn == 4 && memcmp(key, "addr", 4) == 0) {
		if (inet_pton(AF_INET, tmp, t->addr) == 1)
			t->family = AF_INET;
		else if (inet_pton(AF_INET6, tmp, t->addr) == 1)
			t->family = AF_INET6;
		else
			return perr(P, vcol, "expected an IPv4 or IPv6 address");
		return 0;
	}
	if (kn == 4 && memcmp(key, "port", 4) == 0) {
		long port;

		if (parse_port_num(tmp, vn, &port))
			return perr(P, vcol, "expected a port (0-65535)");
		t->port = (uint16_t)port;
		return 0;
	}
	if (kn == 5 && memcmp(key, "proto", 5) == 0) {
		size_t k;

		for (k = 0; k < sizeof(proto_names) / sizeof(proto_names[0]); k++)
			if (strcmp(tmp, proto_names[k].name) == 0) {
				t->proto = proto_names[k].proto;
				return 0;
			}
		return perr(P, vcol, "expected tcp, udp, icmp, icmpv6 or sctp");
	}
	return perr(P, P->w[wi].col, "expected addr=, port=, proto=, agent= or exe=");
}

static int test_kv_file(struct parser *P, struct rtest *t, size_t wi, const char *key, size_t kn,
			const char *v, size_t vn)
{
	size_t vcol = wcol(P, wi, kn + 1);

	if (kn == 2 && memcmp(key, "op", 2) == 0) {
		static const char *const ops[] = {
			[AW_FILE_UNLINK] = "unlink", [AW_FILE_UNLINKAT] = "unlinkat",
			[AW_FILE_RMDIR] = "rmdir", [AW_FILE_RENAME] = "rename",
			[AW_FILE_RENAMEAT] = "renameat", [AW_FILE_RENAMEAT2] = "renameat2",
			[AW_FILE_TRUNCATE] = "truncate", [AW_FILE_OPEN_TRUNC] = "open_trunc",
		};
		int k;

		for (k = 1; k < AW_FILE_OP_MAX; k++)
			if (strlen(ops[k]) == vn && memcmp(ops[k], v, vn) == 0) {
				t->op = k;
				return 0;
			}
		return perr(P, vcol, "expected one operation: unlink, unlinkat, rmdir, rename, "
			    "renameat, renameat2, truncate or open_trunc");
	}
	if ((kn == 4 && memcmp(key, "path", 4) == 0) || (kn == 5 && memcmp(key, "path2", 5) == 0))
		return set_str(kn == 4 ? &t->path : &t->path2, v, vn);
	if (kn == 3 && memcmp(key, "cwd", 3) == 0)
		return set_str(&t->cwd, v, vn);
	if (kn == 9 && memcmp(key, "workspace", 9) == 0)
		return set_str(&t->workspace, v, vn);
	return perr(P, P->w[wi].col, "expected op=, path=, path2=, cwd=, workspace=, agent= or exe=");
}

static int parse_test_words(struct parser *P, struct rtest *t, char **parent)
{
	struct rule *r = P->cur;
	size_t wi;
	int err;

	for (wi = 1; wi < P->nw; wi++) {
		const char *p = P->buf + P->w[wi].off, *eq;
		size_t n = P->w[wi].len, kn;

		if (r->kind == RK_EXEC && weq(P, wi, "--")) {
			if (wi + 1 >= P->nw)
				return perr(P, wcol(P, wi, n), "expected a command after '--'");
			for (wi++; wi < P->nw; wi++) {
				char *s = wdup(P, wi);

				if (!s)
					return -ENOMEM;
				err = buf_append(&t->argv, &t->argv_len, s, strlen(s));
				free(s);
				if (err)
					return err;
			}
			return 0;
		}
		if (r->kind == RK_EXEC && weq(P, wi, "truncated")) {
			t->truncated = true;
			continue;
		}
		eq = memchr(p, '=', n);
		if (!eq)
			return perr(P, P->w[wi].col, r->kind == RK_EXEC ?
				    "expected KEY=VALUE or '--' before the command" : "expected KEY=VALUE");
		kn = eq - p;
		if (memchr(p, CMDLINE_BAR, n)) {
			char *s = wdup(P, wi);

			if (!s)
				return -ENOMEM;
			memcpy(P->buf + P->w[wi].off, s, n);
			free(s);
		}
		if (kn == 5 && memcmp(p, "agent", 5) == 0)
			err = set_str(&t->agent, eq + 1, n - kn - 1);
		else if (kn == 3 && memcmp(p, "exe", 3) == 0 && r->kind != RK_EXEC)
			err = set_str(&t->exe, eq + 1, n - kn - 1);
		else if (r->kind == RK_EXEC)
			err = test_kv_exec(P, t, wi, p, kn, eq + 1, n - kn - 1, parent);
		else if (r->kind == RK_NET)
			err = test_kv_net(P, t, wi, p, kn, eq + 1, n - kn - 1);
		else
			err = test_kv_file(P, t, wi, p, kn, eq + 1, n - kn - 1);
		if (err)
			return err;
	}
	if (r->kind == RK_EXEC)
		return perr(P, wcol(P, P->nw - 1, P->w[P->nw - 1].len), "expected '--' and the command");
	if (r->kind == RK_NET && !t->family)
		return perr(P, wcol(P, P->nw - 1, P->w[P->nw - 1].len), "expected addr=ADDRESS");
	if (r->kind == RK_FILE && (!t->op || !t->path))
		return perr(P, wcol(P, P->nw - 1, P->w[P->nw - 1].len), "expected op=OP and path=PATH");
	return 0;
}

static int parse_test(struct parser *P, bool block)
{
	struct rule *r = P->cur;
	struct rtest t = { 0 }, *nv;
	char *parent = NULL;
	size_t i;
	int err;

	if (r->n_tests >= RULE_TESTS_MAX)
		return perr(P, P->w[0].col, "more than %d tests in one rule", RULE_TESTS_MAX);
	t.block = block;
	err = parse_test_words(P, &t, &parent);
	if (!err && parent) {
		/* parent first, then the other ancestors in the order given */
		for (i = t.n_anc; i > 0; i--)
			t.anc[i] = t.anc[i - 1];
		t.anc[0] = parent;
		t.n_anc++;
		parent = NULL;
	}
	free(parent);
	if (!err) {
		t.origin = fmt_alloc("%s:%u", P->path, P->line);
		if (!t.origin)
			err = -ENOMEM;
	}
	if (!err) {
		/* The words as the test runner reports them. */
		size_t k, pos = 0, cap = 1;

		for (k = 1; k < P->nw; k++)
			cap += P->w[k].len + 1;
		t.text = malloc(cap);
		if (!t.text)
			err = -ENOMEM;
		for (k = 1; !err && k < P->nw; k++) {
			size_t j;

			for (j = 0; j < P->w[k].len; j++) {
				char c = P->buf[P->w[k].off + j];

				t.text[pos++] = c == CMDLINE_BAR ? '|' :
						((unsigned char)c < 0x20 ? '?' : c);
			}
			t.text[pos++] = k + 1 < P->nw ? ' ' : '\0';
		}
		if (!err && pos == 0)
			t.text[0] = '\0';
	}
	if (!err) {
		nv = realloc(r->tests, (r->n_tests + 1) * sizeof(*nv));
		if (!nv)
			err = -ENOMEM;
		else
			r->tests = nv;
	}
	if (err) {
		rtest_release(&t);
		return err;
	}
	r->tests[r->n_tests++] = t;
	return 0;
}

/* ---- rules -------------------------------------------------------------- */

static int finish_err(struct parser *P, uint32_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int finish_err(struct parser *P, uint32_t line, size_t col, const char *fmt, ...)
{
	va_list ap;

	P->err_line = line;
	P->err_col = col;
	va_start(ap, fmt);
	vsnprintf(P->msg, sizeof(P->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool altv_has(const struct altv *a, const char *s)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].s, s) == 0)
			return true;
	return false;
}

/*
 * A positive predicate with one alternative and a negative one of the same
 * kind naming that same value can never both hold.
 */
static int check_contradiction(struct parser *P, const struct rule *r)
{
	size_t i, j;

	for (i = 0; i < r->n_preds; i++) {
		const struct pred *a = &r->preds[i];

		if (a->neg || a->alts.n != 1 || a->kind == P_REGEX || a->kind == P_SUBCMD)
			continue;
		for (j = 0; j < r->n_preds; j++) {
			const struct pred *b = &r->preds[j];

			if (b->neg && b->kind == a->kind && b->tk == a->tk &&
			    altv_has(&b->alts, a->alts.v[0].s) &&
			    (a->kind != P_ENV || strcmp(a->alts.v[0].env_value, b->alts.v[0].env_value) == 0))
				return finish_err(P, b->line, b->col, "rule '%s' can never match: it "
						  "requires and excludes '%s'", r->id, a->alts.v[0].s);
		}
	}
	return 0;
}

static int finish_rule(struct parser *P)
{
	struct rule *r = P->cur;
	const uint32_t line = (uint32_t)strtoul(strrchr(r->origin, ':') + 1, NULL, 10);
	const struct pred *bin = NULL;
	size_t i, j;
	int err;

	P->cur = NULL;
	if (!r->has_action)
		return finish_err(P, line, r->id_col, "rule '%s': expected an 'action' line", r->id);
	if (!r->n_preds)
		return finish_err(P, line, r->id_col, "rule '%s': expected at least one predicate "
				  "(binary, subcommand, flag, ...)", r->id);
	for (i = 0; i < r->n_preds && !bin; i++)
		if (r->preds[i].kind == P_BINARY && !r->preds[i].neg)
			bin = &r->preds[i];
	if (r->kind == RK_EXEC && r->action >= RA_PAUSE) {
		/* The kernel stops an exec only when its basename is gated. */
		if (!bin)
			return finish_err(P, line, r->id_col, "rule '%s': an exec rule with action %s "
					  "must have a 'binary' predicate (the kernel only stops "
					  "gated binaries)", r->id, rule_action_name(r->action));
		for (j = 0; j < bin->alts.n; j++) {
			const struct alt *a = &bin->alts.v[j];
			const char *base = path_basename(a->s);

			if (!a->literal)
				return finish_err(P, bin->line, a->col + (base - a->s), "rule '%s': an "
						  "enforcing rule needs literal basenames (the kernel "
						  "gates exact names), got '%s'", r->id, base);
			if (strlen(a->literal) > GATE_NAME_MAX)
				return finish_err(P, bin->line, a->col + (base - a->s), "rule '%s': "
						  "basename longer than %d bytes cannot be gated",
						  r->id, GATE_NAME_MAX);
		}
	}
	if ((err = check_contradiction(P, r)))
		return err;
	/* Stable sort by kind: cheap predicates first, subcommand before
	 * target (target operands start after the subcommand), rate last. */
	for (i = 1; i < r->n_preds; i++) {
		struct pred tmp = r->preds[i];

		for (j = i; j > 0 && r->preds[j - 1].kind > tmp.kind; j--)
			r->preds[j] = r->preds[j - 1];
		r->preds[j] = tmp;
	}
	if (!r->severity)
		r->severity = "medium";
	r->rate_key = fnv1a64(r->id, strlen(r->id));
	r->vo.v = (const char *const *)r->valopts;
	r->vo.n = r->n_valopts;
	cmd_valopts_prepare(&r->vo);
	return 0;
}

static bool same_valopts(const struct rule *a, const struct rule *b)
{
	size_t i;

	if (a->n_valopts != b->n_valopts || a->vo.lens != b->vo.lens)
		return false;
	for (i = 0; i < a->n_valopts; i++)
		if (strcmp(a->valopts[i], b->valopts[i]) != 0)
			return false;
	return true;
}

/*
 * Number the value-option lists of v[from..n): rules with equal lists get
 * the same id, so the matcher works out an exec's operands once for all
 * of them.  The id is the index of the first such rule, plus one.
 */
static void number_valopts(struct rule *v, size_t from, size_t n)
{
	size_t i, j;

	for (i = from; i < n; i++) {
		v[i].vo_id = (uint32_t)i + 1;
		for (j = 0; j < i && v[i].n_valopts; j++)
			if (v[j].n_valopts && same_valopts(&v[i], &v[j])) {
				v[i].vo_id = v[j].vo_id;
				break;
			}
	}
}

static int set_reserve(struct ruleset *rs, size_t more)
{
	size_t cap;
	struct rule *nv;

	if (rs->n + more <= rs->cap)
		return 0;
	cap = rs->cap ? rs->cap : 16;
	while (cap < rs->n + more)
		cap *= 2;
	nv = realloc(rs->v, cap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	rs->v = nv;
	rs->cap = cap;
	return 0;
}

static int parse_rule_line(struct parser *P)
{
	struct rule *r;
	char id[RULE_ID_MAX + 1];
	const struct rule *dup;
	enum rule_kind kind = RK_EXEC;
	char sb[48];
	int err;

	if (P->nw < 2)
		return perr(P, wcol(P, 0, P->w[0].len), "expected a rule id after 'rule'");
	if ((err = check_name(P, 1, "rule id")))
		return err;
	snprintf(id, sizeof(id), "%.*s", (int)P->w[1].len, P->buf + P->w[1].off);
	if (P->nw > 2) {
		if (!weq(P, 2, "on"))
			return perr(P, P->w[2].col, "expected 'on exec|net|file' or end of line, got '%s'",
				    shown(P, 2, sb, sizeof(sb)));
		if (weq(P, 3, "exec"))
			kind = RK_EXEC;
		else if (weq(P, 3, "net"))
			kind = RK_NET;
		else if (weq(P, 3, "file"))
			kind = RK_FILE;
		else
			return perr(P, P->nw > 3 ? P->w[3].col : wcol(P, 2, 2), "expected exec, net or file");
		if (P->nw > 4)
			return perr(P, P->w[4].col, "expected end of line");
	}
	dup = rule_find(P, id);
	if (dup)
		return perr(P, P->w[1].col, "duplicate rule id '%s' (first defined at %s)", id, dup->origin);
	if (P->base->n + P->tmp->n >= RULES_MAX)
		return perr(P, P->w[1].col, "more than %d rules", RULES_MAX);
	if ((err = set_reserve(P->tmp, 1)))
		return err;
	r = &P->tmp->v[P->tmp->n];
	memset(r, 0, sizeof(*r));
	memcpy(r->id, id, sizeof(id));
	r->kind = kind;
	r->id_col = P->w[1].col;
	r->origin = fmt_alloc("%s:%u", P->path, P->line);
	if (!r->origin)
		return -ENOMEM;
	P->tmp->n++;
	P->cur = r;
	return 0;
}

static int parse_list_line(struct parser *P)
{
	struct ruleset *t = P->tmp;
	struct altv items = { 0 };
	struct rlist *l, *nv;
	size_t wi, i;
	char name[RULE_ID_MAX + 1];
	int err = 0;

	if (P->nw < 2)
		return perr(P, wcol(P, 0, P->w[0].len), "expected a list name after 'list'");
	if ((err = check_name(P, 1, "list name")))
		return err;
	snprintf(name, sizeof(name), "%.*s", (int)P->w[1].len, P->buf + P->w[1].off);
	l = (struct rlist *)list_find(P, name, strlen(name));
	if (l)
		return perr(P, P->w[1].col, "duplicate list '%s' (first defined at %s)", name, l->origin);
	if (P->nw < 3)
		return perr(P, wcol(P, 1, P->w[1].len), "expected list items after the name");
	if (t->n_lists >= RULE_LISTS_MAX)
		return perr(P, P->w[1].col, "more than %d lists", RULE_LISTS_MAX);
	for (wi = 2; wi < P->nw && !err; wi++)
		err = split_alts(P, wi, &items);
	if (err) {
		altv_release(&items);
		return err;
	}
	if (t->n_lists == t->cap_lists) {
		size_t cap = t->cap_lists ? t->cap_lists * 2 : 16;

		nv = realloc(t->lists, cap * sizeof(*nv));
		if (!nv) {
			altv_release(&items);
			return -ENOMEM;
		}
		t->lists = nv;
		t->cap_lists = cap;
	}
	l = &t->lists[t->n_lists];
	memset(l, 0, sizeof(*l));
	l->name = strdup(name);
	l->origin = fmt_alloc("%s:%u", P->path, P->line);
	l->items = calloc(items.n, sizeof(*l->items));
	if (!l->name || !l->origin || !l->items) {
		list_release(l);
		altv_release(&items);
		return -ENOMEM;
	}
	for (i = 0; i < items.n; i++) {
		l->items[i] = items.v[i].s;     /* moved */
		items.v[i].s = NULL;
	}
	l->n = items.n;
	altv_release(&items);
	t->n_lists++;
	return 0;
}

static int parse_set_line(struct parser *P)
{
	struct ruleset *t = P->tmp;
	char sb[48];
	int err;

	if (weq(P, 1, "mode")) {
		if (t->mode_origin)
			return perr(P, P->w[1].col, "mode already set at %s", t->mode_origin);
		if ((err = parse_mode_word(P, 2, &t->mode)))
			return err;
		t->mode_origin = fmt_alloc("%s:%u", P->path, P->line);
		return t->mode_origin ? 0 : -ENOMEM;
	}
	if (weq(P, 1, "workspace")) {
		char norm[AW_PATH_MAX];

		if (t->workspace_origin)
			return perr(P, P->w[1].col, "workspace already set at %s", t->workspace_origin);
		if ((err = one_arg(P, 2, "an absolute path")))
			return err;
		if (P->buf[P->w[2].off] != '/' || memchr(P->buf + P->w[2].off, CMDLINE_BAR, P->w[2].len) ||
		    P->w[2].len >= AW_PATH_MAX)
			return perr(P, P->w[2].col, "expected an absolute path");
		{
			char *s = wdup(P, 2);

			if (!s)
				return -ENOMEM;
			err = path_join_normalize(NULL, s, norm, sizeof(norm)) < 0;
			free(s);
		}
		if (err)
			return perr(P, P->w[2].col, "expected an absolute path");
		t->workspace = strdup(norm);
		t->workspace_origin = fmt_alloc("%s:%u", P->path, P->line);
		return t->workspace && t->workspace_origin ? 0 : -ENOMEM;
	}
	if (P->nw < 2)
		return perr(P, wcol(P, 0, P->w[0].len), "expected mode or workspace after 'set'");
	return perr(P, P->w[1].col, "expected mode or workspace, got '%s'", shown(P, 1, sb, sizeof(sb)));
}

/* `links nofollow`: the command acts on a symbolic link operand itself
 * (rm, mv), so a link is not also judged by what it points to. */
static int parse_links(struct parser *P)
{
	int err;

	if ((err = one_arg(P, 1, "nofollow")))
		return err;
	if (!weq(P, 1, "nofollow"))
		return perr(P, P->w[1].col, "expected nofollow");
	if (P->cur->kind != RK_EXEC)
		return perr(P, P->w[0].col, "'links' can never matter in a %s rule (it is about "
			    "exec path operands)", P->cur->kind == RK_NET ? "net" : "file");
	if (P->cur->links_nofollow)
		return perr(P, P->w[0].col, "expected one 'links' per rule");
	P->cur->links_nofollow = true;
	return 0;
}

static int parse_property(struct parser *P)
{
	char sb[48];

	if (!P->cur)
		return perr(P, P->w[0].col, "expected 'rule', 'list' or 'set', got '%s'",
			    shown(P, 0, sb, sizeof(sb)));
	if (weq(P, 0, "action"))
		return parse_action(P);
	if (weq(P, 0, "severity"))
		return parse_severity(P);
	if (weq(P, 0, "message"))
		return parse_message(P);
	if (weq(P, 0, "mode")) {
		if (P->cur->mode != RM_DEFAULT)
			return perr(P, P->w[0].col, "expected one 'mode' per rule");
		return parse_mode_word(P, 1, &P->cur->mode);
	}
	if (weq(P, 0, "value-options"))
		return parse_valopts(P);
	if (weq(P, 0, "links"))
		return parse_links(P);
	if (weq(P, 0, "block") || weq(P, 0, "allow"))
		return parse_test(P, weq(P, 0, "block"));
	if (weq(P, 0, "not")) {
		if (P->nw < 2)
			return perr(P, wcol(P, 0, 3), "expected a predicate after 'not'");
		return parse_pred(P, 1, true);
	}
	if (pred_lookup(P, 0))
		return parse_pred(P, 0, false);
	return perr(P, P->w[0].col, "expected a rule property (action, severity, message, mode, "
		    "value-options, links, block, allow, not, or a predicate such as binary), got '%s'",
		    shown(P, 0, sb, sizeof(sb)));
}

static int parse_line(struct parser *P, const char *line, size_t n)
{
	const char *why = NULL;
	size_t k, ecol = 0;
	int r;

	if (n > RULES_LINE_MAX)
		return perr(P, RULES_LINE_MAX + 1, "line longer than %d bytes", RULES_LINE_MAX);
	if (n && line[n - 1] == '\r')
		n--;
	for (k = 0; k < n; k++) {
		unsigned char c = (unsigned char)line[k];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(P, k + 1, "unexpected control character 0x%02x", c);
	}
	r = cmdline_split(line, n, true, P->buf, P->colmap, P->w, LINE_WORDS_MAX, &ecol, &why);
	if (r < 0)
		return perr(P, ecol, "%s", why);
	P->nw = (size_t)r;
	if (P->nw == 0)
		return 0;
	if (weq(P, 0, "rule") || weq(P, 0, "list") || weq(P, 0, "set")) {
		if (P->cur && (r = finish_rule(P)))
			return r;
		if (weq(P, 0, "rule"))
			return parse_rule_line(P);
		if (weq(P, 0, "list"))
			return parse_list_line(P);
		return parse_set_line(P);
	}
	return parse_property(P);
}

/* Parse one file's text into P->tmp; on error err is set. */
static int parse_buffer(struct parser *P, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t pos = 0;
	int r = 0;

	P->line = 0;
	P->cur = NULL;
	while (pos < len && !r) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *nul = memchr(buf + pos, '\0', n);

		P->line++;
		P->err_line = 0;
		if (nul)
			r = perr(P, nul - (buf + pos) + 1, "unexpected NUL byte");
		else
			r = parse_line(P, buf + pos, n);
		pos += n + 1;
	}
	if (!r && P->cur)
		r = finish_rule(P);
	if (r == -EINVAL)
		err_fmt(err, errlen, "%s:%u:%zu: %s", P->path, P->err_line ? P->err_line : P->line,
			P->err_col, P->msg);
	else if (r)
		err_fmt(err, errlen, "%s:%u: %s", P->path, P->line, strerror(-r));
	return r;
}

/* ---- files -------------------------------------------------------------- */

/* Read a whole rules file: a regular file, not through a symlink, capped. */

static int idx_cmp(const void *a, const void *b)
{
	const struct idx_ent *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	return c ? c : (x->rule > y->rule) - (x->rule < y->rule);
}

/*
 * Index rules[0..n) by binary: an exec rule whose first positive binary
 * predicate names only literal basenames is filed under each; every other
 * exec rule is checked against every exec.
 */
static int build_index(const struct rule *v, size_t n, struct idx_ent **idx_out, size_t *n_idx,
		       uint32_t **unidx_out, size_t *n_unidx)
{
	struct idx_ent *idx = NULL;
	uint32_t *unidx = NULL;
	size_t i, j, ni = 0, nu = 0, cap = 0;

	unidx = malloc((n ? n : 1) * sizeof(*unidx));
	if (!unidx)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct pred *bin = NULL;
		bool literal = true;

		if (v[i].kind != RK_EXEC)
			continue;
		for (j = 0; j < v[i].n_preds && !bin; j++)
			if (v[i].preds[j].kind == P_BINARY && !v[i].preds[j].neg)
				bin = &v[i].preds[j];
		for (j = 0; bin && j < bin->alts.n; j++)
			literal = literal && bin->alts.v[j].literal;
		if (!bin || !literal) {
			unidx[nu++] = i;
			continue;
		}
		for (j = 0; j < bin->alts.n; j++) {
			if (ni == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct idx_ent *nv = realloc(idx, nc * sizeof(*nv));

				if (!nv) {
					free(idx);
					free(unidx);
					return -ENOMEM;
				}
				idx = nv;
				cap = nc;
			}
			idx[ni++] = (struct idx_ent){ bin->alts.v[j].literal, (uint32_t)i };
		}
	}
	if (ni)
		qsort(idx, ni, sizeof(*idx), idx_cmp);
	*idx_out = idx;
	*n_idx = ni;
	*unidx_out = unidx;
	*n_unidx = nu;
	return 0;
}

/* The distinct basenames of the sorted idx[0..n) in a hash table at most
 * half full; NULL (and 0) when there are none. */
static int build_slots(const struct idx_ent *idx, size_t n, struct idx_slot **out, uint32_t *mask)
{
	struct idx_slot *t;
	size_t i, j, size = 8;

	*out = NULL;
	*mask = 0;
	if (!n)
		return 0;
	while (size < 2 * n)
		size *= 2;
	t = calloc(size, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i = j) {
		uint32_t h = fnv1a32(idx[i].base, strlen(idx[i].base));
		size_t k = h & (size - 1);

		for (j = i + 1; j < n && strcmp(idx[j].base, idx[i].base) == 0; j++)
			;
		while (t[k].base)
			k = (k + 1) & (size - 1);
		t[k] = (struct idx_slot){ idx[i].base, h, (uint32_t)i, (uint32_t)(j - i) };
	}
	*out = t;
	*mask = (uint32_t)(size - 1);
	return 0;
}

/* Move tmp into rs: all or nothing. */
static int commit(struct ruleset *rs, struct ruleset *tmp)
{
	struct idx_ent *idx;
	struct idx_slot *slots;
	uint32_t *unidx, mask;
	size_t n_idx, n_unidx, i;
	int err;

	if ((err = set_reserve(rs, tmp->n)))
		return err;
	if (rs->n_lists + tmp->n_lists > rs->cap_lists) {
		struct rlist *nv = realloc(rs->lists, (rs->n_lists + tmp->n_lists) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		rs->lists = nv;
		rs->cap_lists = rs->n_lists + tmp->n_lists;
	}
	/* Copy without taking ownership yet, so the index sees the whole set. */
	if (tmp->n)
		memcpy(rs->v + rs->n, tmp->v, tmp->n * sizeof(*tmp->v));
	if ((err = build_index(rs->v, rs->n + tmp->n, &idx, &n_idx, &unidx, &n_unidx)))
		return err;
	if ((err = build_slots(idx, n_idx, &slots, &mask))) {
		free(idx);
		free(unidx);
		return err;
	}
	for (i = 0; i < tmp->n; i++)
		rs->n_tests += tmp->v[i].n_tests;
	number_valopts(rs->v, rs->n, rs->n + tmp->n);
	rs->n += tmp->n;
	tmp->n = 0;
	if (tmp->n_lists)
		memcpy(rs->lists + rs->n_lists, tmp->lists, tmp->n_lists * sizeof(*tmp->lists));
	rs->n_lists += tmp->n_lists;
	tmp->n_lists = 0;
	free(rs->idx);
	free(rs->unidx);
	free(rs->slots);
	rs->idx = idx;
	rs->n_idx = n_idx;
	rs->slots = slots;
	rs->idx_mask = mask;
	rs->unidx = unidx;
	rs->n_unidx = n_unidx;
	if (tmp->mode_origin) {
		rs->mode = tmp->mode;
		free(rs->mode_origin);
		rs->mode_origin = tmp->mode_origin;
		tmp->mode_origin = NULL;
	}
	if (tmp->workspace_origin) {
		free(rs->workspace);
		free(rs->workspace_origin);
		rs->workspace = tmp->workspace;
		rs->workspace_origin = tmp->workspace_origin;
		tmp->workspace = tmp->workspace_origin = NULL;
	}
	return 0;
}

static int parse_file_into(struct parser *P, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_config_file(path, RULES_FILE_MAX, &buf, &len, err, errlen);
	if (r)
		return r;
	P->path = path;
	r = parse_buffer(P, buf, len, err, errlen);
	free(buf);
	return r;
}

static int load_files(struct ruleset *rs, char *const *paths, size_t n, char *err, size_t errlen)
{
	struct ruleset tmp = { 0 };
	struct parser *P;
	size_t i;
	int r = 0;

	P = calloc(1, sizeof(*P));
	if (!P) {
		err_fmt(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	P->base = rs;
	P->tmp = &tmp;
	for (i = 0; i < n && !r; i++)
		r = parse_file_into(P, paths[i], err, errlen);
	if (!r && (r = commit(rs, &tmp)))
		err_fmt(err, errlen, "%s", strerror(-r));
	set_release(&tmp);
	free(P);
	return r;
}

int ruleset__load_file(struct ruleset *rs, const char *path, char *err, size_t errlen)
{
	char *paths[1] = { (char *)path };

	if (!rs || !path) {
		err_fmt(err, errlen, "no rules file given");
		return -EINVAL;
	}
	return load_files(rs, paths, 1, err, errlen);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ruleset__load_dir(struct ruleset *rs, const char *dir, char *err, size_t errlen)
{
	char **paths = NULL;
	size_t n = 0, i;
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (!rs || !dir) {
		err_fmt(err, errlen, "no rules directory given");
		return -EINVAL;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		err_fmt(err, errlen, "%s: %s", dir, strerror(-r));
		return r;
	}
	{
		struct stat st;

		/* Whoever can write the directory can add a rules file. */
		if (fstat(fd, &st) || (r = check_trusted(&st, dir, err, errlen))) {
			if (!r) {
				r = -errno;
				err_fmt(err, errlen, "%s: %s", dir, strerror(-r));
			}
			closedir(d);
			return r;
		}
	}
	paths = calloc(RULES_FILES_MAX, sizeof(*paths));
	if (!paths)
		r = -ENOMEM;
	while (!r && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 7 || strcmp(de->d_name + len - 6, ".rules"))
			continue;
		if (n == RULES_FILES_MAX) {
			r = -E2BIG;
			err_fmt(err, errlen, "%s: more than %d rules files", dir, RULES_FILES_MAX);
			break;
		}
		paths[n] = fmt_alloc("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
		if (!paths[n++])
			r = -ENOMEM;
	}
	closedir(d);
	if (r == -ENOMEM)
		err_fmt(err, errlen, "%s: %s", dir, strerror(ENOMEM));
	if (!r) {
		qsort(paths, n, sizeof(*paths), cmp_str);
		r = load_files(rs, paths, n, err, errlen);
	}
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return r;
}
