// SPDX-License-Identifier: GPL-2.0
/* Native records to OCSF events; the mapping is in docs/ocsf.md. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonr.h"
#include "ocsf.h"

#define PRODUCT "agentwatch"

enum kind { K_SKIP, K_EXEC, K_FORK, K_EXIT, K_VERDICT, K_FILE, K_NET, K_GAP, K_LIFE, K_TAMPER };

/* gap and collector (start/stop) records: the sensor's own life. */
static bool is_lifecycle(enum kind k)
{
	return k == K_GAP || k == K_LIFE;
}

/* The native record, parsed. */
struct rec {
	const struct jnode *root;
	enum kind kind;
	long long time_ms;
	int64_t pid, ppid;
	const struct jnode *lineage;	/* J_ARR or NULL */
	const struct jnode *self;	/* lineage element of the process itself */
	const struct jnode *parent;	/* lineage element of its parent */
};

/* What a rule outcome (verdict, rules[]) says, for the security_control
 * profile. */
struct outcome {
	const char *verdict;		/* NULL: no rule decided anything */
	bool late;			/* enforced after the syscall completed */
	const struct jnode *hit;	/* the deciding rule, or NULL */
	int rule_sev;			/* highest rule severity_id, 0 if none */
	bool any_rule;
};

/* The event's class and activity. */
struct cls {
	int category_uid, class_uid, activity_id;
	const char *category_name, *class_name, *activity_name;
};

/* ---- small readers ------------------------------------------------------- */

static const char *str_of(const struct jnode *obj, const char *key, size_t *len)
{
	return jnode__str(jnode__get(obj, key), len);
}

static bool str_is(const struct jnode *obj, const char *key, const char *want)
{
	const char *s = str_of(obj, key, NULL);

	return s && !strcmp(s, want);
}

/* A non-negative integer member, or -1. */
static int64_t uint_of(const struct jnode *obj, const char *key)
{
	const struct jnode *n = jnode__get(obj, key);

	return n && n->t == J_NUM && n->num >= 0 && n->num <= 9.2e18 ? jnode__int(n, -1) : -1;
}

static bool is_num(const struct jnode *n)
{
	return n && n->t == J_NUM;
}

/* ---- time ------------------------------------------------------------------ */

static bool digits(const char *s, size_t n, int *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*out = *out * 10 + (s[i] - '0');
	}
	return true;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (Howard Hinnant's
 * days_from_civil): no timegm(), no TZ environment. */
