// SPDX-License-Identifier: GPL-2.0
/*
 * Tests for the matcher's fast paths (user/rules_match.c): the per-match
 * state on the stack with its heap fallback for long argv, and path
 * predicates compared without fnmatch, checked against fnmatch itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include "test.h"
#include "agentwatch.h"
#include "paths.h"
#include "rules.h"

static char mdir[64];
static char merr[512];

/* Write text as <mdir>/m.rules; its path, or NULL. */
static const char *mwrite(const char *text)
{
	static char path[128];
	bool ok;
	int fd;

	if (!mdir[0]) {
		strcpy(mdir, "/tmp/aw-rmatch-XXXXXX");
		if (!mkdtemp(mdir))
			return NULL;
	}
	snprintf(path, sizeof(path), "%s/m.rules", mdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? path : NULL;
}

static struct ruleset *mset(const char *text)
{
	const char *path = mwrite(text);
	struct ruleset *rs;

	if (!path)
		return NULL;
	rs = ruleset__new();
	if (rs && ruleset__load_file(rs, path, merr, sizeof(merr))) {
		ruleset__free(rs);
		return NULL;
	}
	return rs;
}

static void mdir_remove(void)
{
	if (mdir[0])
		test__rmtree(mdir);
	mdir[0] = '\0';
}

static struct match_result mres;

/* argv given as words; env "HOME=..." or NULL. */
static int mexec(const struct ruleset *rs, const char *const *w, size_t n, const char *env)
{
	static char av[1 << 17];
	struct exec_ctx x = { 0 };
	size_t i, pos = 0;

	for (i = 0; i < n; i++) {
		size_t k = strlen(w[i]) + 1;

		if (pos + k > sizeof(av))
			return -E2BIG;
		memcpy(av + pos, w[i], k);
		pos += k;
	}
	x.argv = av;
	x.argv_len = pos;
	x.exe = "/usr/bin/cat";
	x.filename = "/usr/bin/cat";
	x.cwd = "/home/u/proj";
	x.workspace = "/home/u/proj";
	x.agent = "claude";
	x.env = env;
	x.env_len = env ? strlen(env) + 1 : 0;
	return ruleset__match_exec(rs, NULL, &x, &mres);
}

static bool fired(const char *id)
{
	size_t i;

	for (i = 0; i < mres.n_hits && i < RULE_HITS_MAX; i++)
		if (strcmp(mres.hits[i].id, id) == 0)
			return true;
	return false;
}

static const char argv_rules[] =
	"rule flag-late\n  action log\n  binary cat\n  flag --late\n"
	"rule sub-late\n  action log\n  binary cat\n  subcommand end here\n"
	"rule re-late\n  action log\n  binary cat\n  regex 'zz-tail$'\n"
	"rule target-late\n  action log\n  binary cat\n  target under /etc\n";

/*
 * argv of n words: "cat", fillers, then the ones that make every rule
 * fire at the very end, past the words the prep holds on the stack.
 */
static void argv_sizes_one(const struct ruleset *rs, size_t n, size_t fill_len, bool tail)
{
	static char filler[4096];
	const char **w = calloc(n + 8, sizeof(*w));
	size_t i, k = 0;

	ASSERT_TRUE(w != NULL);
	memset(filler, 'a', fill_len);
	filler[fill_len] = '\0';
	w[k++] = "cat";
	for (i = 0; i < n; i++)
		w[k++] = filler;
	if (tail) {
		w[k++] = "--late";
		w[k++] = "end";
		w[k++] = "here";
		w[k++] = "/etc/passwd";
		w[k++] = "zz-tail";
	}
	ASSERT_EQ_INT(mexec(rs, w, k, NULL), 0);
	free(w);
	ASSERT_EQ_INT(fired("flag-late"), tail);
	ASSERT_EQ_INT(fired("sub-late"), tail);
	ASSERT_EQ_INT(fired("re-late"), tail);
	ASSERT_EQ_INT(fired("target-late"), tail);
}

/* Word counts around the stack buffer's size (64 words), a huge argv after
 * a small one and a small one after it: each match starts clean. */
void test_rules_match_argv_sizes(void)
{
	static const size_t counts[] = { 0, 1, 58, 59, 60, 61, 62, 63, 64, 65, 200, 3000, 2, 16000, 1 };
	struct ruleset *rs = mset(argv_rules);
	size_t i;

	ASSERT_TRUE(rs != NULL);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		argv_sizes_one(rs, counts[i], 1, true);
		if (test__failed) {
			fprintf(stderr, "    with %zu filler words\n", counts[i]);
			break;
		}
		argv_sizes_one(rs, counts[i], 1, false);
		if (test__failed) {
			fprintf(stderr, "    with %zu filler words, no tail\n", counts[i]);
			break;
		}
	}
	/* The joined argv for regex: around its 1 KiB buffer, and far past. */
	for (i = 0; i < 2100 && !test__failed; i += 7)
		argv_sizes_one(rs, 1, i, true);
	ruleset__free(rs);
	mdir_remove();
}

