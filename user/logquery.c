// SPDX-License-Identifier: GPL-2.0
/*
 * Incident questions answered from the audit log: which sessions were there,
 * what did one of them run (as a process tree, or in time order), and which
 * records match a filter.  Times are RFC 3339 strings of one fixed format,
 * so --since/--until compare as strings (a prefix such as "2026-11-29T18"
 * works).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditlog.h"
#include "json.h"
#include "jsonr.h"
#include "logquery.h"
#include "ocsf.h"
#include "version.h"
#include "watch.h"

/* render_record_line() starts with time, agent, type and pid columns. */
#define RENDER_PREFIX 38

static const char *str(const struct jnode *r, const char *key)
{
	return jnode__str(jnode__get(r, key), NULL);
}

static bool str_is(const struct jnode *r, const char *key, const char *want)
{
	const char *s = str(r, key);

	return s && want && !strcmp(s, want);
}

/* Did rule id fire in this record? */
static bool names_rule(const struct jnode *r, const char *id)
{
	const struct jnode *rules = jnode__get(r, "rules"), *h;

	if (str_is(r, "rule", id))
		return true;
	for (h = rules ? rules->child : NULL; h; h = h->next)
		if (str_is(h, "id", id))
			return true;
	return false;
}

/*
 * A cheap test on the raw line before the full parse: can it hold
 * "key":"val" (quoted) or "key":val?  The collector writes compact JSON, so
 * a record that has the pair has these bytes; the converse is checked on
 * the parsed record.  Values that JSON would escape are not pre-filtered.
 */