static long long days_from_civil(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int ocsf__parse_time_ms(const char *s, size_t n, long long *ms)
{
	int y, mo, d, h, mi, sec, frac = 0;
	size_t i, k;

	if (!s || n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[n - 1] != 'Z')
		return -EINVAL;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	i = 19;
	if (i < n - 1) {
		if (s[i] != '.' || n - 1 - (i + 1) < 1 || n - 1 - (i + 1) > 9)
			return -EINVAL;
		for (k = i + 1; k < n - 1; k++) {
			if (s[k] < '0' || s[k] > '9')
				return -EINVAL;
			if (k < i + 4)
				frac = frac * 10 + (s[k] - '0');
		}
		for (k = n - 1 - (i + 1); k < 3; k++)
			frac *= 10;
	}
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + frac;
	return 0;
}

/* ---- the record ------------------------------------------------------------ */

static enum kind kind_of(const char *type)
{
	static const struct { const char *name; enum kind k; } kinds[] = {
		{ "exec", K_EXEC }, { "fork", K_FORK }, { "exit", K_EXIT },
		{ "verdict", K_VERDICT }, { "file", K_FILE }, { "net", K_NET }, { "gap", K_GAP },
		{ "collector", K_LIFE }, { "tamper", K_TAMPER },
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(type, kinds[i].name))
			return kinds[i].k;
	/* segment, retention, loss: the log's own bookkeeping, checked by
	 * `agentwatch log verify`; anything newer: not ours to guess. */
	return K_SKIP;
}

/* The process itself is the last lineage element (collector.c
 * json_lineage: root first); its parent the one before. */
static void find_lineage(struct rec *r)
{
	const struct jnode *e, *prev = NULL, *last = NULL;

	r->lineage = jnode__get(r->root, "lineage");
	if (!r->lineage || r->lineage->t != J_ARR) {
		r->lineage = NULL;
		return;
	}
	for (e = r->lineage->child; e; e = e->next) {
		prev = last;
		last = e;
	}
	if (last && last->t == J_OBJ && uint_of(last, "pid") == r->pid && r->pid >= 0) {
		r->self = last;
		if (prev && prev->t == J_OBJ && uint_of(prev, "pid") == r->ppid)
			r->parent = prev;
	}
}

static int rec_init(struct rec *r, const struct jnode *root)
{
	const char *type, *t;
	size_t tl;

	memset(r, 0, sizeof(*r));
	r->root = root;
	if (!root || root->t != J_OBJ || !(type = str_of(root, "type", NULL)))
		return -EINVAL;
	r->kind = kind_of(type);
	if (r->kind == K_SKIP)
		return 0;
	t = str_of(root, "time", &tl);
	if (!t || ocsf__parse_time_ms(t, tl, &r->time_ms))
		return -EINVAL;
	r->pid = uint_of(root, "pid");
	r->ppid = uint_of(root, "ppid");
	find_lineage(r);
	return 0;
}

/* ---- rule outcome ---------------------------------------------------------- */

static int severity_id(const char *s)
{
	static const char *const names[] = { "info", "low", "medium", "high", "critical" };
	size_t i;

	for (i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return (int)i + 1;
	return 0;
}

/* The rule the collector names (collector.c deciding_hit): the first
 * enforcing hit whose action is the verdict, else the first hit. */
static const struct jnode *deciding_hit(const struct jnode *rules, const char *verdict)
{
	const struct jnode *h, *first = NULL;

	for (h = rules->child; h; h = h->next) {
		if (h->t != J_OBJ)
			continue;
		if (verdict && str_is(h, "action", verdict) && str_is(h, "mode", "enforce"))
			return h;
		if (!first)
			first = h;
	}
	return first;
}

static void outcome_init(struct outcome *oc, const struct rec *r)
{
	const struct jnode *rules = jnode__get(r->root, "rules"), *h;

	memset(oc, 0, sizeof(*oc));
	oc->verdict = str_of(r->root, "verdict", NULL);
	oc->late = jnode__bool(jnode__get(r->root, "enforced_late"));
	if (!rules || rules->t != J_ARR)
		return;
	for (h = rules->child; h; h = h->next) {
		int sev = h->t == J_OBJ ? severity_id(str_of(h, "severity", NULL)) : 0;

		oc->any_rule |= h->t == J_OBJ;
		if (sev > oc->rule_sev)
			oc->rule_sev = sev;
	}
	oc->hit = deciding_hit(rules, oc->verdict);
}

/* Verdicts that stop or hold what the process does. */
static bool verdict_acts(const char *v)
{
	static const char *const acting[] = { "pause", "deny", "kill", "freeze", "kill-session" };
	size_t i;

	for (i = 0; v && i < sizeof(acting) / sizeof(acting[0]); i++)
		if (!strcmp(v, acting[i]))
			return true;
	return false;
}

/* ---- class and activity ---------------------------------------------------- */

static const char *cat_name(int uid)
{
	return uid == 1 ? "System Activity" : uid == 4 ? "Network Activity" :
	       uid == 6 ? "Application Activity" : "Other";
}

static void set_cls(struct cls *c, int class_uid, const char *class_name, int act,
		    const char *act_name)
{
	c->class_uid = class_uid;
	c->class_name = class_name;
	c->category_uid = class_uid / 1000;
	c->category_name = cat_name(c->category_uid);
	c->activity_id = act;
	c->activity_name = act_name;
}

static void cls_process(struct cls *c, const struct rec *r)
{
	const char *v;

	switch (r->kind) {
	case K_EXIT:
		set_cls(c, 1007, "Process Activity", 2, "Terminate");
		return;
	case K_TAMPER:
		/* A session process signalled, traced or called bpf() on
		 * agentwatch: no OCSF activity says that; target_pid and the
		 * details stay in unmapped. */
		set_cls(c, 1007, "Process Activity", 99, "Tamper");
		return;
	case K_VERDICT:
		/* A human or a timeout decided on a stopped process: kill ends
		 * it, allow resumes it (SIGCONT), which OCSF has no activity for. */
		v = str_of(r->root, "verdict", NULL);
		if (v && !strcmp(v, "kill"))
			set_cls(c, 1007, "Process Activity", 2, "Terminate");
		else
			set_cls(c, 1007, "Process Activity", 99, "Resume");
		return;
	default:
		set_cls(c, 1007, "Process Activity", 1, "Launch");
	}
}

static void cls_file(struct cls *c, const struct rec *r)
{
	static const struct { const char *op; int act; const char *name; } ops[] = {
		{ "unlink", 4, "Delete" }, { "unlinkat", 4, "Delete" }, { "rmdir", 4, "Delete" },
		{ "rename", 5, "Rename" }, { "renameat", 5, "Rename" }, { "renameat2", 5, "Rename" },
		/* O_TRUNC and truncate() write the file's data (to nothing). */
		{ "truncate", 3, "Update" }, { "open_trunc", 3, "Update" },
	};
	const char *op = str_of(r->root, "op", NULL);
	size_t i;

	for (i = 0; op && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(op, ops[i].op)) {
			set_cls(c, 1001, "File System Activity", ops[i].act, ops[i].name);
			return;
		}
	set_cls(c, 1001, "File System Activity", 99, "Other");
}

static void cls_net(struct cls *c, const struct rec *r, const struct outcome *oc)
{
	const char *op = str_of(r->root, "op", NULL), *err = str_of(r->root, "error", NULL);

	if (oc->verdict && !strcmp(oc->verdict, "deny"))
		set_cls(c, 4001, "Network Activity", 5, "Refuse");	/* refused in the kernel */
	else if (err && !strcmp(err, "ECONNREFUSED"))
		set_cls(c, 4001, "Network Activity", 5, "Refuse");
	else if (err && strcmp(err, "EINPROGRESS"))
		set_cls(c, 4001, "Network Activity", 4, "Fail");
	else if (op && !strcmp(op, "connect"))
		set_cls(c, 4001, "Network Activity", 1, "Open");
	else if (op && !strcmp(op, "sendmsg"))
		set_cls(c, 4001, "Network Activity", 6, "Traffic");	/* a datagram */
	else
		set_cls(c, 4001, "Network Activity", 99, "Other");
}

static void classify(struct cls *c, const struct rec *r, const struct outcome *oc)
{
	switch (r->kind) {
	case K_FILE:
		cls_file(c, r);
		return;
	case K_NET:
		cls_net(c, r, oc);
		return;
	case K_LIFE:
		if (str_is(r->root, "event", "stop"))
			set_cls(c, 6002, "Application Lifecycle", 4, "Stop");
		else
			set_cls(c, 6002, "Application Lifecycle", 3, "Start");
		return;
	case K_GAP:
		/* The new collector took over the programs of one that died. */
		if (jnode__bool(jnode__get(r->root, "reattached")))
			set_cls(c, 6002, "Application Lifecycle", 5, "Restart");
		else
			set_cls(c, 6002, "Application Lifecycle", 3, "Start");
		return;
	default:
		cls_process(c, r);
	}
}

/* ---- writers: shared pieces ------------------------------------------------ */

static void w_key_str(struct jsonw *w, const char *key, const char *val)
{
	jsonw__key(w, key);
	jsonw__str(w, val);
}

static void w_key_i64(struct jsonw *w, const char *key, int64_t v)
{
	jsonw__key(w, key);
	jsonw__i64(w, v);
}

/* A native number as it was: exact u64, integer, or shortest double. */
static void w_num(struct jsonw *w, const struct jnode *n)
{
	char buf[32];
	int len;

	if (n->is_u64) {
		jsonw__u64(w, n->u64);
	} else if (n->num == floor(n->num) && fabs(n->num) < 9.2e18) {
		jsonw__i64(w, (int64_t)n->num);
	} else if (isfinite(n->num)) {
		len = snprintf(buf, sizeof(buf), "%.17g", n->num);
		jsonw__raw(w, len > 0 && (size_t)len < sizeof(buf) ? buf : NULL);
	} else {
		jsonw__null(w);	/* 1e999: JSON has no infinity */
	}
}

static void w_copy(struct jsonw *w, const struct jnode *n)
{
	const struct jnode *c;

	switch (n->t) {
	case J_NULL: jsonw__null(w); return;
	case J_BOOL: jsonw__bool(w, n->b); return;
	case J_NUM: w_num(w, n); return;
	case J_STR: jsonw__strn(w, n->s, n->s_len); return;
	case J_ARR:
		jsonw__arr_begin(w);
		for (c = n->child; c; c = c->next)
			w_copy(w, c);
		jsonw__arr_end(w);
		return;
	case J_OBJ:
		jsonw__obj_begin(w);
		for (c = n->child; c; c = c->next) {
			jsonw__key(w, c->key);
			w_copy(w, c);
		}
		jsonw__obj_end(w);
		return;
	}
}

/* A string member copied to key, if it is a string. */
static void w_str_member(struct jsonw *w, const char *key, const struct jnode *obj,
			 const char *member)
{
	size_t n;
	const char *s = str_of(obj, member, &n);

	if (!s)
		return;
	jsonw__key(w, key);
	jsonw__strn(w, s, n);
}

static void w_ms(struct jsonw *w, const char *key, const struct jnode *obj, const char *member)
{
	size_t n;
	const char *s = str_of(obj, member, &n);
	long long ms;

	if (s && !ocsf__parse_time_ms(s, n, &ms))
		w_key_i64(w, key, ms);
}

/* ---- cmd_line ------------------------------------------------------------- */

/* Words a POSIX shell reads back unchanged without quotes. */
static bool shell_safe(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("@%+=:,./-_", c)) || !c)
			return false;
	}
	return true;
}

