// SPDX-License-Identifier: GPL-2.0
/*
 * The rule matcher: exec, net and file events against a loaded set.
 * Semantics are documented in rules/README.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "paths.h"
#include "relit.h"
#include "rules_impl.h"
#include "util.h"

enum fire { NOFIRE, FIRE, FIRE_TRUNC };

/* argv words, operand indexes and joined-argv bytes that live in the
 * prep itself; a longer argv takes the heap.  An agent's commands are
 * nearly all well under these. */
#define PREP_WORDS 64
#define PREP_JOIN  1024
#define PREP_PATHS 8192 /* operands resolved as paths, kept for the next rule */

/* An operand's path, resolved once per event (word index < PREP_WORDS). */
struct oppath {
	uint32_t off;           /* into paths: where the operand is (a link: the link) */
	uint32_t off2;          /* into paths: what a link operand points to */
	uint8_t state;          /* 0 not yet, 1 a path, 2 not a path */
	uint8_t state2;         /* 0 not yet, 1 off2 holds it, 2 nothing to follow */
	bool link;              /* the last component is a symbolic link */
	bool unresolved;        /* resolve failed: off holds the lexical form */
	bool target_unresolved; /* following the link failed */
};

/*
 * Everything about one event that rules look at, worked out once, and
 * the scratch that evaluating rules needs.
 *
 * A prep lives on the matcher's stack (about 50 KiB), not the heap: the
 * set is shared and const (several threads may match against it at
 * once), so scratch owned by the set would need a lock, and scratch owned
 * by the caller would change the API for no gain: a stack frame is
 * already per thread, costs nothing to get, and can't outlive a reload.
 * Only the head (up to `bases`) is zeroed per event; each buffer after it
 * is valid only while its flag or count says so.  Fields marked "lazy"
 * are worked out the first time a rule needs them: most execs never meet
 * a rule that looks at them.
 */
struct prep {
	const struct ruleset *rs;
	struct ratetab *rt;
	enum rule_kind kind;
	uint64_t session_id, now_ns;
	const char *agent, *exe;
	/* exec */
	const struct exec_ctx *x;
	struct cmdline cl;
	size_t *ops, n_ops;             /* operands with no value options */
	size_t *ops_rule;               /* operands under the value options ... */
	size_t n_ops_rule;
	uint32_t ops_rule_vo;           /* ... of the rules with this vo_id (0: none) */
	char *joined;                   /* lazy: argv joined by spaces */
	size_t n_bases;
	bool abs_ready;                 /* lazy: file_abs, arg0_abs */
	bool file_abs_ok, arg0_abs_ok;
	bool home_ready;                /* lazy: home, home_from_env */
	bool env_ready;                 /* lazy: env, env_len (exec_ctx load_env) */
	const char *env;
	size_t env_len;
	bool home_from_env;
	uint32_t base_hash[3];          /* fnv1a32 of bases[] */
	size_t paths_used;
	bool target_unresolved;         /* per rule: {target} could not be resolved */
	/* exec and file */
	const char *cwd_in, *ws_in;
	bool cwd_ready, cwd_ok;         /* lazy: cwd */
	bool ws_ready, ws_ok;           /* lazy: ws */
	/* file */
	const struct file_ctx *f;
	bool fpath_ok[2];
	/* net */
	const struct net_ctx *nx;

	/* Not zeroed from here on (PREP_HEAD). */
	char bases[3][BASENAME_MAX + 1];
	char file_abs[AW_PATH_MAX], arg0_abs[AW_PATH_MAX];
	char home[AW_PATH_MAX];
	char cwd[AW_PATH_MAX];
	char ws[AW_PATH_MAX];
	char fpath[2][AW_PATH_MAX];
	/* per rule */
	char target[AW_PATH_MAX];
	char scratch[AW_PATH_MAX];
	char pat[AW_PATH_MAX * 2];
	struct cmdword words[PREP_WORDS];
	size_t ops_buf[PREP_WORDS], ops_rule_buf[PREP_WORDS];
	char joined_buf[PREP_JOIN];
	struct oppath oppath[PREP_WORDS];       /* the first cl.n are zeroed */
	char paths[PREP_PATHS];
};

#define PREP_HEAD offsetof(struct prep, bases)
_Static_assert(sizeof(struct prep) < 72 * 1024, "struct prep: rules.h promises about 64 KiB of stack");

/* ---- helpers ------------------------------------------------------------ */

static bool glob_ok(const char *glob, const char *s, int flags)
{
	return s && *s && fnmatch(glob, s, flags) == 0;
}

static bool glob_n(const char *glob, const char *p, size_t n, char *buf, size_t len)
{
	if (n >= len || memchr(p, '\0', n))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return fnmatch(glob, buf, 0) == 0;
}

/* Normalized absolute form of an absolute path, or false. */
static bool abs_norm(const char *p, char *out, size_t len)
{
	return p && p[0] == '/' && path_join_normalize(NULL, p, out, len) >= 0;
}

/* Copy s escaping glob magic, so a value from the event can't widen a pattern. */
static size_t glob_escape(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 2 < len; s++) {
		if (strchr("*?[\\", *s))
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
	return o;
}

/* The workspace (the set's `set workspace` wins), normalized; lazy. */
static bool prep_ws(struct prep *c)
{
	if (!c->ws_ready) {
		const char *ws = c->rs->workspace ? c->rs->workspace : c->ws_in;

		c->ws_ok = abs_norm(ws, c->ws, sizeof(c->ws));
		c->ws_ready = true;
	}
	return c->ws_ok;
}

static bool prep_cwd(struct prep *c)
{
	if (!c->cwd_ready) {
		c->cwd_ok = abs_norm(c->cwd_in, c->cwd, sizeof(c->cwd));
		c->cwd_ready = true;
	}
	return c->cwd_ok;
}

static void home_of(struct prep *c, const struct exec_ctx *x);

/* $HOME for exec events (/root when unset), /root otherwise; lazy. */
static void prep_home(struct prep *c)
{
	if (c->home_ready)
		return;
	c->home_ready = true;
	if (c->kind == RK_EXEC) {
		home_of(c, c->x);
		return;
	}
	strcpy(c->home, "/root");
	c->home_from_env = false;
}

