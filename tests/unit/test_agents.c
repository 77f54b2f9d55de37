// SPDX-License-Identifier: GPL-2.0
/* Tests for user/agents.c: signature parser, kernel entries, matcher. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "agentwatch.h"
#include "agents.h"

#define DEFAULTS "rules/agents.conf"

/* ---- helpers ------------------------------------------------------------ */

static char tdir[64];
static char tpath_buf[256];
static char err[512];

static void tdir_make(void)
{
	strcpy(tdir, "/tmp/aw-agents-XXXXXX");
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
	snprintf(tpath_buf, sizeof(tpath_buf), "%s/%s", tdir, name);
	return tpath_buf;
}

static bool write_bytes(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, data, len) == (ssize_t)len;
	close(fd);
	return ok;
}

static bool write_str(const char *path, const char *s)
{
	return write_bytes(path, s, strlen(s));
}

/* Load text as a file named bad.conf; returns the load result, err set. */
static int load_text(struct agentset *s, const char *text, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s", tpath("t.conf"));
	if (!write_bytes(path, text, len))
		return -EIO;
	err[0] = '\0';
	return agentset__load_file(s, path, err, sizeof(err));
}

static struct agentset *defaults(void)
{
	struct agentset *s = agentset__new();

	if (s && agentset__load_file(s, DEFAULTS, err, sizeof(err))) {
		fprintf(stderr, "    %s\n", err);
		agentset__free(s);
		return NULL;
	}
	return s;
}

/* '|'-separated words -> NUL-separated buffer, like /proc/PID/cmdline. */
static size_t nul_sep(const char *words, char *buf, size_t len)
{
	size_t n = strlen(words), i;

	if (n + 1 > len)
		return 0;
	for (i = 0; i < n; i++)
		buf[i] = words[i] == '|' ? '\0' : words[i];
	buf[n] = '\0';
	return n + 1;
}

struct probe_in {
	const char *exe, *filename, *argv, *env, *cwd;
};

/* The agent a probe matches, or NULL. */
static const char *agent_of(const struct agentset *s, struct probe_in in)
{
	static char av[4096], ev[4096];
	struct agent_probe p = { 0 };
	uint32_t sig = UINT32_MAX;

	p.exe = in.exe;
	p.filename = in.filename;
	p.cwd = in.cwd;
	if (in.argv) {
		p.argv = av;
		p.argv_len = nul_sep(in.argv, av, sizeof(av));
	}
	if (in.env) {
		p.env = ev;
		p.env_len = nul_sep(in.env, ev, sizeof(ev));
	}
	if (agentset__match(s, &p, &sig) != 1)
		return NULL;
	return agentset__agent(s, sig);
}

#define EXPECT_AGENT(s, want, ...) \
	ASSERT_EQ_STR(agent_of(s, (struct probe_in){ __VA_ARGS__ }), want)

/* ---- parser ------------------------------------------------------------- */

void test_agents_defaults_load(void)
{
	struct agentset *s = defaults();
	char buf[256];

	ASSERT_NOT_NULL(s);
	ASSERT_TRUE(agentset__count(s) >= 40);
	ASSERT_EQ_STR(agentset__agent(s, 0), "claude");
	/* the line number moves as the file is edited; the rest must not */
	ASSERT_NOT_NULL(agentset__describe(s, 0, buf, sizeof(buf)));
	ASSERT_EQ_MEM(buf, "claude: exe claude (rules/agents.conf:", 38);
	ASSERT_TRUE(buf[strlen(buf) - 1] == ')');
	ASSERT_NULL(agentset__agent(s, agentset__count(s)));
	ASSERT_NULL(agentset__describe(s, agentset__count(s), buf, sizeof(buf)));
	agentset__free(s);
}

static const struct {
	const char *text;
	const char *msg;  /* after "DIR/t.conf:" */
	int err;
} bad_files[] = {
	{ "claude exec claude\n",
	  "1:8: unknown kind 'exec' (expected exe, path, script, module, env or state)", -EINVAL },
	{ "claude\n",
	  "1:8: expected a kind after the agent name (exe, path, script, module, env or state)", -EINVAL },
	{ "# comment\n\nclaude exe\n", "3:12: expected a basename pattern after 'exe'", -EINVAL },
	{ "claude exe claude # ok\nclaude exe a b\n",
	  "2:14: unexpected 'b' after a basename pattern (a comment starts with '#')", -EINVAL },
	{ "bad!name exe x\n",
	  "1:4: agent name may only hold letters, digits, '.', '_' and '-'", -EINVAL },
	{ "a23456789012345678901234567890123 exe x\n",
	  "1:1: agent name must be 1 to 31 characters", -EINVAL },
	{ "x exe /usr/bin/x\n", "1:7: exe pattern cannot contain '/' (use `path` for a path)", -EINVAL },
	{ "x exe *foo\n",
	  "1:7: exe pattern '*foo' must start with a literal character: "
	  "the kernel looks names up by prefix", -EINVAL },
	{ "x exe foo[ab\n", "1:10: unterminated '[' in pattern", -EINVAL },
	{ "x exe foo\\\n", "1:10: trailing backslash in pattern", -EINVAL },
	{ "x path foo/bar\n", "1:8: path pattern must start with '/' or '*'", -EINVAL },
	{ "x path foo\n", "1:8: path pattern must contain '/' (use `exe` for a basename)", -EINVAL },
	{ "x script node\n",
	  "1:15: expected interpreter list and script pattern after 'script'", -EINVAL },
	{ "x script node,,bun a.js\n",
	  "1:15: expected an interpreter name (empty item in list)", -EINVAL },
	{ "x script *node a.js\n",
	  "1:10: interpreter pattern '*node' must start with a literal character: "
	  "the kernel looks names up by prefix", -EINVAL },
	{ "x script a,b,c,d,e,f,g,h,i x.js\n", "1:26: more than 8 interpreters in one list", -EINVAL },
	{ "x module python* a/b\n",
	  "1:19: module pattern is a dotted module name and cannot contain '/'", -EINVAL },
	{ "x env FOO\n", "1:10: expected '=' in NAME=VALUE", -EINVAL },
	{ "x env =1\n", "1:7: expected a variable name before '='", -EINVAL },
	{ "x env A=[\n", "1:9: unterminated '[' in pattern", -EINVAL },
	{ "x state .codex\n", "1:9: a state directory starts with '/', '~/' or '$NAME/'", -EINVAL },
	{ "x state ~/.codex/\n", "1:17: no trailing '/' (the directory and all under it)", -EINVAL },
	{ "x state $/x\n", "1:9: expected a variable name after '$'", -EINVAL },
	{ "x state $A-B/x\n", "1:11: a variable name is letters, digits and '_'", -EINVAL },
	{ "x state /tmp/[x\n", "1:14: unterminated '[' in pattern", -EINVAL },
	{ "x exe a\x01" "b\n", "1:8: control character 0x01", -EINVAL },
	{ "x bogus a b c d e\n", "1:17: too many words on the line", -EINVAL },
};