static size_t put_word(char *o, const char *s, size_t n)
{
	size_t k = 0, i;

	if (shell_safe(s, n)) {
		memcpy(o, s, n);
		return n;
	}
	o[k++] = '\'';
	for (i = 0; i < n; i++) {
		if (s[i] == '\'') {
			memcpy(o + k, "'\\''", 4);
			k += 4;
		} else {
			o[k++] = s[i];
		}
	}
	o[k++] = '\'';
	return k;
}

/*
 * argv joined into one command line, each word quoted the POSIX shell way
 * when it needs it ('it'\''s'), so shlex.split() gives argv back exactly.
 * Bytes that are not UTF-8 go through unchanged and the writer escapes them.
 */
static void w_cmd_line(struct jsonw *w, const struct jnode *argv)
{
	const struct jnode *a;
	size_t cap = 1, k = 0;
	char *buf;

	if (!argv || argv->t != J_ARR)
		return;
	for (a = argv->child; a; a = a->next)
		if (a->t == J_STR)
			cap += a->s_len * 4 + 3;	/* every byte a quote, two quotes, a space */
	buf = malloc(cap);
	if (!buf) {
		jsonw__key(w, "cmd_line");
		jsonw__raw(w, NULL);
		return;
	}
	for (a = argv->child; a; a = a->next) {
		if (a->t != J_STR)
			continue;
		if (k)
			buf[k++] = ' ';
		k += put_word(buf + k, a->s, a->s_len);
	}
	jsonw__key(w, "cmd_line");
	jsonw__strn(w, buf, k);
	free(buf);
}