/* execve path and argv[0] as absolute paths, for '/' binary globs; lazy. */
static void prep_abs(struct prep *c)
{
	char raw[AW_PATH_MAX];

	if (c->abs_ready)
		return;
	c->abs_ready = true;
	if (c->kind != RK_EXEC)
		return;
	c->file_abs_ok = abs_norm(c->x->filename, c->file_abs, sizeof(c->file_abs));
	if (c->cl.n && c->cl.w[0].n < sizeof(raw) && !memchr(c->cl.w[0].p, '\0', c->cl.w[0].n)) {
		memcpy(raw, c->cl.w[0].p, c->cl.w[0].n);
		raw[c->cl.w[0].n] = '\0';
		c->arg0_abs_ok = abs_norm(raw, c->arg0_abs, sizeof(c->arg0_abs));
	}
}

/* ---- predicates shared by all kinds ------------------------------------- */

static bool match_binary(struct prep *c, const struct pred *p)
{
	size_t i, b;

	for (i = 0; i < p->alts.n; i++) {
		const struct alt *a = &p->alts.v[i];
		const char *g = a->s;

		if (g[0] == '/') {
			prep_abs(c);
			if (glob_ok(g, c->exe, FNM_PATHNAME) ||
			    (c->file_abs_ok && glob_ok(g, c->file_abs, FNM_PATHNAME)) ||
			    (c->arg0_abs_ok && glob_ok(g, c->arg0_abs, FNM_PATHNAME)))
				return true;
			continue;
		}
		/* A basename without magic matches only itself: bytes, no fnmatch. */
		for (b = 0; b < c->n_bases; b++)
			if (a->magic ? glob_ok(g, c->bases[b], 0) :
				       c->bases[b][0] == g[0] && strcmp(c->bases[b], g) == 0)
				return true;
	}
	return false;
}

static bool match_globs(const struct altv *a, const char *s)
{
	size_t i;

	for (i = 0; s && i < a->n; i++)
		if (fnmatch(a->v[i].s, s, 0) == 0)
			return true;
	return false;
}

/* parent/ancestor: a basename glob matches the basename, a path glob the path. */
static bool match_exe_glob(const struct altv *a, const char *path)
{
	size_t i;

	for (i = 0; path && i < a->n; i++) {
		const char *g = a->v[i].s;

		if (g[0] == '/' ? fnmatch(g, path, FNM_PATHNAME) == 0 :
				  fnmatch(g, path_basename(path), 0) == 0)
			return true;
	}
	return false;
}

/* ---- paths -------------------------------------------------------------- */

/* Is path P equal to, or under, something pat matches (component-wise)? */
static bool under_glob(struct prep *c, const char *pat, const char *P)
{
	size_t k, n = strlen(P);

	if (strcmp(pat, "/") == 0)
		return P[0] == '/';
	if (!glob_has_magic(pat))
		return path_is_under(P, pat);
	for (k = 1; k <= n; k++) {
		if (k < n && P[k] != '/')
			continue;
		memcpy(c->scratch, P, k);
		c->scratch[k] = '\0';
		if (fnmatch(pat, c->scratch, FNM_PATHNAME) == 0)
			return true;
	}
	return false;
}

static bool pat_match(struct prep *c, const char *pat, const char *P, bool under)
{
	return under ? under_glob(c, pat, P) : fnmatch(pat, P, FNM_PATHNAME) == 0;
}

/* A rule path that is a glob (PF_GLOB); "~" stands for /root, /home/<any>
 * and the process's HOME. */
static bool alt_path_match_glob(struct prep *c, const char *alt, const char *P, bool under)
{
	static const char *const homes[] = { "/root", "/home/*" };
	const char *rest;
	size_t i, o;

	if (alt[0] != '~')
		return pat_match(c, alt, P, under);
	rest = alt + 1;
	for (i = 0; i < 2; i++) {
		snprintf(c->pat, sizeof(c->pat), "%s%s", homes[i], rest);
		if (pat_match(c, c->pat, P, under))
			return true;
	}
	prep_home(c);
	if (!c->home_from_env)
		return false;
	o = glob_escape(c->pat, AW_PATH_MAX, c->home);
	while (o > 1 && c->pat[o - 1] == '/')
		o--;
	snprintf(c->pat + o, sizeof(c->pat) - o, "%s", rest);
	return pat_match(c, c->pat, P, under);
}

/*
 * The rest of the paths, PF_LITERAL and PF_SIMPLE, are compared without
 * fnmatch, against a normalized absolute P.  With FNM_PATHNAME only a '/'
 * matches a '/', so a simple pattern matches component by component, and
 * a "~" path matches when P is below some home and the part of P after
 * that home matches the part of the rule path after the '~'.  The
 * collector never calls setlocale(), so fnmatch works on bytes too, and
 * the two ways agree (test_rules_path_forms_agree checks).
 */

/* One component, '*' and '?' only (neither can meet a '/': there is none). */
static bool comp_glob(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pn && (p[pi] == '?' || p[pi] == s[si])) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

/* pat and P both start with '/'.  "/" is the one component "", as
 * fnmatch sees it: a lone '*' matches it. */
static bool comp_match(const char *pat, const char *P, bool under)
{
	const char *p = pat + 1, *s = P + 1;

	for (;;) {
		const char *pe = strchrnul(p, '/'), *se = strchrnul(s, '/');

		if (!comp_glob(p, (size_t)(pe - p), s, (size_t)(se - s)))
			return false;
		if (!*pe)
			return under || !*se;
		if (!*se)
			return false;
		p = pe + 1;
		s = se + 1;
	}
}

/* P[0..n) against a PF_LITERAL or PF_SIMPLE path pat of a->plen bytes. */
static bool form_match(const struct alt *a, const char *pat, const char *P, size_t n, bool under)
{
	if (a->plen == 0)               /* "~" itself */
		return under || n == 0;
	if (n == 0)
		return false;
	if (a->pform == PF_SIMPLE)
		return comp_match(pat, P, under);
	/* Both start with '/': the second byte rules out most at no cost. */
	return n >= a->plen && P[1] == pat[1] && memcmp(P, pat, a->plen) == 0 &&
	       (n == a->plen || (under && P[a->plen] == '/'));
}

