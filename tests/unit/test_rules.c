// SPDX-License-Identifier: GPL-2.0
/* Tests for the rule engine (user/rules*.c): parser, matcher, knobs, inline tests. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "agentwatch.h"
#include "rules.h"

#define WS "/home/u/proj"

/* ---- helpers ------------------------------------------------------------ */

static char tdir[64];
static char err[512];

static void tdir_make(void)
{
	strcpy(tdir, "/tmp/aw-rules-XXXXXX");
	if (!mkdtemp(tdir))
		tdir[0] = '\0';
}

static void tdir_remove(void)
{
	if (tdir[0])
		test__rmtree(tdir);
	tdir[0] = '\0';
}

static const char *tpath(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", tdir, name);
	return buf;
}

static bool write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok;
}

/* Load text as <tdir>/t.rules; err is set.  The temp dir is made on demand. */
static int load(struct ruleset *rs, const char *text)
{
	if (!tdir[0])
		tdir_make();
	if (!write_str(tpath("t.rules"), text))
		return -EIO;
	err[0] = '\0';
	return ruleset__load_file(rs, tpath("t.rules"), err, sizeof(err));
}

/* Error for text, with the temp dir replaced by "t.rules". */
static const char *load_err(const char *text)
{
	static char out[512];
	struct ruleset *rs = ruleset__new();
	const char *p;
	int r;

	r = load(rs, text);
	ruleset__free(rs);
	if (r == 0)
		return "(loaded)";
	p = strstr(err, "t.rules");
	snprintf(out, sizeof(out), "%s", p ? p : err);
	return out;
}

static struct ruleset *set_of(const char *text)
{
	struct ruleset *rs = ruleset__new();

	if (rs && load(rs, text)) {
		fprintf(stderr, "    %s\n", err);
		ruleset__free(rs);
		return NULL;
	}
	return rs;
}

struct ex {
	const char *cwd, *workspace, *agent, *exe, *filename;
	const char *env;        /* "A=1 B=2", blank-separated */
	const char *anc[4];
	bool truncated;
	uint64_t session, now_ns;
};

static char av_buf[4096], env_buf[1024];

/* Split on blanks into NUL-separated words. */
static size_t words(const char *s, char *out, size_t len)
{
	size_t n = strlen(s) + 1, i;

	if (n > len)
		return 0;
	memcpy(out, s, n);
	for (i = 0; i < n; i++)
		if (out[i] == ' ')
			out[i] = '\0';
	return n;
}

static int match_ex(const struct ruleset *rs, struct ratetab *rt, const char *cmd, const struct ex *e,
		    struct match_result *m)
{
	static char exe[256];
	struct exec_ctx x = { 0 };
	size_t k;

	x.argv = av_buf;
	x.argv_len = words(cmd, av_buf, sizeof(av_buf));
	if (e && e->exe) {
		x.exe = e->exe;
	} else {
		snprintf(exe, sizeof(exe), "/usr/bin/%.*s", (int)strcspn(cmd, " "), cmd);
		x.exe = exe;
	}
	x.filename = e && e->filename ? e->filename : x.exe;
	x.cwd = e && e->cwd ? e->cwd : WS;
	x.workspace = e && e->workspace ? e->workspace : WS;
	x.agent = e && e->agent ? e->agent : "claude";
	if (e && e->env) {
		x.env = env_buf;
		x.env_len = words(e->env, env_buf, sizeof(env_buf));
	}
	for (k = 0; e && k < 4 && e->anc[k]; k++)
		;
	x.ancestors = e ? e->anc : NULL;
	x.n_ancestors = k;
	x.argv_truncated = e && e->truncated;
	x.session_id = e && e->session ? e->session : 1;
	x.now_ns = e ? e->now_ns : 0;
	return ruleset__match_exec(rs, rt, &x, m);
}

static struct match_result mr;

/* The verdict ("would", monitor hits included) for cmd with defaults. */
static enum rule_action would(const struct ruleset *rs, const char *cmd, const struct ex *e)
{
	if (match_ex(rs, NULL, cmd, e, &mr))
		return (enum rule_action)-1;
	return mr.would;
}

static bool fires(const struct ruleset *rs, const char *cmd, const struct ex *e)
{
	return would(rs, cmd, e) != RA_NONE;
}

/* ---- flags, subcommands ------------------------------------------------- */

void test_rules_flag_equivalence(void)
{
	struct ruleset *rs = set_of(
		"rule rmrf\n"
		"  action kill\n"
		"  binary rm\n"
		"  flag -r|-R|--recursive\n"
		"  flag -f|--force\n");
	static const char *const yes[] = {
		"rm -rf x", "rm -r -f x", "rm -fR x", "rm --recursive --force x",
		"rm --recursive --force=true x", "rm x -Rf", "rm -vrfi x", NULL,
	};
	static const char *const no[] = {
		"rm -r x", "rm -f x", "rm --recursive --force=false x", "rm -- -rf x",
		"rm -r -- -f", "rmdir -rf x", "rm --recursive-ish --force x", NULL,
	};
	size_t i;

	ASSERT_NOT_NULL(rs);
	for (i = 0; yes[i]; i++) {
		if (!fires(rs, yes[i], NULL))
			test__fail(__FILE__, __LINE__, "'%s' should fire", yes[i]);
	}
	for (i = 0; no[i]; i++) {
		if (fires(rs, no[i], NULL))
			test__fail(__FILE__, __LINE__, "'%s' should not fire", no[i]);
	}
	ruleset__free(rs);
}

void test_rules_negative_flag(void)
{
	struct ruleset *rs = set_of(
		"rule pf\n"
		"  action pause\n"
		"  binary git\n"
		"  subcommand push\n"
		"  flag -f|--force\n"
		"  not flag --force-with-lease\n");

	ASSERT_NOT_NULL(rs);
	ASSERT_TRUE(fires(rs, "git push --force", NULL));
	ASSERT_TRUE(fires(rs, "git push -f origin main", NULL));
	ASSERT_FALSE(fires(rs, "git push --force-with-lease", NULL));
	ASSERT_FALSE(fires(rs, "git push -f --force-with-lease=main", NULL));
	ASSERT_FALSE(fires(rs, "git push", NULL));
	ASSERT_FALSE(fires(rs, "git pull --force", NULL));
	ruleset__free(rs);
}

void test_rules_subcommand_options_between(void)
{
	struct ruleset *rs = set_of(
		"rule ns\n"
		"  action pause\n"
		"  binary kubectl\n"
		"  value-options -n --namespace\n"
		"  subcommand delete namespace|ns\n"
		"rule gp\n"
		"  action pause\n"
		"  binary git\n"
		"  value-options -C\n"
		"  subcommand push\n"
		"  flag -f\n"
		"rule ds\n"
		"  action log\n"
		"  binary docker\n"
		"  subcommand system prune\n");

	ASSERT_NOT_NULL(rs);
	ASSERT_TRUE(fires(rs, "kubectl -n prod delete ns x", NULL));
	ASSERT_TRUE(fires(rs, "kubectl delete --wait=false namespace x", NULL));
	ASSERT_TRUE(fires(rs, "kubectl --namespace=prod delete ns x", NULL));
	ASSERT_FALSE(fires(rs, "kubectl delete pod x -n ns", NULL));
	ASSERT_FALSE(fires(rs, "kubectl get ns", NULL));
	ASSERT_FALSE(fires(rs, "kubectl delete", NULL));
	ASSERT_TRUE(fires(rs, "git -C dir push -f", NULL));
	ASSERT_TRUE(fires(rs, "git push origin -f", NULL));
	ASSERT_FALSE(fires(rs, "git -C push commit -f", NULL));
	/* contiguous: "system x prune" is not "system prune" */
	ASSERT_TRUE(fires(rs, "docker --debug system --force prune", NULL));
	ASSERT_FALSE(fires(rs, "docker system df prune", NULL));
	ruleset__free(rs);
}