static bool raw_may_have(const char *json, size_t len, const char *key, const char *val,
			 bool quoted)
{
	char pat[160];
	int n;

	for (const char *v = val; *v; v++)
		if (*v == '"' || *v == '\\' || (unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f)
			return true;
	n = snprintf(pat, sizeof(pat), quoted ? "\"%s\":\"%s\"" : "\"%s\":%s", key, val);
	if (n < 0 || (size_t)n >= sizeof(pat))
		return true;
	return memmem(json, len, pat, n) != NULL;
}

/* Every filter that has a raw form: false means the record can't match. */
static bool raw_wanted(const char *json, size_t len, const struct log_filter *f)
{
	char pid[24];

	if (f->session && !raw_may_have(json, len, "session", f->session, true))
		return false;
	if (f->agent && !raw_may_have(json, len, "agent", f->agent, true))
		return false;
	if (f->type && !raw_may_have(json, len, "type", f->type, true))
		return false;
	if (f->pid >= 0) {
		snprintf(pid, sizeof(pid), "%lld", (long long)f->pid);
		if (!raw_may_have(json, len, "pid", pid, false))
			return false;
	}
	/* A rule id appears as "id":"R" in a hit or "rule":"R" in a verdict. */
	if (f->rule && !raw_may_have(json, len, "id", f->rule, true) &&
	    !raw_may_have(json, len, "rule", f->rule, true))
		return false;
	return true;
}

static bool wanted(const struct jnode *r, const struct log_filter *f)
{
	const char *t = str(r, "time");

	if (f->session && !str_is(r, "session", f->session))
		return false;
	if (f->agent && !str_is(r, "agent", f->agent))
		return false;
	if (f->type && !str_is(r, "type", f->type))
		return false;
	if (f->pid >= 0 && jnode__int(jnode__get(r, "pid"), -1) != f->pid)
		return false;
	if (f->rule && !names_rule(r, f->rule))
		return false;
	if (f->since && (!t || strcmp(t, f->since) < 0))
		return false;
	if (f->until && (!t || strncmp(t, f->until, strlen(f->until)) > 0))
		return false;
	return true;
}

/* Internal log records (segment headers, loss, retention) are not events. */
static bool is_event(const struct jnode *r)
{
	const char *t = str(r, "type");

	return t && strcmp(t, "segment") && strcmp(t, "retention");
}

struct show_ctx {
	const struct log_filter *f;
	enum lq_format fmt;
	FILE *out;
	unsigned long long n, bad;
	struct jsonw *ocsf_w;
	struct ocsf_opts ocsf;
	char host[256];
};

/* One record out as OCSF; records with no OCSF counterpart are skipped. */
static void show_ocsf(struct show_ctx *c, const char *json, size_t len)
{
	size_t olen;
	const char *o;

	if (ocsf__from_record(json, len, c->ocsf_w, &c->ocsf) != 1) {
		c->n--;
		return;
	}
	o = jsonw__data(c->ocsf_w, &olen);
	fwrite(o, 1, olen, c->out);
	fputc('\n', c->out);
}

static int show_one(const char *json, size_t len, void *ctx)
{
	struct show_ctx *c = ctx;
	struct jdoc *d;
	const struct jnode *r;
	char line[2048];

	if (!raw_wanted(json, len, c->f))
		return 0;
	d = jsonr__parse(json, len, NULL, 0);
	r = jsonr__root(d);
	if (!d) {
		c->bad++;
		return 0;
	}
	if (is_event(r) && wanted(r, c->f)) {
		c->n++;
		if (c->fmt == LQ_OCSF) {
			show_ocsf(c, json, len);
		} else if (c->fmt == LQ_JSON) {
			fwrite(json, 1, len, c->out);
			fputc('\n', c->out);
		} else {
			render_record_line(r, false, line, sizeof(line));
			fprintf(c->out, "%s\n", line);
		}
	}
	jsonr__free(d);
	return 0;
}

int logquery_show(const char *dir, const struct log_filter *f, enum lq_format fmt, FILE *out)
{
	struct show_ctx c = { .f = f, .fmt = fmt, .out = out };
	int err;

	if (fmt == LQ_OCSF) {
		c.ocsf_w = jsonw__new();
		if (!c.ocsf_w)
			return -ENOMEM;
		/* The log is read where it was written: this host's name. */
		if (!gethostname(c.host, sizeof(c.host) - 1))
			c.ocsf.hostname = c.host;
		c.ocsf.product_version = AGENTWATCH_VERSION;
	}
	err = auditlog_each(dir, show_one, &c);
	jsonw__free(c.ocsf_w);
	if (fmt == LQ_TEXT)
		fprintf(stderr, "%llu records%s\n", c.n, c.bad ? " (some lines unreadable)" : "");
	return err;
}

/* ---- sessions ------------------------------------------------------------------ */

struct sess_row {
	char id[24], agent[64], first[40], last[40];
	char *root_cmd, *workspace;
	long long root_pid;
	unsigned long long execs, blocks, pauses, denied_net, records, losses;
};

/* A loss record: when, and how many records it says were lost. */
struct loss_mark {
	char time[40];
	unsigned long long dropped;
};
#define MAX_LOSS_MARKS 65536

struct sess_ctx {
	struct sess_row *v;
	size_t n, cap;
	unsigned long long losses;
	struct loss_mark *marks;
	size_t n_marks, cap_marks;
	size_t *idx;            /* open addressing over v: row index + 1, 0 empty */
	size_t slots;
};

static void loss_mark_add(struct sess_ctx *c, const char *t, unsigned long long dropped)
{
	if (!t || !dropped || c->n_marks >= MAX_LOSS_MARKS)
		return;
	if (c->n_marks == c->cap_marks) {
		size_t cap = c->cap_marks ? 2 * c->cap_marks : 64;
		struct loss_mark *v = realloc(c->marks, cap * sizeof(*v));

		if (!v)
			return;
		c->marks = v;
		c->cap_marks = cap;
	}
	snprintf(c->marks[c->n_marks].time, sizeof(c->marks[0].time), "%s", t);
	c->marks[c->n_marks++].dropped = dropped;
}

/* Records lost while the session ran: the sensor's losses are not tied to
 * a session (a full ring buffer drops whoever comes next), so every session
 * alive at the time of a loss record is charged with it. */
static void sess_charge_losses(struct sess_ctx *c)
{
	for (size_t i = 0; i < c->n; i++)
		for (size_t k = 0; k < c->n_marks; k++)
			if (strcmp(c->marks[k].time, c->v[i].first) >= 0 &&
			    strcmp(c->marks[k].time, c->v[i].last) <= 0)
				c->v[i].losses += c->marks[k].dropped;
}

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* Rebuild the open-addressing index over c->v for cap rows. */
static int sess_reindex(struct sess_ctx *c, size_t cap)
{
	size_t slots = 1, i, k;
	size_t *idx;

	while (slots < 2 * cap)
		slots <<= 1;
	idx = calloc(slots, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < c->n; i++) {
		for (k = str_hash(c->v[i].id) & (slots - 1); idx[k]; k = (k + 1) & (slots - 1))
			;
		idx[k] = i + 1;
	}
	free(c->idx);
	c->idx = idx;
	c->slots = slots;
	return 0;
}

/* A session's row, made on first sight.  Hashed: a log of a million
 * records has thousands of sessions, and this runs once per record. */
static struct sess_row *sess_get(struct sess_ctx *c, const char *id)
{
	size_t k;

	if (c->slots)
		for (k = str_hash(id) & (c->slots - 1); c->idx[k]; k = (k + 1) & (c->slots - 1))
			if (!strcmp(c->v[c->idx[k] - 1].id, id))
				return &c->v[c->idx[k] - 1];
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct sess_row *nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		c->v = nv;
		c->cap = cap;
		if (sess_reindex(c, cap))
			return NULL;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	snprintf(c->v[c->n].id, sizeof(c->v[0].id), "%s", id);
	for (k = str_hash(c->v[c->n].id) & (c->slots - 1); c->idx[k]; k = (k + 1) & (c->slots - 1))
		;
	c->idx[k] = c->n + 1;
	return &c->v[c->n++];
}

static char *argv_joined(const struct jnode *argv)
{
	char buf[1024];
	const struct jnode *a;

	buf[0] = '\0';
	for (a = argv ? argv->child : NULL; a; a = a->next) {
		size_t len, used = strlen(buf);
		const char *s = jnode__str(a, &len);

		if (used + 2 >= sizeof(buf))
			break;
		if (used)
			strcat(buf, " ");
		text_escape(s ? s : "", s ? len : 0, buf + strlen(buf), sizeof(buf) - strlen(buf));
	}
	return strdup(buf);
}

static int sess_one(const char *json, size_t len, void *ctx)
{
	struct sess_ctx *c = ctx;
	struct jdoc *d = jsonr__parse(json, len, NULL, 0);
	const struct jnode *r = jsonr__root(d);
	const char *id, *t, *type, *verdict;
	struct sess_row *s;

	if (!d)
		return 0;
	type = str(r, "type");
	if (type && !strcmp(type, "loss")) {
		int64_t dropped = jnode__int(jnode__get(r, "dropped"), 0);
		const struct jnode *per = jnode__get(r, "sessions"), *e;

		if (dropped > 0)
			c->losses += (unsigned long long)dropped;
		if (per && per->t == J_ARR) {
			/* The sensor said exactly which sessions lost what. */
			for (e = per->child; e; e = e->next) {
				const char *sid = str(e, "session");
				int64_t lost = jnode__int(jnode__get(e, "lost"), 0);
				struct sess_row *row = sid && lost > 0 ? sess_get(c, sid) : NULL;

				if (row)
					row->losses += (unsigned long long)lost;
			}
		} else if (dropped > 0) {
			loss_mark_add(c, str(r, "time"), (unsigned long long)dropped);
		}
	}
	id = str(r, "session");
	if (!id || !is_event(r) || !(s = sess_get(c, id))) {
		jsonr__free(d);
		return 0;
	}
	t = str(r, "time");
	if (t && (!s->first[0] || strcmp(t, s->first) < 0))
		snprintf(s->first, sizeof(s->first), "%s", t);
	if (t && strcmp(t, s->last) > 0)
		snprintf(s->last, sizeof(s->last), "%s", t);
	if (!s->agent[0] && str(r, "agent"))
		snprintf(s->agent, sizeof(s->agent), "%s", str(r, "agent"));
	if (!s->workspace && str(r, "workspace"))
		s->workspace = strdup(str(r, "workspace"));
	s->records++;
	if (type && !strcmp(type, "exec")) {
		s->execs++;
		if (jnode__bool(jnode__get(r, "session_start")) || !s->root_cmd) {
			free(s->root_cmd);
			s->root_cmd = argv_joined(jnode__get(r, "argv"));
			s->root_pid = jnode__int(jnode__get(r, "pid"), 0);
		}
	}
	verdict = str(r, "verdict");
	if (verdict && type && strcmp(type, "verdict")) {
		if (!strcmp(verdict, "pause") || !strcmp(verdict, "freeze"))
			s->pauses++;
		else if (!strcmp(verdict, "kill") || !strcmp(verdict, "deny") ||
			 !strcmp(verdict, "kill-session")) {
			s->blocks++;
			if (type && !strcmp(type, "net"))
				s->denied_net++;
		}
	}
	jsonr__free(d);
	return 0;
}

int logquery_sessions(const char *dir, bool json, FILE *out)
{
	struct sess_ctx c = { 0 };
	int err = auditlog_each(dir, sess_one, &c);
	struct jsonw *w = json ? jsonw__new() : NULL;
	size_t i;

	sess_charge_losses(&c);

	if (json && w)
		jsonw__arr_begin(w);
	else
		fprintf(out, "%-16s %-10s %-7s %-24s %-24s %6s %6s %6s %6s  %s\n", "SESSION", "AGENT",
			"ROOT", "START", "END", "EXECS", "BLOCKS", "PAUSES", "LOST", "ROOT COMMAND");
	for (i = 0; i < c.n; i++) {
		struct sess_row *s = &c.v[i];

		if (w) {
			jsonw__obj_begin(w);
			jsonw__key(w, "session"); jsonw__str(w, s->id);
			jsonw__key(w, "agent"); jsonw__str(w, s->agent);
			jsonw__key(w, "root_pid"); jsonw__i64(w, s->root_pid);
			jsonw__key(w, "root_command"); jsonw__str(w, s->root_cmd);
			jsonw__key(w, "workspace"); jsonw__str(w, s->workspace);
			jsonw__key(w, "start"); jsonw__str(w, s->first);
			jsonw__key(w, "end"); jsonw__str(w, s->last);
			jsonw__key(w, "records"); jsonw__u64(w, s->records);
			jsonw__key(w, "commands"); jsonw__u64(w, s->execs);
			jsonw__key(w, "blocks"); jsonw__u64(w, s->blocks);
			jsonw__key(w, "pauses"); jsonw__u64(w, s->pauses);
			jsonw__key(w, "net_denied"); jsonw__u64(w, s->denied_net);
			jsonw__key(w, "losses"); jsonw__u64(w, s->losses);
			jsonw__obj_end(w);
		} else {
			fprintf(out, "%-16s %-10s %-7lld %-24.24s %-24.24s %6llu %6llu %6llu %6llu  %s\n",
				s->id, s->agent, s->root_pid, s->first, s->last, s->execs, s->blocks,
				s->pauses, s->losses, s->root_cmd ? s->root_cmd : "");
		}
		free(s->root_cmd);
		free(s->workspace);
	}
	if (w) {
		jsonw__arr_end(w);
		fprintf(out, "%s\n", jsonw__data(w, NULL));
		jsonw__free(w);
	} else if (c.losses) {
		fprintf(out, "(the log recorded %llu dropped records)\n", c.losses);
	}
	free(c.v);
	free(c.marks);
	free(c.idx);
	return err;
}

/* ---- one session: tree and timeline ------------------------------------------------ */

struct pnode {
	long long pid, ppid;
	char *cmd;            /* last exec's argv */
	char *exe;
	char start[40];
	char *status;         /* "exit 0", "killed by signal 9" */
	char **notes;         /* file / net / verdict lines under the process */
	size_t n_notes;
	bool printed;
};

struct tree_ctx {
	const char *session;
	FILE *out;
	struct pnode *v;
	size_t n, cap;
	long long root;
	unsigned long long records;
};

static struct pnode *pnode_get(struct tree_ctx *c, long long pid)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].pid == pid)
			return &c->v[i];
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct pnode *nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		c->v = nv;
		c->cap = cap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	c->v[c->n].pid = pid;
	c->v[c->n].ppid = -1;
	return &c->v[c->n++];
}