/*
 * Operands depend on a rule's value options.  Rules with equal lists share
 * the operands worked out for an exec; a rule with another list, or none,
 * gets its own, in any order and across files appended to the set.
 */
void test_rules_match_value_options_per_rule(void)
{
	static const char *const cmd[] = { "cat", "-n", "x", "delete" };
	static const char *const line2[] = { "cat", "--other", "x", "delete" };
	struct ruleset *rs = mset(
		"rule n-xdel\n  action log\n  binary cat\n  value-options -n\n  subcommand x delete\n"
		"rule none-xdel\n  action log\n  binary cat\n  subcommand x delete\n"
		"rule other-xdel\n  action log\n  binary cat\n  value-options --other\n"
		"  subcommand x delete\n"
		"rule n-del\n  action log\n  binary cat\n  value-options -n\n  subcommand delete\n"
		"rule n-xdel-again\n  action log\n  binary cat\n  value-options -n\n"
		"  subcommand x delete\n");
	const char *path;

	ASSERT_TRUE(rs != NULL);
	path = mwrite("rule later-n-xdel\n  action log\n  binary cat\n  value-options -n\n"
		      "  subcommand x delete\n"
		      "rule later-other-xdel\n  action log\n  binary cat\n  value-options --other\n"
		      "  subcommand x delete\n");
	ASSERT_TRUE(path != NULL);
	ASSERT_EQ_INT(ruleset__load_file(rs, path, merr, sizeof(merr)), 0);

	/* -n takes "x": the operands are just "delete". */
	ASSERT_EQ_INT(mexec(rs, cmd, 4, NULL), 0);
	ASSERT_EQ_U64(mres.n_hits, 4);
	ASSERT_FALSE(fired("n-xdel"));
	ASSERT_TRUE(fired("none-xdel"));
	ASSERT_TRUE(fired("other-xdel"));
	ASSERT_TRUE(fired("n-del"));
	ASSERT_FALSE(fired("n-xdel-again"));
	ASSERT_FALSE(fired("later-n-xdel"));
	ASSERT_TRUE(fired("later-other-xdel"));

	/* --other takes "x" */
	ASSERT_EQ_INT(mexec(rs, line2, 4, NULL), 0);
	ASSERT_EQ_U64(mres.n_hits, 5);
	ASSERT_TRUE(fired("n-xdel"));
	ASSERT_TRUE(fired("none-xdel"));
	ASSERT_FALSE(fired("other-xdel"));
	ASSERT_TRUE(fired("n-del"));
	ASSERT_TRUE(fired("n-xdel-again"));
	ASSERT_TRUE(fired("later-n-xdel"));
	ASSERT_FALSE(fired("later-other-xdel"));
	ruleset__free(rs);
	mdir_remove();
}

/* A set can be reloaded, appended to or freed between matches: the
 * matcher keeps nothing of a set from one match to the next. */