void test_rules_arg_and_regex(void)
{
	struct ruleset *rs = set_of(
		"rule dd\n"
		"  action kill\n"
		"  binary dd\n"
		"  arg of=/dev/sd*\n"
		"rule del\n"
		"  action pause\n"
		"  binary psql\n"
		"  iregex '\\<delete[[:space:]]+from\\>'\n"
		"  not iregex '\\<where\\>'\n");
	static char cmd[128];

	ASSERT_NOT_NULL(rs);
	ASSERT_TRUE(fires(rs, "dd if=/dev/zero of=/dev/sda", NULL));
	ASSERT_FALSE(fires(rs, "dd if=/dev/sda of=x.img", NULL));
	/* regex over argv joined with spaces: the words are a NUL-separated argv */
	snprintf(cmd, sizeof(cmd), "psql -c DELETE FROM users");
	ASSERT_TRUE(fires(rs, cmd, NULL));
	ASSERT_FALSE(fires(rs, "psql -c DELETE FROM users WHERE id=1", NULL));
	ASSERT_FALSE(fires(rs, "psql -c select 1", NULL));
	ruleset__free(rs);
}

/* ---- paths -------------------------------------------------------------- */

void test_rules_path_predicates(void)
{
	struct ruleset *rs = set_of(
		"rule out\n"
		"  action pause\n"
		"  binary rm\n"
		"  target outside-workspace\n"
		"rule in\n"
		"  action log\n"
		"  binary touch\n"
		"  target inside-workspace\n"
		"rule home\n"
		"  action kill\n"
		"  binary shred\n"
		"  target equal /|/home/*|~\n"
		"rule sys\n"
		"  action kill\n"
		"  binary chmod\n"
		"  target under /etc|/home/*/.ssh\n");
	struct ex e = { 0 };

	ASSERT_NOT_NULL(rs);
	/* relative to cwd, with .. */
	ASSERT_FALSE(fires(rs, "rm -rf build", NULL));
	ASSERT_FALSE(fires(rs, "rm -rf ./build/../dist/", NULL));
	ASSERT_TRUE(fires(rs, "rm -rf ../other", NULL));
	ASSERT_EQ_STR(mr.hits[0].id, "out");
	ASSERT_TRUE(fires(rs, "rm -rf /tmp/x", NULL));
	e.cwd = "/tmp";
	ASSERT_TRUE(fires(rs, "rm -rf x", &e));
	e.cwd = WS "/src/a";
	ASSERT_FALSE(fires(rs, "rm -rf ../../b", &e));
	ASSERT_TRUE(fires(rs, "rm -rf ../../../b", &e));
	/* the workspace itself is inside; a trailing slash changes nothing */
	ASSERT_FALSE(fires(rs, "rm -rf " WS "/", NULL));
	e.cwd = NULL;
	e.workspace = WS "/";
	ASSERT_FALSE(fires(rs, "rm -rf " WS "/x", &e));
	/* component-wise: /home/u/proj2 is not under /home/u/proj */
	ASSERT_TRUE(fires(rs, "rm -rf /home/u/proj2", NULL));
	ASSERT_TRUE(fires(rs, "touch a", NULL));
	ASSERT_FALSE(fires(rs, "touch /tmp/a", NULL));
	/* equal: globs, trailing slashes, "~" */
	ASSERT_TRUE(fires(rs, "shred /", NULL));
	ASSERT_TRUE(fires(rs, "shred /home/u/", NULL));
	ASSERT_FALSE(fires(rs, "shred /home/u/x", NULL));
	ASSERT_TRUE(fires(rs, "shred /root", NULL));
	memset(&e, 0, sizeof(e));
	e.env = "HOME=/var/lib/ci";
	ASSERT_TRUE(fires(rs, "shred /var/lib/ci", &e));
	ASSERT_TRUE(fires(rs, "shred ~", &e));         /* a literal "~" operand is $HOME */
	ASSERT_FALSE(fires(rs, "shred ~/x", &e));
	ASSERT_FALSE(fires(rs, "shred /var/lib/ci", NULL));
	ASSERT_TRUE(fires(rs, "shred ~", NULL));         /* no HOME: /root */
	/* under: the directory itself and anything below, with glob dirs */
	ASSERT_TRUE(fires(rs, "chmod 600 /etc", NULL));
	ASSERT_TRUE(fires(rs, "chmod 600 /etc/ssh/sshd_config", NULL));
	ASSERT_FALSE(fires(rs, "chmod 600 /etcetera", NULL));
	ASSERT_TRUE(fires(rs, "chmod 600 /home/bob/.ssh/id_rsa", NULL));
	ASSERT_FALSE(fires(rs, "chmod 600 /home/bob/x/.ssh", NULL));
	/* URLs are not paths */
	ASSERT_FALSE(fires(rs, "rm -rf s3://bucket/x", NULL));
	ruleset__free(rs);
}

void test_rules_path_operands_after_subcommand(void)
{
	struct ruleset *rs = set_of(
		"rule gc\n"
		"  action pause\n"
		"  binary git\n"
		"  subcommand rm\n"
		"  target outside-workspace\n");
	struct ex e = { 0 };

	ASSERT_NOT_NULL(rs);
	ASSERT_TRUE(fires(rs, "git rm -r /etc/x", NULL));
	ASSERT_EQ_STR(mr.hits[0].message, "gc: git rm -r /etc/x");
	ASSERT_FALSE(fires(rs, "git rm -r x", NULL));
	/* operands before the subcommand are not targets */
	e.cwd = "/tmp";
	ASSERT_TRUE(fires(rs, "git rm x", &e));
	ASSERT_FALSE(fires(rs, "git /tmp rm x", NULL));
	ruleset__free(rs);
}

/* ---- lineage, env ------------------------------------------------------- */

void test_rules_lineage_and_env(void)
{
	struct ruleset *rs = set_of(
		"rule a\n  action log\n  binary curl\n  agent codex|aider*\n"
		"rule p\n  action log\n  binary curl\n  parent bash|/usr/bin/zsh\n"
		"rule n\n  action log\n  binary curl\n  ancestor make\n"
		"rule e\n  action log\n  binary psql\n  env DATABASE_URL=*prod*|PGHOST=prod-*\n");
	struct ex e = { 0 };

	ASSERT_NOT_NULL(rs);
	e.agent = "codex";
	ASSERT_TRUE(fires(rs, "curl x", &e));
	ASSERT_EQ_U64(mr.n_hits, 1);
	e.agent = "aider-chat";
	ASSERT_TRUE(fires(rs, "curl x", &e));
	e.agent = "claude";
	ASSERT_FALSE(fires(rs, "curl x", &e));
	e.anc[0] = "/bin/bash";
	e.anc[1] = "/usr/bin/make";
	ASSERT_TRUE(fires(rs, "curl x", &e));
	ASSERT_EQ_U64(mr.n_hits, 2);
	ASSERT_EQ_STR(mr.hits[0].id, "p");
	ASSERT_EQ_STR(mr.hits[1].id, "n");
	e.anc[0] = "/usr/bin/make";
	e.anc[1] = "/usr/bin/zsh";  /* grandparent: not the parent */
	ASSERT_TRUE(fires(rs, "curl x", &e));
	ASSERT_EQ_U64(mr.n_hits, 1);
	ASSERT_EQ_STR(mr.hits[0].id, "n");
	memset(&e, 0, sizeof(e));
	e.env = "A=1 DATABASE_URL=postgres://db.prod/x";
	ASSERT_TRUE(fires(rs, "psql", &e));
	e.env = "PGHOST=prod-1";
	ASSERT_TRUE(fires(rs, "psql", &e));
	e.env = "PGHOST=dev DATABASE_URLX=prod";
	ASSERT_FALSE(fires(rs, "psql", &e));
	ASSERT_FALSE(fires(rs, "psql", NULL));
	ruleset__free(rs);
}

/* ---- binary predicate and the index ------------------------------------- */

void test_rules_binary_forms(void)
{
	struct ruleset *rs = set_of(
		"list tools rm unlink\n"
		"rule base\n  action kill\n  binary @tools\n  flag -r\n"
		"rule path\n  action log\n  binary /opt/*/bin/deploy\n"
		"rule glob\n  action log\n  binary mkfs.*\n");
	struct ex e = { 0 };

	ASSERT_NOT_NULL(rs);
	ASSERT_TRUE(fires(rs, "rm -r x", NULL));
	/* busybox: the exe is busybox, the execve path and argv[0] say rm */
	e.exe = "/bin/busybox";
	e.filename = "/bin/rm";
	ASSERT_TRUE(fires(rs, "rm -r x", &e));
	e.filename = "/bin/busybox";
	ASSERT_TRUE(fires(rs, "rm -r x", &e));           /* argv[0] */
	e.exe = "/usr/bin/rm";
	ASSERT_TRUE(fires(rs, "/usr/bin/rm -r x", &e));
	memset(&e, 0, sizeof(e));
	e.exe = "/opt/acme/bin/deploy";
	ASSERT_TRUE(fires(rs, "deploy", &e));
	e.exe = "/opt/acme/x/bin/deploy";             /* '*' does not cross '/' */
	ASSERT_FALSE(fires(rs, "deploy", &e));
	ASSERT_TRUE(fires(rs, "mkfs.ext4 /dev/sdb", NULL));
	ruleset__free(rs);
}

