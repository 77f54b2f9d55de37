// SPDX-License-Identifier: GPL-2.0
/*
 * matchbench [-d RULES_DIR] [-r RUNS] [-m MS]: how fast the rule matcher
 * decides, single-threaded, against a rule set (default: rules/).
 *
 * It times the exact calls the collector makes (user/collector.c
 * match_exec, handle_net, handle_file): ruleset__match_exec,
 * ruleset__match_net and ruleset__match_file with a rate table, over a
 * corpus shaped like an agent's day: mostly git, ls, cat, rg, sed, npm,
 * pytest, make, cargo and go, run from a shell under the agent, with a
 * real-sized environment (the default rules have an env predicate, so the
 * collector reads every exec's environment), and a few percent of
 * destructive commands.
 *
 * Each figure is the median of RUNS runs of at least MS milliseconds of
 * this thread's CPU time.  -P PASSES instead matches the mix corpus
 * exactly PASSES times and times nothing: a fixed amount of work for a
 * profiler (valgrind --tool=callgrind --toggle-collect=ruleset__match_exec).
 * Every verdict is checked against what the corpus says it should be, so
 * a rule set that did not load, or a matcher that got faster by getting
 * wrong, fails loudly (exit 1).  The digest line hashes every verdict,
 * hit id and message of one pass: it must not change when only speed
 * does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "agentwatch.h"
#include "rules.h"

#define WS      "/home/dev/project"
#define AGENT   "claude"
#define RUNS_MAX 64

/* One exec: argv as words; want is the least verdict it must get (RA_NONE
 * for harmless: then it must get exactly RA_NONE or a log/alert). */
struct ecase {
	const char *exe;        /* real binary; NULL: /usr/bin/<argv[0]> */
	const char *cwd;        /* NULL: the workspace */
	enum rule_action want;
	const char *argv[24];
};