static void note(struct pnode *p, const char *line)
{
	char **nv = realloc(p->notes, (p->n_notes + 1) * sizeof(*nv));

	if (!nv)
		return;
	p->notes = nv;
	p->notes[p->n_notes++] = strdup(line);
}

/* The record parsed, if it is an event of session (NULL otherwise): the raw
 * test rejects most records of a big log before the parse. */
static struct jdoc *session_event(const char *json, size_t len, const char *session)
{
	struct jdoc *d;
	const struct jnode *r;

	if (!raw_may_have(json, len, "session", session, true))
		return NULL;
	d = jsonr__parse(json, len, NULL, 0);
	r = jsonr__root(d);
	if (d && (!str_is(r, "session", session) || !is_event(r))) {
		jsonr__free(d);
		d = NULL;
	}
	return d;
}

static int tree_one(const char *json, size_t len, void *ctx)
{
	struct tree_ctx *c = ctx;
	struct jdoc *d;
	const struct jnode *r, *lin;
	const char *type, *t, *verdict;
	struct pnode *p;
	char line[2048];
	long long pid;

	d = session_event(json, len, c->session);
	if (!d)
		return 0;
	r = jsonr__root(d);
	c->records++;
	type = str(r, "type");
	t = str(r, "time");
	pid = jnode__int(jnode__get(r, "pid"), 0);
	p = pnode_get(c, pid);
	if (!p) {
		jsonr__free(d);
		return 0;
	}
	/* the parent as the lineage saw it (survives reparenting), else ppid */
	lin = jnode__get(r, "lineage");
	if (lin && lin->child && lin->child->next) {
		const struct jnode *e = lin->child, *prev = NULL;

		for (; e->next; e = e->next)
			prev = e;
		if (prev)
			p->ppid = jnode__int(jnode__get(prev, "pid"), p->ppid);
		if (c->root < 0)
			c->root = jnode__int(jnode__get(lin->child, "pid"), -1);
	} else if (p->ppid < 0 && jnode__get(r, "ppid")) {
		p->ppid = jnode__int(jnode__get(r, "ppid"), -1);
	}
	if (c->root < 0 && jnode__get(r, "attribution"))
		c->root = jnode__int(jnode__get(jnode__get(r, "attribution"), "root_pid"), -1);
	verdict = str(r, "verdict");
	if (type && !strcmp(type, "exec")) {
		if (p->cmd) {
			/* exec'd again (bash -c running its last command in place) */
			snprintf(line, sizeof(line), "was: %s", p->cmd);
			note(p, line);
			free(p->cmd);
		}
		p->cmd = argv_joined(jnode__get(r, "argv"));
		if (t && !p->start[0])
			snprintf(p->start, sizeof(p->start), "%.23s", t + (strlen(t) > 11 ? 11 : 0));
		if (verdict && strcmp(verdict, "allow")) {
			const struct jnode *h = jnode__get(r, "rules");

			snprintf(line, sizeof(line), "verdict %s [%s]", verdict,
				 h && h->child && str(h->child, "id") ? str(h->child, "id") : "?");
			note(p, line);
		}
	} else if (type && !strcmp(type, "exit")) {
		free(p->status);
		if (jnode__get(r, "signal"))
			snprintf(line, sizeof(line), "killed by signal %lld",
				 (long long)jnode__int(jnode__get(r, "signal"), 0));
		else
			snprintf(line, sizeof(line), "exit %lld",
				 (long long)jnode__int(jnode__get(r, "exit_code"), 0));
		p->status = strdup(line);
		if (!p->cmd && jnode__get(r, "argv"))
			p->cmd = argv_joined(jnode__get(r, "argv"));
	} else {
		render_record_line(r, false, line, sizeof(line));
		/* drop the time/agent/type/pid columns: the tree gives them */
		note(p, strlen(line) > RENDER_PREFIX ? line + RENDER_PREFIX : line);
	}
	jsonr__free(d);
	return 0;
}