void test_rules_binary_index(void)
{
	struct ruleset *rs = set_of(
		"rule rm1\n  action kill\n  binary rm\n  flag -r\n"
		"rule rm2\n  action log\n  binary rm|/bin/unlink\n"
		"rule git1\n  action pause\n  binary git\n  subcommand push\n"
		"rule any\n  action log\n  regex 'secret'\n"
		"rule glob\n  action log\n  binary py*\n"
		"rule net on net\n  action deny\n  dest 10.0.0.0/8\n");
	struct ex e = { 0 };

	ASSERT_NOT_NULL(rs);
	/* ls: only the rules without a literal binary */
	ASSERT_FALSE(fires(rs, "ls -la", NULL));
	ASSERT_EQ_U64(mr.n_evaluated, 2);
	ASSERT_TRUE(fires(rs, "rm -r x", NULL));
	ASSERT_EQ_U64(mr.n_evaluated, 4);
	ASSERT_EQ_U64(mr.n_hits, 2);
	ASSERT_FALSE(fires(rs, "git status", NULL));
	ASSERT_EQ_U64(mr.n_evaluated, 3);
	/* exe and execve path both count */
	e.exe = "/bin/busybox";
	e.filename = "/bin/unlink";
	ASSERT_TRUE(fires(rs, "unlink x", &e));
	ASSERT_EQ_U64(mr.n_evaluated, 3);
	ASSERT_TRUE(fires(rs, "ls secret", NULL));
	ASSERT_EQ_STR(mr.hits[0].id, "any");
	ruleset__free(rs);
}

/* ---- verdicts ----------------------------------------------------------- */

void test_rules_strongest_action_wins(void)
{
	struct ruleset *rs = set_of(
		"rule l\n  action log\n  binary rm\n"
		"rule k\n  action kill\n  binary rm\n  flag -r\n"
		"rule p\n  action pause timeout 30s default kill\n  binary rm\n  flag -f\n"
		"rule a\n  action alert\n  binary rm\n  not flag -i\n");

	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_INT(would(rs, "rm -rf x", NULL), RA_KILL);
	ASSERT_EQ_INT(mr.verdict, RA_KILL);
	ASSERT_EQ_U64(mr.n_hits, 4);
	ASSERT_EQ_STR(mr.hits[0].id, "l");
	ASSERT_EQ_STR(mr.hits[1].id, "k");
	ASSERT_EQ_STR(mr.hits[2].id, "p");
	ASSERT_EQ_STR(mr.hits[3].id, "a");
	ASSERT_EQ_U64(mr.hits[2].pause_timeout_s, 30);
	ASSERT_EQ_INT(mr.hits[2].pause_default, RA_KILL);
	ASSERT_EQ_INT(mr.hits[1].pause_timeout_s, 0);
	ASSERT_EQ_STR(mr.hits[1].severity, "medium");
	ASSERT_EQ_INT(would(rs, "rm -f x", NULL), RA_PAUSE);
	ASSERT_EQ_INT(would(rs, "rm -i x", NULL), RA_LOG);
	ASSERT_FALSE(fires(rs, "ls", NULL));
	ASSERT_EQ_INT(mr.verdict, RA_NONE);
	ruleset__free(rs);
}

void test_rules_action_order(void)
{
	ASSERT_TRUE(RA_LOG < RA_ALERT && RA_ALERT < RA_PAUSE && RA_PAUSE < RA_DENY &&
		    RA_DENY < RA_KILL && RA_KILL < RA_FREEZE && RA_FREEZE < RA_KILL_SESSION);
	ASSERT_EQ_STR(rule_action_name(RA_NONE), "allow");
	ASSERT_EQ_STR(rule_action_name(RA_KILL_SESSION), "kill-session");
	ASSERT_EQ_STR(rule_action_name((enum rule_action)99), "?");
	ASSERT_EQ_STR(rule_mode_name(RM_MONITOR), "monitor");
}

void test_rules_many_hits(void)
{
	char text[8192];
	size_t pos = 0, i;
	struct ruleset *rs;

	for (i = 0; i < 40; i++)
		pos += snprintf(text + pos, sizeof(text) - pos, "rule r%zu\n  action %s\n  binary rm\n",
				i, i == 39 ? "kill" : "log");
	rs = set_of(text);
	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_INT(would(rs, "rm x", NULL), RA_KILL);
	ASSERT_EQ_U64(mr.n_hits, 40);
	ASSERT_TRUE(mr.hits_truncated);
	ASSERT_EQ_STR(mr.hits[RULE_HITS_MAX - 1].id, "r31");
	ruleset__free(rs);
}

void test_rules_monitor_mode(void)
{
	struct ruleset *rs = set_of(
		"rule k\n  action kill\n  mode monitor\n  binary rm\n"
		"rule a\n  action alert\n  binary rm\n");
	struct ruleset *g = set_of(
		"set mode monitor\n"
		"rule k\n  action kill\n  binary rm\n"
		"rule p\n  action pause\n  mode enforce\n  binary rm\n  flag -f\n");

	ASSERT_NOT_NULL(rs);
	ASSERT_NOT_NULL(g);
	ASSERT_EQ_INT(would(rs, "rm x", NULL), RA_KILL);
	ASSERT_EQ_INT(mr.verdict, RA_ALERT);
	ASSERT_EQ_INT(mr.hits[0].mode, RM_MONITOR);
	ASSERT_EQ_INT(mr.hits[1].mode, RM_ENFORCE);
	ASSERT_EQ_INT(ruleset__mode(rs), RM_DEFAULT);
	/* global monitor; a rule's own mode wins */
	ASSERT_EQ_INT(ruleset__mode(g), RM_MONITOR);
	ASSERT_EQ_INT(would(g, "rm x", NULL), RA_KILL);
	ASSERT_EQ_INT(mr.verdict, RA_NONE);
	ASSERT_EQ_INT(would(g, "rm -f x", NULL), RA_KILL);
	ASSERT_EQ_INT(mr.verdict, RA_PAUSE);
	ruleset__free(rs);
	ruleset__free(g);
}

void test_rules_workspace_setting(void)
{
	struct ruleset *rs = set_of(
		"set workspace /srv/agent/\n"
		"rule out\n  action pause\n  binary rm\n  target outside-workspace\n");
	struct ex e = { 0 };

	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_STR(ruleset__workspace(rs), "/srv/agent");
	e.cwd = "/srv/agent";
	ASSERT_FALSE(fires(rs, "rm -rf x", &e));
	ASSERT_TRUE(fires(rs, "rm -rf " WS "/x", &e));  /* the collector's workspace is overridden */
	ASSERT_EQ_STR(mr.hits[0].message, "out: rm -rf /home/u/proj/x");
	ruleset__free(rs);
}

/* ---- messages ----------------------------------------------------------- */

void test_rules_message_template(void)
{
	struct ruleset *rs = set_of(
		"rule m\n"
		"  action kill\n"
		"  message '{rule}|{agent}|{cmdline}|{target}|{workspace}|{cwd}|{binary}|{{x}}'\n"
		"  binary rm\n"
		"  target outside-workspace\n"
		"rule d\n  action log\n  binary ls\n");
	struct ex e = { 0 };
	static char cmd[64];

	ASSERT_NOT_NULL(rs);
	e.cwd = "/tmp";
	ASSERT_TRUE(fires(rs, "rm -rf a/../b", &e));
	ASSERT_EQ_STR(mr.hits[0].message,
		      "m|claude|rm -rf a/../b|/tmp/b|/home/u/proj|/tmp|/usr/bin/rm|{x}");
	/* default template; control bytes are shown as '?' */
	snprintf(cmd, sizeof(cmd), "ls a\tb\x1b[2J");
	ASSERT_TRUE(fires(rs, cmd, NULL));
	ASSERT_EQ_STR(mr.hits[0].message, "d: ls a?b?[2J");
	ruleset__free(rs);
}