static const struct ecase harmless[] = {
	{ "/usr/bin/git", NULL, RA_NONE, { "git", "status", "--porcelain=v1", "-uall" } },
	{ "/usr/bin/git", NULL, RA_NONE, { "git", "diff", "--stat", "HEAD~1" } },
	{ "/usr/bin/git", NULL, RA_NONE, { "git", "diff", "--", "src/main.c", "src/util.c" } },
	{ "/usr/bin/git", NULL, RA_NONE, { "git", "log", "--oneline", "-n", "20", "--decorate" } },
	{ "/usr/bin/git", NULL, RA_NONE, { "git", "add", "-A" } },
	{ "/usr/bin/git", NULL, RA_NONE, { "git", "add", "src/rules_match.c", "tests/unit/test_rules.c" } },
	{ "/usr/bin/git", NULL, RA_NONE, { "git", "commit", "-m", "Reuse the scratch across matches; no allocation per exec" } },
	{ "/usr/bin/git", NULL, RA_NONE, { "git", "rev-parse", "--abbrev-ref", "HEAD" } },
	{ "/usr/bin/git", NULL, RA_NONE, { "git", "push", "origin", "feature/matcher" } },
	{ "/usr/bin/git", NULL, RA_NONE, { "git", "show", "HEAD:README.md" } },
	{ "/usr/bin/ls", NULL, RA_NONE, { "ls", "-la" } },
	{ "/usr/bin/ls", WS "/src", RA_NONE, { "ls", "-1", "..", "../tests" } },
	{ "/usr/bin/cat", NULL, RA_NONE, { "cat", "package.json" } },
	{ "/usr/bin/cat", WS "/src", RA_NONE, { "cat", "main.c", "util.h" } },
	{ "/usr/bin/head", NULL, RA_NONE, { "head", "-n", "50", "src/collector.c" } },
	{ "/usr/bin/rg", NULL, RA_NONE, { "rg", "-n", "--hidden", "TODO|FIXME", "src", "tests" } },
	{ "/usr/bin/rg", NULL, RA_NONE, { "rg", "-l", "ruleset__match_exec" } },
	{ "/usr/bin/grep", NULL, RA_NONE, { "grep", "-rn", "--include=*.c", "calloc", "user/" } },
	{ "/usr/bin/sed", NULL, RA_NONE, { "sed", "-n", "760,800p", "user/rules_match.c" } },
	{ "/usr/bin/sed", NULL, RA_NONE, { "sed", "-i", "s/old_name/new_name/g", "src/a.c", "src/b.c" } },
	{ "/usr/bin/find", NULL, RA_NONE, { "find", ".", "-name", "*.py", "-not", "-path", "./node_modules/*" } },
	{ "/usr/bin/wc", NULL, RA_NONE, { "wc", "-l", "user/rules.c", "user/rules_match.c" } },
	{ "/usr/bin/node", NULL, RA_NONE, { "npm", "test" } },
	{ "/usr/bin/node", NULL, RA_NONE, { "npm", "install", "--save-dev", "typescript@5.4.5" } },
	{ "/usr/bin/node", NULL, RA_NONE, { "npm", "run", "build", "--", "--watch=false" } },
	{ "/usr/bin/node", NULL, RA_NONE, { "node", "scripts/gen.js", "--out", "dist/gen.json" } },
	{ "/usr/bin/node", NULL, RA_NONE, { "npx", "tsc", "--noEmit", "-p", "tsconfig.json" } },
	{ "/usr/bin/python3.12", NULL, RA_NONE, { "python3", "-m", "pytest", "-q", "-x", "tests/test_api.py" } },
	{ "/usr/bin/python3.12", NULL, RA_NONE, { "python", "-c", "import sys; print(sys.version)" } },
	{ "/usr/bin/python3.12", NULL, RA_NONE, { "python3", "manage.py", "migrate" } },
	{ "/usr/bin/make", NULL, RA_NONE, { "make", "-j2" } },
	{ "/usr/bin/make", NULL, RA_NONE, { "make", "test", "V=1" } },
	{ "/usr/bin/bash", NULL, RA_NONE, { "bash", "-c", "cd /home/dev/project && npm test 2>&1 | tail -n 40" } },
	{ "/usr/bin/bash", NULL, RA_NONE, { "/bin/bash", "-c", "-l", "source ~/.bashrc && git status && git diff --stat" } },
	{ "/usr/bin/cargo", NULL, RA_NONE, { "cargo", "build", "--release", "--all-features" } },
	{ "/usr/bin/cargo", NULL, RA_NONE, { "cargo", "test", "--", "--nocapture" } },
	{ "/usr/local/go/bin/go", NULL, RA_NONE, { "go", "test", "./...", "-run", "TestMatch", "-count=1" } },
	{ "/usr/bin/rm", NULL, RA_NONE, { "rm", "-rf", "build", "dist", ".cache" } },
	{ "/usr/bin/rm", NULL, RA_NONE, { "rm", "-f", "/tmp/agent-out.txt" } },
	{ "/usr/bin/mkdir", NULL, RA_NONE, { "mkdir", "-p", "src/rules/testdata" } },
	{ "/usr/bin/cp", NULL, RA_NONE, { "cp", ".env.example", ".env" } },
	{ "/usr/bin/mv", NULL, RA_NONE, { "mv", "src/old.ts", "src/new.ts" } },
	{ "/usr/bin/curl", NULL, RA_NONE, { "curl", "-sSL", "https://registry.npmjs.org/typescript" } },
	{ "/usr/bin/docker", NULL, RA_NONE, { "docker", "ps", "-a" } },
	{ "/usr/bin/kubectl", NULL, RA_NONE, { "kubectl", "get", "pods", "-n", "staging" } },
	{ "/usr/bin/terraform", NULL, RA_NONE, { "terraform", "plan", "-out=tfplan" } },
	{ "/usr/bin/psql", NULL, RA_NONE, { "psql", "-c", "SELECT count(*) FROM users WHERE active" } },
	{ "/usr/bin/which", NULL, RA_NONE, { "which", "python3" } },
	{ "/usr/bin/env", NULL, RA_NONE, { "env" } },
	{ "/usr/bin/uname", NULL, RA_NONE, { "uname", "-a" } },
};