static void tree_print(struct tree_ctx *c, struct pnode *p, int depth)
{
	size_t i;

	if (p->printed || depth > 200)
		return;
	p->printed = true;
	fprintf(c->out, "%*s%s %lld  %s%s%s%s\n", depth * 2, "", depth ? "└─" : "", p->pid,
		p->cmd ? p->cmd : "(no exec seen)", p->start[0] ? "  @" : "", p->start,
		p->status ? "" : "");
	if (p->status)
		fprintf(c->out, "%*s   → %s\n", depth * 2, "", p->status);
	for (i = 0; i < p->n_notes; i++)
		fprintf(c->out, "%*s   · %s\n", depth * 2, "", p->notes[i]);
	for (i = 0; i < c->n; i++)
		if (c->v[i].ppid == p->pid && c->v[i].pid != p->pid)
			tree_print(c, &c->v[i], depth + 1);
}

static void tree_free(struct tree_ctx *c)
{
	size_t i, j;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].cmd);
		free(c->v[i].exe);
		free(c->v[i].status);
		for (j = 0; j < c->v[i].n_notes; j++)
			free(c->v[i].notes[j]);
		free(c->v[i].notes);
	}
	free(c->v);
}

int logquery_tree(const char *dir, const char *session, bool json, FILE *out)
{
	struct tree_ctx c = { .session = session, .out = out, .root = -1 };
	int err = auditlog_each(dir, tree_one, &c);
	size_t i;

	(void)json;
	if (!err && !c.records) {
		fprintf(stderr, "no records of session %s\n", session);
		err = -ENOENT;
	}
	if (!err) {
		struct pnode *root = NULL;

		for (i = 0; i < c.n; i++)
			if (c.v[i].pid == c.root)
				root = &c.v[i];
		if (root)
			tree_print(&c, root, 0);
		/* processes whose chain to the root is unknown (started before
		 * the log, or reparented before we saw them) */
		for (i = 0; i < c.n; i++)
			if (!c.v[i].printed)
				tree_print(&c, &c.v[i], 0);
	}
	tree_free(&c);
	return err;
}