void test_rules_match_reload_between(void)
{
	static const char *const rm_root[] = { "rm", "-rf", "/" };
	static const char *const git_st[] = { "git", "status" };
	struct ruleset *a = mset("rule a\n  action kill\n  binary rm\n  flag -r\n  target equal /\n");
	struct ruleset *b = mset("rule b\n  action pause\n  binary git\n  subcommand status\n");
	const char *path;

	ASSERT_TRUE(a && b);
	ASSERT_EQ_INT(mexec(a, rm_root, 3, NULL), 0);
	ASSERT_EQ_INT(mres.verdict, RA_KILL);
	ASSERT_EQ_INT(mexec(b, git_st, 2, NULL), 0);
	ASSERT_EQ_INT(mres.verdict, RA_PAUSE);
	ASSERT_EQ_INT(mexec(b, rm_root, 3, NULL), 0);
	ASSERT_EQ_INT(mres.verdict, RA_NONE);
	ruleset__free(a);
	ASSERT_EQ_INT(mexec(b, git_st, 2, NULL), 0);
	ASSERT_EQ_INT(mres.verdict, RA_PAUSE);

	/* Appending moves the rules and rebuilds the binary index. */
	path = mwrite("rule c\n  action kill\n  binary rm\n  flag -r\n");
	ASSERT_TRUE(path != NULL);
	ASSERT_EQ_INT(ruleset__load_file(b, path, merr, sizeof(merr)), 0);
	ASSERT_EQ_INT(mexec(b, rm_root, 3, NULL), 0);
	ASSERT_EQ_INT(mres.verdict, RA_KILL);
	ASSERT_TRUE(fired("c"));
	ASSERT_EQ_INT(mexec(b, git_st, 2, NULL), 0);
	ASSERT_EQ_INT(mres.verdict, RA_PAUSE);
	ruleset__free(b);
	mdir_remove();
}

/* ---- paths: the fast comparisons against fnmatch ------------------------- */

/* What the matcher did before it compared bytes: fnmatch on the glob. */
static bool ref_pat(const char *pat, const char *P, bool under)
{
	char buf[AW_PATH_MAX];
	size_t k, n = strlen(P);

	if (!under)
		return fnmatch(pat, P, FNM_PATHNAME) == 0;
	if (strcmp(pat, "/") == 0)
		return P[0] == '/';
	if (!strpbrk(pat, "*?[\\"))
		return path_is_under(P, pat);
	for (k = 1; k <= n; k++) {
		if (k < n && P[k] != '/')
			continue;
		memcpy(buf, P, k);
		buf[k] = '\0';
		if (fnmatch(pat, buf, FNM_PATHNAME) == 0)
			return true;
	}
	return false;
}

static bool ref_alt(const char *alt, const char *P, bool under, const char *home)
{
	char pat[2 * AW_PATH_MAX];
	size_t o = 0;
	const char *h;

	if (alt[0] != '~')
		return ref_pat(alt, P, under);
	snprintf(pat, sizeof(pat), "/root%s", alt + 1);
	if (ref_pat(pat, P, under))
		return true;
	snprintf(pat, sizeof(pat), "/home/*%s", alt + 1);
	if (ref_pat(pat, P, under))
		return true;
	if (!home)
		return false;
	for (h = home; *h; h++) {
		if (strchr("*?[\\", *h))
			pat[o++] = '\\';
		pat[o++] = *h;
	}
	while (o > 1 && pat[o - 1] == '/')
		o--;
	snprintf(pat + o, sizeof(pat) - o, "%s", alt + 1);
	return ref_pat(pat, P, under);
}

/* Several alternatives in one predicate: any of them. */
static const char *const alt_groups[][6] = {
	{ "~/.ssh/id_rsa", "~/.aws", "/etc/shadow", "/etc/gshadow", NULL },
	{ "~", "/etc", NULL },
	{ "/*", "~/.ssh", NULL },
	{ "~/*", "/srv/*/.config", NULL },
	{ "~/[.]ssh", "~/.aws", "/x/y", NULL },
	{ "/home/*/.ssh", "/root", "~/x", NULL },
};

