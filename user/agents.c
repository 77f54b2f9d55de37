// SPDX-License-Identifier: GPL-2.0
/*
 * Agent signatures: parser, kernel entries and the full userspace matcher.
 * The file grammar is documented in rules/agents.conf and rules/README.md.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentwatch.h"
#include "agents.h"
#include "util.h"
#include "paths.h"

#define NAME_MAX_KEY   (AW_NAME_KEY_LEN - 1) /* a basename the kernel can hold */
#define GLOB_MAX       (AW_PATH_MAX - 1)
#define INTERP_MAX     8                     /* interpreters in one script/module list */
#define WORDS_MAX      6
#define ARGV_TOKENS    64                    /* argv words looked at: options come first */
#define ENV_NAME_MAX   255

/* SIG_STATE is not a signature: it names a directory that is the agent's
 * own state (see agentset__own_state), and never opens a session. */
enum sig_kind { SIG_EXE, SIG_PATH, SIG_SCRIPT, SIG_MODULE, SIG_ENV, SIG_STATE };

static const char *const kind_names[] = {
	[SIG_EXE] = "exe", [SIG_PATH] = "path", [SIG_SCRIPT] = "script",
	[SIG_MODULE] = "module", [SIG_ENV] = "env", [SIG_STATE] = "state",
};

struct sig {
	enum sig_kind kind;
	char agent[AW_AGENT_LEN];
	char *pattern;              /* exe/path/script/module glob; env: NAME glob */
	char *value;                /* env: VALUE glob */
	char *interp[INTERP_MAX];   /* script/module: interpreter basename globs */
	size_t n_interp;
	char *text;                 /* "script node,bun GLOB", for describe */
	char *origin;               /* "rules/agents.conf:12" or "--agent" */
};

struct agentset {
	struct sig *v;
	size_t n, cap;
};

/* ---- small helpers ------------------------------------------------------ */

/* A piece of a line or of argv: not NUL-terminated. */
struct tok {
	const char *p;
	size_t n;
	size_t col;     /* 1-based column in its line (parser only) */
};

static bool tok_eq(struct tok t, const char *s)
{
	return t.n == strlen(s) && memcmp(t.p, s, t.n) == 0;
}

static bool tok_starts(struct tok t, const char *s)
{
	size_t n = strlen(s);

	return t.n >= n && memcmp(t.p, s, n) == 0;
}

/* Copy t into buf as a C string; false if it does not fit or holds a NUL
 * (a glob can't be matched against a string it can't see whole). */
static bool tok_cstr(struct tok t, char *buf, size_t len)
{
	if (t.n >= len || memchr(t.p, '\0', t.n))
		return false;
	memcpy(buf, t.p, t.n);
	buf[t.n] = '\0';
	return true;
}

static struct tok tok_basename(struct tok t)
{
	size_t i = t.n;

	while (i > 0 && t.p[i - 1] != '/')
		i--;
	return (struct tok){ t.p + i, t.n - i, 0 };
}

static bool glob_match(const char *glob, const char *s)
{
	return s && fnmatch(glob, s, 0) == 0;
}

static bool glob_match_tok(const char *glob, struct tok t)
{
	char buf[AW_PATH_MAX];

	return tok_cstr(t, buf, sizeof(buf)) && glob_match(glob, buf);
}