struct tl_item {
	char time[40];
	size_t seq;
	char *text;           /* rendered line, or the raw JSON in --json */
};

struct tl_ctx {
	const char *session;
	bool json;
	struct tl_item *v;
	size_t n, cap;
};

static int tl_one(const char *json, size_t len, void *ctx)
{
	struct tl_ctx *c = ctx;
	struct jdoc *d;
	const struct jnode *r;
	char line[2048];
	struct tl_item *it;

	d = session_event(json, len, c->session);
	if (!d)
		return 0;
	r = jsonr__root(d);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct tl_item *nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv) {
			jsonr__free(d);
			return -ENOMEM;
		}
		c->v = nv;
		c->cap = cap;
	}
	it = &c->v[c->n];
	snprintf(it->time, sizeof(it->time), "%s", str(r, "time") ? str(r, "time") : "");
	it->seq = c->n;
	if (c->json) {
		it->text = strndup(json, len);
	} else {
		render_record_line(r, false, line, sizeof(line));
		it->text = strdup(line);
	}
	c->n++;
	jsonr__free(d);
	return 0;
}

/* By time; records with the same time keep their log order. */
static int tl_cmp(const void *a, const void *b)
{
	const struct tl_item *x = a, *y = b;
	int c = strcmp(x->time, y->time);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Records reach the log in ring-buffer order, which is not quite time
 * order (a file event is stamped at its syscall's exit, a verdict when it
 * is reached): the timeline sorts them. */
int logquery_timeline(const char *dir, const char *session, bool json, FILE *out)
{
	struct tl_ctx c = { .session = session, .json = json };
	int err = auditlog_each(dir, tl_one, &c);
	size_t i;

	if (!err && !c.n) {
		fprintf(stderr, "no records of session %s\n", session);
		err = -ENOENT;
	}
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), tl_cmp);
	for (i = 0; i < c.n; i++) {
		if (!err && c.v[i].text)
			fprintf(out, "%s\n", c.v[i].text);
		free(c.v[i].text);
	}
	free(c.v);
	return err;
}