void test_rules_path_forms_agree(void)
{
	static const char *const alts[] = {
		"/", "/*", "/*/*", "/home", "/home/*", "/home/*/.ssh", "/home/*/.ssh/id_*",
		"/etc/?asswd", "/var/*/x", "/a*b/c", "/root/.ssh", "/[ab]in", "/us[r]",
		"/x/y", "/srv/*", "/*a*", "/home/bob/*", "/home/?ob",
		"~", "~/", "~/.ssh", "~/.ssh/", "~//.ssh", "~/.ssh/id_*", "~/*", "~/*/x",
		"~/.config/gcloud", "~/.c?nfig", "~/[.]ssh", "~/.ssh/../.aws", "~/./.ssh",
	};
	static const char *const paths[] = {
		"/", "/root", "/rootx", "/root/.ssh", "/root/.ssh/id_rsa", "/home", "/home/bob",
		"/home/bob/.ssh", "/home/bob/.ssh/id_rsa", "/home/bob/.sshx", "/home/bob/x",
		"/home/bob/x/y", "/home/bob/project/.ssh", "/etc/passwd", "/etc/passwd/x",
		"/var/lib/x", "/var/x", "/ab/c", "/aXb/c/d", "/bin", "/ain", "/usr", "/srv/jenkins/.ssh/id_rsa",
		"/srv/jenkins", "/srv/jenkins/.config", "/home/a*b/.ssh", "/home/a*b", "/x/y/z",
		"/home/bob/.aws", "/home/bob/.config/gcloud/x", "/a", "/home/bob/.cxnfig",
	};
	/* HOME must be absolute and longer than "/" (then it is normalized:
	 * "//" is "/"), else it is /root and not the process's own. */
	static const char *const homes[] = { NULL, "/home/bob", "/srv/jenkins", "/", "//",
					     "/home/a*b", "/root", "/home/bob/", "/home//bob" };
	size_t a, p, h, under, checked = 0, bad = 0, ng = sizeof(alt_groups) / sizeof(alt_groups[0]);
	size_t na = sizeof(alts) / sizeof(alts[0]);

	for (a = 0; a < na + ng; a++) {
		for (under = 0; under < 2; under++) {
			const char *const *group = a < na ? &alts[a] : alt_groups[a - na];
			size_t g, n_group = a < na ? 1 : 0, o;
			char text[512], shown[256];
			struct ruleset *rs;

			while (a >= na && group[n_group])
				n_group++;
			o = (size_t)snprintf(shown, sizeof(shown), "'%s'", group[0]);
			for (g = 1; g < n_group; g++)
				o += (size_t)snprintf(shown + o, sizeof(shown) - o, "|'%s'", group[g]);
			snprintf(text, sizeof(text), "rule t\n  action log\n  binary cat\n  target %s %s\n",
				 under ? "under" : "equal", shown);
			rs = mset(text);
			if (!rs)
				fprintf(stderr, "    %s: %s\n", shown, merr);
			ASSERT_TRUE(rs != NULL);
			for (h = 0; h < sizeof(homes) / sizeof(homes[0]); h++) {
				char env[128], home_norm[AW_PATH_MAX];
				const char *home = NULL;

				if (homes[h])
					snprintf(env, sizeof(env), "HOME=%s", homes[h]);
				if (homes[h] && strlen(homes[h]) > 1) {
					path_join_normalize(NULL, homes[h], home_norm, sizeof(home_norm));
					home = home_norm;
				}
				for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
					const char *w[2] = { "cat", paths[p] };
					bool want = false;

					/* The set normalizes absolute rule paths; "~" ones stay. */
					for (g = 0; g < n_group && !want; g++) {
						char norm[AW_PATH_MAX];
						const char *alt = group[g];

						if (alt[0] == '/' &&
						    path_join_normalize(NULL, alt, norm, sizeof(norm)) >= 0)
							alt = norm;
						want = ref_alt(alt, paths[p], under, home);
					}

					if (mexec(rs, w, 2, homes[h] ? env : NULL) ||
					    (mres.n_hits > 0) != want) {
						fprintf(stderr, "    target %s %s, HOME=%s, path %s: "
							"got %d, expected %d\n", under ? "under" : "equal",
							shown, homes[h] ? homes[h] : "(unset)", paths[p],
							mres.n_hits > 0, want);
						bad++;
					}
					checked++;
				}
			}
			ruleset__free(rs);
		}
	}
	mdir_remove();
	ASSERT_EQ_INT(bad, 0);
	ASSERT_TRUE(checked > 10000);
}

/* "~" is the last HOME=/... of the environment, wherever it sits; an entry
 * that only contains "HOME=" is not one. */
void test_rules_match_home_from_env(void)
{
	static const struct { const char *env; size_t len; bool fires; } cases[] = {
		{ "HOME=/srv/b", 12, true },
		{ "A=1\0HOME=/srv/a\0B=2\0HOME=/srv/b\0C=3", 35, true },
		{ "HOME=/srv/b\0HOME=/srv/a", 24, false },
		{ "XHOME=/srv/b\0A=HOME=/srv/b", 27, false },
		{ "A=1\0\0HOME=/srv/b", 17, true },
		{ "A=1\0HOME=/srv/b\0", 17, true },
		{ "HOME=/srv/b\0HOME=", 18, true },
	};
	struct ruleset *rs = mset("rule k\n  action log\n  binary cat\n  target under ~/.ssh\n");
	struct exec_ctx x = { 0 };
	static const char av[] = "cat\0/srv/b/.ssh/id_rsa";
	size_t i;

	ASSERT_TRUE(rs != NULL);
	x.argv = av;
	x.argv_len = sizeof(av);
	x.exe = x.filename = "/usr/bin/cat";
	x.cwd = x.workspace = "/home/u/proj";
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		x.env = cases[i].env;
		x.env_len = cases[i].len;
		ASSERT_EQ_INT(ruleset__match_exec(rs, NULL, &x, &mres), 0);
		if ((mres.n_hits > 0) != cases[i].fires)
			fprintf(stderr, "    case %zu\n", i);
		ASSERT_EQ_INT(mres.n_hits > 0, cases[i].fires);
	}
	ruleset__free(rs);
	mdir_remove();
}