/* Where P is below each home a "~" can be: the rest of P after /root,
 * after /home/<one>, after $HOME; NULL where it is not below. */
struct below_home {
	bool ready, slow;               /* slow: HOME is "/", use the glob */
	const char *rest[3];
	size_t n[3];
};

static void below_home(struct prep *c, const char *P, size_t n, struct below_home *h)
{
	size_t hl;

	h->ready = true;
	if (n >= 5 && memcmp(P, "/root", 5) == 0 && (!P[5] || P[5] == '/'))
		h->rest[0] = P + 5;
	if (n > 6 && memcmp(P, "/home/", 6) == 0)
		h->rest[1] = strchrnul(P + 6, '/');
	prep_home(c);
	if (c->home_from_env) {
		hl = strlen(c->home);
		if (hl < 2)
			h->slow = true;
		else if (n >= hl && memcmp(P, c->home, hl) == 0 && (!P[hl] || P[hl] == '/'))
			h->rest[2] = P + hl;
	}
	for (hl = 0; hl < 3; hl++)
		h->n[hl] = h->rest[hl] ? n - (size_t)(h->rest[hl] - P) : 0;
}

static bool alt_path_match(struct prep *c, const struct alt *a, const char *P, size_t n,
			   bool under, struct below_home *h)
{
	size_t k;

	if (a->pform == PF_GLOB || P[0] != '/')
		return alt_path_match_glob(c, a->s, P, under);
	if (a->s[0] != '~')
		return form_match(a, a->s, P, n, under);
	if (!h->ready)
		below_home(c, P, n, h);
	for (k = 0; k < 3; k++)
		if (h->rest[k] && form_match(a, a->s + 1, h->rest[k], h->n[k], under))
			return true;
	if (h->slow)
		return alt_path_match_glob(c, a->s, P, under);
	return false;
}

static bool first_in(const uint64_t set[4], char ch)
{
	return (set[(unsigned char)ch / 64] >> ((unsigned char)ch % 64)) & 1;
}

/* equal|under without PF_GLOB alternatives: each group of alternatives
 * is tried only when the byte after the first '/' can match one of them. */
static bool path_pred_forms(struct prep *c, const struct pred *p, const char *P, size_t n,
			    bool under)
{
	struct below_home h = { 0 };
	size_t i, k;

	if (p->tany[0] || first_in(p->tfirst[0], P[1]))
		for (i = 0; i < p->alts.n; i++)
			if (p->alts.v[i].s[0] != '~' &&
			    form_match(&p->alts.v[i], p->alts.v[i].s, P, n, under))
				return true;
	if (!p->ttilde)
		return false;
	below_home(c, P, n, &h);
	for (k = 0; k < 3; k++) {
		if (!h.rest[k] || !(p->tany[1] || (h.n[k] && first_in(p->tfirst[1], h.rest[k][1]))))
			continue;
		for (i = 0; i < p->alts.n; i++)
			if (p->alts.v[i].s[0] == '~' &&
			    form_match(&p->alts.v[i], p->alts.v[i].s + 1, h.rest[k], h.n[k], under))
				return true;
	}
	for (i = 0; h.slow && i < p->alts.n; i++)
		if (p->alts.v[i].s[0] == '~' && alt_path_match_glob(c, p->alts.v[i].s, P, under))
			return true;
	return false;
}

static bool path_pred(struct prep *c, const struct pred *p, const char *P)
{
	struct below_home h = { 0 };
	bool under = p->tk == TK_UNDER;
	size_t i, n;

	switch (p->tk) {
	case TK_OUTSIDE_WS:
		return prep_ws(c) && !path_is_under(P, c->ws);
	case TK_INSIDE_WS:
		return prep_ws(c) && path_is_under(P, c->ws);
	case TK_EQUAL:
	case TK_UNDER:
		n = strlen(P);
		if (P[0] == '/' && !p->tglob)
			return path_pred_forms(c, p, P, n, under);
		for (i = 0; i < p->alts.n; i++)
			if (alt_path_match(c, &p->alts.v[i], P, n, under, &h))
				return true;
		return false;
	}
	return false;
}

/*
 * An operand path that could not be resolved (a loop of links, a link
 * that changed under the walk, a path through /proc's magic links) is
 * suspicious, not safe: it counts as outside the workspace, and never as
 * inside it.  Other predicates see its lexical form.
 */
static bool path_pred_op(struct prep *c, const struct pred *p, const char *P, bool unresolved)
{
	if (unresolved && p->tk == TK_OUTSIDE_WS)
		return prep_ws(c);
	if (unresolved && p->tk == TK_INSIDE_WS)
		return false;
	return path_pred(c, p, P);
}

/*
 * An operand as an absolute path: "~" and "~/x" are the home directory
 * (the shell would have expanded them; a literal one is still meant so),
 * a relative one is taken from the cwd.  URLs are not paths.  With a
 * resolver (the collector's), symbolic links are followed as the
 * process's own lookup will (flags: PATH_RESOLVE_FOLLOW for the last
 * component too); *link says the last component is a link left
 * unfollowed, *unresolved that out holds only the lexical form.
 */
static bool resolve_operand(struct prep *c, const struct cmdword *w, unsigned flags, char *out,
			    size_t len, bool *link, bool *unresolved)
{
	char buf[AW_PATH_MAX], res[AW_PATH_MAX];
	const char *raw = buf, *cwd = NULL;

	*link = *unresolved = false;
	if (w->n == 0 || w->n >= sizeof(buf) || memchr(w->p, '\0', w->n))
		return false;
	memcpy(buf, w->p, w->n);
	buf[w->n] = '\0';
	if (strstr(buf, "://"))
		return false;
	if (buf[0] == '~' && (buf[1] == '\0' || buf[1] == '/')) {
		prep_home(c);
		if (snprintf(c->scratch, sizeof(c->scratch), "%s/%s", c->home, buf + 1) >=
		    (int)sizeof(c->scratch))
			return false;
		raw = c->scratch;
	} else if (buf[0] != '/') {
		if (!prep_cwd(c))
			return false;
		cwd = c->cwd;
	}
	if (path_join_normalize(cwd, raw, out, len) < 0)
		return false;
	if (!c->x->resolve)
		return true;
	if (c->x->resolve(c->x->resolve_ctx, cwd, raw, flags, res, sizeof(res), link) < 0) {
		*link = false;
		*unresolved = true;
		return true;
	}
	snprintf(out, len, "%s", res);
	return true;
}