static const struct ecase destructive[] = {
	{ "/usr/bin/rm", NULL, RA_KILL, { "rm", "-rf", "/" } },
	{ "/usr/bin/rm", NULL, RA_PAUSE, { "rm", "-rf", "/home/dev/other-project" } },
	{ "/usr/bin/rm", NULL, RA_KILL, { "rm", "-rf", "/etc/nginx" } },
	{ "/usr/bin/git", NULL, RA_PAUSE, { "git", "push", "--force", "origin", "main" } },
	{ "/usr/bin/git", NULL, RA_PAUSE, { "git", "reset", "--hard", "origin/main" } },
	{ "/usr/bin/terraform", NULL, RA_PAUSE, { "terraform", "destroy", "-auto-approve" } },
	{ "/usr/bin/kubectl", NULL, RA_PAUSE, { "kubectl", "delete", "ns", "production" } },
	{ "/usr/bin/psql", NULL, RA_KILL, { "psql", "-h", "db", "-c", "DROP DATABASE app" } },
	{ "/usr/bin/curl", NULL, RA_KILL, { "curl", "-s", "http://169.254.169.254/latest/meta-data/iam/security-credentials/" } },
	{ "/usr/bin/cat", NULL, RA_PAUSE, { "cat", "/home/dev/.ssh/id_ed25519" } },
};

#define N_HARMLESS    (sizeof(harmless) / sizeof(harmless[0]))
#define N_DESTRUCTIVE (sizeof(destructive) / sizeof(destructive[0]))

/* An exec context with its own argv, filename and ancestors. */
struct eitem {
	struct exec_ctx x;
	char argv[4096];
	char filename[256];
	const char *anc[4];
	enum rule_action want;
	const char *name;
};

static const char *const lineage_short[] = { "/usr/bin/bash", "/usr/local/bin/claude" };
static const char *const lineage_long[] = { "/usr/bin/bash", "/usr/bin/make", "/usr/bin/bash",
					    "/usr/local/bin/claude" };

/* What a login shell under an agent has: about 2.5 KiB, 40 entries. */
static char env_buf[4096];
static size_t env_len;

static void env_build(void)
{
	static const char *const vars[] = {
		"SHELL=/bin/bash", "HOME=/home/dev", "USER=dev", "LOGNAME=dev", "LANG=C.UTF-8",
		"LC_ALL=C.UTF-8", "TERM=xterm-256color", "COLORTERM=truecolor",
		"PATH=/home/dev/.local/bin:/home/dev/.cargo/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"PWD=" WS, "OLDPWD=/home/dev", "SHLVL=2", "EDITOR=vim", "PAGER=less",
		"LESS=-R", "GIT_PAGER=cat", "CLAUDECODE=1", "CLAUDE_CODE_ENTRYPOINT=cli",
		"NODE_ENV=development", "NODE_OPTIONS=--max-old-space-size=4096",
		"npm_config_cache=/home/dev/.npm", "CARGO_HOME=/home/dev/.cargo",
		"RUSTUP_HOME=/home/dev/.rustup", "GOPATH=/home/dev/go", "GOFLAGS=-mod=mod",
		"VIRTUAL_ENV=/home/dev/project/.venv", "PYTHONDONTWRITEBYTECODE=1",
		"DATABASE_URL=postgres://app:secret@localhost:5432/app_dev",
		"PGHOST=localhost", "REDIS_URL=redis://localhost:6379/0",
		"XDG_RUNTIME_DIR=/run/user/1000", "XDG_CONFIG_HOME=/home/dev/.config",
		"SSH_AUTH_SOCK=/tmp/ssh-XXXXabcdef/agent.1234", "DISPLAY=:0",
		"HISTFILE=/home/dev/.bash_history", "HISTSIZE=10000",
		"LS_COLORS=rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01:cd=40;33;01:or=40;31;01:mi=00:su=37;41:sg=30;43:ca=00:tw=30;42:ow=34;42:st=37;44:ex=01;32:*.tar=01;31:*.tgz=01;31:*.zip=01;31:*.gz=01;31",
		"GIT_AUTHOR_NAME=Dev Eloper", "GIT_AUTHOR_EMAIL=dev@example.com", "_=/usr/bin/env",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		size_t n = strlen(vars[i]) + 1;

		memcpy(env_buf + env_len, vars[i], n);
		env_len += n;
	}
}