static char *strndup_or_null(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* ---- globs -------------------------------------------------------------- */

/*
 * Check a glob the way fnmatch(3) reads it, so that a typo is an error
 * instead of a pattern that silently matches a literal '['.  Returns the
 * offset of the problem or -1.
 */
static long glob_check(const char *p, size_t n, const char **why)
{
	size_t i, j;

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
		if (j < n && p[j] == ']')   /* "[]...]": the first ']' is literal */
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

/*
 * The literal text a basename glob starts with (escapes removed) and what
 * the kernel can do with it: the LPM trie compares bytes only.
 */
enum key_kind {
	KEY_NONE,       /* starts with a wildcard: the kernel can't index it */
	KEY_EXACT,      /* no wildcard: "name\0" */
	KEY_PREFIX_ALL, /* "lit*": every name with the prefix matches */
	KEY_PREFIX,     /* "lit" then more pattern: the prefix is only a hint */
};

struct name_key {
	enum key_kind kind;
	char lit[AW_NAME_KEY_LEN + 1];
	size_t len;       /* bytes of lit; may be > NAME_MAX_KEY (too long) */
	bool too_long;
};

static void name_key_of(const char *glob, struct name_key *k)
{
	const char *p = glob;

	memset(k, 0, sizeof(*k));
	while (*p && *p != '*' && *p != '?' && *p != '[') {
		if (*p == '\\' && p[1])
			p++;
		if (k->len < sizeof(k->lit) - 1)
			k->lit[k->len] = *p;
		k->len++;
		p++;
	}
	k->too_long = k->len > NAME_MAX_KEY;
	if (k->len > NAME_MAX_KEY)
		k->lit[NAME_MAX_KEY] = '\0';
	if (k->len == 0)
		k->kind = KEY_NONE;
	else if (!*p)
		k->kind = KEY_EXACT;
	else if (strcmp(p, "*") == 0)
		k->kind = KEY_PREFIX_ALL;
	else
		k->kind = KEY_PREFIX;
}

/* ---- signatures --------------------------------------------------------- */

static void sig_release(struct sig *g)
{
	size_t i;

	if (!g)
		return;
	free(g->pattern);
	free(g->value);
	for (i = 0; i < g->n_interp; i++)
		free(g->interp[i]);
	free(g->text);
	free(g->origin);
	memset(g, 0, sizeof(*g));
}

struct perr {
	size_t col;
	char msg[256];
};

static int perr_set(struct perr *e, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr_set(struct perr *e, size_t col, const char *fmt, ...)
{
	va_list ap;

	e->col = col;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A word as it may appear in an error message: bounded and printable. */
static const char *shown(struct tok t, char *buf, size_t len)
{
	size_t i, n = t.n < len - 4 ? t.n : len - 4;

	for (i = 0; i < n; i++)
		buf[i] = (t.p[i] >= 0x20 && t.p[i] < 0x7f) ? t.p[i] : '?';
	if (n < t.n) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static bool agent_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static int parse_agent(struct tok w, struct sig *g, struct perr *e)
{
	size_t i;

	if (w.n == 0 || w.n >= AW_AGENT_LEN)
		return perr_set(e, w.col, "agent name must be 1 to %d characters", AW_AGENT_LEN - 1);
	for (i = 0; i < w.n; i++)
		if (!agent_char(w.p[i]))
			return perr_set(e, w.col + i,
					"agent name may only hold letters, digits, '.', '_' and '-'");
	memcpy(g->agent, w.p, w.n);
	g->agent[w.n] = '\0';
	return 0;
}

static int check_glob(struct tok w, struct perr *e)
{
	const char *why = NULL;
	long at;

	if (w.n > GLOB_MAX)
		return perr_set(e, w.col, "pattern longer than %d bytes", GLOB_MAX);
	at = glob_check(w.p, w.n, &why);
	if (at >= 0)
		return perr_set(e, w.col + at, "%s", why);
	return 0;
}

/*
 * A basename glob the kernel must index (exe, interpreters): no '/', a
 * literal first byte, and a literal part the 64-byte key can hold.
 */
static int check_kernel_name(struct tok w, const char *what, struct perr *e)
{
	char buf[AW_PATH_MAX], sb[48];
	struct name_key k;
	const char *slash = memchr(w.p, '/', w.n);
	int err;

	if ((err = check_glob(w, e)))
		return err;
	if (slash)
		return perr_set(e, w.col + (slash - w.p), "%s cannot contain '/'%s", what,
				strcmp(what, "exe pattern") ? "" : " (use `path` for a path)");
	if (!tok_cstr(w, buf, sizeof(buf)))
		return perr_set(e, w.col, "invalid %s", what);
	name_key_of(buf, &k);
	if (k.kind == KEY_NONE)
		return perr_set(e, w.col, "%s '%s' must start with a literal character: "
				"the kernel looks names up by prefix", what, shown(w, sb, sizeof(sb)));
	if (k.too_long)
		return perr_set(e, w.col + NAME_MAX_KEY,
				"%s '%s' is longer than %d bytes: the kernel key cannot hold it",
				what, shown(w, sb, sizeof(sb)), NAME_MAX_KEY);
	return 0;
}

static int set_pattern(struct sig *g, struct tok w)
{
	g->pattern = strndup_or_null(w.p, w.n);
	return g->pattern ? 0 : -ENOMEM;
}

static int parse_exe(struct tok *w, struct sig *g, struct perr *e)
{
	int err = check_kernel_name(w[0], "exe pattern", e);

	return err ? err : set_pattern(g, w[0]);
}

static int parse_path(struct tok *w, struct sig *g, struct perr *e)
{
	int err = check_glob(w[0], e);

	if (err)
		return err;
	if (!memchr(w[0].p, '/', w[0].n))
		return perr_set(e, w[0].col, "path pattern must contain '/' (use `exe` for a basename)");
	/* It is matched against absolute paths: anything else never matches. */
	if (w[0].p[0] != '/' && w[0].p[0] != '*')
		return perr_set(e, w[0].col, "path pattern must start with '/' or '*'");
	return set_pattern(g, w[0]);
}

static int parse_interps(struct tok w, struct sig *g, struct perr *e)
{
	size_t start = 0, i;
	int err;

	for (i = 0; i <= w.n; i++) {
		struct tok item = { w.p + start, i - start, w.col + start };

		if (i < w.n && w.p[i] != ',')
			continue;
		if (item.n == 0)
			return perr_set(e, item.col, "expected an interpreter name (empty item in list)");
		if (g->n_interp == INTERP_MAX)
			return perr_set(e, item.col, "more than %d interpreters in one list", INTERP_MAX);
		if ((err = check_kernel_name(item, "interpreter pattern", e)))
			return err;
		g->interp[g->n_interp] = strndup_or_null(item.p, item.n);
		if (!g->interp[g->n_interp])
			return -ENOMEM;
		g->n_interp++;
		start = i + 1;
	}
	return 0;
}

static int parse_script(struct tok *w, struct sig *g, struct perr *e)
{
	int err = parse_interps(w[0], g, e);

	if (!err)
		err = check_glob(w[1], e);
	return err ? err : set_pattern(g, w[1]);
}

static int parse_module(struct tok *w, struct sig *g, struct perr *e)
{
	const char *slash;
	int err = parse_interps(w[0], g, e);

	if (!err)
		err = check_glob(w[1], e);
	if (err)
		return err;
	slash = memchr(w[1].p, '/', w[1].n);
	if (slash)
		return perr_set(e, w[1].col + (slash - w[1].p),
				"module pattern is a dotted module name and cannot contain '/'");
	return set_pattern(g, w[1]);
}

static int parse_env(struct tok *w, struct sig *g, struct perr *e)
{
	const char *eq = memchr(w[0].p, '=', w[0].n);
	struct tok name, value;
	int err;

	if (!eq)
		return perr_set(e, w[0].col + w[0].n, "expected '=' in NAME=VALUE");
	name = (struct tok){ w[0].p, eq - w[0].p, w[0].col };
	value = (struct tok){ eq + 1, w[0].n - name.n - 1, w[0].col + name.n + 1 };
	if (name.n == 0)
		return perr_set(e, w[0].col, "expected a variable name before '='");
	if (name.n > ENV_NAME_MAX)
		return perr_set(e, w[0].col, "variable name longer than %d bytes", ENV_NAME_MAX);
	if ((err = check_glob(name, e)) || (err = check_glob(value, e)))
		return err;
	g->pattern = strndup_or_null(name.p, name.n);
	g->value = strndup_or_null(value.p, value.n);
	return g->pattern && g->value ? 0 : -ENOMEM;
}

/* state DIR-GLOB: absolute, or under the process's home (`~/`) or an
 * environment variable's value (`$NAME/`). */
static int parse_state(struct tok *w, struct sig *g, struct perr *e)
{
	int err = check_glob(w[0], e);
	size_t i;

	if (err)
		return err;
	if (w[0].p[0] == '$') {
		for (i = 1; i < w[0].n && w[0].p[i] != '/'; i++)
			if (!(isalnum((unsigned char)w[0].p[i]) || w[0].p[i] == '_'))
				return perr_set(e, w[0].col + i, "a variable name is letters, digits and '_'");
		if (i == 1)
			return perr_set(e, w[0].col, "expected a variable name after '$'");
	} else if (!tok_starts(w[0], "/") && !tok_starts(w[0], "~/")) {
		return perr_set(e, w[0].col, "a state directory starts with '/', '~/' or '$NAME/'");
	}
	if (w[0].p[w[0].n - 1] == '/')
		return perr_set(e, w[0].col + w[0].n - 1, "no trailing '/' (the directory and all under it)");
	return set_pattern(g, w[0]);
}

static const struct {
	enum sig_kind kind;
	size_t args;
	const char *expect;   /* what the arguments are, for error messages */
	int (*parse)(struct tok *w, struct sig *g, struct perr *e);
} kinds[] = {
	{ SIG_EXE,    1, "a basename pattern",                         parse_exe },
	{ SIG_PATH,   1, "a path pattern",                             parse_path },
	{ SIG_SCRIPT, 2, "interpreter list and script pattern",        parse_script },
	{ SIG_MODULE, 2, "interpreter list and module pattern",        parse_module },
	{ SIG_ENV,    1, "NAME=VALUE",                                 parse_env },
	{ SIG_STATE,  1, "a directory pattern",                        parse_state },
};

/* "script node,bun GLOB": the words after the agent, one space apart. */
static int sig_set_text(struct sig *g, const struct tok *w, size_t nw, const char *origin)
{
	size_t i, len = 0, pos = 0;

	for (i = 0; i < nw; i++)
		len += w[i].n + 1;
	g->text = malloc(len + 1);
	g->origin = strdup(origin);
	if (!g->text || !g->origin)
		return -ENOMEM;
	for (i = 0; i < nw; i++) {
		memcpy(g->text + pos, w[i].p, w[i].n);
		pos += w[i].n;
		g->text[pos++] = ' ';
	}
	g->text[pos ? pos - 1 : 0] = '\0';
	return 0;
}

/* Words of a line: AGENT KIND ARGS...  nw >= 1. */
static int sig_parse(struct sig *g, struct tok *w, size_t nw, const char *origin, struct perr *e)
{
	char sb[48];
	size_t k;
	int err;

	memset(g, 0, sizeof(*g));
	if ((err = parse_agent(w[0], g, e)))
		return err;
	if (nw < 2)
		return perr_set(e, w[0].col + w[0].n + 1,
				"expected a kind after the agent name (exe, path, script, module, env or state)");
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (tok_eq(w[1], kind_names[kinds[k].kind]))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return perr_set(e, w[1].col, "unknown kind '%s' (expected exe, path, script, module, env or state)",
				shown(w[1], sb, sizeof(sb)));
	g->kind = kinds[k].kind;
	if (nw < 2 + kinds[k].args)
		return perr_set(e, w[nw - 1].col + w[nw - 1].n + 1, "expected %s after '%s'",
				kinds[k].expect, kind_names[g->kind]);
	if (nw > 2 + kinds[k].args)
		return perr_set(e, w[2 + kinds[k].args].col,
				"unexpected '%s' after %s (a comment starts with '#')",
				shown(w[2 + kinds[k].args], sb, sizeof(sb)), kinds[k].expect);
	if ((err = kinds[k].parse(w + 2, g, e)))
		return err;
	return sig_set_text(g, w + 1, nw - 1, origin);
}

/* ---- the set ------------------------------------------------------------ */

struct agentset *agentset__new(void)
{
	return calloc(1, sizeof(struct agentset));
}

static void set_release(struct agentset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		sig_release(&s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

void agentset__free(struct agentset *s)
{
	if (!s)
		return;
	set_release(s);
	free(s);
}

size_t agentset__count(const struct agentset *s)
{
	return s ? s->n : 0;
}

static int set_reserve(struct agentset *s, size_t more)
{
	size_t cap;
	struct sig *nv;

	if (s->n + more <= s->cap)
		return 0;
	cap = s->cap ? s->cap : 16;
	while (cap < s->n + more)
		cap *= 2;
	nv = realloc(s->v, cap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	s->v = nv;
	s->cap = cap;
	return 0;
}

/* Move all of from's signatures to the end of s (all or nothing). */
static int set_append(struct agentset *s, struct agentset *from)
{
	int err = set_reserve(s, from->n);

	if (err)
		return err;
	if (from->n) /* a file of only comments: s->v may still be NULL */
		memcpy(s->v + s->n, from->v, from->n * sizeof(*from->v));
	s->n += from->n;
	free(from->v);
	from->v = NULL;
	from->n = from->cap = 0;
	return 0;
}

static int set_push(struct agentset *s, struct sig *g)
{
	int err = set_reserve(s, 1);

	if (err)
		return err;
	s->v[s->n++] = *g;
	return 0;
}

static const struct sig *set_get(const struct agentset *s, uint32_t sig_id)
{
	return s && sig_id < s->n ? &s->v[sig_id] : NULL;
}

const char *agentset__agent(const struct agentset *s, uint32_t sig_id)
{
	const struct sig *g = set_get(s, sig_id);

	return g ? g->agent : NULL;
}

const char *agentset__describe(const struct agentset *s, uint32_t sig_id, char *buf, size_t len)
{
	const struct sig *g = set_get(s, sig_id);

	if (!g || !buf || !len)
		return NULL;
	/* A truncated description is still useful in a log line. */
	snprintf(buf, len, "%s: %s (%s)", g->agent, g->text, g->origin);
	return buf;
}

/* ---- file parser -------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Split a line into words; a word starting with '#' starts a comment. */
static int split_words(const char *line, size_t n, struct tok *w, size_t *nw, struct perr *e)
{
	size_t i = 0;

	*nw = 0;
	while (i < n) {
		size_t start;

		if (is_blank(line[i])) {
			i++;
			continue;
		}
		if (line[i] == '#')
			break;
		start = i;
		while (i < n && !is_blank(line[i])) {
			unsigned char c = (unsigned char)line[i];

			if (c < 0x20 || c == 0x7f)
				return perr_set(e, i + 1, "control character 0x%02x", c);
			i++;
		}
		if (*nw == WORDS_MAX)
			return perr_set(e, start + 1, "too many words on the line");
		w[(*nw)++] = (struct tok){ line + start, i - start, start + 1 };
	}
	return 0;
}

static int parse_line(struct agentset *tmp, size_t have, const char *line, size_t n,
		      const char *origin, struct perr *e)
{
	struct tok w[WORDS_MAX];
	struct sig g;
	size_t nw;
	int err;

	if (n > AGENTS_LINE_MAX)
		return perr_set(e, AGENTS_LINE_MAX + 1, "line longer than %d bytes", AGENTS_LINE_MAX);
	if ((err = split_words(line, n, w, &nw, e)) || nw == 0)
		return err;
	if (have + tmp->n >= AGENTS_SIGS_MAX)
		return perr_set(e, w[0].col, "more than %d signatures", AGENTS_SIGS_MAX);
	err = sig_parse(&g, w, nw, origin, e);
	if (!err)
		err = set_push(tmp, &g);
	if (err)
		sig_release(&g);
	return err;
}

static int parse_buffer(struct agentset *tmp, size_t have, const char *path, const char *buf,
			size_t len, char *err, size_t errlen)
{
	char origin[AW_PATH_MAX + 32];
	size_t lineno = 1, pos = 0;
	struct perr e = { 0 };

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *nul = memchr(buf + pos, '\0', n);
		int r;

		if (nul) {
			r = perr_set(&e, nul - (buf + pos) + 1, "NUL byte in file");
		} else {
			snprintf(origin, sizeof(origin), "%s:%zu", path, lineno);
			r = parse_line(tmp, have, buf + pos, n, origin, &e);
		}
		if (r) {
			if (r == -EINVAL)
				err_fmt(err, errlen, "%s:%zu:%zu: %s", path, lineno, e.col, e.msg);
			else
				err_fmt(err, errlen, "%s:%zu: %s", path, lineno, strerror(-r));
			return r;
		}
		pos += n + 1;
		lineno++;
	}
	return 0;
}

/* Read a whole rules file: a regular file, not through a symlink, capped. */

int agentset__load_file(struct agentset *s, const char *path, char *err, size_t errlen)
{
	struct agentset tmp = { 0 };
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!s || !path) {
		err_fmt(err, errlen, "no signature file given");
		return -EINVAL;
	}
	r = read_config_file(path, AGENTS_FILE_MAX, &buf, &len, err, errlen);
	if (r)
		return r;
	r = parse_buffer(&tmp, s->n, path, buf, len, err, errlen);
	if (!r && (r = set_append(s, &tmp)))
		err_fmt(err, errlen, "%s: %s", path, strerror(-r));
	set_release(&tmp);
	free(buf);
	return r;
}

int agentset__add_cli(struct agentset *s, const char *spec, char *err, size_t errlen)
{
	struct perr e = { 0 };
	struct tok w[3];
	const char *colon;
	struct sig g;
	size_t n;
	int r;

	if (!s || !spec) {
		err_fmt(err, errlen, "--agent: expected NAME:PATTERN");
		return -EINVAL;
	}
	n = strnlen(spec, AGENTS_LINE_MAX + 1);
	colon = memchr(spec, ':', n);
	if (n > AGENTS_LINE_MAX)
		r = perr_set(&e, 1, "longer than %d bytes", AGENTS_LINE_MAX);
	else if (!colon)
		r = perr_set(&e, n + 1, "expected ':' between NAME and PATTERN");
	else if ((size_t)(colon - spec) + 1 == n)
		r = perr_set(&e, n + 1, "expected a pattern after ':'");
	else if (s->n >= AGENTS_SIGS_MAX)
		r = perr_set(&e, 1, "more than %d signatures", AGENTS_SIGS_MAX);
	else
		r = 0;
	if (!r) {
		size_t i;

		for (i = 0; i < n && !r; i++)
			if ((unsigned char)spec[i] < 0x20 || spec[i] == 0x7f)
				r = perr_set(&e, i + 1, "control character 0x%02x", (unsigned char)spec[i]);
	}
	if (!r) {
		const char *pat = colon + 1;
		bool is_path = strchr(pat, '/') != NULL;

		w[0] = (struct tok){ spec, colon - spec, 1 };
		w[1] = (struct tok){ is_path ? "path" : "exe", is_path ? 4 : 3, colon - spec + 1 };
		w[2] = (struct tok){ pat, n - (pat - spec), pat - spec + 1 };
		r = sig_parse(&g, w, 3, "--agent", &e);
		if (!r && (r = set_push(s, &g)))
			e.col = 0;
		if (r)
			sig_release(&g);
	}
	if (r == -EINVAL)
		err_fmt(err, errlen, "--agent:1:%zu: %s", e.col, e.msg);
	else if (r)
		err_fmt(err, errlen, "--agent: %s", strerror(-r));
	return r;
}

/* ---- kernel entries ----------------------------------------------------- */

struct kentry {
	char name[AW_NAME_KEY_LEN];
	uint32_t bytes;     /* key length in bytes, NUL included if exact */
	bool exact;
	bool agent;         /* the hit alone is enough */
	uint32_t sig_id;
};

struct kentries {
	struct kentry *v;
	size_t n, cap;
};

static int kentries_add(struct kentries *ke, const char *glob, bool sufficient, uint32_t sig_id)
{
	struct name_key k;
	struct kentry *e;

	name_key_of(glob, &k);
	if (k.kind == KEY_NONE)
		return 0;
	if (ke->n == ke->cap) {
		size_t cap = ke->cap ? ke->cap * 2 : 64;
		struct kentry *nv = realloc(ke->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		ke->v = nv;
		ke->cap = cap;
	}
	e = &ke->v[ke->n++];
	memset(e, 0, sizeof(*e));
	/* A name too long for an exact key still has a usable prefix (path
	 * signatures only: exe and interpreter names were rejected). */
	e->exact = k.kind == KEY_EXACT && !k.too_long;
	e->bytes = (k.too_long ? NAME_MAX_KEY : k.len) + (e->exact ? 1 : 0);
	memcpy(e->name, k.lit, k.too_long ? NAME_MAX_KEY : k.len);
	e->agent = sufficient && (k.kind == KEY_EXACT || k.kind == KEY_PREFIX_ALL) && !k.too_long;
	e->sig_id = sig_id;
	return 0;
}

/* The kernel half of a path glob is its last component, when that has a
 * literal start.  fnmatch's '*' may cross '/', but a pattern whose last
 * component only matches because of that would make no sense as an exe. */
static int kentries_add_path(struct kentries *ke, const char *glob, uint32_t sig_id)
{
	const char *last = strrchr(glob, '/');

	return last && last[1] ? kentries_add(ke, last + 1, false, sig_id) : 0;
}

static int kentries_collect(const struct agentset *s, struct kentries *ke)
{
	size_t i, j;
	int err = 0;

	for (i = 0; i < s->n && !err; i++) {
		const struct sig *g = &s->v[i];

		switch (g->kind) {
		case SIG_EXE:
			err = kentries_add(ke, g->pattern, true, i);
			break;
		case SIG_PATH:
			err = kentries_add_path(ke, g->pattern, i);
			break;
		case SIG_SCRIPT:
		case SIG_MODULE:
			for (j = 0; j < g->n_interp && !err; j++)
				err = kentries_add(ke, g->interp[j], false, i);
			break;
		case SIG_ENV:   /* the kernel can't read the environment cheaply */
		case SIG_STATE: /* not a signature */
			break;
		}
	}
	return err;
}

static int kentry_cmp(const void *a, const void *b)
{
	const struct kentry *x = a, *y = b;
	int c;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? -1 : 1;
	c = memcmp(x->name, y->name, x->bytes);
	if (c)
		return c;
	if (x->agent != y->agent)
		return x->agent ? -1 : 1;
	return x->sig_id < y->sig_id ? -1 : x->sig_id > y->sig_id;
}

/* Sorted so that equal keys are adjacent with the winner first. */
static size_t kentries_dedup(struct kentries *ke)
{
	size_t i, n = 0;

	if (!ke->n)
		return 0;
	qsort(ke->v, ke->n, sizeof(*ke->v), kentry_cmp);
	for (i = 0; i < ke->n; i++) {
		if (n && ke->v[n - 1].bytes == ke->v[i].bytes &&
		    memcmp(ke->v[n - 1].name, ke->v[i].name, ke->v[i].bytes) == 0)
			continue;
		ke->v[n++] = ke->v[i];
	}
	return ke->n = n;
}

/*
 * The trie returns only the longest matching key, so a longer key must
 * carry the verdict of a shorter prefix key that also matches: `nod*` as an
 * agent must still win when `node` is an interpreter.  Keys are sorted by
 * length, so the covering prefix with the longest length comes last.
 */
static void kentries_cover(struct kentries *ke)
{
	size_t i, j;

	for (i = 0; i < ke->n; i++) {
		struct kentry *e = &ke->v[i];

		if (e->agent)
			continue;
		for (j = i; j-- > 0;) {
			const struct kentry *f = &ke->v[j];

			if (!f->exact && f->agent && f->bytes < e->bytes &&
			    memcmp(f->name, e->name, f->bytes) == 0) {
				e->agent = true;
				e->sig_id = f->sig_id;
				break;
			}
		}
	}
}

int agentset__kernel_entries(const struct agentset *s, agentset_entry_fn fn, void *ctx)
{
	struct kentries ke = { 0 };
	size_t i;
	int err;

	if (!s || !fn)
		return -EINVAL;
	err = kentries_collect(s, &ke);
	if (!err) {
		kentries_dedup(&ke);
		kentries_cover(&ke);
	}
	for (i = 0; i < ke.n && !err; i++) {
		const struct kentry *e = &ke.v[i];

		err = fn(e->name, e->bytes, e->sig_id, e->agent ? AW_NAME_AGENT : AW_NAME_INTERPRETER,
			 s->v[e->sig_id].agent, ctx);
	}
	free(ke.v);
	return err;
}

/* ---- matching ----------------------------------------------------------- */

struct argvec {
	struct tok t[ARGV_TOKENS];
	size_t n;
};

/* NUL-separated words; the last one may lack its NUL (truncated capture). */
static void argv_split(const char *argv, size_t len, struct argvec *av)
{
	size_t pos = 0;

	av->n = 0;
	while (argv && pos < len && av->n < ARGV_TOKENS) {
		const char *nul = memchr(argv + pos, '\0', len - pos);
		size_t n = nul ? (size_t)(nul - (argv + pos)) : len - pos;

		av->t[av->n++] = (struct tok){ argv + pos, n, 0 };
		pos += n + 1;
	}
}

enum family { FAM_GENERIC, FAM_NODE, FAM_BUN, FAM_DENO, FAM_PYTHON };

/* What a probe says about an interpreter run: resolved once per probe. */
struct invocation {
	struct tok interp;      /* interpreter basename, empty if unknown */
	bool have_script, have_module;
	struct tok script, module;
};

/* Options that take the next word as their value.  Missing one only means
 * we'd take the value for the script, which then does not match. */
static const char *const node_value_opts[] = {
	"-r", "--require", "--import", "--loader", "--experimental-loader", "-C", "--conditions",
	"--title", "--env-file", "--env-file-if-exists", "--input-type", "--inspect-port",
	"--debug-port", "--disable-warning", "--openssl-config", "--redirect-warnings",
	"--icu-data-dir", "--diagnostic-dir", "--report-dir", "--report-directory",
	"--report-filename", "--report-signal", "--heapsnapshot-signal", "--cpu-prof-dir",
	"--cpu-prof-name", "--heap-prof-dir", "--heap-prof-name", "--dns-result-order",
	"--unhandled-rejections", "--use-largepages", "--tls-cipher-list", "--tls-keylog",
	"--secure-heap", "--secure-heap-min", "--watch-path", "--test-reporter",
	"--test-reporter-destination", "--experimental-config-file", "--localstorage-file",
	"--preserve-symlinks-main-path", "--stack-size", "--max-old-space-size",
	"--max-semi-space-size", "--config", "-c", "--import-map", "--lock", "--cert",
	"--location", "--tsconfig-override", "--cwd", "--preload", "--env", NULL,
};

/* These make node/bun evaluate code instead of running a script. */
static const char *const node_eval_opts[] = {
	"-e", "--eval", "-p", "--print", "-pe", "-ep", "--check", "-c", NULL,
};

static bool in_list(struct tok t, const char *const *list)
{
	for (; *list; list++)
		if (tok_eq(t, *list))
			return true;
	return false;
}

static enum family family_of(struct tok name)
{
	if (tok_starts(name, "node"))
		return FAM_NODE;
	if (tok_starts(name, "bun"))
		return FAM_BUN;
	if (tok_starts(name, "deno"))
		return FAM_DENO;
	if (tok_starts(name, "python") || tok_starts(name, "pypy"))
		return FAM_PYTHON;
	return FAM_GENERIC;
}

/*
 * node/bun/deno: options first ("--x", "--x=v", "-r MOD"), then the script.
 * bun and deno take a "run" subcommand first.  -e/-p mean there is no
 * script.  "-c" is bun/deno's --config but node's --check; both forms are
 * harmless here: either way the next word does not start the agent.
 */
static void scan_js(const struct argvec *av, size_t i, enum family fam, struct invocation *inv)
{
	bool sub_seen = fam == FAM_NODE;

	for (; i < av->n; i++) {
		struct tok t = av->t[i];

		if (tok_eq(t, "--")) {
			i++;
			break;
		}
		if (t.n == 0 || t.p[0] != '-') {
			if (!sub_seen && tok_eq(t, "run")) {
				sub_seen = true;
				continue;
			}
			break;
		}
		if (tok_eq(t, "-"))
			return;         /* script from stdin */
		if (fam == FAM_NODE && in_list(t, node_eval_opts))
			return;
		if (fam != FAM_NODE && (tok_eq(t, "-e") || tok_eq(t, "--eval") ||
					tok_eq(t, "-p") || tok_eq(t, "--print")))
			return;
		if (!memchr(t.p, '=', t.n) && in_list(t, node_value_opts))
			i++;
	}
	if (i < av->n) {
		inv->have_script = true;
		inv->script = av->t[i];
	}
}

/*
 * python [options] (-m MOD | -c CMD | script | -) ...  Short options
 * cluster ("-uBm aider", "-maider"); -W and -X take a value, attached or
 * next.
 */
static void scan_python(const struct argvec *av, size_t i, struct invocation *inv)
{
	for (; i < av->n; i++) {
		struct tok t = av->t[i];
		size_t k;

		if (tok_eq(t, "--")) {
			i++;
			break;
		}
		if (t.n < 2 || t.p[0] != '-')
			break;      /* script, or "-" (stdin) */
		if (t.p[1] == '-') {
			if (tok_eq(t, "--check-hash-based-pycs"))
				i++;
			continue;
		}
		for (k = 1; k < t.n; k++) {
			char c = t.p[k];
			struct tok rest = { t.p + k + 1, t.n - k - 1, 0 };

			if (c == 'c')
				return;
			if (c != 'm' && c != 'W' && c != 'X')
				continue;
			if (!rest.n) {
				if (++i >= av->n)
					return;
				rest = av->t[i];
			}
			if (c == 'm') {
				inv->have_module = true;
				inv->module = rest;
				return;
			}
			break;
		}
	}
	if (i < av->n && !tok_eq(av->t[i], "-")) {
		inv->have_script = true;
		inv->script = av->t[i];
	}
}

/* Any other interpreter: flags without values, then the script. */
static void scan_generic(const struct argvec *av, size_t i, struct invocation *inv)
{
	for (; i < av->n; i++) {
		if (tok_eq(av->t[i], "--")) {
			i++;
			break;
		}
		if (av->t[i].n < 2 || av->t[i].p[0] != '-')
			break;
	}
	if (i < av->n && !tok_eq(av->t[i], "-")) {
		inv->have_script = true;
		inv->script = av->t[i];
	}
}

/*
 * Replace `drop` words at av[at] by the blank-separated words of s: env -S
 * splits its string (no quote handling: a shebang line that needs quotes is
 * not one an agent launcher uses).  s must not point into av.
 */
static void splice_split(struct argvec *av, size_t at, size_t drop, struct tok s)
{
	struct tok rest[ARGV_TOKENS];
	size_t n_rest = 0, k = 0, n = at, j;

	for (j = at + drop; j < av->n; j++)
		rest[n_rest++] = av->t[j];
	while (k < s.n && n < ARGV_TOKENS) {
		size_t start;

		while (k < s.n && is_blank(s.p[k]))
			k++;
		start = k;
		while (k < s.n && !is_blank(s.p[k]))
			k++;
		if (k > start)
			av->t[n++] = (struct tok){ s.p + start, k - start, 0 };
	}
	for (j = 0; j < n_rest && n < ARGV_TOKENS; j++)
		av->t[n++] = rest[j];
	av->n = n;
}

/*
 * env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=VALUE]... COMMAND ARGS...
 * (the `#!/usr/bin/env node` shebang).  Returns the index of COMMAND in av,
 * or av->n.  av is rewritten by -S; each rewrite makes the words shorter,
 * so the loop ends.
 */
static size_t skip_env(struct argvec *av)
{
	size_t i = 1;

	while (i < av->n) {
		struct tok t = av->t[i];

		if (tok_eq(t, "--"))
			return i + 1;
		if (tok_eq(t, "-S") || tok_eq(t, "--split-string")) {
			if (i + 1 >= av->n)
				return av->n;
			splice_split(av, i, 2, av->t[i + 1]);
		} else if (tok_starts(t, "--split-string=")) {
			size_t off = strlen("--split-string=");

			splice_split(av, i, 1, (struct tok){ t.p + off, t.n - off, 0 });
		} else if (tok_starts(t, "-S")) {
			splice_split(av, i, 1, (struct tok){ t.p + 2, t.n - 2, 0 });
		} else if (tok_eq(t, "-u") || tok_eq(t, "-C") || tok_eq(t, "--unset") ||
			   tok_eq(t, "--chdir")) {
			i += 2;
		} else if (t.n && (t.p[0] == '-' || (t.p[0] != '=' && memchr(t.p, '=', t.n)))) {
			i++;    /* an option, "-" (same as -i) or NAME=VALUE */
		} else {
			return i;
		}
	}
	return av->n;
}

/* NULL reads as "": no pointer arithmetic on NULL. */
static struct tok cstr_tok(const char *s)
{
	return s ? (struct tok){ s, strlen(s), 0 } : (struct tok){ "", 0, 0 };
}

/* busybox is env when called as env: Alpine's /usr/bin/env is a symlink to
 * it, so `#!/usr/bin/env node` runs exe busybox with argv[0] env. */
static bool runs_env(struct tok exe, struct tok file, struct tok arg0)
{
	if (tok_eq(exe, "env"))
		return true;
	if (exe.n && !tok_eq(exe, "busybox"))
		return false;
	return tok_eq(arg0, "env") || (!exe.n && tok_eq(file, "env"));
}

/*
 * Who is the interpreter and what does it run.  The interpreter is the real
 * binary (exe), or when that is unknown the path given to execve, or
 * argv[0]; when that is env(1), it is env's COMMAND instead.
 */
static void resolve_invocation(const struct agent_probe *p, struct argvec *av, struct invocation *inv)
{
	struct tok exe = tok_basename(cstr_tok(p->exe));
	struct tok file = tok_basename(cstr_tok(p->filename));
	struct tok arg0 = av->n ? tok_basename(av->t[0]) : cstr_tok(NULL);
	enum family fam;
	size_t i = 1;

	memset(inv, 0, sizeof(*inv));
	if (runs_env(exe, file, arg0)) {
		i = skip_env(av);
		if (i >= av->n)
			return;
		inv->interp = tok_basename(av->t[i]);
		i++;
	} else if (exe.n) {
		/* Not the execve path: for a #! script that is the script. */
		inv->interp = exe;
	} else {
		inv->interp = file.n ? file : arg0;
	}
	fam = family_of(inv->interp);
	if (fam == FAM_PYTHON)
		scan_python(av, i, inv);
	else if (fam == FAM_GENERIC)
		scan_generic(av, i, inv);
	else
		scan_js(av, i, fam, inv);
}

struct probe_ctx {
	const struct agent_probe *p;
	struct argvec av;
	struct invocation inv;
	char exe_base[AW_PATH_MAX], file_base[AW_PATH_MAX];
	char file_abs[AW_PATH_MAX], script_abs[AW_PATH_MAX];
	bool file_abs_ok, script_abs_ok;
};

static void probe_prepare(struct probe_ctx *c, const struct agent_probe *p)
{
	struct tok script;

	c->p = p;
	argv_split(p->argv, p->argv_len, &c->av);
	resolve_invocation(p, &c->av, &c->inv);
	if (!tok_cstr(tok_basename(cstr_tok(p->exe)), c->exe_base, sizeof(c->exe_base)))
		c->exe_base[0] = '\0';
	if (!tok_cstr(tok_basename(cstr_tok(p->filename)), c->file_base, sizeof(c->file_base)))
		c->file_base[0] = '\0';
	c->file_abs_ok = p->filename && p->filename[0] == '/' &&
			 path_join_normalize(NULL, p->filename, c->file_abs, sizeof(c->file_abs)) >= 0;
	script = c->inv.script;
	c->script_abs_ok = c->inv.have_script && tok_cstr(script, c->script_abs, sizeof(c->script_abs));
	/* "./cli.js" and "../x/cli.js" only match path globs once absolute. */
	if (c->script_abs_ok && (c->script_abs[0] == '/' || p->cwd)) {
		char raw[AW_PATH_MAX];

		memcpy(raw, c->script_abs, sizeof(raw));
		if (path_join_normalize(p->cwd, raw, c->script_abs, sizeof(c->script_abs)) < 0)
			memcpy(c->script_abs, raw, sizeof(raw));
	}
}

static bool match_exe(const struct sig *g, const struct probe_ctx *c)
{
	return (c->exe_base[0] && glob_match(g->pattern, c->exe_base)) ||
	       (c->file_base[0] && glob_match(g->pattern, c->file_base));
}

static bool match_path(const struct sig *g, const struct probe_ctx *c)
{
	return (c->p->exe && c->p->exe[0] == '/' && glob_match(g->pattern, c->p->exe)) ||
	       (c->file_abs_ok && glob_match(g->pattern, c->file_abs));
}

static bool match_interp(const struct sig *g, const struct probe_ctx *c)
{
	size_t i;

	for (i = 0; c->inv.interp.n && i < g->n_interp; i++)
		if (glob_match_tok(g->interp[i], c->inv.interp))
			return true;
	return false;
}

/*
 * A glob with '/' is matched against the script path (made absolute when
 * the cwd is known), one without against its basename.  A basename glob
 * also tries argv[0]: node's process.title (Claude Code sets "claude")
 * overwrites the whole argv area, so /proc/PID/cmdline then reads "claude"
 * and the script is gone.
 */
static bool match_script(const struct sig *g, const struct probe_ctx *c)
{
	bool by_path = strchr(g->pattern, '/') != NULL;

	if (!match_interp(g, c))
		return false;
	if (c->script_abs_ok && by_path && glob_match(g->pattern, c->script_abs))
		return true;
	if (c->inv.have_script && !by_path && glob_match_tok(g->pattern, tok_basename(c->inv.script)))
		return true;
	return !by_path && c->av.n && glob_match_tok(g->pattern, tok_basename(c->av.t[0]));
}

/* "aider" matches "-m aider" and "-m aider.main". */
static bool match_module(const struct sig *g, const struct probe_ctx *c)
{
	struct tok top = c->inv.module;
	const char *dot;

	if (!c->inv.have_module || !match_interp(g, c))
		return false;
	if (glob_match_tok(g->pattern, top))
		return true;
	dot = memchr(top.p, '.', top.n);
	if (!dot)
		return false;
	top.n = dot - top.p;
	return glob_match_tok(g->pattern, top);
}

static bool match_env(const struct sig *g, const struct probe_ctx *c)
{
	const char *env = c->p->env;
	size_t pos = 0, len = c->p->env_len;

	while (env && pos < len) {
		const char *nul = memchr(env + pos, '\0', len - pos);
		size_t n = nul ? (size_t)(nul - (env + pos)) : len - pos;
		const char *eq = memchr(env + pos, '=', n);

		if (eq) {
			struct tok name = { env + pos, eq - (env + pos), 0 };
			struct tok value = { eq + 1, n - name.n - 1, 0 };

			if (glob_match_tok(g->pattern, name) && glob_match_tok(g->value, value))
				return true;
		}
		pos += n + 1;
	}
	return false;
}

static bool sig_matches(const struct sig *g, const struct probe_ctx *c)
{
	switch (g->kind) {
	case SIG_EXE:
		return match_exe(g, c);
	case SIG_PATH:
		return match_path(g, c);
	case SIG_SCRIPT:
		return match_script(g, c);
	case SIG_MODULE:
		return match_module(g, c);
	case SIG_ENV:
		return match_env(g, c);
	case SIG_STATE:
		return false;
	}
	return false;
}

int agentset__match(const struct agentset *s, const struct agent_probe *p, uint32_t *sig_id)
{
	struct probe_ctx *c;
	int pass, hit = 0;
	size_t i;

	if (!s || !p || !s->n)
		return 0;
	/* ~16 KiB of path buffers: keep them off a small thread stack. */
	c = malloc(sizeof(*c));
	if (!c)
		return 0;
	probe_prepare(c, p);
	/* Who the process is beats what it inherited. */
	for (pass = 0; pass < 2 && !hit; pass++) {
		for (i = 0; i < s->n && !hit; i++) {
			const struct sig *g = &s->v[i];

			if ((g->kind == SIG_ENV) != (pass == 1) || !sig_matches(g, c))
				continue;
			if (sig_id)
				*sig_id = i;
			hit = 1;
		}
	}
	free(c);
	return hit;
}

/* The value of NAME (n bytes) in a NUL-separated NAME=VALUE block. */
static const char *env_value(const char *env, size_t len, const char *name, size_t n)
{
	size_t i = 0;

	while (env && i < len) {
		const char *e = env + i;
		size_t l = strnlen(e, len - i);

		if (l > n && e[n] == '=' && !memcmp(e, name, n))
			return l == len - i ? NULL : e + n + 1; /* unterminated: not trusted */
		i += l + 1;
	}
	return NULL;
}

const char *agentset__own_state(const struct agentset *s, const char *agent, const char *path,
				const char *env, size_t env_len)
{
	char glob[AW_PATH_MAX + 2], norm[AW_PATH_MAX];
	size_t i;

	/* Only a path already in normal form: with a ".", "..", "//" or a
	 * trailing slash, the kernel may resolve it elsewhere than it reads. */
	if (!s || !agent || !path || path[0] != '/' ||
	    path_join_normalize(NULL, path, norm, sizeof(norm)) < 0 || strcmp(norm, path))
		return NULL;
	for (i = 0; i < s->n; i++) {
		const struct sig *g = &s->v[i];
		const char *rest = g->pattern, *base = "";
		int n;

		if (g->kind != SIG_STATE || strcmp(g->agent, agent))
			continue;
		if (rest[0] == '~') {
			base = env_value(env, env_len, "HOME", 4);
			rest++;
		} else if (rest[0] == '$') {
			const char *slash = strchrnul(rest, '/');

			base = env_value(env, env_len, rest + 1, slash - rest - 1);
			rest = slash;
		}
		/* An unset or relative base names nothing. */
		if (!base || (rest != g->pattern && base[0] != '/'))
			continue;
		/* The directory and everything under it: fnmatch's '*' crosses '/'. */
		n = snprintf(glob, sizeof(glob), "%s%s/*", base, rest);
		if (n < 0 || (size_t)n >= sizeof(glob))
			continue;
		if (fnmatch(glob, path, 0) == 0)
			return g->pattern;
	}
	return NULL;
}