/* ---- symbolic links in path operands ----------------------------------- */

/* A made-up tree for exec_ctx.resolve: the workspace /w holds "out" (a link
 * to /scratch), "up" (a link to /w/../x, i.e. out of it by ..), "loop" (a
 * loop), and /o/into links back to /w/build. */
static int sym_readlink(void *ctx, const char *path, char *buf, size_t len)
{
	static const char *const links[][2] = {
		{ "/w/out", "/scratch" }, { "/w/loop", "loop" }, { "/o/into", "/w/build" },
		{ "/w/key", "/root/.ssh/id_rsa" }, { "/w/bad", "/w/loop/x" }, { NULL, NULL },
	};
	static const char *const dirs[] = { "/", "/w", "/w/build", "/scratch", "/o", "/root",
					    "/root/.ssh", NULL };
	size_t i;

	(void)ctx;
	for (i = 0; links[i][0]; i++)
		if (!strcmp(path, links[i][0]))
			return snprintf(buf, len, "%s", links[i][1]);
	for (i = 0; dirs[i]; i++)
		if (!strcmp(path, dirs[i]))
			return -EINVAL;
	return -ENOENT;
}

static int sym_resolve(void *ctx, const char *cwd, const char *path, unsigned flags, char *out,
		       size_t len, bool *last_link)
{
	const struct path_fs fs = { sym_readlink, NULL };

	(void)ctx;
	return path_resolve(&fs, cwd, path, flags, out, len, last_link);
}

static const char sym_rules[] =
	"rule rm-out\n  action pause\n  message \"{target}\"\n  binary rm\n  links nofollow\n"
	"  flag -r\n  target outside-workspace\n"
	"rule rm-in\n  action log\n  binary rm\n  links nofollow\n  target inside-workspace\n"
	"rule cat-key\n  action pause\n  message \"{target}\"\n  binary cat\n"
	"  target under ~/.ssh\n"
	"rule cat-out\n  action log\n  message \"{target}\"\n  binary cat\n"
	"  target outside-workspace\n";

static int sym_match(const struct ruleset *rs, bool resolver, const char *const *w, size_t n)
{
	static char av[4096];
	struct exec_ctx x = { 0 };
	size_t i, pos = 0;

	for (i = 0; i < n; i++) {
		size_t k = strlen(w[i]) + 1;

		memcpy(av + pos, w[i], k);
		pos += k;
	}
	x.argv = av;
	x.argv_len = pos;
	x.exe = x.filename = !strcmp(w[0], "rm") ? "/usr/bin/rm" : "/usr/bin/cat";
	x.cwd = x.workspace = "/w";
	x.agent = "claude";
	x.env = "HOME=/root";
	x.env_len = 11;
	if (resolver)
		x.resolve = sym_resolve;
	return ruleset__match_exec(rs, NULL, &x, &mres);
}

static const char *hit_message(const char *id)
{
	size_t i;

	for (i = 0; i < mres.n_hits && i < RULE_HITS_MAX; i++)
		if (!strcmp(mres.hits[i].id, id))
			return mres.hits[i].message;
	return NULL;
}

#define SYM(resolver, ...) do {							\
	static const char *const w__[] = { __VA_ARGS__ };			\
	ASSERT_EQ_INT(sym_match(rs, resolver, w__, sizeof(w__) / sizeof(w__[0])), 0); \
} while (0)