void test_rules_message_long_cmdline(void)
{
	struct ruleset *rs = set_of("rule d\n  action log\n  binary ls\n");
	static char cmd[2048];

	ASSERT_NOT_NULL(rs);
	memset(cmd, 'x', sizeof(cmd) - 1);
	memcpy(cmd, "ls ", 3);
	cmd[sizeof(cmd) - 1] = '\0';
	ASSERT_TRUE(fires(rs, cmd, NULL));
	ASSERT_EQ_U64(strlen(mr.hits[0].message), RULE_MESSAGE_MAX - 1);
	ruleset__free(rs);
}

/* ---- truncated argv ----------------------------------------------------- */

void test_rules_truncated_argv(void)
{
	struct ruleset *rs = set_of(
		"rule pf\n  action pause\n  binary git\n  subcommand push\n  flag --force\n"
		"  not flag --dry-run\n"
		"rule nobin\n  action log\n  regex 'zzz'\n");
	struct ex e = { .truncated = true };

	ASSERT_NOT_NULL(rs);
	ASSERT_FALSE(fires(rs, "git push origin", NULL));
	/* the binary matches; argv might have held --force further on */
	ASSERT_TRUE(fires(rs, "git push origin", &e));
	ASSERT_EQ_U64(mr.n_hits, 1);
	ASSERT_TRUE(mr.hits[0].argv_truncated);
	ASSERT_EQ_STR(mr.hits[0].message, "pf: git push origin (argv truncated)");
	/* what the visible part decides stays decided */
	ASSERT_FALSE(fires(rs, "git push --dry-run", &e));
	ASSERT_FALSE(fires(rs, "ls", &e));
	/* decided positively: no note */
	ASSERT_TRUE(fires(rs, "git push --force", &e));
	ASSERT_FALSE(mr.hits[0].argv_truncated);
	ruleset__free(rs);
}

/* ---- rate --------------------------------------------------------------- */

void test_rules_rate_window(void)
{
	struct ruleset *rs = set_of("rule r\n  action alert\n  binary rm\n  rate 3/16s\n");
	struct ratetab *rt = ratetab__new(16);
	struct ex e = { .session = 7 };
	struct match_result m;
	const uint64_t s = 1000000000ull;

	ASSERT_NOT_NULL(rs);
	ASSERT_NOT_NULL(rt);
	e.now_ns = 100 * s;
	ASSERT_EQ_INT(match_ex(rs, rt, "rm x", &e, &m), 0);
	ASSERT_EQ_U64(m.n_hits, 0);
	e.now_ns = 108 * s;
	match_ex(rs, rt, "rm x", &e, &m);
	ASSERT_EQ_U64(m.n_hits, 0);
	e.now_ns = 115 * s + s / 2;                 /* third within 16s: fires */
	match_ex(rs, rt, "rm x", &e, &m);
	ASSERT_EQ_U64(m.n_hits, 1);
	/* another session has its own count */
	e.session = 8;
	match_ex(rs, rt, "rm x", &e, &m);
	ASSERT_EQ_U64(m.n_hits, 0);
	e.session = 7;
	/* a non-matching exec is not counted */
	match_ex(rs, rt, "ls x", &e, &m);
	e.now_ns = 117 * s;                         /* 108, 115.5, 117 */
	match_ex(rs, rt, "rm x", &e, &m);
	ASSERT_EQ_U64(m.n_hits, 1);
	e.now_ns = 140 * s;                         /* 140 alone (and 117 is gone) */
	match_ex(rs, rt, "rm x", &e, &m);
	ASSERT_EQ_U64(m.n_hits, 0);
	e.now_ns = 1000 * s;
	match_ex(rs, rt, "rm x", &e, &m);
	ASSERT_EQ_U64(m.n_hits, 0);
	/* without a table, the event counts alone */
	ASSERT_EQ_INT(match_ex(rs, NULL, "rm x", &e, &m), 0);
	ASSERT_EQ_U64(m.n_hits, 0);
	ASSERT_EQ_U64(ratetab__count(rt), 2);
	ratetab__free(rt);
	ruleset__free(rs);
}

void test_rules_rate_table_bounded(void)
{
	struct ruleset *rs = set_of("rule r\n  action alert\n  binary rm\n  rate 2/10s\n");
	struct ratetab *rt = ratetab__new(4);
	struct ex e = { 0 };
	struct match_result m;
	uint64_t sess;

	ASSERT_NOT_NULL(rs);
	ASSERT_NOT_NULL(rt);
	for (sess = 1; sess <= 100; sess++) {
		e.session = sess;
		match_ex(rs, rt, "rm x", &e, &m);
		ASSERT_EQ_U64(m.n_hits, 0);
		ASSERT_TRUE(ratetab__count(rt) <= 4);
	}
	/* 97..100 are the most recent: their second event fires */
	e.session = 100;
	match_ex(rs, rt, "rm x", &e, &m);
	ASSERT_EQ_U64(m.n_hits, 1);
	/* 1 was evicted: it starts over */
	e.session = 1;
	match_ex(rs, rt, "rm x", &e, &m);
	ASSERT_EQ_U64(m.n_hits, 0);
	ratetab__free(rt);
	ratetab__free(NULL);
	ruleset__free(rs);
}

/* ---- parse errors ------------------------------------------------------- */

struct err_case {
	const char *text;
	const char *expect;
};

