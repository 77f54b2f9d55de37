// SPDX-License-Identifier: GPL-2.0
/*
 * Inline rule tests (`block` / `allow` lines) and the knobs the collector
 * pushes into kernel maps: gated binaries, network denies, protected
 * paths.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "paths.h"
#include "rules_impl.h"

/* What a test gets when it does not say (documented in rules/README.md). */
#define TEST_WORKSPACE "/home/user/project"
#define TEST_HOME      "HOME=/home/user"
#define TEST_AGENT     "agent"
#define TEST_NOW_NS    1000000000000ull
#define TEST_SESSION   1

static bool enforcing(const struct ruleset *rs, const struct rule *r)
{
	return r->action >= RA_PAUSE && rule_effective_mode(rs, r) == RM_ENFORCE;
}

static const struct pred *first_binary(const struct rule *r)
{
	size_t i;

	for (i = 0; i < r->n_preds; i++)
		if (r->preds[i].kind == P_BINARY && !r->preds[i].neg)
			return &r->preds[i];
	return NULL;
}

static const struct pred *rate_pred(const struct rule *r)
{
	return r->n_preds && r->preds[r->n_preds - 1].kind == P_RATE ? &r->preds[r->n_preds - 1] : NULL;
}

/* ---- inline tests ------------------------------------------------------- */

struct test_exec {
	struct exec_ctx x;
	char *env;
	char exe[AW_PATH_MAX], filename[AW_PATH_MAX];
};

static bool env_has(const char *env, size_t len, const char *name)
{
	size_t pos = 0, n = strlen(name);

	while (pos < len) {
		size_t k = strlen(env + pos);

		if (k > n && memcmp(env + pos, name, n) == 0 && env[pos + n] == '=')
			return true;
		pos += k + 1;
	}
	return false;
}

static int test_exec_ctx(const struct rtest *t, struct test_exec *te)
{
	const char *arg0 = t->argv;
	size_t envlen = t->env_len;

	memset(te, 0, sizeof(*te));
	te->x.workspace = t->workspace ? t->workspace : TEST_WORKSPACE;
	te->x.cwd = t->cwd ? t->cwd : te->x.workspace;
	te->x.agent = t->agent ? t->agent : TEST_AGENT;
	te->x.argv = t->argv;
	te->x.argv_len = t->argv_len;
	te->x.argv_truncated = t->truncated;
	te->x.ancestors = (const char *const *)t->anc;
	te->x.n_ancestors = t->n_anc;
	te->x.session_id = TEST_SESSION;
	te->x.now_ns = TEST_NOW_NS;
	/* HOME is always set, as a login shell would. */
	te->env = malloc(envlen + sizeof(TEST_HOME));
	if (!te->env)
		return -ENOMEM;
	if (envlen)
		memcpy(te->env, t->env, envlen);
	if (!env_has(t->env ? t->env : "", envlen, "HOME")) {
		memcpy(te->env + envlen, TEST_HOME, sizeof(TEST_HOME));
		envlen += sizeof(TEST_HOME);
	}
	te->x.env = te->env;
	te->x.env_len = envlen;
	if (strchr(arg0, '/'))
		path_join_normalize(te->x.cwd, arg0, te->filename, sizeof(te->filename));
	else
		snprintf(te->filename, sizeof(te->filename), "/usr/bin/%s", arg0);
	snprintf(te->exe, sizeof(te->exe), "%s", t->exe ? t->exe : te->filename);
	te->x.exe = te->exe;
	te->x.filename = te->filename;
	return 0;
}

/* Feed N-1 earlier events so that this one reaches a `rate N/T`. */
static void warm_rate(struct ratetab *rt, const struct rule *r)
{
	const struct pred *p = rate_pred(r);
	uint32_t i;

	for (i = 1; p && i < p->rate_n; i++)
		ratetab__hit(rt, TEST_SESSION, r->rate_key, TEST_NOW_NS, p->rate_ns);
}

static const struct rule_hit *stopping_hit(const struct match_result *m, const struct rule *self)
{
	size_t i, n = m->n_hits < RULE_HITS_MAX ? m->n_hits : RULE_HITS_MAX;

	for (i = 0; i < n; i++)
		if (m->hits[i].action >= RA_PAUSE && strcmp(m->hits[i].id, self->id) != 0)
			return &m->hits[i];
	return NULL;
}