void test_agents_parse_errors(void)
{
	struct agentset *s = agentset__new();
	char want[768];
	size_t i;

	tdir_make();
	ASSERT_TRUE(tdir[0]);
	ASSERT_NOT_NULL(s);
	for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		int r = load_text(s, bad_files[i].text, strlen(bad_files[i].text));

		snprintf(want, sizeof(want), "%s:%s", tpath("t.conf"), bad_files[i].msg);
		ASSERT_EQ_STR(err, want);
		ASSERT_EQ_INT(r, bad_files[i].err);
		ASSERT_EQ_INT(agentset__count(s), 0);
	}
	agentset__free(s);
	tdir_remove();
}

void test_agents_parse_limits(void)
{
	struct agentset *s = agentset__new();
	char line[5000], want[512];
	int r;

	tdir_make();
	ASSERT_NOT_NULL(s);
	/* 64-byte basename: one more than the kernel key holds. */
	snprintf(line, sizeof(line), "x exe %064d\n", 0);
	r = load_text(s, line, strlen(line));
	snprintf(want, sizeof(want), "%s:1:70: exe pattern '%.44s...' is longer than 63 bytes: "
		 "the kernel key cannot hold it", tpath("t.conf"), line + 6);
	ASSERT_EQ_STR(err, want);
	ASSERT_EQ_INT(r, -EINVAL);
	/* 63 bytes fits. */
	snprintf(line, sizeof(line), "x exe %063d\n", 0);
	ASSERT_EQ_INT(load_text(s, line, strlen(line)), 0);
	ASSERT_EQ_INT(agentset__count(s), 1);
	/* Line cap. */
	memset(line, 'a', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	r = load_text(s, line, sizeof(line));
	snprintf(want, sizeof(want), "%s:1:4097: line longer than 4096 bytes", tpath("t.conf"));
	ASSERT_EQ_STR(err, want);
	ASSERT_EQ_INT(r, -EINVAL);
	/* A NUL byte can't hide the rest of a line. */
	r = load_text(s, "x exe a\0b\n", 10);
	snprintf(want, sizeof(want), "%s:1:8: NUL byte in file", tpath("t.conf"));
	ASSERT_EQ_STR(err, want);
	ASSERT_EQ_INT(r, -EINVAL);
	ASSERT_EQ_INT(agentset__count(s), 1);
	agentset__free(s);
	tdir_remove();
}

void test_agents_signature_cap(void)
{
	struct agentset *s = agentset__new();
	size_t len = (AGENTS_SIGS_MAX + 1) * 8, i, n = 0;
	char *text = malloc(len + 1), want[256];

	tdir_make();
	ASSERT_NOT_NULL(s);
	ASSERT_NOT_NULL(text);
	for (i = 0; i < AGENTS_SIGS_MAX + 1; i++)
		n += snprintf(text + n, len + 1 - n, "a exe b\n");
	ASSERT_EQ_INT(load_text(s, text, n - 8), 0);
	ASSERT_EQ_INT(agentset__count(s), AGENTS_SIGS_MAX);
	agentset__free(s);
	s = agentset__new();
	ASSERT_EQ_INT(load_text(s, text, n), -EINVAL);
	snprintf(want, sizeof(want), "%s:1025:1: more than 1024 signatures", tpath("t.conf"));
	ASSERT_EQ_STR(err, want);
	ASSERT_EQ_INT(agentset__count(s), 0);
	free(text);
	agentset__free(s);
	tdir_remove();
}

void test_agents_rejected_file_leaves_set_unchanged(void)
{
	struct agentset *s = agentset__new();
	char buf[256], want[256];
	const char *bad = "one exe one\ntwo exe two\nthree exe three\nfour exe *four\n";

	tdir_make();
	ASSERT_NOT_NULL(s);
	ASSERT_TRUE(write_str(tpath("good.conf"), "a exe alpha\n\nb exe beta  # second\n"));
	ASSERT_EQ_INT(agentset__load_file(s, tpath("good.conf"), err, sizeof(err)), 0);
	ASSERT_EQ_INT(agentset__count(s), 2);
	ASSERT_EQ_INT(load_text(s, bad, strlen(bad)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4:10: exe pattern '*four' must start with a literal "
		 "character: the kernel looks names up by prefix", tpath("t.conf"));
	ASSERT_EQ_STR(err, want);
	ASSERT_EQ_INT(agentset__count(s), 2);
	ASSERT_NULL(agentset__agent(s, 2));
	snprintf(want, sizeof(want), "b: exe beta (%s:3)", tpath("good.conf"));
	ASSERT_EQ_STR(agentset__describe(s, 1, buf, sizeof(buf)), want);
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/one");
	EXPECT_AGENT(s, "b", .exe = "/usr/bin/beta");
	/* A second good file appends, with ids after the first. */
	ASSERT_EQ_INT(load_text(s, "c exe gamma\n", 12), 0);
	ASSERT_EQ_INT(agentset__count(s), 3);
	ASSERT_EQ_STR(agentset__agent(s, 2), "c");
	agentset__free(s);
	tdir_remove();
}

void test_agents_file_refusals(void)
{
	struct agentset *s = agentset__new();
	char want[512], *big;
	size_t big_len = AGENTS_FILE_MAX + 1;

	tdir_make();
	ASSERT_NOT_NULL(s);
	ASSERT_TRUE(write_str(tpath("real.conf"), "a exe alpha\n"));
	ASSERT_EQ_INT(symlink("real.conf", tpath("link.conf")), 0);
	ASSERT_EQ_INT(agentset__load_file(s, tpath("link.conf"), err, sizeof(err)), -ELOOP);
	snprintf(want, sizeof(want), "%s: is a symbolic link (refused: rules are opened with "
		 "O_NOFOLLOW)", tpath("link.conf"));
	ASSERT_EQ_STR(err, want);
	ASSERT_EQ_INT(agentset__load_file(s, tpath("missing.conf"), err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", tpath("missing.conf"));
	ASSERT_EQ_STR(err, want);
	ASSERT_EQ_INT(agentset__load_file(s, tdir, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", tdir);
	ASSERT_EQ_STR(err, want);
	/* Over 1 MiB, even if every line is a comment. */
	big = malloc(big_len);
	ASSERT_NOT_NULL(big);
	memset(big, '#', big_len);
	big[big_len - 1] = '\n';
	ASSERT_TRUE(write_bytes(tpath("big.conf"), big, big_len));
	free(big);
	ASSERT_EQ_INT(agentset__load_file(s, tpath("big.conf"), err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", tpath("big.conf"));
	ASSERT_EQ_STR(err, want);
	ASSERT_EQ_INT(agentset__count(s), 0);
	ASSERT_EQ_INT(agentset__load_file(s, tpath("real.conf"), err, sizeof(err)), 0);
	ASSERT_EQ_INT(agentset__count(s), 1);
	agentset__free(s);
	tdir_remove();
}

void test_agents_comments_and_words(void)
{
	struct agentset *s = agentset__new();
	const char *text = "# header\n  x\texe\t a#b   # trailing comment\n"
			   "y env  NAME_*=v?l*\r\nz script node,bun  x.js\n";
	char buf[256], want[256];

	tdir_make();
	ASSERT_NOT_NULL(s);
	ASSERT_EQ_INT(load_text(s, text, strlen(text)), 0);
	ASSERT_EQ_INT(agentset__count(s), 3);
	snprintf(want, sizeof(want), "x: exe a#b (%s:2)", tpath("t.conf"));
	ASSERT_EQ_STR(agentset__describe(s, 0, buf, sizeof(buf)), want);
	snprintf(want, sizeof(want), "z: script node,bun x.js (%s:4)", tpath("t.conf"));
	ASSERT_EQ_STR(agentset__describe(s, 2, buf, sizeof(buf)), want);
	/* describe truncates instead of overflowing */
	ASSERT_EQ_STR(agentset__describe(s, 0, buf, 6), "x: ex");
	EXPECT_AGENT(s, "x", .exe = "/opt/a#b");
	EXPECT_AGENT(s, "y", .exe = "/bin/sh", .env = "A=1|NAME_X=value");
	EXPECT_AGENT(s, NULL, .exe = "/bin/sh", .env = "A=1|NAME_X=vaxue");
	agentset__free(s);
	tdir_remove();
}

void test_agents_null_safety(void)
{
	struct agent_probe p = { 0 };
	struct agentset *s = agentset__new();
	uint32_t sig = 7;
	char buf[16];

	agentset__free(NULL);
	ASSERT_EQ_INT(agentset__count(NULL), 0);
	ASSERT_NULL(agentset__agent(NULL, 0));
	ASSERT_NULL(agentset__describe(NULL, 0, buf, sizeof(buf)));
	ASSERT_EQ_INT(agentset__match(NULL, &p, &sig), 0);
	ASSERT_EQ_INT(agentset__load_file(s, NULL, err, sizeof(err)), -EINVAL);
	ASSERT_EQ_INT(agentset__add_cli(s, NULL, err, sizeof(err)), -EINVAL);
	ASSERT_EQ_INT(agentset__add_cli(s, "a:b", NULL, 0), 0);
	ASSERT_EQ_INT(agentset__match(s, &p, &sig), 0);  /* empty probe */
	ASSERT_EQ_INT(sig, 7);
	agentset__free(s);
}

/* ---- --agent ------------------------------------------------------------ */

void test_agents_cli(void)
{
	struct agentset *s = agentset__new();
	char buf[128], spec[2 + 64 + 1], want[256];

	ASSERT_NOT_NULL(s);
	ASSERT_EQ_INT(agentset__add_cli(s, "mine:my-agent", err, sizeof(err)), 0);
	ASSERT_EQ_INT(agentset__add_cli(s, "glob:tool-*", err, sizeof(err)), 0);
	ASSERT_EQ_INT(agentset__add_cli(s, "bypath:/opt/tools/*/bin/runner", err, sizeof(err)), 0);
	ASSERT_EQ_INT(agentset__count(s), 3);
	ASSERT_EQ_STR(agentset__describe(s, 2, buf, sizeof(buf)),
		      "bypath: path /opt/tools/*/bin/runner (--agent)");
	EXPECT_AGENT(s, "mine", .exe = "/usr/local/bin/my-agent");
	EXPECT_AGENT(s, "mine", .exe = "/usr/bin/env", .filename = "/home/u/bin/my-agent");
	EXPECT_AGENT(s, NULL, .exe = "/usr/local/bin/my-agent2");
	EXPECT_AGENT(s, "glob", .exe = "/usr/bin/tool-x");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/tool");
	EXPECT_AGENT(s, "bypath", .exe = "/opt/tools/v1.2/bin/runner");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/runner");

	ASSERT_EQ_INT(agentset__add_cli(s, "noseparator", err, sizeof(err)), -EINVAL);
	ASSERT_EQ_STR(err, "--agent:1:12: expected ':' between NAME and PATTERN");
	ASSERT_EQ_INT(agentset__add_cli(s, "x:", err, sizeof(err)), -EINVAL);
	ASSERT_EQ_STR(err, "--agent:1:3: expected a pattern after ':'");
	ASSERT_EQ_INT(agentset__add_cli(s, "bad name:x", err, sizeof(err)), -EINVAL);
	ASSERT_EQ_STR(err, "--agent:1:4: agent name may only hold letters, digits, '.', '_' and '-'");
	ASSERT_EQ_INT(agentset__add_cli(s, "x:*foo", err, sizeof(err)), -EINVAL);
	ASSERT_EQ_STR(err, "--agent:1:3: exe pattern '*foo' must start with a literal character: "
		      "the kernel looks names up by prefix");
	ASSERT_EQ_INT(agentset__add_cli(s, "x:foo/bar", err, sizeof(err)), -EINVAL);
	ASSERT_EQ_STR(err, "--agent:1:3: path pattern must start with '/' or '*'");
	memset(spec, 'a', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	spec[1] = ':';
	ASSERT_EQ_INT(agentset__add_cli(s, spec, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "--agent:1:66: exe pattern '%.44s...' is longer than 63 bytes: "
		 "the kernel key cannot hold it", spec + 2);
	ASSERT_EQ_STR(err, want);
	ASSERT_EQ_INT(agentset__count(s), 3);
	agentset__free(s);
}

/* ---- kernel entries ----------------------------------------------------- */

struct kent {
	char name[AW_NAME_KEY_LEN];
	uint32_t bytes, sig_id, flags;
	char agent[AW_AGENT_LEN];
};

struct kents {
	struct kent v[64];
	size_t n;
};

static int collect_kent(const char *name, uint32_t bytes, uint32_t sig_id, uint32_t flags,
			const char *agent, void *ctx)
{
	struct kents *k = ctx;
	struct kent *e;

	if (k->n == 64 || bytes > AW_NAME_KEY_LEN)
		return -E2BIG;
	e = &k->v[k->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, bytes);
	e->bytes = bytes;
	e->sig_id = sig_id;
	e->flags = flags;
	snprintf(e->agent, sizeof(e->agent), "%s", agent);
	return 0;
}

/* The entry with exactly these key bytes, or NULL. */
static const struct kent *kent_find(const struct kents *k, const char *name, uint32_t bytes)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (k->v[i].bytes == bytes && memcmp(k->v[i].name, name, bytes) == 0)
			return &k->v[i];
	return NULL;
}

#define ASSERT_KENT(k, name, bytes, flags_, sig_) do {			\
	const struct kent *e__ = kent_find(k, name, bytes);		\
	ASSERT_NOT_NULL(e__);						\
	ASSERT_EQ_INT(e__->flags, flags_);				\
	ASSERT_EQ_INT(e__->sig_id, sig_);				\
} while (0)

void test_agents_kernel_entries(void)
{
	struct agentset *s = agentset__new();
	struct kents k = { 0 };
	const char *text =
		"a exe claude\n"               /* 0: exact, agent */
		"a exe claude-*\n"             /* 1: prefix, agent */
		"b exe node-ish*x\n"           /* 2: prefix the collector must finish */
		"c script node,python* x.js\n" /* 3: interpreters: candidates */
		"d path */vendor/*/codex\n"    /* 4: candidate "codex" ... */
		"e exe codex\n"                /* 5: ... merged with the agent entry */
		"f path */versions/*\n"        /* 6: nothing the kernel can index */
		"g env X=1\n"                  /* 7: nothing either */
		"a exe claude\n";              /* 8: duplicate of 0 */

	tdir_make();
	ASSERT_NOT_NULL(s);
	ASSERT_EQ_INT(load_text(s, text, strlen(text)), 0);
	ASSERT_EQ_INT(agentset__kernel_entries(s, collect_kent, &k), 0);
	ASSERT_EQ_INT(k.n, 6);
	ASSERT_KENT(&k, "claude", 7, AW_NAME_AGENT, 0);
	ASSERT_KENT(&k, "claude-", 7, AW_NAME_AGENT, 1);
	ASSERT_KENT(&k, "node-ish", 8, AW_NAME_INTERPRETER, 2);
	ASSERT_KENT(&k, "node", 5, AW_NAME_INTERPRETER, 3);
	ASSERT_KENT(&k, "python", 6, AW_NAME_INTERPRETER, 3);
	ASSERT_KENT(&k, "codex", 6, AW_NAME_AGENT, 5);
	ASSERT_EQ_STR(kent_find(&k, "codex", 6)->agent, "e");
	/* A prefix entry carries no NUL: "claude-" must not be "claude-\0". */
	ASSERT_NULL(kent_find(&k, "claude-", 8));
	agentset__free(s);
	tdir_remove();
}

/* The trie answers with the longest key only, so a longer candidate key
 * must inherit the agent verdict of a shorter prefix key covering it. */
void test_agents_kernel_entries_cover(void)
{
	struct agentset *s = agentset__new();
	struct kents k = { 0 };
	char line[200];
	const char *text = "c script node x.js\nh exe nod*\ni script nodejs y.js\n";

	tdir_make();
	ASSERT_NOT_NULL(s);
	ASSERT_EQ_INT(load_text(s, text, strlen(text)), 0);
	ASSERT_EQ_INT(agentset__kernel_entries(s, collect_kent, &k), 0);
	ASSERT_EQ_INT(k.n, 3);
	ASSERT_KENT(&k, "nod", 3, AW_NAME_AGENT, 1);
	ASSERT_KENT(&k, "node", 5, AW_NAME_AGENT, 1);
	ASSERT_KENT(&k, "nodejs", 7, AW_NAME_AGENT, 1);
	agentset__free(s);

	/* A 63-byte exact name is the longest key; a path's longer last
	 * component becomes a 63-byte candidate prefix. */
	s = agentset__new();
	memset(&k, 0, sizeof(k));
	snprintf(line, sizeof(line), "x exe %063d\ny path /opt/%070d\n", 0, 0);
	ASSERT_EQ_INT(load_text(s, line, strlen(line)), 0);
	ASSERT_EQ_INT(agentset__kernel_entries(s, collect_kent, &k), 0);
	ASSERT_EQ_INT(k.n, 2);
	ASSERT_EQ_INT(k.v[0].bytes + k.v[1].bytes, 64 + 63);
	snprintf(line, sizeof(line), "%063d", 0);
	ASSERT_KENT(&k, line, 64, AW_NAME_AGENT, 0);
	ASSERT_KENT(&k, line, 63, AW_NAME_INTERPRETER, 1);
	agentset__free(s);
	tdir_remove();
}

static int stop_at_second(const char *name, uint32_t bytes, uint32_t sig_id, uint32_t flags,
			  const char *agent, void *ctx)
{
	int *calls = ctx;

	return ++*calls == 2 ? -ENOSPC : 0;
}

void test_agents_kernel_entries_defaults(void)
{
	struct agentset *s = defaults();
	struct kents k = { 0 };
	int calls = 0;
	size_t i;

	ASSERT_NOT_NULL(s);
	ASSERT_EQ_INT(agentset__kernel_entries(s, collect_kent, &k), 0);
	ASSERT_KENT(&k, "claude", 7, AW_NAME_AGENT, 0);
	ASSERT_EQ_STR(kent_find(&k, "claude", 7)->agent, "claude");
	ASSERT_EQ_INT(kent_find(&k, "claude.exe", 11)->flags, AW_NAME_AGENT);
	ASSERT_EQ_INT(kent_find(&k, "codex", 6)->flags, AW_NAME_AGENT);
	ASSERT_EQ_INT(kent_find(&k, "cursor-agent", 13)->flags, AW_NAME_AGENT);
	/* Generic interpreters are never more than candidates. */
	ASSERT_EQ_INT(kent_find(&k, "node", 5)->flags, AW_NAME_INTERPRETER);
	ASSERT_EQ_INT(kent_find(&k, "bun", 4)->flags, AW_NAME_INTERPRETER);
	ASSERT_EQ_INT(kent_find(&k, "python", 6)->flags, AW_NAME_INTERPRETER);
	for (i = 0; i < k.n; i++)
		ASSERT_TRUE(k.v[i].bytes > 0 && k.v[i].bytes <= AW_NAME_KEY_LEN);
	ASSERT_EQ_INT(agentset__kernel_entries(s, stop_at_second, &calls), -ENOSPC);
	ASSERT_EQ_INT(calls, 2);
	agentset__free(s);
}

/* ---- default signatures: each agent's real forms ------------------------ */

#define NM "/usr/local/lib/node_modules"

void test_agents_match_claude(void)
{
	struct agentset *s = defaults();

	ASSERT_NOT_NULL(s);
	/* npm 2.x: native binary hard-linked over bin/claude.exe */
	EXPECT_AGENT(s, "claude", .exe = NM "/@anthropic-ai/claude-code/bin/claude.exe",
		     .filename = "/usr/local/bin/claude", .argv = "claude|-p|hi");
	EXPECT_AGENT(s, "claude", .exe = NM "/@anthropic-ai/claude-code/bin/claude.exe",
		     .argv = "claude");
	/* native installer, exec'd via the ~/.local/bin/claude symlink or scanned */
	EXPECT_AGENT(s, "claude", .exe = "/home/u/.local/share/claude/versions/2.1.197",
		     .filename = "/home/u/.local/bin/claude", .argv = "claude");
	EXPECT_AGENT(s, "claude", .exe = "/home/u/.local/share/claude/versions/2.1.197",
		     .argv = "claude|--resume");
	/* npm 1.x: node runs cli.js, with node options in front */
	EXPECT_AGENT(s, "claude", .exe = "/usr/bin/node",
		     .argv = "node|" NM "/@anthropic-ai/claude-code/cli.js|--print|x");
	EXPECT_AGENT(s, "claude", .exe = "/home/u/.nvm/versions/node/v22.1.0/bin/node",
		     .argv = "node|--max-old-space-size=4096|-r|/tmp/pre.js|--no-warnings|--|"
			     "/home/u/.npm-global/lib/node_modules/@anthropic-ai/claude-code/cli.js");
	EXPECT_AGENT(s, "claude", .exe = "/usr/bin/node",
		     .argv = "node|" NM "/@anthropic-ai/claude-code/cli-wrapper.cjs");
	/* the #!/usr/bin/env node chain: env first (filename is the script)... */
	EXPECT_AGENT(s, "claude", .exe = "/usr/bin/env", .filename = "/usr/local/bin/claude",
		     .argv = "/usr/bin/env|node|/usr/local/bin/claude|-p|hi");
	/* ...the same with only argv (a /proc scan of env before it execs) */
	EXPECT_AGENT(s, "claude", .exe = "/usr/bin/env",
		     .argv = "/usr/bin/env|node|/usr/local/bin/claude|-p|hi");
	/* ...then node with the symlink as its script */
	EXPECT_AGENT(s, "claude", .exe = "/usr/bin/node", .filename = "/usr/bin/node",
		     .argv = "node|/usr/local/bin/claude|-p|hi");
	/* Alpine: /usr/bin/env is busybox */
	EXPECT_AGENT(s, "claude", .exe = "/bin/busybox",
		     .argv = "/usr/bin/env|node|" NM "/@anthropic-ai/claude-code/cli.js");
	EXPECT_AGENT(s, NULL, .exe = "/bin/busybox",
		     .argv = "sh|-c|node " NM "/@anthropic-ai/claude-code/cli.js");
	/* env -S splits its string */
	EXPECT_AGENT(s, "claude", .exe = "/usr/bin/env",
		     .argv = "/usr/bin/env|-S node --no-warnings|" NM
			     "/@anthropic-ai/claude-code/cli.js");
	EXPECT_AGENT(s, "claude", .exe = "/usr/bin/env",
		     .argv = "env|-i|PATH=/bin|-u|HOME|-Snode --x|" NM
			     "/@anthropic-ai/claude-code/cli.js");
	/* a relative script needs the cwd */
	EXPECT_AGENT(s, "claude", .exe = "/usr/bin/node", .argv = "node|./cli.js",
		     .cwd = NM "/@anthropic-ai/claude-code");
	EXPECT_AGENT(s, "claude", .exe = "/usr/bin/node", .argv = "node|.././cli.js",
		     .cwd = NM "/@anthropic-ai/claude-code/bin");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/node", .argv = "node|./cli.js");
	/* process.title = "claude" overwrote node's argv */
	EXPECT_AGENT(s, "claude", .exe = "/usr/bin/node", .argv = "claude|||||");
	/* bun runs it too */
	EXPECT_AGENT(s, "claude", .exe = "/home/u/.bun/bin/bun",
		     .argv = "bun|run|/home/u/.bun/install/global/node_modules/@anthropic-ai/"
			     "claude-code/cli.js");
	agentset__free(s);
}

void test_agents_match_codex(void)
{
	struct agentset *s = defaults();

	ASSERT_NOT_NULL(s);
	EXPECT_AGENT(s, "codex", .exe = NM "/@openai/codex/node_modules/@openai/codex-linux-x64/"
		     "vendor/x86_64-unknown-linux-musl/bin/codex", .argv = "codex|exec|hi");
	EXPECT_AGENT(s, "codex", .exe = NM "/@openai/codex/vendor/x86_64-unknown-linux-musl/"
		     "codex/codex", .argv = "codex");
	EXPECT_AGENT(s, "codex", .exe = "/usr/bin/node",
		     .argv = "node|" NM "/@openai/codex/bin/codex.js|exec|hi");
	EXPECT_AGENT(s, "codex", .exe = "/usr/bin/env", .filename = "/usr/local/bin/codex",
		     .argv = "/usr/bin/env|node|/usr/local/bin/codex");
	EXPECT_AGENT(s, "codex", .exe = "/usr/bin/node", .argv = "node|/usr/local/bin/codex");
	EXPECT_AGENT(s, "codex", .exe = "/bin/bash", .argv = "bash|-lc|ls",
		     .env = "HOME=/root|CODEX_MANAGED_BY_NPM=1");
	EXPECT_AGENT(s, "codex", .exe = "/bin/bash", .argv = "bash|-lc|ls",
		     .env = "CODEX_SANDBOX_NETWORK_DISABLED=1");
	agentset__free(s);
}

void test_agents_match_others(void)
{
	struct agentset *s = defaults();

	ASSERT_NOT_NULL(s);
	/* Gemini CLI: relaunches itself under node with options */
	EXPECT_AGENT(s, "gemini", .exe = "/usr/bin/node",
		     .argv = "/usr/bin/node|--max-old-space-size=8192|" NM
			     "/@google/gemini-cli/bundle/gemini.js");
	EXPECT_AGENT(s, "gemini", .exe = "/usr/bin/node", .argv = "node|/usr/local/bin/gemini");
	EXPECT_AGENT(s, "gemini", .exe = "/usr/bin/env", .filename = "/usr/local/bin/gemini",
		     .argv = "/usr/bin/env|node|/usr/local/bin/gemini");
	EXPECT_AGENT(s, "gemini", .exe = "/bin/sh", .argv = "sh|-c|ls", .env = "GEMINI_CLI=1");
	/* GitHub Copilot CLI */
	EXPECT_AGENT(s, "copilot", .exe = NM "/@github/copilot/node_modules/@github/"
		     "copilot-linux-x64/copilot", .argv = "copilot");
	EXPECT_AGENT(s, "copilot", .exe = "/usr/bin/node",
		     .argv = "node|" NM "/@github/copilot/npm-loader.js|--help");
	EXPECT_AGENT(s, "copilot", .exe = "/usr/bin/node", .argv = "node|" NM "/@github/copilot/index.js");
	/* Cursor agent: shell launcher, then its bundled node */
	EXPECT_AGENT(s, "cursor", .exe = "/usr/bin/bash", .filename = "/home/u/.local/bin/cursor-agent",
		     .argv = "/usr/bin/bash|/home/u/.local/bin/cursor-agent");
	EXPECT_AGENT(s, "cursor", .exe = "/home/u/.local/share/cursor-agent/versions/2025.09.12/node",
		     .argv = "/home/u/.local/share/cursor-agent/versions/2025.09.12/node|"
			     "/home/u/.local/share/cursor-agent/versions/2025.09.12/index.js");
	/* Goose */
	EXPECT_AGENT(s, "goose", .exe = "/home/u/.local/bin/goose", .argv = "goose|session");
	/* OpenCode */
	EXPECT_AGENT(s, "opencode", .exe = NM "/opencode-ai/bin/opencode.exe", .argv = "opencode");
	EXPECT_AGENT(s, "opencode", .exe = "/home/u/.opencode/bin/opencode", .argv = "opencode");
	EXPECT_AGENT(s, "opencode", .exe = "/usr/bin/node", .argv = "node|" NM "/opencode-ai/bin/opencode");
	EXPECT_AGENT(s, "opencode", .exe = "/bin/bash", .argv = "bash", .env = "OPENCODE=1");
	/* Crush */
	EXPECT_AGENT(s, "crush", .exe = NM "/@charmland/crush/bin/crush", .argv = "crush");
	EXPECT_AGENT(s, "crush", .exe = "/usr/bin/node", .argv = "node|" NM "/@charmland/crush/run-crush.js");
	/* Qwen Code */
	EXPECT_AGENT(s, "qwen", .exe = "/usr/bin/node", .argv = "node|" NM "/@qwen-code/qwen-code/cli-entry.js");
	EXPECT_AGENT(s, "qwen", .exe = "/usr/bin/node", .argv = "node|" NM "/@qwen-code/qwen-code/cli.js");
	EXPECT_AGENT(s, "qwen", .exe = "/usr/bin/env", .filename = "/usr/local/bin/qwen",
		     .argv = "/usr/bin/env|node|/usr/local/bin/qwen");
	EXPECT_AGENT(s, "qwen", .exe = "/bin/bash", .argv = "bash", .env = "QWEN_CODE=1");
	/* Amp */
	EXPECT_AGENT(s, "amp", .exe = NM "/@sourcegraph/amp/node_modules/@ampcode/cli/bin/amp.exe",
		     .filename = "/usr/local/bin/amp", .argv = "amp");
	EXPECT_AGENT(s, "amp", .exe = "/usr/bin/node", .argv = "node|" NM "/@sourcegraph/amp/dist/main.js");
	agentset__free(s);
}

void test_agents_match_aider(void)
{
	struct agentset *s = defaults();

	ASSERT_NOT_NULL(s);
	/* console script: #!/path/venv/bin/python, exec'd as `aider` */
	EXPECT_AGENT(s, "aider", .exe = "/usr/bin/python3.12", .filename = "/home/u/.local/bin/aider",
		     .argv = "/home/u/.local/share/uv/tools/aider-chat/bin/python|"
			     "/home/u/.local/bin/aider|--model|sonnet");
	/* the same found by a /proc scan: no filename */
	EXPECT_AGENT(s, "aider", .exe = "/usr/bin/python3.12",
		     .argv = "/home/u/venv/bin/python3|/home/u/venv/bin/aider");
	/* python -m aider, in its various spellings */
	EXPECT_AGENT(s, "aider", .exe = "/usr/bin/python3.11", .argv = "python3|-m|aider|--yes");
	EXPECT_AGENT(s, "aider", .exe = "/usr/bin/python3.11", .argv = "python3|-maider");
	EXPECT_AGENT(s, "aider", .exe = "/usr/bin/python3.11", .argv = "python|-u|-X|utf8|-m|aider.main");
	EXPECT_AGENT(s, "aider", .exe = "/usr/bin/python3.11", .argv = "python|-uBm|aider");
	EXPECT_AGENT(s, "aider", .exe = "/usr/bin/python3.11", .argv = "python|-Wignore|-m|aider");
	EXPECT_AGENT(s, "aider", .exe = "/usr/bin/env", .argv = "/usr/bin/env|python3|-m|aider");
	agentset__free(s);
}

void test_agents_no_false_positives(void)
{
	struct agentset *s = defaults();

	ASSERT_NOT_NULL(s);
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/node", .argv = "node|server.js");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/node", .argv = "node");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/node", .filename = "/usr/bin/node", .argv = "node|-v");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/node", .argv = "node|-e|require('claude')|claude");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/node", .argv = "node|-r|claude|app.js");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/node", .argv = "node|/usr/local/bin/claude-monitor");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/node", .argv = "node|/home/u/claude/index.js");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/node",
		     .argv = "node|/srv/app/node_modules/@anthropic-ai/sdk/index.js");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/python3.11", .argv = "python3|-m|pip|install|aider-chat");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/python3.11", .argv = "python3|-c|import aider");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/python3.11", .argv = "python3|aider.py");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/python3.11", .argv = "python3|-m|aiderx");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/codex-foo", .filename = "/usr/bin/codex-foo",
		     .argv = "codex-foo");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/vim", .argv = "vim|claude.txt");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/cat", .argv = "cat|/usr/local/bin/claude");
	EXPECT_AGENT(s, NULL, .exe = "/bin/bash", .argv = "bash|-c|claude --help");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/env", .argv = "env|FOO=1|ls|claude");
	EXPECT_AGENT(s, NULL, .exe = "/usr/bin/claudette", .argv = "claudette");
	/* an env marker with the wrong value, or only a prefix of the name */
	EXPECT_AGENT(s, NULL, .exe = "/bin/sh", .argv = "sh", .env = "CLAUDECODE=0|XCLAUDECODE=1");
	EXPECT_AGENT(s, NULL, .exe = "/bin/sh", .argv = "sh", .env = "CLAUDECODE");
	agentset__free(s);
}