/* ---- process objects -------------------------------------------------------- */

static void w_file_obj(struct jsonw *w, const char *path, size_t n, int type_id)
{
	static const char *const types[] = { "Unknown", "Regular File", "Folder" };
	const char *slash = n ? memrchr(path, '/', n) : NULL;

	jsonw__obj_begin(w);
	jsonw__key(w, "name");
	if (slash && slash + 1 < path + n)
		jsonw__strn(w, slash + 1, path + n - slash - 1);
	else
		jsonw__strn(w, path, n);
	jsonw__key(w, "path");
	jsonw__strn(w, path, n);
	if (slash) {
		jsonw__key(w, "parent_folder");
		jsonw__strn(w, path, slash == path ? 1 : (size_t)(slash - path));
	}
	w_key_i64(w, "type_id", type_id);
	w_key_str(w, "type", types[type_id]);
	jsonw__obj_end(w);
}

/* The file member of a process: its executable. */
static void w_exe(struct jsonw *w, const struct jnode *obj)
{
	size_t n;
	const char *exe = str_of(obj, "exe", &n);

	if (!exe)
		return;
	jsonw__key(w, "file");
	w_file_obj(w, exe, n, 1);
}

/* A lineage element {pid, exe, argv} as a process object. */
static void w_lineage_proc(struct jsonw *w, const struct jnode *e)
{
	int64_t pid = uint_of(e, "pid");

	jsonw__obj_begin(w);
	if (pid >= 0)
		w_key_i64(w, "pid", pid);
	w_exe(w, e);
	w_cmd_line(w, jnode__get(e, "argv"));
	jsonw__obj_end(w);
}

static void w_parent(struct jsonw *w, const struct rec *r)
{
	if (r->parent) {
		w_lineage_proc(w, r->parent);
		return;
	}
	jsonw__obj_begin(w);
	w_key_i64(w, "pid", r->ppid);
	jsonw__obj_end(w);
}

/* OCSF lineage: the executable paths, root first (OCSF's example ends with
 * the process itself, as ours does). */
static void w_lineage_paths(struct jsonw *w, const struct rec *r)
{
	const struct jnode *e;

	jsonw__key(w, "lineage");
	jsonw__arr_begin(w);
	for (e = r->lineage->child; e; e = e->next) {
		size_t n = 0;
		const char *exe = e->t == J_OBJ ? str_of(e, "exe", &n) : NULL;

		jsonw__strn(w, exe ? exe : "", n);
	}
	jsonw__arr_end(w);
}

/* OCSF ancestry: parent first, then up to the session root. */
static void w_ancestry(struct jsonw *w, const struct rec *r)
{
	const struct jnode *e, *stack[256];
	size_t n = 0;

	for (e = r->lineage->child; e && n < sizeof(stack) / sizeof(stack[0]); e = e->next)
		if (e != r->self && e->t == J_OBJ)
			stack[n++] = e;
	if (!n)
		return;
	jsonw__key(w, "ancestry");
	jsonw__arr_begin(w);
	while (n--) {
		const struct jnode *a = stack[n];
		size_t pl;
		const char *path = str_of(a, "exe", &pl);
		int64_t pid = uint_of(a, "pid");

		jsonw__obj_begin(w);
		if (pid >= 0)
			w_key_i64(w, "pid", pid);
		if (path) {
			jsonw__key(w, "path");
			jsonw__strn(w, path, pl);
		}
		w_cmd_line(w, jnode__get(a, "argv"));
		jsonw__obj_end(w);
	}
	jsonw__arr_end(w);
}

/* The record's own process, with its parentage. */
static void w_self(struct jsonw *w, const struct rec *r)
{
	const struct jnode *root = r->root, *tid = jnode__get(root, "tid");
	int64_t uid = uint_of(root, "uid");

	jsonw__obj_begin(w);
	if (r->pid >= 0)
		w_key_i64(w, "pid", r->pid);
	if (is_num(tid)) {
		jsonw__key(w, "ptid");
		w_num(w, tid);
	}
	w_str_member(w, "name", root, "comm");
	w_exe(w, root);
	w_cmd_line(w, jnode__get(root, "argv"));
	w_str_member(w, "working_directory", root, "cwd");
	w_ms(w, "created_time", root, "start_time");
	if (r->kind == K_EXIT)
		w_key_i64(w, "terminated_time", r->time_ms);
	if (uid >= 0) {
		char buf[24];

		snprintf(buf, sizeof(buf), "%lld", (long long)uid);
		jsonw__key(w, "user");
		jsonw__obj_begin(w);
		w_key_str(w, "uid", buf);
		jsonw__obj_end(w);
	}
	if (r->ppid > 0) {
		jsonw__key(w, "parent_process");
		w_parent(w, r);
	}
	if (r->lineage) {
		w_lineage_paths(w, r);
		w_ancestry(w, r);
	}
	jsonw__obj_end(w);
}