/* 1 pass, 0 fail, <0 error. */
static int run_one(const struct ruleset *rs, const struct rule *r, const struct rtest *t, FILE *out)
{
	struct match_result *one = NULL, *all = NULL;
	struct ratetab *rt = ratetab__new(4);
	struct test_exec te;
	const struct rule_hit *other = NULL;
	int err = -ENOMEM, fired;

	te.env = NULL;
	one = malloc(sizeof(*one));
	all = malloc(sizeof(*all));
	if (!rt || !one || !all)
		goto cleanup;
	warm_rate(rt, r);
	if (r->kind == RK_EXEC) {
		if ((err = test_exec_ctx(t, &te)))
			goto cleanup;
		err = rules_match_exec_one(rs, rt, &te.x, r, one);
		if (!err && !t->block)
			err = ruleset__match_exec(rs, NULL, &te.x, all);
	} else if (r->kind == RK_NET) {
		struct net_ctx x = { 0 };

		x.family = t->family;
		memcpy(x.addr, t->addr, sizeof(x.addr));
		x.port = t->port;
		x.protocol = t->proto ? t->proto : 6;
		x.agent = t->agent ? t->agent : TEST_AGENT;
		x.exe = t->exe ? t->exe : "/usr/bin/curl";
		x.session_id = TEST_SESSION;
		x.now_ns = TEST_NOW_NS;
		err = rules_match_net_one(rs, rt, &x, r, one);
		if (!err && !t->block)
			err = ruleset__match_net(rs, NULL, &x, all);
	} else {
		struct file_ctx x = { 0 };

		x.op = t->op;
		x.path = t->path;
		x.path2 = t->path2;
		x.workspace = t->workspace ? t->workspace : TEST_WORKSPACE;
		x.cwd = t->cwd ? t->cwd : x.workspace;
		x.agent = t->agent ? t->agent : TEST_AGENT;
		x.exe = t->exe ? t->exe : "/usr/bin/python3";
		x.session_id = TEST_SESSION;
		x.now_ns = TEST_NOW_NS;
		err = rules_match_file_one(rs, rt, &x, r, one);
		if (!err && !t->block)
			err = ruleset__match_file(rs, NULL, &x, all);
	}
	if (err)
		goto cleanup;
	fired = one->n_hits > 0;
	if (!t->block && !fired)
		other = stopping_hit(all, r);
	if (t->block && !fired) {
		if (out)
			fprintf(out, "%s: rule %s: block test did not fire: %s\n", t->origin, r->id, t->text);
		err = 0;
	} else if (!t->block && fired) {
		if (out)
			fprintf(out, "%s: rule %s: allow test fired (%s): %s\n", t->origin, r->id,
				one->hits[0].message, t->text);
		err = 0;
	} else if (other) {
		if (out)
			fprintf(out, "%s: rule %s: allow test is stopped by rule %s (%s, %s): %s\n",
				t->origin, r->id, other->id, rule_action_name(other->action),
				other->origin, t->text);
		err = 0;
	} else {
		err = 1;
	}
cleanup:
	free(te.env);
	free(one);
	free(all);
	ratetab__free(rt);
	return err;
}

int ruleset__run_tests(const struct ruleset *rs, FILE *out, int *passed, int *failed)
{
	int p = 0, f = 0, r;
	size_t i, j;

	for (i = 0; rs && i < rs->n; i++) {
		for (j = 0; j < rs->v[i].n_tests; j++) {
			r = run_one(rs, &rs->v[i], &rs->v[i].tests[j], out);
			if (r < 0) {
				if (passed)
					*passed = p;
				if (failed)
					*failed = f;
				return r;
			}
			if (r)
				p++;
			else
				f++;
		}
	}
	if (passed)
		*passed = p;
	if (failed)
		*failed = f;
	return 0;
}

/* ---- kernel knobs ------------------------------------------------------- */

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A rule that reads the environment needs its binary stopped at exec even
 * if it only logs: a short-lived process is gone (and its environ with it)
 * before the collector could read it otherwise. */
static bool has_env(const struct rule *r)
{
	size_t j;

	for (j = 0; j < r->n_preds; j++)
		if (r->preds[j].kind == P_ENV)
			return true;
	return false;
}

int ruleset__gated_binaries(const struct ruleset *rs, int (*fn)(const char *basename, void *ctx),
			    void *ctx)
{
	const char **names = NULL;
	size_t n = 0, cap = 0, i, j;
	int err = 0;

	if (!rs || !fn)
		return 0;
	for (i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];
		const struct pred *bin = first_binary(r);

		if (r->kind != RK_EXEC || !bin || !(enforcing(rs, r) || has_env(r)))
			continue;
		for (j = 0; j < bin->alts.n; j++) {
			if (!bin->alts.v[j].literal || strlen(bin->alts.v[j].literal) > GATE_NAME_MAX)
				continue;   /* rejected at load for enforcing rules */
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				const char **nv = realloc(names, nc * sizeof(*nv));

				if (!nv) {
					free(names);
					return -ENOMEM;
				}
				names = nv;
				cap = nc;
			}
			names[n++] = bin->alts.v[j].literal;
		}
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_cstr);
	for (i = 0; i < n && !err; i++)
		if (i == 0 || strcmp(names[i], names[i - 1]))
			err = fn(names[i], ctx);
	free(names);
	return err;
}