/* Who the process is beats what it inherited: codex started from a Claude
 * Code shell carries CLAUDECODE=1 but is codex. */
void test_agents_identity_before_env(void)
{
	struct agentset *s = defaults();
	struct agent_probe p = { 0 };
	char argv[] = "claude\0-p";
	uint32_t sig = 0;

	ASSERT_NOT_NULL(s);
	EXPECT_AGENT(s, "codex", .exe = "/usr/bin/codex", .argv = "codex", .env = "CLAUDECODE=1");
	EXPECT_AGENT(s, "claude", .exe = "/bin/bash", .argv = "bash", .env = "CLAUDECODE=1|GEMINI_CLI=1");
	/* argv captured without its final NUL (truncated) still parses */
	p.exe = "/usr/bin/node";
	p.argv = argv;
	p.argv_len = sizeof(argv) - 1;
	ASSERT_EQ_INT(agentset__match(s, &p, &sig), 1);
	ASSERT_EQ_STR(agentset__agent(s, sig), "claude");
	agentset__free(s);
}

static int count_kentry(const char *name, uint32_t prefix_bytes, uint32_t sig_id, uint32_t flags,
			const char *agent, void *ctx)
{
	++*(int *)ctx;
	return 0;
}

/* Found by fuzz_agents: a file with nothing but comments loaded into an
 * empty set did memcpy(NULL + 0, ...) and qsort(NULL, 0, ...). */
