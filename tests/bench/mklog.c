// SPDX-License-Identifier: GPL-2.0
/*
 * mklog DIR N SESSIONS: write an audit log of N records through the real
 * writer (user/auditlog.c: hash chain, rotation, gzip), shaped like what the
 * collector records: per session an agent root, shells under it, commands
 * under those, each with exec and exit records carrying their lineage, plus
 * file and network records and the odd verdict.  `make bench` times the log
 * queries over it.
 *
 * Prints the session id of the session it filled most, for the per-session
 * queries.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditlog.h"
#include "json.h"
#include "util.h"

struct gen {
	struct auditlog *log;
	struct jsonw *w;
	uint64_t t_ns;          /* record time, CLOCK_REALTIME ns */
	uint64_t rng;
	uint64_t n;
};

static uint32_t rnd(struct gen *g, uint32_t mod)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return (uint32_t)(g->rng % mod);
}

static const char *const cmds[][4] = {
	{ "git", "status", "--porcelain", NULL },
	{ "npm", "test", NULL, NULL },
	{ "rg", "-n", "TODO", "src" },
	{ "python3", "-m", "pytest", "-q" },
	{ "ls", "-la", NULL, NULL },
	{ "cat", "package.json", NULL, NULL },
	{ "rm", "-rf", "build", NULL },
	{ "make", "-j2", NULL, NULL },
};
#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void argv_of(struct jsonw *w, const char *const *a)
{
	jsonw__arr_begin(w);
	for (; *a; a++)
		jsonw__str(w, *a);
	jsonw__arr_end(w);
}

static void common(struct gen *g, const char *type, uint32_t pid, uint32_t ppid, const char *sid,
		   uint32_t root)
{
	char ts[48], ws[64];

	g->t_ns += 50000 + rnd(g, 100000);
	format_rfc3339_ns(g->t_ns, ts, sizeof(ts));
	snprintf(ws, sizeof(ws), "/home/dev/project-%u", root);
	jsonw__reset(g->w);
	jsonw__obj_begin(g->w);
	jsonw__key(g->w, "type"); jsonw__str(g->w, type);
	jsonw__key(g->w, "time"); jsonw__str(g->w, ts);
	jsonw__key(g->w, "pid"); jsonw__u64(g->w, pid);
	jsonw__key(g->w, "tid"); jsonw__u64(g->w, pid);
	jsonw__key(g->w, "ppid"); jsonw__u64(g->w, ppid);
	jsonw__key(g->w, "session"); jsonw__str(g->w, sid);
	jsonw__key(g->w, "agent"); jsonw__str(g->w, "claude");
	jsonw__key(g->w, "attribution");
	jsonw__obj_begin(g->w);
	jsonw__key(g->w, "reason"); jsonw__str(g->w, "signature");
	jsonw__key(g->w, "by"); jsonw__str(g->w, "claude: exe claude");
	jsonw__key(g->w, "root_pid"); jsonw__u64(g->w, root);
	jsonw__obj_end(g->w);
	jsonw__key(g->w, "workspace"); jsonw__str(g->w, ws);
}

static void lineage(struct gen *g, uint32_t root, uint32_t shell, uint32_t pid, const char *const *a)
{
	static const char *const root_argv[] = { "claude", "-p", "fix the tests", NULL };
	static const char *const sh_argv[] = { "bash", "-c", "run the command", NULL };

	jsonw__key(g->w, "lineage");
	jsonw__arr_begin(g->w);
	jsonw__obj_begin(g->w);
	jsonw__key(g->w, "pid"); jsonw__u64(g->w, root);
	jsonw__key(g->w, "exe"); jsonw__str(g->w, "/usr/lib/node_modules/claude/cli.js");
	jsonw__key(g->w, "argv"); argv_of(g->w, root_argv);
	jsonw__obj_end(g->w);
	if (shell) {
		jsonw__obj_begin(g->w);
		jsonw__key(g->w, "pid"); jsonw__u64(g->w, shell);
		jsonw__key(g->w, "exe"); jsonw__str(g->w, "/usr/bin/bash");
		jsonw__key(g->w, "argv"); argv_of(g->w, sh_argv);
		jsonw__obj_end(g->w);
	}
	if (pid) {
		jsonw__obj_begin(g->w);
		jsonw__key(g->w, "pid"); jsonw__u64(g->w, pid);
		jsonw__key(g->w, "exe"); jsonw__str(g->w, "/usr/bin/x");
		jsonw__key(g->w, "argv"); argv_of(g->w, a);
		jsonw__obj_end(g->w);
	}
	jsonw__arr_end(g->w);
	jsonw__key(g->w, "lineage_complete"); jsonw__bool(g->w, true);
}

static int emit(struct gen *g)
{
	size_t len;
	const char *d;

	jsonw__obj_end(g->w);
	d = jsonw__data(g->w, &len);
	g->n++;
	if (g->n % 20000 == 0)
		auditlog__tick(g->log, g->t_ns / 1000000);
	return auditlog__append(g->log, d, len, false);
}