void test_rules_parse_errors(void)
{
	static const struct err_case cases[] = {
		{ "bogus\n", "t.rules:1:1: expected 'rule', 'list' or 'set', got 'bogus'" },
		{ "  action kill\n", "t.rules:1:3: expected 'rule', 'list' or 'set', got 'action'" },
		{ "rule\n", "t.rules:1:5: expected a rule id after 'rule'" },
		{ "rule a/b\n", "t.rules:1:7: expected a rule id made of letters, digits, '.', '_' and '-'" },
		{ "rule x on disk\n", "t.rules:1:11: expected exec, net or file" },
		{ "rule x\n  binary rm\n", "t.rules:1:6: rule 'x': expected an 'action' line" },
		{ "rule x\n  action log\n", "t.rules:1:6: rule 'x': expected at least one predicate "
		  "(binary, subcommand, flag, ...)" },
		{ "rule x\n  action nuke\n  binary rm\n", "t.rules:2:10: expected an action: log, alert, "
		  "pause, deny, kill, freeze or kill-session, got 'nuke'" },
		{ "rule x\n  action log\n  action kill\n", "t.rules:3:3: expected one 'action' per rule" },
		{ "rule x\n  action kill timeout 5s\n", "t.rules:2:15: expected end of line: timeout and "
		  "default apply to pause only" },
		{ "rule x\n  action pause timeout 5x\n", "t.rules:2:24: expected a timeout in whole "
		  "seconds, minutes or hours (1s to 168h), e.g. 60s" },
		{ "rule x\n  action pause default maybe\n", "t.rules:2:24: expected allow, deny or kill" },
		{ "rule x\n  action log\n  severity extreme\n", "t.rules:3:12: expected a severity: info, "
		  "low, medium, high or critical" },
		{ "rule x\n  action log\n  binary rm||unlink\n", "t.rules:3:13: expected a value (empty "
		  "alternative)" },
		{ "rule x\n  action log\n  binary rm|\n", "t.rules:3:13: expected a value (empty "
		  "alternative)" },
		{ "rule x\n  action log\n  binary @clis\n", "t.rules:3:10: expected a defined list: "
		  "'@clis' is not defined above" },
		{ "rule x\n  action log\n  binary rm unlink\n", "t.rules:3:13: expected end of line after "
		  "a binary name or absolute path (glob), got 'unlink' (join alternatives with '|')" },
		{ "rule x\n  action log\n  binary bin/rm\n", "t.rules:3:10: expected a basename or an "
		  "absolute path, got a relative path" },
		{ "rule x\n  action log\n  binary rm[\n", "t.rules:3:12: unterminated '[' in pattern" },
		{ "rule x on net\n  action deny\n  flag -r\n", "t.rules:3:3: 'flag' can never match in net "
		  "rule 'x' (it applies to exec rules; set the kind with `rule ID on KIND`)" },
		{ "rule x\n  action log\n  dest 10.0.0.0/8\n", "t.rules:3:3: 'dest' can never match in exec "
		  "rule 'x' (it applies to net rules; set the kind with `rule ID on KIND`)" },
		{ "rule x\n  action log\n  op unlink\n", "t.rules:3:3: 'op' can never match in exec rule "
		  "'x' (it applies to file rules; set the kind with `rule ID on KIND`)" },
		{ "rule x on net\n  action pause\n", "t.rules:2:10: pause is not available for net rules "
		  "(the kernel answers connect() at once): expected log, alert, deny, kill, freeze or "
		  "kill-session" },
		{ "rule x on file\n  action deny\n", "t.rules:2:10: deny is not available for file rules "
		  "(a syscall tracepoint cannot fail the syscall): expected log, alert, pause, kill, "
		  "freeze or kill-session" },
		{ "rule x\n  action kill\n  flag -r\n", "t.rules:1:6: rule 'x': an exec rule with action "
		  "kill must have a 'binary' predicate (the kernel only stops gated binaries)" },
		{ "rule x\n  action pause\n  not binary rm\n", "t.rules:1:6: rule 'x': an exec rule with "
		  "action pause must have a 'binary' predicate (the kernel only stops gated binaries)" },
		{ "rule x\n  action kill\n  binary rm|mkfs.*\n", "t.rules:3:13: rule 'x': an enforcing rule "
		  "needs literal basenames (the kernel gates exact names), got 'mkfs.*'" },
		{ "rule x\n  action kill\n  binary /usr/*/rm\n", "(loaded)" },
		{ "rule x\n  action kill\n  binary "
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  "t.rules:3:10: rule 'x': basename longer than 63 bytes cannot be gated" },
		{ "rule x\n  action log\n  flag -f\n  not flag -f|--force\n", "t.rules:4:3: rule 'x' can "
		  "never match: it requires and excludes '-f'" },
		{ "rule x\n  action log\n  flag force\n", "t.rules:3:8: expected a flag such as -r, --force, "
		  "-delete or --name=VALUE" },
		{ "rule x\n  action log\n  regex 'a('\n", "t.rules:3:9: expected a POSIX extended regular "
		  "expression: Unmatched ( or \\(" },
		{ "rule x\n  action log\n  regex ''\n", "t.rules:3:9: expected a regular expression, got "
		  "an empty one" },
		{ "rule x\n  action log\n  target near /x\n", "t.rules:3:10: expected equal, under, "
		  "outside-workspace or inside-workspace, got 'near'" },
		{ "rule x\n  action log\n  target under etc\n", "t.rules:3:16: expected an absolute path "
		  "or ~/..., got 'etc'" },
		{ "rule x\n  action log\n  env 1X=y\n", "t.rules:3:7: expected a variable name (letters, "
		  "digits, '_') before '='" },
		{ "rule x\n  action log\n  env X\n", "t.rules:3:8: expected '=' in NAME=GLOB" },
		{ "rule x on net\n  action deny\n  dest 10.0.0.1/8\n", "t.rules:3:8: expected a network "
		  "address: host bits are set past the prefix length" },
		{ "rule x on net\n  action deny\n  dest 10.0.0.0/33\n", "t.rules:3:8: expected a prefix "
		  "length from 0 to 32" },
		{ "rule x on net\n  action deny\n  dest example.com\n", "t.rules:3:8: expected an IPv4 or "
		  "IPv6 address, optionally /PREFIX" },
		{ "rule x on net\n  action deny\n  port 443|80-20\n", "t.rules:3:12: expected LOW-HIGH with "
		  "LOW <= HIGH (empty range)" },
		{ "rule x on net\n  action deny\n  port 70000\n", "t.rules:3:8: expected a port (0-65535) or "
		  "a range LOW-HIGH" },
		{ "rule x on net\n  action deny\n  proto tcp|ip\n", "t.rules:3:13: expected tcp, udp, icmp, "
		  "icmpv6 or sctp" },
		{ "rule x on file\n  action kill\n  op shred\n", "t.rules:3:6: expected unlink, unlinkat, "
		  "rmdir, rename, renameat, renameat2, truncate, open_trunc, delete, write or any" },
		{ "rule x\n  action log\n  binary rm\n  rate 0/1s\n", "t.rules:4:8: expected N/DURATION "
		  "with N from 1 to 1000000, e.g. 20/10s" },
		{ "rule x\n  action log\n  binary rm\n  rate 5/1y\n", "t.rules:4:10: expected a duration "
		  "such as 500ms, 10s, 5m or 1h" },
		{ "rule x\n  action log\n  binary rm\n  rate 5/1s\n  rate 5/1s\n", "t.rules:5:3: expected "
		  "one 'rate' per rule" },
		{ "rule x\n  action log\n  binary rm\n  not rate 5/1s\n", "t.rules:4:3: 'rate' cannot be "
		  "negated" },
		{ "rule x\n  action log\n  binary rm\n  message 'hi {who}'\n", "t.rules:4:15: expected a "
		  "placeholder: {agent}, {cmdline}, {target}, {workspace}, {cwd}, {binary} or {rule} "
		  "('{{' for a brace)" },
		{ "rule x\n  action log\n  binary rm\n  message 'a } b'\n", "t.rules:4:14: unexpected '}' "
		  "(write '}}' for a literal brace)" },
		{ "rule x\n  action log\n  binary 'rm\n", "t.rules:3:10: unterminated ' quote" },
		{ "rule x\n  action log\n  binary rm\x01\n", "t.rules:3:12: unexpected control character "
		  "0x01" },
		{ "rule x\n  action log\n  binary rm\n  block rm -rf\n", "t.rules:4:9: expected KEY=VALUE or "
		  "'--' before the command" },
		{ "rule x\n  action log\n  binary rm\n  block cwd=/x\n", "t.rules:4:15: expected '--' and "
		  "the command" },
		{ "rule x\n  action log\n  binary rm\n  block --\n", "t.rules:4:11: expected a command "
		  "after '--'" },
		{ "rule x\n  action log\n  binary rm\n  block cwd=rel -- rm\n", "t.rules:4:13: expected an "
		  "absolute cwd" },
		{ "rule x\n  action log\n  binary rm\n  block size=3 -- rm\n", "t.rules:4:9: expected cwd=, "
		  "workspace=, agent=, exe=, env=, parent=, ancestor=, truncated or '--' before the "
		  "command" },
		{ "rule x on net\n  action deny\n  dest 1.2.3.4\n  block port=80\n", "t.rules:4:16: "
		  "expected addr=ADDRESS" },
		{ "rule x on file\n  action kill\n  op unlink\n  block op=unlink\n", "t.rules:4:18: "
		  "expected op=OP and path=PATH" },
		{ "rule x\n  action log\n  binary rm\nrule x\n  action log\n  binary rm\n",
		  "t.rules:4:6: duplicate rule id 'x' (first defined at " },
		{ "list a x\nlist a y\n", "t.rules:2:6: duplicate list 'a' (first defined at " },
		{ "list a\n", "t.rules:1:7: expected list items after the name" },
		{ "set mode loud\n", "t.rules:1:10: expected monitor or enforce" },
		{ "set mode monitor\nset mode enforce\n", "t.rules:2:5: mode already set at " },
		{ "set workspace rel\n", "t.rules:1:15: expected an absolute path" },
		{ "set colour red\n", "t.rules:1:5: expected mode or workspace, got 'colour'" },
		{ "rule x\n  action log\n  binary rm\n  colour red\n", "t.rules:4:3: expected a rule "
		  "property (action, severity, message, mode, value-options, links, block, allow, not, or a "
		  "predicate such as binary), got 'colour'" },
		{ "rule x\n  action log\n  binary rm\n  links follow\n", "t.rules:4:9: expected nofollow" },
		{ "rule x\n  action log\n  binary rm\n  links\n", "t.rules:4:8: expected nofollow" },
		{ "rule x\n  action log\n  binary rm\n  links nofollow\n  links nofollow\n",
		  "t.rules:5:3: expected one 'links' per rule" },
		{ "rule x on file\n  action log\n  op delete\n  links nofollow\n", "t.rules:4:3: 'links' "
		  "can never matter in a file rule (it is about exec path operands)" },
		{ "rule x\n  action log\n  binary rm\n  not\n", "t.rules:4:6: expected a predicate after "
		  "'not'" },
		{ "rule x\n  action log\n  binary rm\n  value-options -n=3\n", "t.rules:4:17: expected an "
		  "option such as -n, --namespace or -name" },
		{ NULL, NULL },
	};
	size_t i;

	for (i = 0; cases[i].text; i++) {
		const char *got = load_err(cases[i].text);

		if (strncmp(got, cases[i].expect, strlen(cases[i].expect)) != 0)
			test__fail_str(__FILE__, __LINE__, cases[i].text, got, cases[i].expect);
	}
	tdir_remove();
}