/* ---- exec predicates ---------------------------------------------------- */

/* The exec's environment: given, or loaded on first use. */
static void prep_env(struct prep *c, const char **env, size_t *len)
{
	if (!c->env_ready) {
		c->env_ready = true;
		c->env = c->x->env;
		c->env_len = c->x->env_len;
		if (!c->env && c->x->load_env &&
		    c->x->load_env(c->x->env_ctx, &c->env, &c->env_len))
			c->env = NULL;
		if (!c->env)
			c->env_len = 0;
	}
	*env = c->env;
	*len = c->env_len;
}

static bool env_lookup_match(struct prep *c, const struct alt *a)
{
	size_t pos = 0, nlen = strlen(a->s), env_len;
	char buf[AW_PATH_MAX];
	const char *env;

	prep_env(c, &env, &env_len);
	while (env && pos < env_len) {
		const char *e = env + pos;
		const char *nul = memchr(e, '\0', env_len - pos);
		size_t n = nul ? (size_t)(nul - e) : env_len - pos;

		if (n > nlen && e[nlen] == '=' && memcmp(e, a->s, nlen) == 0 &&
		    glob_n(a->env_value, e + nlen + 1, n - nlen - 1, buf, sizeof(buf)))
			return true;
		pos += n + 1;
	}
	return false;
}

static bool match_env(struct prep *c, const struct pred *p)
{
	size_t i;

	for (i = 0; i < p->alts.n; i++)
		if (env_lookup_match(c, &p->alts.v[i]))
			return true;
	return false;
}

/* A literal alternative is compared as bytes: fnmatch would say the same
 * (a word holds no NUL; a pattern without magic matches only itself). */
static bool word_matches(const struct altv *a, const struct cmdword *w, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		const struct alt *v = &a->v[i];

		if (!v->magic) {
			if (v->len == w->n && memcmp(v->s, w->p, w->n) == 0 && !memchr(w->p, '\0', w->n))
				return true;
		} else if (glob_n(v->s, w->p, w->n, buf, len)) {
			return true;
		}
	}
	return false;
}

/* Contiguous run of operands matching the words; *end: index in ops after it. */
static bool match_subcmd(struct prep *c, const struct pred *p, const size_t *ops, size_t n_ops,
			 size_t *end)
{
	size_t i, j;

	for (i = 0; i + p->n_words <= n_ops; i++) {
		for (j = 0; j < p->n_words; j++)
			if (!word_matches(&p->words[j], &c->cl.w[ops[i + j]], c->scratch,
					  sizeof(c->scratch)))
				break;
		if (j == p->n_words) {
			*end = i + p->n_words;
			return true;
		}
	}
	return false;
}

static bool match_flag(const struct prep *c, const struct pred *p, const struct cmd_valopts *vo)
{
	size_t i;

	for (i = 0; i < p->alts.n; i++)
		if (cmdline_has_flag(&c->cl, vo, &p->alts.v[i].fs))
			return true;
	return false;
}

static bool match_arg(struct prep *c, const struct pred *p)
{
	size_t i;

	for (i = 1; i < c->cl.n; i++)
		if (word_matches(&p->alts, &c->cl.w[i], c->scratch, sizeof(c->scratch)))
			return true;
	return false;
}

static bool match_regex(struct prep *c, const struct pred *p)
{
	if (!c->joined) {
		size_t need = cmdline_join(&c->cl, NULL, 0) + 1;

		c->joined = need <= sizeof(c->joined_buf) ? c->joined_buf : malloc(need);
		if (!c->joined)
			return false;
		cmdline_join(&c->cl, c->joined, need);
	}
	if (p->re_lits && !relit_any(p->re_lits, c->joined, p->re_icase))
		return false;
	return regexec(p->re, c->joined, 0, NULL, 0) == 0;
}

/* Keep s in the prep's path store; its offset, or -1 when full. */
static int64_t paths_keep(struct prep *c, const char *s)
{
	size_t n = strlen(s) + 1, off = c->paths_used;

	if (n > sizeof(c->paths) - off)
		return -1;
	memcpy(c->paths + off, s, n);
	c->paths_used += n;
	return (int64_t)off;
}

/* One operand as paths: where it is, and what a link operand points to. */
struct opres {
	const char *path, *target;
	bool unresolved;
};

/*
 * Word wi as paths (resolve_operand), or false.  Several rules, and
 * several predicates of one rule, look at the same operands, so the
 * results are kept in the prep; tmp and tmp2 are used past what the prep
 * holds.  The target of a link operand is worked out only for a rule that
 * asks (want_target: rules without `links nofollow`).
 */
static bool operand_paths(struct prep *c, size_t wi, bool want_target, char *tmp, char *tmp2,
			  struct opres *r)
{
	struct oppath *o = wi < PREP_WORDS ? &c->oppath[wi] : NULL;
	bool link, unres, l2, u2 = false;
	int64_t off;