typedef int (*net_fn)(int family, const uint8_t *addr, int prefixlen, uint16_t port_lo,
		      uint16_t port_hi, int protocol, const char *rule_id, void *ctx);

static int net_emit(const struct cidr *cd, const struct pred *port, const struct pred *proto,
		    const char *id, net_fn fn, void *ctx)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	size_t np = port ? port->n_ports : 1, nq = proto ? proto->n_protos : 1, i, k;
	int err = 0;

	for (i = 0; i < np && !err; i++) {
		uint16_t lo = port ? port->ports[i].lo : 0, hi = port ? port->ports[i].hi : 65535;

		for (k = 0; k < nq && !err; k++) {
			int pr = proto ? proto->protos[k] : 0;

			err = fn(cd->family, cd->addr, cd->plen, lo, hi, pr, id, ctx);
			if (!err && cd->family == AF_INET) {
				uint8_t a6[16];

				memcpy(a6, mapped, 12);
				memcpy(a6 + 12, cd->addr, 4);
				err = fn(AF_INET6, a6, 96 + cd->plen, lo, hi, pr, id, ctx);
			}
		}
	}
	return err;
}

int ruleset__net_denies(const struct ruleset *rs, net_fn fn, void *ctx)
{
	size_t i, j;
	int err = 0;

	for (i = 0; rs && fn && i < rs->n && !err; i++) {
		const struct rule *r = &rs->v[i];
		const struct pred *dest = NULL, *port = NULL, *proto = NULL;
		bool kernel_only = true;

		if (r->kind != RK_NET || r->action < RA_DENY || rule_effective_mode(rs, r) != RM_ENFORCE)
			continue;
		for (j = 0; j < r->n_preds; j++) {
			const struct pred *p = &r->preds[j];

			if (p->neg)
				kernel_only = false;
			else if (p->kind == P_DEST)
				dest = dest ? (kernel_only = false, dest) : p;
			else if (p->kind == P_PORT)
				port = port ? (kernel_only = false, port) : p;
			else if (p->kind == P_PROTO)
				proto = proto ? (kernel_only = false, proto) : p;
			else
				kernel_only = false;
		}
		if (!kernel_only)
			continue;
		if (dest) {
			for (j = 0; j < dest->n_cidrs && !err; j++)
				err = net_emit(&dest->cidrs[j], port, proto, r->id, fn, ctx);
		} else {
			struct cidr any4 = { .family = AF_INET }, any6 = { .family = AF_INET6 };

			err = net_emit(&any4, port, proto, r->id, fn, ctx);
			if (!err)
				err = net_emit(&any6, port, proto, r->id, fn, ctx);
		}
	}
	return err;
}

int ruleset__protected_paths(const struct ruleset *rs,
			     int (*fn)(const char *prefix, uint32_t ops_mask, enum rule_action act,
				       const char *rule_id, void *ctx),
			     void *ctx)
{
	size_t i, j;
	int err = 0;

	for (i = 0; rs && fn && i < rs->n && !err; i++) {
		const struct rule *r = &rs->v[i];
		const struct pred *target = NULL;
		uint32_t ops = ((1u << AW_FILE_OP_MAX) - 1) & ~1u;
		bool fixed = true;

		if (r->kind != RK_FILE || !enforcing(rs, r))
			continue;
		for (j = 0; j < r->n_preds; j++) {
			const struct pred *p = &r->preds[j];

			if (p->neg)
				fixed = false;
			else if (p->kind == P_OP)
				ops &= p->ops;
			else if (p->kind == P_TARGET && p->tk == TK_UNDER && !target)
				target = p;
			else
				fixed = false;
		}
		if (!fixed || !target)
			continue;
		for (j = 0; j < target->alts.n && !err; j++) {
			const char *s = target->alts.v[j].s;
			char buf[AW_PATH_MAX];

			if (glob_has_magic(s))
				continue;       /* the kernel compares prefixes only */
			if (s[0] == '~') {
				if (snprintf(buf, sizeof(buf), "/root%s", s + 1) >= (int)sizeof(buf))
					continue;
				s = buf;
			}
			err = fn(s, ops, r->action, r->id, ctx);
		}
	}
	return err;
}