/*
 * actor: who did it.  For a launch that is the parent (OCSF: "the process
 * that started a new process"); an exit is reflexive; a file or network
 * operation is done by the process itself.  A verdict is agentwatch's own
 * act, so it has no actor process.  The agent is the application, its
 * agentwatch session the session.
 */
static void w_actor(struct jsonw *w, const struct rec *r)
{
	size_t n;
	const char *s;

	jsonw__key(w, "actor");
	jsonw__obj_begin(w);
	if ((r->kind == K_EXEC || r->kind == K_FORK) && r->ppid > 0) {
		jsonw__key(w, "process");
		w_parent(w, r);
	} else if (r->kind == K_EXIT || r->kind == K_FILE || r->kind == K_NET || r->kind == K_TAMPER) {
		jsonw__key(w, "process");
		w_self(w, r);
	}
	w_str_member(w, "app_name", r->root, "agent");
	if ((s = str_of(r->root, "session", &n))) {
		jsonw__key(w, "session");
		jsonw__obj_begin(w);
		jsonw__key(w, "uid");
		jsonw__strn(w, s, n);
		jsonw__obj_end(w);
	}
	jsonw__obj_end(w);
}

/* ---- class bodies ----------------------------------------------------------- */

static void w_process_activity(struct jsonw *w, const struct rec *r)
{
	const struct jnode *code = jnode__get(r->root, "exit_code");

	jsonw__key(w, "process");
	w_self(w, r);
	if (r->kind == K_EXEC || r->kind == K_FORK) {
		w_key_i64(w, "launch_type_id", r->kind == K_EXEC ? 3 : 2);
		w_key_str(w, "launch_type", r->kind == K_EXEC ? "Exec" : "Fork");
	}
	if (is_num(code)) {
		jsonw__key(w, "exit_code");
		w_num(w, code);
	}
}

static int file_type_id(const struct jnode *root)
{
	const char *op = str_of(root, "op", NULL);

	if (!op)
		return 0;
	if (!strcmp(op, "rmdir") || jnode__bool(jnode__get(root, "removedir")))
		return 2;
	if (!strcmp(op, "truncate") || !strcmp(op, "open_trunc"))
		return 1;	/* neither works on a directory */
	return 0;
}

static void w_file_activity(struct jsonw *w, const struct rec *r)
{
	size_t n;
	const char *p = str_of(r->root, "path", &n);

	if (p) {
		jsonw__key(w, "file");
		w_file_obj(w, p, n, file_type_id(r->root));
	}
	if ((p = str_of(r->root, "path2", &n))) {
		jsonw__key(w, "file_result");
		w_file_obj(w, p, n, file_type_id(r->root));
	}
}

static int proto_num(const char *p)
{
	static const struct { const char *name; int num; } protos[] = {
		{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "icmpv6", 58 }, { "sctp", 132 },
	};
	size_t i;

	for (i = 0; p && i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcmp(p, protos[i].name))
			return protos[i].num;
	return -1;
}

static bool loopback(const char *a)
{
	return a && (!strncmp(a, "127.", 4) || !strcmp(a, "::1"));
}

static void w_connection_info(struct jsonw *w, const struct jnode *root)
{
	const char *proto = str_of(root, "protocol", NULL), *fam = str_of(root, "family", NULL);
	int num = proto_num(proto);

	jsonw__key(w, "connection_info");
	jsonw__obj_begin(w);
	/* connect() and sendmsg() both start from this host */
	w_key_i64(w, "direction_id", 2);
	w_key_str(w, "direction", "Outbound");
	if (loopback(str_of(root, "address", NULL))) {
		w_key_i64(w, "boundary_id", 1);
		w_key_str(w, "boundary", "Localhost");
	}
	w_str_member(w, "protocol_name", root, "protocol");
	if (num >= 0)
		w_key_i64(w, "protocol_num", num);
	if (fam && (!strcmp(fam, "ipv4") || !strcmp(fam, "ipv6"))) {
		w_key_i64(w, "protocol_ver_id", fam[3] == '4' ? 4 : 6);
		w_key_str(w, "protocol_ver", fam[3] == '4' ? "Internet Protocol version 4 (IPv4)" :
			  "Internet Protocol version 6 (IPv6)");
	} else if (fam) {
		w_key_i64(w, "protocol_ver_id", 99);
		w_str_member(w, "protocol_ver", root, "family");
	}
	jsonw__obj_end(w);
}

static void w_network_activity(struct jsonw *w, const struct rec *r)
{
	const struct jnode *root = r->root, *port = jnode__get(root, "port");
	int64_t res = jnode__int(jnode__get(root, "result"), -1);

	jsonw__key(w, "dst_endpoint");
	jsonw__obj_begin(w);
	w_str_member(w, "ip", root, "address");
	if (is_num(port)) {
		jsonw__key(w, "port");
		w_num(w, port);
	}
	jsonw__obj_end(w);
	jsonw__key(w, "is_src_dst_assignment_known");
	jsonw__bool(w, true);
	w_connection_info(w, root);
	/* sendmsg() returns the bytes sent */
	if (str_is(root, "op", "sendmsg") && res >= 0) {
		jsonw__key(w, "traffic");
		jsonw__obj_begin(w);
		w_key_i64(w, "bytes_out", res);
		jsonw__obj_end(w);
	}
}