void test_agents_comments_only_file(void)
{
	struct agentset *s = agentset__new();
	int n = 0;

	tdir_make();
	ASSERT_NOT_NULL(s);
	ASSERT_EQ_INT(load_text(s, "# nothing here\n\n   # still nothing\n", 35), 0);
	ASSERT_EQ_U64(agentset__count(s), 0);
	ASSERT_EQ_INT(agentset__kernel_entries(s, count_kentry, &n), 0);
	ASSERT_EQ_INT(n, 0);
	agentset__free(s);
	tdir_remove();
}

/* `state` lines: what counts as the agent's own state directory. */
void test_agents_own_state(void)
{
	static const char env[] = "HOME=/home/u\0CODEX_HOME=/srv/codex\0EMPTY=\0REL=rel/dir\0";
	struct agentset *s = agentset__new();
	size_t el = sizeof(env) - 1;

	tdir_make();
	ASSERT_NOT_NULL(s);
	static const char text[] = "codex exe codex\n"
				   "codex state ~/.codex\n"
				   "codex state $CODEX_HOME\n"
				   "codex state $REL/x\n"
				   "codex state $UNSET/x\n"
				   "claude state /tmp/claude-*\n";

	ASSERT_EQ_INT(load_text(s, text, sizeof(text) - 1), 0);
	/* a state line never opens a session */
	EXPECT_AGENT(s, NULL, .exe = "/tmp/claude-0/x", .cwd = "/home/u/.codex");
	EXPECT_AGENT(s, "codex", .exe = "/usr/bin/codex");
	ASSERT_EQ_STR(agentset__own_state(s, "codex", "/home/u/.codex/state_5.sqlite-wal", env, el),
		      "~/.codex");
	ASSERT_EQ_STR(agentset__own_state(s, "codex", "/home/u/.codex/a/b/c", env, el), "~/.codex");
	ASSERT_EQ_STR(agentset__own_state(s, "codex", "/srv/codex/logs_2.sqlite-shm", env, el),
		      "$CODEX_HOME");
	ASSERT_EQ_STR(agentset__own_state(s, "claude", "/tmp/claude-0/probe/x", env, el), "/tmp/claude-*");
	/* the directory itself is not "inside" it; its neighbours are not either */
	ASSERT_NULL(agentset__own_state(s, "codex", "/home/u/.codex", env, el));
	ASSERT_NULL(agentset__own_state(s, "codex", "/home/u/.codexx/a", env, el));
	ASSERT_NULL(agentset__own_state(s, "codex", "/home/u/.ssh/id_rsa", env, el));
	/* dots can't climb out; relative paths never match */
	ASSERT_NULL(agentset__own_state(s, "codex", "/home/u/.codex/../.ssh/id_rsa", env, el));
	ASSERT_NULL(agentset__own_state(s, "codex", "/home/u/.codex/./x", env, el));
	ASSERT_NULL(agentset__own_state(s, "codex", "/home/u/.codex//x", env, el));
	ASSERT_NULL(agentset__own_state(s, "codex", "home/u/.codex/x", env, el));
	/* another agent's state; no environment; unset, empty or relative vars */
	ASSERT_NULL(agentset__own_state(s, "claude", "/home/u/.codex/x", env, el));
	ASSERT_NULL(agentset__own_state(s, "codex", "/home/u/.codex/x", NULL, 0));
	ASSERT_NULL(agentset__own_state(s, "codex", "/x/y", env, el));
	ASSERT_NULL(agentset__own_state(s, "codex", "rel/dir/x/y", env, el));
	/* an unterminated last entry is not trusted */
	ASSERT_NULL(agentset__own_state(s, "codex", "/home/u/.codex/x", "HOME=/home/u", 12));
	agentset__free(s);
	tdir_remove();
}