/* One command under a shell: exec, a file or net record now and then, exit. */
static int command(struct gen *g, const char *sid, uint32_t root, uint32_t shell, uint32_t pid)
{
	const char *const *a = cmds[rnd(g, N_CMDS)];
	uint32_t kind = rnd(g, 100);
	char path[96];
	int r;

	common(g, "exec", pid, shell, sid, root);
	jsonw__key(g->w, "exe"); jsonw__str(g->w, "/usr/bin/x");
	jsonw__key(g->w, "argv"); argv_of(g->w, a);
	jsonw__key(g->w, "cwd"); jsonw__str(g->w, "/home/dev/project");
	jsonw__key(g->w, "session_start"); jsonw__bool(g->w, false);
	if (kind < 2) {
		jsonw__key(g->w, "gated"); jsonw__bool(g->w, true);
		jsonw__key(g->w, "verdict"); jsonw__str(g->w, "kill");
		jsonw__key(g->w, "rules");
		jsonw__arr_begin(g->w);
		jsonw__obj_begin(g->w);
		jsonw__key(g->w, "id"); jsonw__str(g->w, "fs-rm-outside-workspace");
		jsonw__key(g->w, "severity"); jsonw__str(g->w, "high");
		jsonw__key(g->w, "action"); jsonw__str(g->w, "kill");
		jsonw__obj_end(g->w);
		jsonw__arr_end(g->w);
	}
	lineage(g, root, shell, pid, a);
	if ((r = emit(g)))
		return r;
	if (kind >= 70) {
		common(g, kind >= 90 ? "net" : "file", pid, shell, sid, root);
		if (kind >= 90) {
			jsonw__key(g->w, "op"); jsonw__str(g->w, "connect");
			jsonw__key(g->w, "address"); jsonw__str(g->w, "140.82.112.3");
			jsonw__key(g->w, "port"); jsonw__u64(g->w, 443);
		} else {
			snprintf(path, sizeof(path), "/home/dev/project/build/obj-%u.o", rnd(g, 100000));
			jsonw__key(g->w, "op"); jsonw__str(g->w, "unlinkat");
			jsonw__key(g->w, "path"); jsonw__str(g->w, path);
		}
		jsonw__key(g->w, "result"); jsonw__i64(g->w, 0);
		lineage(g, root, shell, pid, a);
		if ((r = emit(g)))
			return r;
	}
	common(g, "exit", pid, shell, sid, root);
	jsonw__key(g->w, "exit_code"); jsonw__i64(g->w, kind < 2 ? -1 : 0);
	if (kind < 2) {
		jsonw__key(g->w, "signal"); jsonw__u64(g->w, 9);
	}
	lineage(g, root, shell, pid, a);
	return emit(g);
}

int main(int argc, char **argv)
{
	struct auditlog_opts o = {0};
	struct gen g = { .rng = 0x9e3779b97f4a7c15ull };
	uint64_t n, n_sess, per;
	char best[24] = "";
	int r = 0;

	if (argc != 4 || parse_u64(argv[2], &n) || parse_u64(argv[3], &n_sess) || !n_sess) {
		fprintf(stderr, "usage: mklog DIR RECORDS SESSIONS\n");
		return 2;
	}
	o.dir = argv[1];
	o.retain_bytes = 1ull << 40;
	if ((r = auditlog__open(&o, &g.log))) {
		fprintf(stderr, "mklog: cannot open %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	g.w = jsonw__new();
	g.t_ns = 1795000000ull * 1000000000ull;
	per = n / n_sess + 1;
	for (uint64_t s = 0; s < n_sess && g.n < n && !r; s++) {
		uint32_t root = 10000 + (uint32_t)s * 50, pid = root + 2;
		char sid[24];

		snprintf(sid, sizeof(sid), "%016" PRIx64, (uint64_t)0xa9e0000000000000ull + s);
		if (!best[0] || s == n_sess / 2)
			snprintf(best, sizeof(best), "%s", sid);
		common(&g, "exec", root, 1, sid, root);
		jsonw__key(g.w, "argv"); jsonw__arr_begin(g.w); jsonw__str(g.w, "claude"); jsonw__arr_end(g.w);
		jsonw__key(g.w, "session_start"); jsonw__bool(g.w, true);
		lineage(&g, root, 0, 0, NULL);
		r = emit(&g);
		while (g.n < (s + 1) * per && g.n < n && !r)
			r = command(&g, sid, root, root + 1, pid++);
	}
	auditlog__tick(g.log, g.t_ns / 1000000 + 7200 * 1000);
	auditlog__free(g.log);
	jsonw__free(g.w);
	if (r) {
		fprintf(stderr, "mklog: append failed: %s\n", strerror(-r));
		return 1;
	}
	printf("%s %" PRIu64 "\n", best, g.n);
	return 0;
}