/* agentwatch as an OCSF product (metadata.product) or application (app). */
static void w_product(struct jsonw *w, const char *key, const struct ocsf_opts *o)
{
	jsonw__key(w, key);
	jsonw__obj_begin(w);
	w_key_str(w, "name", PRODUCT);
	w_key_str(w, "vendor_name", PRODUCT);
	if (o && o->product_version)
		w_key_str(w, "version", o->product_version);
	jsonw__obj_end(w);
}

static void w_gap(struct jsonw *w, const struct ocsf_opts *o)
{
	w_product(w, "app", o);
}

/* ---- base event pieces -------------------------------------------------------- */

static void w_classification(struct jsonw *w, const struct cls *c)
{
	char tn[96];
	int n;

	w_key_i64(w, "activity_id", c->activity_id);
	w_key_str(w, "activity_name", c->activity_name);
	w_key_i64(w, "category_uid", c->category_uid);
	w_key_str(w, "category_name", c->category_name);
	w_key_i64(w, "class_uid", c->class_uid);
	w_key_str(w, "class_name", c->class_name);
	w_key_i64(w, "type_uid", (int64_t)c->class_uid * 100 + c->activity_id);
	n = snprintf(tn, sizeof(tn), "%s: %s", c->class_name, c->activity_name);
	if (n > 0 && (size_t)n < sizeof(tn))
		w_key_str(w, "type_name", tn);
}

static int event_severity(const struct rec *r, const struct outcome *oc)
{
	if (oc->rule_sev)
		return oc->rule_sev;
	/* A gap in monitoring, or a block no rule graded (a kernel fallback,
	 * the deletion breaker, a human's kill) is worth a look. */
	if (r->kind == K_TAMPER)
		return 4;   /* an agent acting against its guard */
	if (r->kind == K_GAP || verdict_acts(oc->verdict))
		return 3;
	if (r->kind == K_VERDICT && str_is(r->root, "verdict", "kill"))
		return 3;
	return 1;
}

static void w_severity(struct jsonw *w, int sev)
{
	static const char *const names[] = {
		"Unknown", "Informational", "Low", "Medium", "High", "Critical",
	};

	w_key_i64(w, "severity_id", sev);
	w_key_str(w, "severity", names[sev]);
}

/* status from the syscall's result (file, net); the other records report
 * something that happened. */
static void w_status(struct jsonw *w, const struct rec *r, const struct outcome *oc)
{
	const struct jnode *res = jnode__get(r->root, "result");
	size_t el;
	const char *err = str_of(r->root, "error", &el);
	int id = 1;

	if (r->kind == K_FILE || r->kind == K_NET) {
		if (!is_num(res))
			id = 0;		/* not reported (a sendmsg seen before it returned) */
		else if (err && !strcmp(err, "EINPROGRESS"))
			id = 99;	/* non-blocking connect under way */
		else if (res->num < 0)
			id = 2;
	}
	w_key_i64(w, "status_id", id);
	w_key_str(w, "status", id == 0 ? "Unknown" : id == 1 ? "Success" : id == 2 ? "Failure" :
		  "In Progress");
	if (err) {
		jsonw__key(w, "status_code");
		jsonw__strn(w, err, el);
	}
	if (id == 2 && oc->verdict && !strcmp(oc->verdict, "deny") && oc->hit)
		w_str_member(w, "status_detail", oc->hit, "message");
}

static void w_message(struct jsonw *w, const struct rec *r, const struct outcome *oc)
{
	char buf[256];
	int n;

	if (oc->hit) {
		w_str_member(w, "message", oc->hit, "message");
		return;
	}
	if (r->kind == K_VERDICT) {
		const char *v = str_of(r->root, "verdict", NULL), *by = str_of(r->root, "decided_by", NULL);
		const char *rule = str_of(r->root, "rule", NULL);

		n = snprintf(buf, sizeof(buf), "%s by %s (rule %s)", v ? v : "?", by ? by : "?",
			     rule ? rule : "?");
		if (n > 0 && (size_t)n < sizeof(buf))
			w_key_str(w, "message", buf);
		return;
	}
	if (r->kind == K_LIFE)
		w_key_str(w, "message", str_is(r->root, "event", "stop") ? "agentwatch stopped" :
			  "agentwatch started");
	if (r->kind == K_TAMPER) {
		const char *k = str_of(r->root, "kind", NULL), *wh = str_of(r->root, "what", NULL);

		n = snprintf(buf, sizeof(buf), "tamper: %s %s aimed at agentwatch", k ? k : "?",
			     wh ? wh : "?");
		if (n > 0 && (size_t)n < sizeof(buf))
			w_key_str(w, "message", buf);
	}
	if (r->kind == K_GAP)
		w_key_str(w, "message", jnode__bool(jnode__get(r->root, "reattached")) ?
			  "collector restarted: reattached to the programs of one that died" :
			  "collector started: replaced stale programs of a previous one");
}

/* security_control attributes only where a rule or a verdict was involved */
static bool has_control(const struct outcome *oc)
{
	return oc->verdict || oc->any_rule;
}