	r->path = r->target = NULL;
	r->unresolved = false;
	if (o && o->state == 2)
		return false;
	if (o && o->state == 1) {
		r->path = c->paths + o->off;
		unres = o->unresolved;
		link = o->link;
	} else {
		if (!resolve_operand(c, &c->cl.w[wi], 0, tmp, AW_PATH_MAX, &link, &unres)) {
			if (o)
				o->state = 2;
			return false;
		}
		r->path = tmp;
		if (o && (off = paths_keep(c, tmp)) >= 0) {
			o->off = (uint32_t)off;
			o->state = 1;
			o->link = link;
			o->unresolved = unres;
			r->path = c->paths + off;
		}
	}
	r->unresolved = unres;
	if (!want_target || !link)
		return true;
	if (o && o->state2) {
		r->target = o->state2 == 1 ? c->paths + o->off2 : NULL;
		r->unresolved = o->target_unresolved;
		return true;
	}
	/* A link that leads somewhere unresolvable is as suspicious as an
	 * unresolvable path: its lexical form tells nothing. */
	if (resolve_operand(c, &c->cl.w[wi], PATH_RESOLVE_FOLLOW, tmp2, AW_PATH_MAX, &l2, &u2) &&
	    !u2)
		r->target = tmp2;
	r->unresolved = u2;
	if (o && !r->target) {
		o->state2 = 2;
		o->target_unresolved = u2;
	} else if (o && (off = paths_keep(c, tmp2)) >= 0) {
		o->off2 = (uint32_t)off;
		o->state2 = 1;
		o->target_unresolved = false;
		r->target = c->paths + off;
	}
	return true;
}

/* Word wi as the path where it is, or NULL (for {target} by default). */
static const char *operand_path(struct prep *c, size_t wi, char *tmp)
{
	struct opres r;

	return operand_paths(c, wi, false, tmp, NULL, &r) ? r.path : NULL;
}

/*
 * Some operand satisfies p: where it is, or, for a symbolic link operand
 * of a rule without `links nofollow`, where it points (cat, cp and chmod
 * act on what a link points to; rm and mv on the link itself).
 */
static bool match_target_ops(struct prep *c, const struct rule *rule, const struct pred *p,
			     const size_t *ops, size_t n, bool record)
{
	char tmp[AW_PATH_MAX], tmp2[AW_PATH_MAX];
	struct opres o;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *hit = NULL;

		if (!operand_paths(c, ops[i], !rule->links_nofollow, tmp, tmp2, &o))
			continue;
		if (path_pred_op(c, p, o.path, o.unresolved))
			hit = o.path;
		else if (o.target && path_pred(c, p, o.target))
			hit = o.target;
		if (hit) {
			if (record) {
				strcpy(c->target, hit);
				c->target_unresolved = o.unresolved;
			}
			return true;
		}
	}
	return false;
}

static bool rule_has_binary(const struct rule *r)
{
	size_t i;

	for (i = 0; i < r->n_preds; i++)
		if (r->preds[i].kind == P_BINARY && !r->preds[i].neg)
			return true;
	return false;
}

static bool rate_reached(struct prep *c, const struct rule *r, const struct pred *p)
{
	uint32_t n = c->rt ? ratetab__hit(c->rt, c->session_id, r->rate_key, c->now_ns, p->rate_ns) : 1;

	return n >= p->rate_n;
}

static enum fire eval_exec(struct prep *c, const struct rule *r)
{
	const struct cmd_valopts *vo = &r->vo;
	const size_t *ops = c->ops;
	size_t n_ops = c->n_ops, sub_end = 0, i;
	bool unknown = false, have_sub = false;

	c->target[0] = '\0';
	c->target_unresolved = false;
	if (r->n_valopts) {
		/* Rules for one binary mostly declare the same options. */
		if (!r->vo_id || r->vo_id != c->ops_rule_vo) {
			c->n_ops_rule = cmdline_operands(&c->cl, vo, c->ops_rule, c->cl.n);
			c->ops_rule_vo = r->vo_id;
		}
		n_ops = c->n_ops_rule;
		ops = c->ops_rule;
	}
	for (i = 0; i < r->n_preds; i++) {
		const struct pred *p = &r->preds[i];
		size_t end = 0, k;
		bool v = false;

		switch (p->kind) {
		case P_BINARY:
			v = match_binary(c, p);
			break;
		case P_AGENT:
			v = match_globs(&p->alts, c->agent);
			break;
		case P_PARENT:
			v = c->x->ancestors && c->x->n_ancestors &&
			    match_exe_glob(&p->alts, c->x->ancestors[0]);
			break;
		case P_ANCESTOR:
			for (k = 0; c->x->ancestors && k < c->x->n_ancestors && !v; k++)
				v = match_exe_glob(&p->alts, c->x->ancestors[k]);
			break;
		case P_ENV:
			v = match_env(c, p);
			break;
		case P_SUBCMD:
			v = match_subcmd(c, p, ops, n_ops, &end);
			if (v && !p->neg && !have_sub) {
				have_sub = true;
				sub_end = end;
			}
			break;
		case P_FLAG:
			v = match_flag(c, p, vo);
			break;
		case P_ARG:
			v = match_arg(c, p);
			break;
		case P_REGEX:
			v = match_regex(c, p);
			break;
		case P_TARGET:
			v = match_target_ops(c, r, p, ops + sub_end, n_ops - sub_end, !p->neg);
			break;
		case P_RATE:
			continue;       /* last, below */
		default:
			break;
		}
		if (p->neg)
			v = !v;
		if (v)
			continue;
		/* More argv could have made it hold: suspicious, not decided. */
		if (c->x->argv_truncated && pred_reads_argv(p->kind) && !p->neg) {
			unknown = true;
			continue;
		}
		return NOFIRE;
	}
	if (unknown && !rule_has_binary(r))
		return NOFIRE;
	if (r->n_preds && r->preds[r->n_preds - 1].kind == P_RATE &&
	    !rate_reached(c, r, &r->preds[r->n_preds - 1]))
		return NOFIRE;
	if (!c->target[0]) {
		char tmp[AW_PATH_MAX];

		for (i = sub_end; i < n_ops; i++) {
			const char *abs = operand_path(c, ops[i], tmp);

			if (abs) {
				strcpy(c->target, abs);
				break;
			}
		}
	}
	return unknown ? FIRE_TRUNC : FIRE;
}

/* ---- net and file predicates -------------------------------------------- */

static bool cidr_match(const struct cidr *cd, int family, const uint8_t *addr)
{
	int full = cd->plen / 8, bits = cd->plen % 8;

	if (cd->family != family)
		return false;
	if (memcmp(cd->addr, addr, full))
		return false;
	return !bits || ((cd->addr[full] ^ addr[full]) & (0xff00 >> bits)) == 0;
}