static void eitem_init(struct eitem *it, const struct ecase *c, size_t k)
{
	size_t i, pos = 0;

	memset(it, 0, sizeof(*it));
	for (i = 0; c->argv[i]; i++) {
		size_t n = strlen(c->argv[i]) + 1;

		memcpy(it->argv + pos, c->argv[i], n);
		pos += n;
	}
	if (c->argv[0][0] == '/')
		snprintf(it->filename, sizeof(it->filename), "%s", c->argv[0]);
	else
		snprintf(it->filename, sizeof(it->filename), "/usr/bin/%s", c->argv[0]);
	if (k % 3 == 2) {
		memcpy(it->anc, lineage_long, sizeof(lineage_long));
		it->x.n_ancestors = 4;
	} else {
		memcpy(it->anc, lineage_short, sizeof(lineage_short));
		it->x.n_ancestors = 2;
	}
	it->x.exe = c->exe ? c->exe : it->filename;
	it->x.filename = it->filename;
	it->x.argv = it->argv;
	it->x.argv_len = pos;
	it->x.cwd = c->cwd ? c->cwd : WS;
	it->x.workspace = WS;
	it->x.agent = AGENT;
	it->x.ancestors = it->anc;
	it->x.env = env_buf;
	it->x.env_len = env_len;
	it->x.session_id = 1 + k % 4;
	it->want = c->want;
	it->name = c->argv[0];
}

/* The mix: every harmless command, with a destructive one every
 * MIX_EVERY execs (about 4%). */
#define MIX_EVERY 25

struct ecorpus {
	struct eitem *v;
	size_t n;
};

static int ecorpus_build(struct ecorpus *c, bool harm, bool destr, size_t reps)
{
	size_t i, r, nd = 0, cap = reps * (N_HARMLESS + N_DESTRUCTIVE) + 1;

	c->v = calloc(cap, sizeof(*c->v));
	c->n = 0;
	if (!c->v)
		return -ENOMEM;
	for (r = 0; r < reps; r++) {
		for (i = 0; harm && i < N_HARMLESS; i++) {
			eitem_init(&c->v[c->n], &harmless[i], c->n);
			c->n++;
			if (destr && c->n % MIX_EVERY == 0) {
				eitem_init(&c->v[c->n], &destructive[nd++ % N_DESTRUCTIVE], c->n);
				c->n++;
			}
		}
		for (i = 0; !harm && destr && i < N_DESTRUCTIVE; i++) {
			eitem_init(&c->v[c->n], &destructive[i], c->n);
			c->n++;
		}
	}
	return 0;
}

/* ---- net and file ------------------------------------------------------- */

struct nitem {
	struct net_ctx x;
	enum rule_action want;
};

static void nitem(struct nitem *it, const char *addr, uint16_t port, int proto, const char *exe,
		  enum rule_action want)
{
	memset(it, 0, sizeof(*it));
	if (inet_pton(AF_INET, addr, it->x.addr) == 1) {
		it->x.family = AF_INET;
	} else {
		it->x.family = AF_INET6;
		inet_pton(AF_INET6, addr, it->x.addr);
	}
	it->x.port = port;
	it->x.protocol = proto;
	it->x.agent = AGENT;
	it->x.exe = exe;
	it->x.session_id = 1;
	it->want = want;
}