void test_rules_match_symlink_operands(void)
{
	struct ruleset *rs = mset(sym_rules);

	ASSERT_TRUE(rs != NULL);
	/* inside -> outside: lexically inside, really outside */
	SYM(false, "rm", "-rf", "out/");
	ASSERT_FALSE(fired("rm-out"));
	SYM(true, "rm", "-rf", "out/");
	ASSERT_TRUE(fired("rm-out"));
	ASSERT_EQ_STR(hit_message("rm-out"), "/scratch");
	SYM(true, "rm", "-rf", "out/a", "out/b");
	ASSERT_EQ_STR(hit_message("rm-out"), "/scratch/a");
	SYM(true, "rm", "-rf", "./out/.");
	ASSERT_TRUE(fired("rm-out"));
	/* rm of the link itself is inside (links nofollow) */
	SYM(true, "rm", "-rf", "out");
	ASSERT_FALSE(fired("rm-out"));
	ASSERT_TRUE(fired("rm-in"));
	/* outside -> inside: the link's target is what goes */
	SYM(true, "rm", "-rf", "/o/into/");
	ASSERT_FALSE(fired("rm-out"));
	SYM(true, "rm", "-rf", "/o/into/f");
	ASSERT_FALSE(fired("rm-out"));
	SYM(true, "rm", "-rf", "/o/into");
	ASSERT_TRUE(fired("rm-out"));
	ASSERT_EQ_STR(hit_message("rm-out"), "/o/into");
	/* .. after a link is the parent of its target */
	SYM(false, "rm", "-rf", "out/../w/build");
	ASSERT_FALSE(fired("rm-out"));
	SYM(true, "rm", "-rf", "out/../w/build");
	ASSERT_FALSE(fired("rm-out"));
	SYM(true, "rm", "-rf", "out/../etc");
	ASSERT_TRUE(fired("rm-out"));
	ASSERT_EQ_STR(hit_message("rm-out"), "/etc");
	ruleset__free(rs);
	mdir_remove();
}

/* Without `links nofollow` a link operand is judged where it is and where
 * it points: cat reads what a link points to. */
void test_rules_match_symlink_followed_by_default(void)
{
	struct ruleset *rs = mset(sym_rules);

	ASSERT_TRUE(rs != NULL);
	SYM(false, "cat", "key");
	ASSERT_FALSE(fired("cat-key"));
	SYM(true, "cat", "key");
	ASSERT_TRUE(fired("cat-key"));
	ASSERT_EQ_STR(hit_message("cat-key"), "/root/.ssh/id_rsa");
	ASSERT_TRUE(fired("cat-out"));
	SYM(true, "cat", "out");
	ASSERT_EQ_STR(hit_message("cat-out"), "/scratch");
	/* the same operand, kept between rules: nofollow for rm-in, both here */
	SYM(true, "cat", "build/f");
	ASSERT_FALSE(fired("cat-out"));
	ruleset__free(rs);
	mdir_remove();
}

/* A path that cannot be resolved counts as outside the workspace, never
 * inside, and the message says why. */
void test_rules_match_unresolvable_is_suspicious(void)
{
	struct ruleset *rs = mset(sym_rules);

	ASSERT_TRUE(rs != NULL);
	SYM(true, "rm", "-rf", "loop/x");
	ASSERT_TRUE(fired("rm-out"));
	ASSERT_FALSE(fired("rm-in"));
	ASSERT_EQ_STR(hit_message("rm-out"),
		      "/w/loop/x (a symbolic link in the path could not be resolved)");
	/* the link itself is fine; what it leads to is not */
	SYM(true, "rm", "-rf", "loop");
	ASSERT_FALSE(fired("rm-out"));
	SYM(true, "cat", "bad");
	ASSERT_TRUE(fired("cat-out"));
	SYM(true, "cat", "build/f");
	ASSERT_FALSE(fired("cat-out"));
	ruleset__free(rs);
	mdir_remove();
}

/* File events: the collector resolves the path; one it could not counts
 * as outside. */
void test_rules_match_file_unresolved(void)
{
	struct ruleset *rs = mset("rule f on file\n  action log\n  op delete\n"
				  "  target outside-workspace\n");
	struct file_ctx x = { 0 };

	ASSERT_TRUE(rs != NULL);
	x.op = AW_FILE_UNLINK;
	x.path = "/w/build/f";
	x.cwd = x.workspace = "/w";
	ASSERT_EQ_INT(ruleset__match_file(rs, NULL, &x, &mres), 0);
	ASSERT_EQ_INT(mres.n_hits, 0);
	x.unresolved = true;
	ASSERT_EQ_INT(ruleset__match_file(rs, NULL, &x, &mres), 0);
	ASSERT_EQ_INT(mres.n_hits, 1);
	ruleset__free(rs);
	mdir_remove();
}