static void w_metadata(struct jsonw *w, const struct rec *r, const struct outcome *oc,
		       const struct ocsf_opts *o)
{
	const struct jnode *seq = jnode__get(r->root, "seq");
	int64_t pending = uint_of(r->root, "pending_id");
	size_t n, sl;
	const char *t = str_of(r->root, "time", &n), *sess = str_of(r->root, "session", &sl);

	jsonw__key(w, "metadata");
	jsonw__obj_begin(w);
	w_key_str(w, "version", OCSF_SCHEMA_VERSION);
	w_product(w, "product", o);
	w_key_str(w, "log_name", is_lifecycle(r->kind) ? "collector" : "events");
	/* nanoseconds: time itself has milliseconds only */
	jsonw__key(w, "original_time");
	jsonw__strn(w, t, n);
	if (is_num(seq)) {
		jsonw__key(w, "sequence");
		w_num(w, seq);
	}
	/* The exec (or file) record that paused a process and the verdict
	 * record that ended the pause share this; ids restart with each
	 * collector, sessions don't repeat. */
	if (pending > 0 && sess) {
		char buf[160];
		int k = snprintf(buf, sizeof(buf), "%.*s/pending/%lld", (int)(sl < 64 ? sl : 64),
				 sess, (long long)pending);

		if (k > 0 && (size_t)k < sizeof(buf))
			w_key_str(w, "correlation_uid", buf);
	}
	jsonw__key(w, "profiles");
	jsonw__arr_begin(w);
	jsonw__str(w, "host");
	if (has_control(oc))
		jsonw__str(w, "security_control");
	jsonw__arr_end(w);
	jsonw__obj_end(w);
}

static void w_device(struct jsonw *w, const struct ocsf_opts *o)
{
	jsonw__key(w, "device");
	jsonw__obj_begin(w);
	if (o && o->hostname)
		w_key_str(w, "hostname", o->hostname);
	w_key_i64(w, "type_id", 0);
	w_key_str(w, "type", "Unknown");
	jsonw__key(w, "os");
	jsonw__obj_begin(w);
	w_key_str(w, "name", "Linux");
	w_key_i64(w, "type_id", 200);
	w_key_str(w, "type", "Linux");
	jsonw__obj_end(w);
	jsonw__obj_end(w);
}

/* ---- security control ------------------------------------------------------- */

static const char *const dispositions[] = {
	"Unknown", "Allowed", "Blocked", "Quarantined", "Isolated", "Deleted", "Dropped",
	"Custom Action", "Approved", "Restored", "Exonerated", "Corrected",
	"Partially Corrected", "Uncorrected", "Delayed", "Detected", "No Action", "Logged",
	"Tagged", "Alert", "Count", "Reset", "Captcha", "Challenge", "Access Revoked",
	"Rejected", "Unauthorized", "Error",
};

struct control {
	int action_id;			/* 0 Unknown 1 Allowed 2 Denied 3 Observed */
	int disposition_id;		/* index into dispositions[], or 99 */
	const char *disposition;	/* the caption for 99 */
};

/*
 * A verdict taken after the syscall completed (file rules, late kills)
 * did not stop the activity: OCSF's "Observed" with what was done to the
 * process, not "Denied".
 */
static void control_of(struct control *c, const struct rec *r, const struct outcome *oc)
{
	static const struct {
		const char *verdict;
		int action, disposition;
		const char *late;	/* disposition when enforced late, NULL: same */
	} map[] = {
		{ "allow", 1, 1, NULL }, { "log", 1, 17, NULL }, { "alert", 1, 19, NULL },
		{ "pause", 1, 14, "Paused" }, { "freeze", 1, 14, "Session frozen" },
		{ "deny", 2, 2, NULL }, { "kill", 2, 2, "Killed" },
		{ "kill-session", 2, 2, "Session killed" },
	};
	const char *v = oc->verdict;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (!v) {
		c->action_id = 1;	/* rules fired without a verdict: nothing done */
		c->disposition_id = 15;
		return;
	}
	if (r->kind == K_VERDICT) {
		const char *by = str_of(r->root, "decided_by", NULL);
		bool human = by && !strncmp(by, "human", 5);

		c->action_id = strcmp(v, "allow") ? 2 : 1;
		c->disposition_id = strcmp(v, "allow") ? 2 : human ? 8 : 1;
		return;
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(v, map[i].verdict))
			continue;
		if (oc->late && map[i].late) {
			c->action_id = 3;
			c->disposition_id = 99;
			c->disposition = map[i].late;
		} else {
			c->action_id = map[i].action;
			c->disposition_id = map[i].disposition;
		}
		return;
	}
	c->disposition_id = 0;	/* a verdict this version does not know */
}

static void w_policy(struct jsonw *w, const struct rec *r, const struct outcome *oc)
{
	const struct jnode *h = oc->hit;

	if (!h && !str_of(r->root, "rule", NULL))
		return;
	jsonw__key(w, "policy");
	jsonw__obj_begin(w);
	if (h) {
		w_str_member(w, "uid", h, "id");
		w_str_member(w, "name", h, "id");
		w_str_member(w, "desc", h, "message");
		jsonw__key(w, "is_applied");
		jsonw__bool(w, str_is(h, "mode", "enforce"));
	} else {
		w_str_member(w, "uid", r->root, "rule");
		w_str_member(w, "name", r->root, "rule");
	}
	jsonw__obj_end(w);
}