static bool match_dest(const struct net_ctx *x, const struct pred *p)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	bool is_mapped = x->family == AF_INET6 && memcmp(x->addr, mapped, 12) == 0;
	size_t i;

	for (i = 0; i < p->n_cidrs; i++)
		if (cidr_match(&p->cidrs[i], x->family, x->addr) ||
		    (is_mapped && cidr_match(&p->cidrs[i], AF_INET, x->addr + 12)))
			return true;
	return false;
}

static bool match_port(const struct net_ctx *x, const struct pred *p)
{
	size_t i;

	for (i = 0; i < p->n_ports; i++)
		if (x->port >= p->ports[i].lo && x->port <= p->ports[i].hi)
			return true;
	return false;
}

static bool match_proto(const struct net_ctx *x, const struct pred *p)
{
	size_t i;

	for (i = 0; i < p->n_protos; i++)
		if (p->protos[i] == x->protocol)
			return true;
	return false;
}

static enum fire eval_net(struct prep *c, const struct rule *r)
{
	size_t i;

	for (i = 0; i < r->n_preds; i++) {
		const struct pred *p = &r->preds[i];
		bool v = false;

		switch (p->kind) {
		case P_BINARY:
			v = match_binary(c, p);
			break;
		case P_AGENT:
			v = match_globs(&p->alts, c->agent);
			break;
		case P_DEST:
			v = match_dest(c->nx, p);
			break;
		case P_PORT:
			v = match_port(c->nx, p);
			break;
		case P_PROTO:
			v = match_proto(c->nx, p);
			break;
		case P_RATE:
			continue;
		default:
			break;
		}
		if (p->neg ? v : !v)
			return NOFIRE;
	}
	if (r->n_preds && r->preds[r->n_preds - 1].kind == P_RATE &&
	    !rate_reached(c, r, &r->preds[r->n_preds - 1]))
		return NOFIRE;
	return FIRE;
}

static enum fire eval_file(struct prep *c, const struct rule *r)
{
	size_t i, k;

	c->target[0] = '\0';
	c->target_unresolved = false;
	for (i = 0; i < r->n_preds; i++) {
		const struct pred *p = &r->preds[i];
		bool v = false;

		switch (p->kind) {
		case P_BINARY:
			v = match_binary(c, p);
			break;
		case P_AGENT:
			v = match_globs(&p->alts, c->agent);
			break;
		case P_OP:
			v = c->f->op > 0 && c->f->op < 32 && (p->ops >> c->f->op) & 1;
			break;
		case P_TARGET:
			for (k = 0; k < 2 && !v; k++)
				if (c->fpath_ok[k] &&
				    path_pred_op(c, p, c->fpath[k], k ? c->f->unresolved2 : c->f->unresolved)) {
					v = true;
					if (!p->neg) {
						strcpy(c->target, c->fpath[k]);
						c->target_unresolved = k ? c->f->unresolved2 : c->f->unresolved;
					}
				}
			break;
		case P_RATE:
			continue;
		default:
			break;
		}
		if (p->neg ? v : !v)
			return NOFIRE;
	}
	if (r->n_preds && r->preds[r->n_preds - 1].kind == P_RATE &&
	    !rate_reached(c, r, &r->preds[r->n_preds - 1]))
		return NOFIRE;
	if (!c->target[0] && c->fpath_ok[0])
		strcpy(c->target, c->fpath[0]);
	return FIRE;
}

/* ---- messages and results ----------------------------------------------- */

struct out_buf {
	char *p;
	size_t len, pos;
};

/* Append printable bytes; control bytes become '?' (the message ends up
 * on a terminal and in the agent's stderr). */