static size_t ncorpus_build(struct nitem *v)
{
	size_t n = 0;

	nitem(&v[n++], "140.82.112.3", 443, IPPROTO_TCP, "/usr/bin/git", RA_NONE);
	nitem(&v[n++], "104.16.24.35", 443, IPPROTO_TCP, "/usr/bin/node", RA_NONE);
	nitem(&v[n++], "127.0.0.53", 53, IPPROTO_UDP, "/usr/bin/node", RA_NONE);
	nitem(&v[n++], "127.0.0.1", 5432, IPPROTO_TCP, "/usr/bin/python3.12", RA_NONE);
	nitem(&v[n++], "2606:4700::6810:1823", 443, IPPROTO_TCP, "/usr/bin/curl", RA_NONE);
	nitem(&v[n++], "151.101.0.223", 443, IPPROTO_TCP, "/usr/bin/python3.12", RA_NONE);
	nitem(&v[n++], "140.82.112.3", 22, IPPROTO_TCP, "/usr/bin/ssh", RA_NONE);
	nitem(&v[n++], "10.0.0.12", 6379, IPPROTO_TCP, "/usr/bin/node", RA_NONE);
	nitem(&v[n++], "169.254.169.254", 80, IPPROTO_TCP, "/usr/bin/curl", RA_DENY);
	nitem(&v[n++], "::ffff:169.254.169.254", 80, IPPROTO_TCP, "/usr/bin/python3.12", RA_DENY);
	return n;
}

struct fitem {
	struct file_ctx x;
	enum rule_action want;
};

static void fitem(struct fitem *it, int op, const char *path, const char *path2, const char *exe,
		  enum rule_action want)
{
	memset(it, 0, sizeof(*it));
	it->x.op = op;
	it->x.path = path;
	it->x.path2 = path2;
	it->x.cwd = WS;
	it->x.workspace = WS;
	it->x.agent = AGENT;
	it->x.exe = exe;
	it->x.session_id = 1;
	it->want = want;
}

static size_t fcorpus_build(struct fitem *v)
{
	size_t n = 0;

	fitem(&v[n++], AW_FILE_OPEN_TRUNC, WS "/src/main.c", NULL, "/usr/bin/node", RA_NONE);
	fitem(&v[n++], AW_FILE_OPEN_TRUNC, WS "/dist/bundle.js", NULL, "/usr/bin/node", RA_NONE);
	fitem(&v[n++], AW_FILE_RENAME, WS "/.src.main.c.swp", WS "/src/main.c", "/usr/bin/node", RA_NONE);
	fitem(&v[n++], AW_FILE_UNLINKAT, WS "/build/obj/a.o", NULL, "/usr/bin/rm", RA_NONE);
	fitem(&v[n++], AW_FILE_UNLINKAT, "node_modules/.cache/x.json", NULL, "/usr/bin/node", RA_NONE);
	fitem(&v[n++], AW_FILE_RMDIR, WS "/build/obj", NULL, "/usr/bin/rm", RA_NONE);
	fitem(&v[n++], AW_FILE_UNLINK, "/tmp/pytest-of-dev/pytest-3/test0/db.sqlite", NULL,
	      "/usr/bin/python3.12", RA_NONE);
	fitem(&v[n++], AW_FILE_OPEN_TRUNC, "/home/dev/.npm/_logs/debug.log", NULL, "/usr/bin/node", RA_NONE);
	fitem(&v[n++], AW_FILE_UNLINK, "/home/dev/.ssh/id_ed25519", NULL, "/usr/bin/python3.12", RA_PAUSE);
	fitem(&v[n++], AW_FILE_UNLINK, "/etc/passwd", NULL, "/usr/bin/python3.12", RA_PAUSE);
	return n;
}