static void w_control(struct jsonw *w, const struct rec *r, const struct outcome *oc)
{
	static const char *const actions[] = { "Unknown", "Allowed", "Denied", "Observed" };
	struct control c;

	if (!has_control(oc))
		return;
	control_of(&c, r, oc);
	w_key_i64(w, "action_id", c.action_id);
	w_key_str(w, "action", actions[c.action_id]);
	w_key_i64(w, "disposition_id", c.disposition_id);
	w_key_str(w, "disposition", c.disposition_id == 99 ? c.disposition :
		  dispositions[c.disposition_id]);
	jsonw__key(w, "is_alert");
	jsonw__bool(w, oc->any_rule);
	w_policy(w, r, oc);
	if (r->kind == K_VERDICT && is_num(jnode__get(r->root, "waited_ms"))) {
		jsonw__key(w, "duration");
		w_num(w, jnode__get(r->root, "waited_ms"));
	}
}

/* ---- unmapped --------------------------------------------------------------- */

/*
 * Native members whose value has an exact OCSF home; everything else goes
 * to unmapped as it was.  A member that only informs a mapped value (op ->
 * activity_id, verdict -> disposition_id, rules -> policy) stays in
 * unmapped too, since the mapping loses part of it.
 */
static bool consumed(enum kind k, const char *key)
{
	static const char *const common[] = {
		"type", "time", "pid", "tid", "ppid", "session", "agent", "exe", "argv", "cwd",
		"lineage", "seq", NULL,
	};
	static const char *const exec[] = { "comm", "uid", NULL };
	static const char *const ex[] = { "exit_code", NULL };
	static const char *const net[] = { "address", "port", "family", "protocol", "error", NULL };
	static const char *const file[] = { "path", "path2", "error", NULL };
	static const char *const verdict[] = { "waited_ms", NULL };
	static const char *const gap[] = { "type", "time", "session", "agent", "seq", NULL };
	const char *const *own = k == K_EXEC ? exec : k == K_EXIT ? ex : k == K_NET ? net :
				 k == K_FILE ? file : k == K_VERDICT ? verdict : NULL;
	const char *const *l;

	for (l = is_lifecycle(k) ? gap : common; *l; l++)
		if (!strcmp(key, *l))
			return true;
	for (l = own; l && *l; l++)
		if (!strcmp(key, *l))
			return true;
	return false;
}

static void w_unmapped(struct jsonw *w, const struct rec *r)
{
	const struct jnode *m;
	bool open = false;

	for (m = r->root->child; m; m = m->next) {
		/* a key with a NUL in it is no native member: compare it whole */
		if (strlen(m->key) == m->key_len && consumed(r->kind, m->key))
			continue;
		if (!open) {
			jsonw__key(w, "unmapped");
			jsonw__obj_begin(w);
			open = true;
		}
		jsonw__key(w, m->key);
		w_copy(w, m);
	}
	if (open)
		jsonw__obj_end(w);
}

/* ---- the event -------------------------------------------------------------- */

static void w_event(struct jsonw *w, const struct rec *r, const struct ocsf_opts *o)
{
	struct outcome oc;
	struct cls c;

	outcome_init(&oc, r);
	classify(&c, r, &oc);
	jsonw__obj_begin(w);
	w_classification(w, &c);
	w_severity(w, event_severity(r, &oc));
	w_key_i64(w, "time", r->time_ms);
	w_status(w, r, &oc);
	w_message(w, r, &oc);
	w_metadata(w, r, &oc, o);
	w_device(w, o);
	if (!is_lifecycle(r->kind))
		w_actor(w, r);
	switch (r->kind) {
	case K_FILE: w_file_activity(w, r); break;
	case K_NET: w_network_activity(w, r); break;
	case K_GAP:
	case K_LIFE: w_gap(w, o); break;
	default: w_process_activity(w, r);
	}
	w_control(w, r, &oc);
	w_unmapped(w, r);
	jsonw__obj_end(w);
}

int ocsf__from_record(const char *rec, size_t len, struct jsonw *w, const struct ocsf_opts *o)
{
	struct jdoc *d;
	struct rec r;
	int err;

	if (!w)
		return -EINVAL;
	jsonw__reset(w);
	if (!rec)
		return -EINVAL;
	if (len > OCSF_RECORD_MAX)
		return -E2BIG;
	d = jsonr__parse(rec, len, NULL, 0);
	if (!d)
		return -EINVAL;
	err = rec_init(&r, jsonr__root(d));
	if (err || r.kind == K_SKIP) {
		jsonr__free(d);
		return err ? err : 0;
	}
	w_event(w, &r, o);
	jsonr__free(d);
	err = jsonw__error(w);
	if (err) {
		jsonw__reset(w);
		/* deeper than the writer nests: no record of ours looks like that */
		return err == -E2BIG ? -EINVAL : err;
	}
	return 1;
}