void test_rules_line_too_long(void)
{
	static char text[RULES_LINE_MAX + 64];
	struct ruleset *rs = ruleset__new();

	ASSERT_NOT_NULL(rs);
	memset(text, 'a', sizeof(text) - 2);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	ASSERT_EQ_INT(load(rs, text), -EINVAL);
	ASSERT_NOT_NULL(strstr(err, "t.rules:1:4097: line longer than 4096 bytes"));
	/* NUL in the file */
	ASSERT_EQ_INT(ruleset__count(rs), 0);
	ruleset__free(rs);
	tdir_remove();
}

void test_rules_error_on_later_line_of_rule(void)
{
	/* a rule-level error found at the end of a rule names its own line */
	ASSERT_EQ_STR(load_err("\n\nrule late\n  binary rm\n\nrule next\n  action log\n  binary rm\n"),
		      "t.rules:3:6: rule 'late': expected an 'action' line");
	tdir_remove();
}

/* ---- loading ------------------------------------------------------------ */

void test_rules_all_or_nothing(void)
{
	struct ruleset *rs = ruleset__new();
	char dir[300];

	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_INT(load(rs, "list l a b\nrule one\n  action log\n  binary @l\n"), 0);
	ASSERT_EQ_U64(ruleset__count(rs), 1);
	/* a file with an error at its end adds nothing, not even its lists */
	ASSERT_EQ_INT(load(rs, "list m c\nrule two\n  action log\n  binary rm\nrule three\n"), -EINVAL);
	ASSERT_EQ_U64(ruleset__count(rs), 1);
	ASSERT_EQ_INT(load(rs, "rule four\n  action log\n  binary @m\n"), -EINVAL);
	ASSERT_NOT_NULL(strstr(err, "'@m' is not defined"));
	/* lists of an earlier load are visible; ids too */
	ASSERT_EQ_INT(load(rs, "rule two\n  action log\n  binary @l\n"), 0);
	ASSERT_EQ_U64(ruleset__count(rs), 2);
	ASSERT_EQ_INT(load(rs, "rule one\n  action log\n  binary x\n"), -EINVAL);
	ASSERT_NOT_NULL(strstr(err, "duplicate rule id 'one'"));
	ASSERT_EQ_U64(ruleset__count(rs), 2);
	ruleset__free(rs);

	/* a directory: every file or none; ids are unique across files */
	snprintf(dir, sizeof(dir), "%s/d", tdir);
	ASSERT_EQ_INT(mkdir(dir, 0700), 0);
	ASSERT_TRUE(write_str(tpath("d/a.rules"), "list shared x\nrule a\n  action log\n  binary x\n"));
	ASSERT_TRUE(write_str(tpath("d/b.rules"), "rule b\n  action log\n  binary @shared\n"));
	ASSERT_TRUE(write_str(tpath("d/notes.txt"), "not rules\n"));
	ASSERT_TRUE(write_str(tpath("d/.hidden.rules"), "garbage\n"));
	rs = ruleset__new();
	ASSERT_EQ_INT(ruleset__load_dir(rs, dir, err, sizeof(err)), 0);
	ASSERT_EQ_U64(ruleset__count(rs), 2);
	ruleset__free(rs);
	ASSERT_TRUE(write_str(tpath("d/c.rules"), "rule a\n  action log\n  binary y\n"));
	rs = ruleset__new();
	ASSERT_EQ_INT(ruleset__load_dir(rs, dir, err, sizeof(err)), -EINVAL);
	ASSERT_NOT_NULL(strstr(err, "d/c.rules:1:6: duplicate rule id 'a' (first defined at "));
	ASSERT_NOT_NULL(strstr(err, "d/a.rules:2)"));
	ASSERT_EQ_U64(ruleset__count(rs), 0);
	ruleset__free(rs);
	tdir_remove();
}

void test_rules_load_refuses_symlink(void)
{
	struct ruleset *rs = ruleset__new();

	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_INT(load(rs, "rule a\n  action log\n  binary x\n"), 0);
	ASSERT_EQ_INT(symlink(tpath("t.rules"), tpath("link.rules")), 0);
	ASSERT_EQ_INT(ruleset__load_file(rs, tpath("link.rules"), err, sizeof(err)), -ELOOP);
	ASSERT_NOT_NULL(strstr(err, "is a symbolic link"));
	ASSERT_EQ_INT(ruleset__load_file(rs, tpath("missing.rules"), err, sizeof(err)), -ENOENT);
	ASSERT_EQ_INT(ruleset__load_dir(rs, tpath("nodir"), err, sizeof(err)), -ENOENT);
	ASSERT_EQ_INT(ruleset__load_file(rs, tdir, err, sizeof(err)), -EINVAL);
	ASSERT_EQ_U64(ruleset__count(rs), 1);
	ruleset__free(rs);
	ruleset__free(NULL);
	tdir_remove();
}

/* As root, a rules file or directory that a non-root user could change is
 * refused: the agent running as that user would own the policy. */
void test_rules_load_refuses_untrusted_owner_or_mode(void)
{
	struct ruleset *rs = ruleset__new();

	ASSERT_NOT_NULL(rs);
	if (geteuid() != 0) {
		ruleset__free(rs);
		return; /* the check applies to root only */
	}
	ASSERT_EQ_INT(load(rs, "rule a\n  action log\n  binary x\n"), 0);
	ASSERT_EQ_INT(chmod(tpath("t.rules"), 0602), 0);
	ASSERT_EQ_INT(ruleset__load_file(rs, tpath("t.rules"), err, sizeof(err)), -EPERM);
	ASSERT_NOT_NULL(strstr(err, "writable by everyone"));
	ASSERT_EQ_INT(chmod(tpath("t.rules"), 0620), 0);
	ASSERT_EQ_INT(chown(tpath("t.rules"), 0, 1000), 0);
	ASSERT_EQ_INT(ruleset__load_file(rs, tpath("t.rules"), err, sizeof(err)), -EPERM);
	ASSERT_NOT_NULL(strstr(err, "writable by a non-root group"));
	ASSERT_EQ_INT(chmod(tpath("t.rules"), 0600), 0);
	ASSERT_EQ_INT(chown(tpath("t.rules"), 1000, 0), 0);
	ASSERT_EQ_INT(ruleset__load_file(rs, tpath("t.rules"), err, sizeof(err)), -EPERM);
	ASSERT_NOT_NULL(strstr(err, "owned by uid 1000, not root"));
	ASSERT_EQ_INT(chown(tpath("t.rules"), 0, 0), 0);
	ruleset__free(rs);
	rs = ruleset__new();
	ASSERT_NOT_NULL(rs);
	/* the directory: anyone who can write it can add a file */
	ASSERT_EQ_INT(chmod(tdir, 0777), 0);
	ASSERT_EQ_INT(ruleset__load_dir(rs, tdir, err, sizeof(err)), -EPERM);
	ASSERT_NOT_NULL(strstr(err, "writable by everyone"));
	ASSERT_EQ_INT(chmod(tdir, 0700), 0);
	ASSERT_EQ_INT(ruleset__load_dir(rs, tdir, err, sizeof(err)), 0);
	ASSERT_EQ_U64(ruleset__count(rs), 1);
	ruleset__free(rs);
	tdir_remove();
}

/* The environment is read only when a rule that applies needs it. */
struct env_count {
	int calls;
	const char *env;
	size_t len;
};

static int count_env(void *ctx, const char **env, size_t *len)
{
	struct env_count *e = ctx;

	e->calls++;
	*env = e->env;
	*len = e->len;
	return 0;
}