/* ---- checks and digest -------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--)
		h = (h ^ *s++) * 0x100000001b3ull;
	return h;
}

static uint64_t digest_result(uint64_t h, const struct match_result *m)
{
	size_t i, n = m->n_hits < RULE_HITS_MAX ? m->n_hits : RULE_HITS_MAX;

	h = fnv(h, &m->verdict, sizeof(m->verdict));
	h = fnv(h, &m->would, sizeof(m->would));
	h = fnv(h, &m->n_hits, sizeof(m->n_hits));
	for (i = 0; i < n; i++) {
		h = fnv(h, m->hits[i].id, strlen(m->hits[i].id));
		h = fnv(h, m->hits[i].message, strlen(m->hits[i].message));
	}
	return h;
}

/* A harmless command must not be stopped; a destructive one must get at
 * least its verdict. */
static bool verdict_ok(enum rule_action want, enum rule_action got)
{
	return want == RA_NONE ? got < RA_PAUSE : got >= want;
}

static int check(const char *what, const char *name, enum rule_action want,
		 const struct match_result *m, int err)
{
	if (!err && verdict_ok(want, m->verdict))
		return 0;
	fprintf(stderr, "matchbench: %s %s: verdict %s, expected %s%s (err %d)\n", what, name,
		rule_action_name(m->verdict), want == RA_NONE ? "less than " : "at least ",
		rule_action_name(want == RA_NONE ? RA_PAUSE : want), err);
	return 1;
}

/* ---- timing ------------------------------------------------------------- */

/* The thread's CPU time, not the wall clock: what one core spends, even
 * when the machine is busy with something else (a shared 2-core VM). */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;

struct bench {
	const struct ruleset *rs;
	struct ratetab *rt;
	struct match_result *m;
	uint64_t now;           /* event clock: advances 1 ms per event */
};

/* One pass over a corpus; returns a sum of verdicts and hit counts so the
 * work can't be dropped. */
static uint64_t pass_exec(struct bench *b, struct ecorpus *c)
{
	uint64_t acc = 0;
	size_t i;

	for (i = 0; i < c->n; i++) {
		c->v[i].x.now_ns = b->now += 1000000;
		ruleset__match_exec(b->rs, b->rt, &c->v[i].x, b->m);
		acc += b->m->verdict + b->m->n_hits + b->m->n_evaluated;
	}
	return acc;
}

static uint64_t pass_net(struct bench *b, struct nitem *v, size_t n)
{
	uint64_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		v[i].x.now_ns = b->now += 1000000;
		ruleset__match_net(b->rs, b->rt, &v[i].x, b->m);
		acc += b->m->verdict + b->m->n_hits;
	}
	return acc;
}

static uint64_t pass_file(struct bench *b, struct fitem *v, size_t n)
{
	uint64_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		v[i].x.now_ns = b->now += 1000000;
		ruleset__match_file(b->rs, b->rt, &v[i].x, b->m);
		acc += b->m->verdict + b->m->n_hits;
	}
	return acc;
}

enum which { W_EXEC, W_NET, W_FILE };

struct job {
	enum which w;
	struct ecorpus *ec;
	struct nitem *nv;
	struct fitem *fv;
	size_t n;               /* events per pass */
};