static void out_put(struct out_buf *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && o->pos + 1 < o->len; i++) {
		unsigned char ch = (unsigned char)s[i];

		o->p[o->pos++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	o->p[o->pos] = '\0';
}

static void out_str(struct out_buf *o, const char *s)
{
	out_put(o, s ? s : "", s ? strlen(s) : 0);
}

static void out_cmdline(struct out_buf *o, const struct cmdline *cl)
{
	size_t i;

	for (i = 0; i < cl->n && o->pos + 1 < o->len; i++) {
		if (i)
			out_put(o, " ", 1);
		out_put(o, cl->w[i].p, cl->w[i].n);
	}
}

/* The real binary, else the execve path, else argv[0]. */
static void out_binary(struct out_buf *o, const struct prep *c)
{
	if (c->exe && *c->exe)
		out_str(o, c->exe);
	else if (c->kind == RK_EXEC && c->x->filename && *c->x->filename)
		out_str(o, c->x->filename);
	else if (c->kind == RK_EXEC && c->cl.n)
		out_put(o, c->cl.w[0].p, c->cl.w[0].n);
}

static void render(struct prep *c, const struct rule *r, bool trunc, char *buf, size_t len)
{
	const char *t = r->message ? r->message : c->kind == RK_EXEC ? "{rule}: {cmdline}" : "{rule}: {target}";
	const char *note = trunc ? " (argv truncated)" : c->target_unresolved ?
			   " (a symbolic link in the path could not be resolved)" : NULL;
	struct out_buf o = { buf, len - (note ? strlen(note) : 0), 0 };

	buf[0] = '\0';
	while (*t) {
		const char *close;
		size_t n;

		if ((t[0] == '{' && t[1] == '{') || (t[0] == '}' && t[1] == '}')) {
			out_put(&o, t, 1);
			t += 2;
			continue;
		}
		if (t[0] != '{' || !(close = strchr(t, '}'))) {
			out_put(&o, t, 1);
			t++;
			continue;
		}
		n = close - t - 1;
		if (n == 5 && !memcmp(t + 1, "agent", 5))
			out_str(&o, c->agent);
		else if (n == 7 && !memcmp(t + 1, "cmdline", 7) && c->kind == RK_EXEC)
			out_cmdline(&o, &c->cl);
		else if (n == 6 && !memcmp(t + 1, "target", 6))
			out_str(&o, c->target);
		else if (n == 9 && !memcmp(t + 1, "workspace", 9))
			out_str(&o, prep_ws(c) ? c->ws : "");
		else if (n == 3 && !memcmp(t + 1, "cwd", 3))
			out_str(&o, prep_cwd(c) ? c->cwd : "");
		else if (n == 6 && !memcmp(t + 1, "binary", 6))
			out_binary(&o, c);
		else if (n == 4 && !memcmp(t + 1, "rule", 4))
			out_str(&o, r->id);
		t = close + 1;
	}
	if (note) {
		o.len = len;
		out_str(&o, note);
	}
}

static void record(struct prep *c, const struct rule *r, enum fire f, struct match_result *out)
{
	enum rule_mode m = rule_effective_mode(c->rs, r);
	struct rule_hit *h;

	if (r->action > out->would)
		out->would = r->action;
	if (m == RM_ENFORCE && r->action > out->verdict)
		out->verdict = r->action;
	if (out->n_hits >= RULE_HITS_MAX) {
		out->hits_truncated = true;
		out->n_hits++;
		return;
	}
	h = &out->hits[out->n_hits++];
	memset(h, 0, sizeof(*h));
	h->id = r->id;
	h->severity = r->severity;
	h->origin = r->origin;
	h->action = r->action;
	h->mode = m;
	h->argv_truncated = f == FIRE_TRUNC;
	if (r->action == RA_PAUSE) {
		h->pause_timeout_s = r->timeout_s;
		h->pause_default = r->pause_default;
	}
	render(c, r, f == FIRE_TRUNC, h->message, sizeof(h->message));
}

static void result_init(struct match_result *out)
{
	out->verdict = out->would = RA_NONE;
	out->n_hits = out->n_evaluated = 0;
	out->hits_truncated = false;
}

/* Start a prep for one event: zero the head only (see struct prep). */
static void prep_init(struct prep *c, const struct ruleset *rs, struct ratetab *rt,
		      enum rule_kind kind)
{
	memset(c, 0, PREP_HEAD);
	c->rs = rs;
	c->rt = rt;
	c->kind = kind;
}

static void prep_release(struct prep *c)
{
	cmdline_release(&c->cl);
	if (c->ops != c->ops_buf)
		free(c->ops);
	if (c->ops_rule != c->ops_rule_buf)
		free(c->ops_rule);
	if (c->joined != c->joined_buf)
		free(c->joined);
}

/* ---- exec --------------------------------------------------------------- */

/* The last HOME=/... entry of the environment.  memchr jumps from one 'H'
 * to the next: a login environment has a few dozen entries and few of
 * them hold one (a memmem for "\0HOME=/" cost ten times as much). */
static void home_of(struct prep *c, const struct exec_ctx *x)
{
	const char *env, *e, *end;
	size_t len;

	(void)x;
	prep_env(c, &env, &len);
	strcpy(c->home, "/root");
	c->home_from_env = false;
	if (!env)
		return;
	end = env + len;
	for (e = env; e < end && (e = memchr(e, 'H', (size_t)(end - e))); e++) {
		const char *nul;
		size_t n;

		if ((e != env && e[-1] != '\0') || end - e <= 6 || memcmp(e, "HOME=/", 6) != 0)
			continue;
		nul = memchr(e, '\0', (size_t)(end - e));
		n = nul ? (size_t)(nul - e) : (size_t)(end - e);
		if (n > 6 && n - 5 < sizeof(c->home)) {
			char raw[AW_PATH_MAX];

			memcpy(raw, e + 5, n - 5);
			raw[n - 5] = '\0';
			if (path_join_normalize(NULL, raw, c->home, sizeof(c->home)) >= 0)
				c->home_from_env = true;
			else
				strcpy(c->home, "/root");
		}
		if (!nul)
			break;
		e = nul;
	}
}

/*
 * Add the basename of path[0..n) unless it is empty, too long or already
 * there.  The same as path_basename() on a copy (a trailing slash gives
 * "", only slashes give "/"), without the copy.
 */
static void add_base(struct prep *c, const char *path, size_t n)
{
	const char *b, *last;
	size_t k, bn;

	if (!path || n == 0 || n >= AW_PATH_MAX || memchr(path, '\0', n))
		return;
	last = memrchr(path, '/', n);
	if (!last) {
		b = path;
	} else if (last + 1 < path + n) {
		b = last + 1;
	} else {
		for (b = last; b > path && b[-1] == '/'; b--)
			;
		if (b != path)
			return;         /* "dir/": no basename */
		b = last;               /* "/" */
	}
	bn = (size_t)(path + n - b);
	if (bn > BASENAME_MAX)
		return;
	for (k = 0; k < c->n_bases; k++)
		if (memcmp(c->bases[k], b, bn) == 0 && c->bases[k][bn] == '\0')
			return;
	memcpy(c->bases[c->n_bases], b, bn);
	c->bases[c->n_bases][bn] = '\0';
	c->base_hash[c->n_bases] = fnv1a32(b, bn);
	c->n_bases++;
}

static int prep_exec(struct prep *c, const struct ruleset *rs, struct ratetab *rt,
		     const struct exec_ctx *x)
{
	size_t nw;

	prep_init(c, rs, rt, RK_EXEC);
	c->x = x;
	c->agent = x->agent;
	c->exe = x->exe;
	c->session_id = x->session_id;
	c->now_ns = x->now_ns;
	c->cwd_in = x->cwd;
	c->ws_in = x->workspace;
	if (cmdline_init_buf(&c->cl, x->argv, x->argv_len, c->words, PREP_WORDS))
		return -ENOMEM;
	nw = c->cl.n + 1;
	if (nw <= PREP_WORDS) {
		c->ops = c->ops_buf;
		c->ops_rule = c->ops_rule_buf;
	} else {
		c->ops = calloc(nw, sizeof(*c->ops));
		c->ops_rule = calloc(nw, sizeof(*c->ops_rule));
		if (!c->ops || !c->ops_rule)
			return -ENOMEM;
	}
	c->n_ops = cmdline_operands(&c->cl, NULL, c->ops, c->cl.n);
	memset(c->oppath, 0, (c->cl.n < PREP_WORDS ? c->cl.n : PREP_WORDS) * sizeof(c->oppath[0]));
	if (x->exe)
		add_base(c, x->exe, strlen(x->exe));
	if (x->filename)
		add_base(c, x->filename, strlen(x->filename));
	if (c->cl.n)
		add_base(c, c->cl.w[0].p, c->cl.w[0].n);
	return 0;
}

/* The index entries filed under bases[b], as a slot of the hash table. */
static const struct idx_slot *idx_find(const struct prep *c, size_t b)
{
	const struct ruleset *rs = c->rs;
	uint32_t h = c->base_hash[b], k = h & rs->idx_mask;

	for (; rs->slots[k].base; k = (k + 1) & rs->idx_mask)
		if (rs->slots[k].hash == h && strcmp(rs->slots[k].base, c->bases[b]) == 0)
			return &rs->slots[k];
	return NULL;
}

int rules_match_exec_one(const struct ruleset *rs, struct ratetab *rt, const struct exec_ctx *x,
			 const struct rule *only, struct match_result *out)
{
	uint64_t mark[RULES_MAX / 64];
	struct prep c;
	size_t i, b;
	int err;

	result_init(out);
	if (!rs || !x)
		return 0;
	if ((err = prep_exec(&c, rs, rt, x))) {
		prep_release(&c);
		return err;
	}
	if (only) {
		enum fire f = eval_exec(&c, only);

		out->n_evaluated = 1;
		if (f != NOFIRE)
			record(&c, only, f, out);
		prep_release(&c);
		return 0;
	}
	/* The rules filed under this exec's basenames, and the unindexed ones. */
	memset(mark, 0, (rs->n + 63) / 64 * sizeof(mark[0]));
	for (b = 0; rs->slots && b < c.n_bases; b++) {
		const struct idx_slot *sl = idx_find(&c, b);
		const struct idx_ent *e = sl ? rs->idx + sl->start : NULL;

		for (i = 0; sl && i < sl->n; i++)
			mark[e[i].rule / 64] |= 1ull << (e[i].rule % 64);
	}
	for (i = 0; i < rs->n_unidx; i++)
		mark[rs->unidx[i] / 64] |= 1ull << (rs->unidx[i] % 64);
	for (i = 0; i < (rs->n + 63) / 64; i++) {
		uint64_t m = mark[i];

		while (m) {
			size_t r = i * 64 + (size_t)__builtin_ctzll(m);
			enum fire f;

			m &= m - 1;
			out->n_evaluated++;
			f = eval_exec(&c, &rs->v[r]);
			if (f != NOFIRE)
				record(&c, &rs->v[r], f, out);
		}
	}
	prep_release(&c);
	return 0;
}

int ruleset__match_exec(const struct ruleset *rs, struct ratetab *rt, const struct exec_ctx *x,
			struct match_result *out)
{
	return rules_match_exec_one(rs, rt, x, NULL, out);
}

/* ---- net ---------------------------------------------------------------- */

static void net_target(struct prep *c)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->nx->family == AF_INET6 ? AF_INET6 : AF_INET, c->nx->addr, a, sizeof(a)))
		strcpy(a, "?");
	snprintf(c->target, sizeof(c->target), c->nx->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 c->nx->port);
}