static int match_lazy(struct ruleset *rs, const char *argv, size_t argv_len, struct env_count *e,
		      struct match_result *m)
{
	struct exec_ctx x = { 0 };

	x.exe = "/usr/bin/x";
	x.argv = argv;
	x.argv_len = argv_len;
	x.cwd = WS;
	x.workspace = WS;
	x.agent = "a";
	x.load_env = count_env;
	x.env_ctx = e;
	return ruleset__match_exec(rs, NULL, &x, m);
}

void test_rules_env_loaded_only_when_a_rule_needs_it(void)
{
	static const char env[] = "PATH=/bin\0HOME=/home/u\0DATABASE_URL=postgres://prod-db/x";
	struct env_count e = { 0, env, sizeof(env) };
	struct ruleset *rs = ruleset__new();
	struct match_result m;

	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_INT(load(rs, "rule prod-db\n  action kill\n  binary psql\n"
			       "  env DATABASE_URL=*prod*\n"
			       "rule home-key\n  action kill\n  binary cat\n  target under ~/.ssh/id_rsa\n"
			       "rule plain\n  action log\n  binary ls\n"), 0);
	ASSERT_EQ_INT(match_lazy(rs, "ls\0-la", 7, &e, &m), 0);
	ASSERT_EQ_INT(e.calls, 0);                /* no rule for ls reads the environment */
	ASSERT_EQ_U64(m.n_hits, 1);
	ASSERT_EQ_INT(match_lazy(rs, "psql\0-c\0select 1", 17, &e, &m), 0);
	ASSERT_EQ_INT(e.calls, 1);                /* the env predicate asked, once */
	ASSERT_EQ_U64(m.n_hits, 1);
	ASSERT_EQ_STR(m.hits[0].id, "prod-db");
	ASSERT_EQ_INT(match_lazy(rs, "cat\0/home/u/.ssh/id_rsa", 24, &e, &m), 0);
	ASSERT_EQ_INT(e.calls, 2);                /* ~ needs HOME from the environment */
	ASSERT_EQ_U64(m.n_hits, 1);
	ruleset__free(rs);
	tdir_remove();
}

/* ---- net and file ------------------------------------------------------- */

static int net_match(const struct ruleset *rs, const char *addr, uint16_t port, int proto,
		     struct match_result *m)
{
	struct net_ctx x = { 0 };

	x.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(x.family, addr, x.addr) != 1)
		return -1;
	x.port = port;
	x.protocol = proto;
	x.agent = "claude";
	x.exe = "/usr/bin/curl";
	ruleset__match_net(rs, NULL, &x, m);
	return (int)m->verdict;
}

void test_rules_net(void)
{
	struct ruleset *rs = set_of(
		"rule md on net\n  action deny\n  dest 169.254.169.254|fd00:ec2::254\n"
		"  message '{agent} {binary} {target}'\n"
		"rule db on net\n  action alert\n  dest 10.0.0.0/8|2001:db8::/32\n  port 5432|6000-6010\n"
		"  proto tcp\n"
		"rule n on net\n  action log\n  binary wget\n");
	struct match_result m;

	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_INT(net_match(rs, "169.254.169.254", 80, 6, &m), RA_DENY);
	ASSERT_EQ_STR(m.hits[0].message, "claude /usr/bin/curl 169.254.169.254:80");
	ASSERT_EQ_INT(net_match(rs, "::ffff:169.254.169.254", 80, 6, &m), RA_DENY);
	ASSERT_EQ_INT(net_match(rs, "fd00:ec2::254", 80, 6, &m), RA_DENY);
	ASSERT_EQ_STR(m.hits[0].message, "claude /usr/bin/curl [fd00:ec2::254]:80");
	ASSERT_EQ_INT(net_match(rs, "169.254.169.253", 80, 6, &m), RA_NONE);
	ASSERT_EQ_INT(net_match(rs, "10.1.2.3", 5432, 6, &m), RA_ALERT);
	ASSERT_EQ_INT(net_match(rs, "10.1.2.3", 6005, 6, &m), RA_ALERT);
	ASSERT_EQ_INT(net_match(rs, "10.1.2.3", 6011, 6, &m), RA_NONE);
	ASSERT_EQ_INT(net_match(rs, "10.1.2.3", 5432, 17, &m), RA_NONE);
	ASSERT_EQ_INT(net_match(rs, "11.1.2.3", 5432, 6, &m), RA_NONE);
	ASSERT_EQ_INT(net_match(rs, "2001:db8:1::5", 5432, 6, &m), RA_ALERT);
	ASSERT_EQ_INT(net_match(rs, "2001:db9::5", 5432, 6, &m), RA_NONE);
	ASSERT_EQ_U64(m.n_evaluated, 3);
	ruleset__free(rs);
}

struct net_entry {
	char text[128];
};

static int net_cb(int family, const uint8_t *addr, int plen, uint16_t lo, uint16_t hi, int proto,
		  const char *id, void *ctx)
{
	char a[INET6_ADDRSTRLEN];
	char *out = ctx;
	size_t n = strlen(out);

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(out + n, 1024 - n, "%s %s/%d %u-%u %d;", id, a, plen, lo, hi, proto);
	return 0;
}

void test_rules_net_denies(void)
{
	struct ruleset *rs = set_of(
		"rule md on net\n  action deny\n  dest 169.254.169.254|fd00:ec2::254\n"
		"rule pg on net\n  action kill\n  dest 10.0.0.0/8\n  port 5432|6000-6010\n  proto tcp\n"
		"rule lg on net\n  action log\n  dest 1.1.1.1\n"
		"rule ag on net\n  action deny\n  agent codex\n  dest 1.1.1.1\n"
		"rule mo on net\n  action deny\n  mode monitor\n  dest 1.1.1.1\n"
		"rule all on net\n  action deny\n  port 25\n");
	char out[1024] = "";

	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_INT(ruleset__net_denies(rs, net_cb, out), 0);
	ASSERT_EQ_STR(out,
		      "md 169.254.169.254/32 0-65535 0;md ::ffff:169.254.169.254/128 0-65535 0;"
		      "md fd00:ec2::254/128 0-65535 0;"
		      "pg 10.0.0.0/8 5432-5432 6;pg ::ffff:10.0.0.0/104 5432-5432 6;"
		      "pg 10.0.0.0/8 6000-6010 6;pg ::ffff:10.0.0.0/104 6000-6010 6;"
		      "all 0.0.0.0/0 25-25 0;all ::ffff:0.0.0.0/96 25-25 0;all ::/0 25-25 0;");
	ruleset__free(rs);
}

static int file_match(const struct ruleset *rs, struct ratetab *rt, int op, const char *path,
		      const char *path2, const char *cwd, uint64_t now, struct match_result *m)
{
	struct file_ctx x = { 0 };

	x.op = op;
	x.path = path;
	x.path2 = path2;
	x.cwd = cwd;
	x.workspace = WS;
	x.agent = "claude";
	x.exe = "/usr/bin/python3";
	x.session_id = 3;
	x.now_ns = now;
	ruleset__match_file(rs, rt, &x, m);
	return (int)m->would;
}