static uint64_t pass(struct bench *b, const struct job *j)
{
	switch (j->w) {
	case W_EXEC:
		return pass_exec(b, j->ec);
	case W_NET:
		return pass_net(b, j->nv, j->n);
	default:
		return pass_file(b, j->fv, j->n);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median ns per match over runs of at least min_ms each; *best gets the
 * fastest run's (the one least disturbed by anything else). */
static double measure(struct bench *b, const struct job *j, int runs, int min_ms, double *best)
{
	double ns[RUNS_MAX];
	uint64_t passes = 1, t0, dt;
	int r;

	/* Calibrate: enough passes for one run to last min_ms. */
	for (;;) {
		uint64_t k;

		t0 = now_ns();
		for (k = 0; k < passes; k++)
			sink += pass(b, j);
		dt = now_ns() - t0;
		if (dt >= (uint64_t)min_ms * 1000000ull / 4)
			break;
		passes *= 2;
	}
	passes = passes * ((uint64_t)min_ms * 1000000ull) / (dt ? dt : 1) + 1;
	for (r = 0; r < runs; r++) {
		uint64_t k;

		t0 = now_ns();
		for (k = 0; k < passes; k++)
			sink += pass(b, j);
		dt = now_ns() - t0;
		ns[r] = (double)dt / (double)(passes * j->n);
	}
	qsort(ns, runs, sizeof(ns[0]), cmp_double);
	*best = ns[0];
	return runs % 2 ? ns[runs / 2] : (ns[runs / 2 - 1] + ns[runs / 2]) / 2;
}

/* 1234567 -> "1,234,567" */
static const char *grouped(double v, char *buf, size_t len)
{
	char raw[32];
	size_t n, i, o = 0;

	snprintf(raw, sizeof(raw), "%.0f", v);
	n = strlen(raw);
	for (i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
	return buf;
}

static void report(const char *kind, const char *what, struct bench *bn, const struct job *j,
		   int runs, int min_ms, size_t evals_per_pass, size_t n_per_pass)
{
	double best, ns = measure(bn, j, runs, min_ms, &best);
	char b[32];

	printf("matcher: %-4s %13s matches/s (%6.0f ns/match, best run %.0f)  %s", kind,
	       grouped(1e9 / ns, b, sizeof(b)), ns, best, what);
	if (evals_per_pass)
		printf(", %.1f rules looked at per match", (double)evals_per_pass / (double)n_per_pass);
	printf("\n");
}

/* Check every item once (verdicts, digest, rules evaluated). */
static int verify_exec(struct bench *b, struct ecorpus *c, uint64_t *digest, size_t *evals)
{
	int bad = 0;
	size_t i;

	*evals = 0;
	for (i = 0; i < c->n; i++) {
		int err = ruleset__match_exec(b->rs, NULL, &c->v[i].x, b->m);

		bad += check("exec", c->v[i].name, c->v[i].want, b->m, err);
		*digest = digest_result(*digest, b->m);
		*evals += b->m->n_evaluated;
	}
	return bad;
}

/* -p: ns per match of each exec of the corpus, to find the slow ones. */
static void per_command(struct bench *b, struct ecorpus *c)
{
	size_t i, k, reps = 20000;

	for (i = 0; i < c->n; i++) {
		uint64_t t0 = now_ns(), dt;
		char cmd[80];
		size_t j, o = 0;

		for (k = 0; k < reps; k++) {
			ruleset__match_exec(b->rs, b->rt, &c->v[i].x, b->m);
			sink += b->m->verdict;
		}
		dt = now_ns() - t0;
		for (j = 0; j < c->v[i].x.argv_len && o + 1 < sizeof(cmd); j++)
			cmd[o++] = c->v[i].argv[j] ? c->v[i].argv[j] : ' ';
		cmd[o] = '\0';
		printf("matcher: %6.0f ns  %-5s %zu rules  %s\n", (double)dt / reps,
		       rule_action_name(b->m->verdict), b->m->n_evaluated, cmd);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: matchbench [-d RULES_DIR] [-r RUNS] [-m MS_PER_RUN] [-p] [-P PASSES]\n"
		"  -p  also time each exec of the corpus alone\n"
		"  -P  match the exec mix PASSES times, time nothing (for a profiler)\n");
}

int main(int argc, char **argv)
{
	const char *dir = "rules";
	int runs = 7, min_ms = 300, opt, bad = 0, err = 1;
	long fixed_passes = 0;
	bool each = false;
	struct ecorpus harm = { 0 }, destr = { 0 }, mix = { 0 };
	struct nitem nv[16];
	struct fitem fv[16];
	size_t n_net, n_file, i, ev_h = 0, ev_d = 0, ev_m = 0;
	uint64_t digest = 0xcbf29ce484222325ull;
	struct ruleset *rs = NULL;
	struct bench b = { 0 };
	char e[512];

	while ((opt = getopt(argc, argv, "d:r:m:pP:h")) != -1) {
		switch (opt) {
		case 'P':
			fixed_passes = atol(optarg);
			break;
		case 'p':
			each = true;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'm':
			min_ms = atoi(optarg);
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (runs < 1 || runs > RUNS_MAX || min_ms < 1 || fixed_passes < 0) {
		usage();
		return 2;
	}
	rs = ruleset__new();
	b.rt = ratetab__new(0);
	b.m = malloc(sizeof(*b.m));
	if (!rs || !b.rt || !b.m) {
		fprintf(stderr, "matchbench: %s\n", strerror(ENOMEM));
		goto cleanup;
	}
	if (ruleset__load_dir(rs, dir, e, sizeof(e))) {
		fprintf(stderr, "matchbench: failed to load rules: %s\n", e);
		goto cleanup;
	}
	b.rs = rs;
	env_build();
	if (ecorpus_build(&harm, true, false, 1) || ecorpus_build(&destr, false, true, 1) ||
	    ecorpus_build(&mix, true, true, 1)) {
		fprintf(stderr, "matchbench: %s\n", strerror(ENOMEM));
		goto cleanup;
	}
	n_net = ncorpus_build(nv);
	n_file = fcorpus_build(fv);

	bad += verify_exec(&b, &harm, &digest, &ev_h);
	bad += verify_exec(&b, &destr, &digest, &ev_d);
	bad += verify_exec(&b, &mix, &digest, &ev_m);
	for (i = 0; i < n_net; i++) {
		int r = ruleset__match_net(rs, NULL, &nv[i].x, b.m);

		bad += check("net", "event", nv[i].want, b.m, r);
		digest = digest_result(digest, b.m);
	}
	for (i = 0; i < n_file; i++) {
		int r = ruleset__match_file(rs, NULL, &fv[i].x, b.m);

		bad += check("file", fv[i].x.path, fv[i].want, b.m, r);
		digest = digest_result(digest, b.m);
	}
	if (bad) {
		fprintf(stderr, "matchbench: %d wrong verdicts: did the rules load?\n", bad);
		goto cleanup;
	}
	printf("matcher: %zu rules from %s; corpus %zu harmless, %zu destructive execs "
	       "(mix: 1 in %d destructive), %zu net, %zu file; result digest %016" PRIx64 "\n",
	       ruleset__count(rs), dir, harm.n, destr.n, MIX_EVERY, n_net, n_file, digest);

	{
		struct job jh = { W_EXEC, &harm, NULL, NULL, harm.n };
		struct job jd = { W_EXEC, &destr, NULL, NULL, destr.n };
		struct job jm = { W_EXEC, &mix, NULL, NULL, mix.n };
		struct job jn = { W_NET, NULL, nv, NULL, n_net };
		struct job jf = { W_FILE, NULL, NULL, fv, n_file };

		if (fixed_passes) {
			long k;

			for (k = 0; k < fixed_passes; k++)
				sink += pass(&b, &jm);
			printf("matcher: %ld passes of the exec mix, %zu matches\n", fixed_passes,
			       (size_t)fixed_passes * mix.n);
			err = 0;
			goto cleanup;
		}
		report("exec", "harmless", &b, &jh, runs, min_ms, ev_h, harm.n);
		report("exec", "destructive", &b, &jd, runs, min_ms, ev_d, destr.n);
		report("exec", "mix", &b, &jm, runs, min_ms, ev_m, mix.n);
		report("net", "mix", &b, &jn, runs, min_ms, 0, 0);
		report("file", "mix", &b, &jf, runs, min_ms, 0, 0);
	}
	if (each) {
		per_command(&b, &harm);
		per_command(&b, &destr);
	}
	err = 0;
cleanup:
	free(harm.v);
	free(destr.v);
	free(mix.v);
	free(b.m);
	ratetab__free(b.rt);
	ruleset__free(rs);
	return err;
}