/* A net or file event: who did it, and the binary's basename for
 * `binary` predicates. */
static void prep_event(struct prep *c, const struct ruleset *rs, struct ratetab *rt,
		       enum rule_kind kind, const char *agent, const char *exe,
		       uint64_t session_id, uint64_t now_ns)
{
	prep_init(c, rs, rt, kind);
	c->agent = agent;
	c->exe = exe;
	c->session_id = session_id;
	c->now_ns = now_ns;
	if (exe)
		add_base(c, exe, strlen(exe));
}

int rules_match_net_one(const struct ruleset *rs, struct ratetab *rt, const struct net_ctx *x,
			const struct rule *only, struct match_result *out)
{
	bool have_target = false;
	struct prep c;
	size_t i;

	result_init(out);
	if (!rs || !x)
		return 0;
	prep_event(&c, rs, rt, RK_NET, x->agent, x->exe, x->session_id, x->now_ns);
	c.nx = x;
	for (i = 0; i < rs->n; i++) {
		const struct rule *r = only ? only : &rs->v[i];

		if (r->kind == RK_NET) {
			out->n_evaluated++;
			if (eval_net(&c, r) == FIRE) {
				/* Formatted once, when the first rule fires. */
				if (!have_target)
					net_target(&c);
				have_target = true;
				record(&c, r, FIRE, out);
			}
		}
		if (only)
			break;
	}
	prep_release(&c);
	return 0;
}

int ruleset__match_net(const struct ruleset *rs, struct ratetab *rt, const struct net_ctx *x,
		       struct match_result *out)
{
	return rules_match_net_one(rs, rt, x, NULL, out);
}

/* ---- file --------------------------------------------------------------- */

int rules_match_file_one(const struct ruleset *rs, struct ratetab *rt, const struct file_ctx *x,
			 const struct rule *only, struct match_result *out)
{
	const char *cwd;
	struct prep c;
	size_t i;

	result_init(out);
	if (!rs || !x)
		return 0;
	prep_event(&c, rs, rt, RK_FILE, x->agent, x->exe, x->session_id, x->now_ns);
	c.f = x;
	c.cwd_in = x->cwd;
	c.ws_in = x->workspace;
	cwd = prep_cwd(&c) ? c.cwd : NULL;
	c.fpath_ok[0] = x->path && path_join_normalize(cwd, x->path, c.fpath[0],
							sizeof(c.fpath[0])) >= 0;
	c.fpath_ok[1] = x->path2 && path_join_normalize(cwd, x->path2, c.fpath[1],
							 sizeof(c.fpath[1])) >= 0;
	for (i = 0; i < rs->n; i++) {
		const struct rule *r = only ? only : &rs->v[i];

		if (r->kind == RK_FILE) {
			out->n_evaluated++;
			if (eval_file(&c, r) == FIRE)
				record(&c, r, FIRE, out);
		}
		if (only)
			break;
	}
	prep_release(&c);
	return 0;
}

int ruleset__match_file(const struct ruleset *rs, struct ratetab *rt, const struct file_ctx *x,
			struct match_result *out)
{
	return rules_match_file_one(rs, rt, x, NULL, out);
}