void test_rules_file(void)
{
	struct ruleset *rs = set_of(
		"rule sys on file\n  action kill\n  op delete|rename\n  target under /etc|~/.ssh\n"
		"  message '{binary} {target}'\n"
		"rule mass on file\n  action pause\n  op unlink\n  target outside-workspace\n  rate 3/10s\n");
	struct ratetab *rt = ratetab__new(0);
	struct match_result m;

	ASSERT_NOT_NULL(rs);
	ASSERT_NOT_NULL(rt);
	ASSERT_EQ_INT(file_match(rs, NULL, AW_FILE_UNLINK, "/etc/passwd", NULL, "/", 0, &m), RA_KILL);
	ASSERT_EQ_STR(m.hits[0].message, "/usr/bin/python3 /etc/passwd");
	ASSERT_EQ_INT(file_match(rs, NULL, AW_FILE_RMDIR, "ssh/x", NULL, "/etc", 0, &m), RA_KILL);
	ASSERT_EQ_STR(m.hits[0].message, "/usr/bin/python3 /etc/ssh/x");
	ASSERT_EQ_INT(file_match(rs, NULL, AW_FILE_RENAMEAT2, "/tmp/a", "/root/.ssh/id_rsa", "/", 0, &m),
		      RA_KILL);
	ASSERT_EQ_STR(m.hits[0].message, "/usr/bin/python3 /root/.ssh/id_rsa");
	ASSERT_EQ_INT(file_match(rs, NULL, AW_FILE_TRUNCATE, "/etc/passwd", NULL, "/", 0, &m), RA_NONE);
	ASSERT_EQ_INT(file_match(rs, NULL, AW_FILE_UNLINK, "/etcx", NULL, "/", 0, &m), RA_NONE);
	/* rate: the third deletion outside the workspace in 10s */
	ASSERT_EQ_INT(file_match(rs, rt, AW_FILE_UNLINK, "/data/1", NULL, "/", 0, &m), RA_NONE);
	ASSERT_EQ_INT(file_match(rs, rt, AW_FILE_UNLINK, WS "/in", NULL, "/", 0, &m), RA_NONE);
	ASSERT_EQ_INT(file_match(rs, rt, AW_FILE_UNLINK, "/data/2", NULL, "/", 1, &m), RA_NONE);
	ASSERT_EQ_INT(file_match(rs, rt, AW_FILE_UNLINKAT, "/data/3", NULL, "/", 2, &m), RA_PAUSE);
	ASSERT_EQ_INT(file_match(rs, rt, AW_FILE_UNLINK, "/data/4", NULL, "/", 3, &m), RA_PAUSE);
	ratetab__free(rt);
	ruleset__free(rs);
}

static int path_cb(const char *prefix, uint32_t ops, enum rule_action act, const char *id, void *ctx)
{
	char *out = ctx;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s %s %#x %s;", id, prefix, ops, rule_action_name(act));
	return 0;
}

static int gate_cb(const char *name, void *ctx)
{
	char *out = ctx;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s;", name);
	return strcmp(name, "stop-here") == 0 ? 42 : 0;
}

void test_rules_protected_paths_and_gates(void)
{
	struct ruleset *rs = set_of(
		"rule sys on file\n  action kill\n  op delete\n  target under /etc|~/.ssh|/home/*/.aws\n"
		"rule all on file\n  action pause\n  target under /boot\n"
		"rule eq on file\n  action kill\n  target equal /x\n"
		"rule rt on file\n  action kill\n  target under /y\n  rate 5/1s\n"
		"rule lg on file\n  action log\n  target under /z\n"
		"rule g1\n  action kill\n  binary rm|/usr/bin/shred\n"
		"rule g2\n  action pause\n  binary rm|git\n"
		"rule g3\n  action alert\n  binary curl\n"
		"rule g4\n  action kill\n  mode monitor\n  binary wget\n");
	char out[1024] = "";

	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_INT(ruleset__protected_paths(rs, path_cb, out), 0);
	ASSERT_EQ_STR(out, "sys /etc 0xe kill;sys /root/.ssh 0xe kill;all /boot 0x1fe pause;");
	out[0] = '\0';
	ASSERT_EQ_INT(ruleset__gated_binaries(rs, gate_cb, out), 0);
	ASSERT_EQ_STR(out, "git;rm;shred;");
	ruleset__free(rs);

	rs = set_of("rule a\n  action kill\n  binary stop-here|zzz\n");
	ASSERT_NOT_NULL(rs);
	out[0] = '\0';
	ASSERT_EQ_INT(ruleset__gated_binaries(rs, gate_cb, out), 42);
	ASSERT_EQ_STR(out, "stop-here;");
	ruleset__free(rs);
	tdir_remove();
}

/* ---- inline tests ------------------------------------------------------- */

void test_rules_inline_tests_report_failures(void)
{
	struct ruleset *rs = set_of(
		"rule rmrf\n"
		"  action kill\n"
		"  binary rm\n"
		"  flag -r\n"
		"  block -- rm -r x\n"
		"  block -- rm -f x\n"
		"  allow -- rm -f x\n"
		"  allow -- rm -r y\n"
		"rule other\n"
		"  action pause\n"
		"  binary ls\n"
		"  block -- ls\n"
		"  allow -- cat x\n"
		"rule stopper\n"
		"  action pause\n"
		"  binary cat\n"
		"  block cwd=/tmp workspace=/tmp agent=x env=A=b parent=/bin/sh ancestor=/bin/make "
		"-- cat 'a b'\n");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int passed = -1, failed = -1;

	ASSERT_NOT_NULL(rs);
	ASSERT_NOT_NULL(f);
	ASSERT_EQ_U64(ruleset__test_count(rs), 7);
	ASSERT_EQ_INT(ruleset__run_tests(rs, f, &passed, &failed), 0);
	fclose(f);
	ASSERT_EQ_INT(passed, 4);
	ASSERT_EQ_INT(failed, 3);
	ASSERT_NOT_NULL(strstr(buf, "t.rules:6: rule rmrf: block test did not fire: -- rm -f x\n"));
	ASSERT_NOT_NULL(strstr(buf, "t.rules:8: rule rmrf: allow test fired (rmrf: rm -r y): "
			       "-- rm -r y\n"));
	ASSERT_NOT_NULL(strstr(buf, "t.rules:13: rule other: allow test is stopped by rule stopper "
			       "(pause, "));
	free(buf);
	ruleset__free(rs);
	tdir_remove();
}

void test_rules_inline_test_rate_and_truncation(void)
{
	struct ruleset *rs = set_of(
		"rule r\n  action alert\n  binary rm\n  rate 50/1s\n  block -- rm x\n"
		"rule t\n  action pause\n  binary git\n  flag --force\n  block truncated -- git push\n"
		"  allow -- git push\n"
		"rule n on net\n  action deny\n  dest 10.0.0.0/8\n  block addr=10.1.1.1 port=1\n"
		"  allow addr=11.1.1.1\n"
		"rule f on file\n  action kill\n  target under /etc\n  block op=unlink path=passwd cwd=/etc\n"
		"  allow op=unlink path=/tmp/x\n");
	int passed = -1, failed = -1;

	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_INT(ruleset__run_tests(rs, stderr, &passed, &failed), 0);
	ASSERT_EQ_INT(failed, 0);
	ASSERT_EQ_INT(passed, 7);
	ruleset__free(rs);
	tdir_remove();
}

void test_rules_shipped_rules_pass(void)
{
	struct ruleset *rs = ruleset__new();
	int passed = -1, failed = -1;

	ASSERT_NOT_NULL(rs);
	if (ruleset__load_dir(rs, "rules", err, sizeof(err))) {
		ruleset__free(rs);
		test__fail(__FILE__, __LINE__, "rules/: %s", err);
		return;
	}
	ASSERT_TRUE(ruleset__count(rs) >= 60);
	ASSERT_EQ_INT(ruleset__run_tests(rs, stderr, &passed, &failed), 0);
	ASSERT_EQ_INT(failed, 0);
	ASSERT_TRUE(passed >= 400);
	ASSERT_EQ_U64((size_t)passed, ruleset__test_count(rs));
	ruleset__free(rs);
}

void test_rules_shipped_rules_benign(void)
{
	static const char *const benign[] = {
		"rm -rf ./build", "git push", "git push --force-with-lease", "terraform plan",
		"kubectl get pods", "grep -r rm\\ -rf .", "docker ps", "psql -c select\\ 1",
		"aws s3 ls", "ls -la", "npm test", "cat README.md", "git status", NULL,
	};
	struct ruleset *rs = ruleset__new();
	size_t i;

	ASSERT_NOT_NULL(rs);
	ASSERT_EQ_INT(ruleset__load_dir(rs, "rules", err, sizeof(err)), 0);
	for (i = 0; benign[i]; i++) {
		static char cmd[128];
		char *p;

		snprintf(cmd, sizeof(cmd), "%s", benign[i]);
		/* "\ " keeps a blank inside a word */
		while ((p = strstr(cmd, "\\ ")))
			memmove(p, p + 1, strlen(p)), *p = '\x02';
		if (would(rs, cmd, NULL) != RA_NONE)
			test__fail(__FILE__, __LINE__, "'%s' fired %s", benign[i], mr.hits[0].id);
	}
	ASSERT_EQ_INT(would(rs, "rm -rf /", NULL), RA_KILL);
	ASSERT_EQ_INT(would(rs, "git push --force", NULL), RA_PAUSE);
	ruleset__free(rs);
}
