// SPDX-License-Identifier: GPL-2.0
/*
 * The collector's event loop: sensor records in, lineage-annotated records
 * out.  Also the start-up /proc scan that seeds sessions of agents that were
 * already running, and the userspace half of agent recognition (candidates
 * the kernel could not decide alone).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/bpf.h>

#include "agents.h"
#include "auditlog.h"
#include "collector.h"
#include "control.h"
#include "decode.h"
#include "json.h"
#include "jsonr.h"
#include "latency.h"
#include "metrics.h"
#include "ocsf.h"
#include "slog.h"
#include "paths.h"
#include "procpath.h"
#include "procscan.h"
#include "procsig.h"
#include "proctable.h"
#include "rules.h"
#include "sensor.h"
#include "util.h"
#include "version.h"

#define MAX_SESSIONS 4096
#define LINEAGE_MAX  64
#define ENV_CAP      (64 * 1024)
#define SIG_NONE     UINT32_MAX
/* How often a busy collector reads the ring buffer.  Records nobody waits
 * on don't wake it (bpf/maps.bpf.h, emit_flags), so this bounds their
 * latency; each wakeup costs about 80 us of CPU on the project VM, and at
 * 10 ms that was a third of the collector's CPU per exec in an exec storm
 * (25 -> 19 us per exec at 25 ms). */
#define COLLECTOR_POLL_MS 25
#define MAX_PENDING  1024
#define RECENT_MAX   1024   /* records kept for `agentwatch watch` */
#define EVENTS_REPLY_MAX 256
#define AW_NET_KERNEL_RULES 1024
#define HEARTBEAT_NS 100000000ull
/* Collector-only exec flag: a gated process found stopped at start-up,
 * re-evaluated from /proc rather than from its kernel record. */
#define AW_EXEC_REPLAYED (1u << 31)

struct session {
	uint64_t id;
	uint32_t root_pid;
	uint64_t root_start;   /* tick-rounded, like every start in the table */
	uint32_t reason;
	uint32_t sig_id;
	char agent[AW_AGENT_LEN];
	char *workspace;       /* the root's cwd when the session opened; follows a rename */
	dev_t ws_dev;          /* ... the directory it was, to notice a rename */
	ino_t ws_ino;
	bool ws_known;
	uint64_t ws_checked_ns; /* CLOCK_MONOTONIC of the last rename check */
	uint64_t opened_ts;
	uint64_t n_exec, n_file, n_net, n_exit;
	bool root_exited;
	uint64_t lost;         /* its records the kernel could not queue: degraded */
};

struct ucounters {
	uint64_t decode_errors;
	uint64_t candidates_seen;
	uint64_t candidates_matched;
	uint64_t sessions_opened;
	uint64_t sessions_dropped;      /* userspace session table full */
	uint64_t unknown_process;       /* event for a pid the table never saw */
	uint64_t output_errors;
	uint64_t kernel_map_errors;     /* writes to the sessions map that failed */
};

/* A gated exec waiting for a human (action pause). */
struct pending {
	uint64_t id;           /* 0: free slot */
	uint32_t pid;
	uint64_t start;        /* tick-rounded, for the signal check */
	uint64_t session_id;
	uint64_t since_ns, deadline_ns;   /* CLOCK_MONOTONIC */
	enum rule_action dflt; /* at the deadline: RA_NONE (allow), RA_DENY, RA_KILL */
	char rule[RULE_ID_MAX + 1];
	char message[RULE_MESSAGE_MAX];
	char agent[AW_AGENT_LEN];
	char cmdline[512];
};

struct recent {
	uint64_t seq;
	char *json;
};

struct vcounters {
	uint64_t gated, allowed, killed, paused, denied_net, late_kills;
	uint64_t pause_timeouts, human_allows, human_denies, signal_errors;
	uint64_t reloads, reload_errors, control_refused, breaker_trips, protected_stops;
	uint64_t tamper;        /* session processes acting on agentwatch itself */
};

/* Record types, for the per-type counts the metrics export. */
static const char *const rec_types[] = {
	"exec", "fork", "exit", "file", "net", "verdict", "gap", "loss", "collector", "tamper",
};
#define N_REC_TYPES (sizeof(rec_types) / sizeof(rec_types[0]))

/* How many verdicts of one kind: a metrics series. */
struct vcount {
	char rule[64];
	char action[16];
	char by[16];                   /* "rule", "human", "timeout", "collector exit", ... */
	uint64_t n;
};
#define MAX_VCOUNTS 1024

enum { EVAL_EXEC, EVAL_FILE, EVAL_NET };

struct collector {
	const struct collector_opts *o;
	struct sensor *sensor;
	struct agentset *agents;
	struct proctable *pt;
	struct jsonw *jw;
	FILE *out;
	bool text, color;
	uint64_t boot_off;     /* CLOCK_BOOTTIME -> CLOCK_REALTIME */
	uint64_t tick_ns;      /* /proc start times have this granularity */
	struct session sessions[MAX_SESSIONS];
	size_t n_sessions;
	struct ucounters uc;
	uint64_t started_ns;

	/* enforcement */
	struct ruleset *rules;
	struct ratetab *rates;
	char *net_rule_ids[AW_NET_KERNEL_RULES]; /* kernel rule id - 1 -> rule id */
	size_t n_net_rule_ids;
	struct pending pending[MAX_PENDING];
	uint64_t next_pending_id;
	struct control *control;
	struct vcounters vc;
	struct recent recent[RECENT_MAX];
	uint64_t recent_seq;
	struct auditlog *log;
	bool durable;          /* the record being finished carries a verdict that acts */
	uint64_t log_errors;   /* appends the log refused (full disk, ...): counted, never fatal */
	uint64_t loss_seen[AW_CNT_MAX + 1]; /* loss counters already on record; [MAX]: decode */

	/* export */
	struct jsonw *ocsf_w;          /* --format ocsf: the converted record */
	struct ocsf_opts ocsf;
	char hostname[256];
	struct metrics *metrics;
	const char *cur_type;          /* type of the record being built */
	const char *cur_verdict;       /* ... the verdict it carries, if any */
	const char *cur_rule;          /* ... and the deciding rule */
	char cur_session[20];          /* ... its session id, "" if none */
	const char *cur_agent;
	uint32_t cur_pid;
	struct slog *slog;             /* --syslog */
	uint64_t slog_chain_next_ns;   /* CLOCK_MONOTONIC: next chain head message */
	uint64_t records_by_type[N_REC_TYPES];
	struct vcount *vcounts;        /* verdicts by rule, action and decider */
	size_t n_vcounts;
	struct prom_hist eval_hist[3]; /* rule evaluation time: exec, file, net */
	struct lat_hist gate_lat;      /* allowed gated execs: kernel exec -> SIGCONT */
	struct prom_hist gate_hist;    /* the same, for the metrics */
	uint64_t ocsf_errors;
	struct procpath pp;            /* the process whose event is being matched */
	struct procpath_cache pcache;  /* directories of file events, resolved */
	char rules_ws[PATH_MAX];       /* `set workspace`, symlinks resolved; "" if none */
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/*
 * The kernel gives start times in ns; /proc gives clock ticks.  Every start
 * time the collector keys on is rounded down to a tick, so a process found by
 * the start-up scan and the same process seen later by the kernel agree.  Two
 * processes with the same pid started within one tick would need the pid
 * space to wrap in 10 ms.
 */
static uint64_t norm_start(const struct collector *c, uint64_t ns)
{
	return ns - ns % c->tick_ns;
}

/* ---- sessions -------------------------------------------------------- */

static struct session *session_find(struct collector *c, uint64_t id)
{
	size_t i;

	for (i = 0; i < c->n_sessions; i++)
		if (c->sessions[i].id == id)
			return &c->sessions[i];
	return NULL;
}

static void session_release(struct session *s)
{
	free(s->workspace);
	memset(s, 0, sizeof(*s));
}

/* Make room by dropping the oldest session whose root has exited. */
static struct session *session_slot(struct collector *c)
{
	size_t i, victim = SIZE_MAX;

	if (c->n_sessions < MAX_SESSIONS)
		return &c->sessions[c->n_sessions++];
	for (i = 0; i < c->n_sessions; i++) {
		if (!c->sessions[i].root_exited)
			continue;
		if (victim == SIZE_MAX || c->sessions[i].opened_ts < c->sessions[victim].opened_ts)
			victim = i;
	}
	if (victim == SIZE_MAX)
		return NULL;
	c->uc.sessions_dropped++;
	session_release(&c->sessions[victim]);
	return &c->sessions[victim];
}

static struct session *session_learn(struct collector *c, const struct aw_session *ks,
				     const char *workspace, uint64_t ts)
{
	struct session *s = session_find(c, ks->id);

	if (s)
		return s;
	s = session_slot(c);
	if (!s)
		return NULL;
	s->id = ks->id;
	s->root_pid = ks->root_tgid;
	s->root_start = norm_start(c, ks->root_start);
	s->reason = ks->reason;
	s->sig_id = ks->sig_id;
	memcpy(s->agent, ks->agent, sizeof(s->agent));
	s->agent[sizeof(s->agent) - 1] = '\0';
	s->workspace = workspace ? strdup(workspace) : NULL;
	if (s->workspace) {
		struct stat st;

		if (stat(s->workspace, &st) == 0 && S_ISDIR(st.st_mode)) {
			s->ws_dev = st.st_dev;
			s->ws_ino = st.st_ino;
			s->ws_known = true;
		}
	}
	s->opened_ts = ts;
	c->uc.sessions_opened++;
	return s;
}

/*
 * The workspace is a directory, not a name: when it (or a directory above
 * it) is renamed while the agent runs, the files the agent deletes in it
 * are still inside it, and the kernel names them by the new path.  The
 * one cheap place to find the new name is the agent root's cwd, which is
 * where the workspace came from; it is taken only if it is the same
 * directory (device and inode).  Costs one stat while nothing moved; a
 * storm of file events checks at most every 100 ms (force: now, for a
 * decision that holds a process, like the breaker's).
 */
static void session_ws_follow(struct collector *c, struct session *s, bool force)
{
	char link[64], buf[PATH_MAX], *dup;
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	struct stat st;
	ssize_t n;

	if (!s->ws_known || !s->workspace)
		return;
	if (!force && now - s->ws_checked_ns < 100000000ull)
		return;
	s->ws_checked_ns = now;
	if (stat(s->workspace, &st) == 0 && st.st_dev == s->ws_dev && st.st_ino == s->ws_ino)
		return;
	snprintf(link, sizeof(link), "%s/%u/cwd", c->o->proc_root, s->root_pid);
	if (stat(link, &st) || st.st_dev != s->ws_dev || st.st_ino != s->ws_ino)
		return;
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0 || buf[0] != '/')
		return;
	buf[n] = '\0';
	if (strstr(buf, " (deleted)") || !(dup = strdup(buf)))
		return;
	free(s->workspace);
	s->workspace = dup;
}

static const char *reason_name(uint32_t r)
{
	switch (r) {
	case AW_REASON_SIG_NAME: return "signature";
	case AW_REASON_SIG_USER: return "signature";
	case AW_REASON_PROC_SCAN: return "running-at-start";
	case AW_REASON_DECLARED_PID: return "declared-session-root";
	case AW_REASON_DECLARED_EXEC: return "declared-exec";
	default: return "unknown";
	}
}

static const char *attribution(struct collector *c, const struct session *s, char *buf,
			       size_t len)
{
	switch (s->reason) {
	case AW_REASON_DECLARED_PID:
		snprintf(buf, len, "--session-root %u", s->root_pid);
		return buf;
	case AW_REASON_DECLARED_EXEC:
		snprintf(buf, len, "agentwatch exec --agent %s", s->agent);
		return buf;
	default:
		if (s->sig_id == SIG_NONE || s->sig_id >= agentset__count(c->agents))
			return "unknown signature";
		return agentset__describe(c->agents, s->sig_id, buf, len);
	}
}

/* ---- output ------------------------------------------------------------ */

static void time_str(struct collector *c, uint64_t boot_ns, char *buf, size_t len)
{
	format_rfc3339_ns(boot_ns + c->boot_off, buf, len);
}

static void json_argv_cb(const char *arg, size_t n, void *ctx)
{
	jsonw__strn(ctx, arg, n);
}

static void json_argv(struct jsonw *w, const char *blob, size_t len)
{
	jsonw__arr_begin(w);
	if (blob)
		argv_each(blob, len, json_argv_cb, w);
	jsonw__arr_end(w);
}

static void json_lineage(struct collector *c, const struct proc *p, const struct session *s)
{
	const struct proc *chain[LINEAGE_MAX];
	bool complete = false;
	size_t n = 0, i;

	if (p && s)
		n = proctable__lineage(c->pt, p, s->root_pid, s->root_start, chain, LINEAGE_MAX,
				       &complete);
	else if (p) {
		chain[0] = p;
		n = 1;
	}
	jsonw__key(c->jw, "lineage");
	jsonw__arr_begin(c->jw);
	for (i = 0; i < n; i++) {
		jsonw__obj_begin(c->jw);
		jsonw__key(c->jw, "pid");
		jsonw__u64(c->jw, chain[i]->pid);
		jsonw__key(c->jw, "exe");
		jsonw__str(c->jw, chain[i]->exe);
		jsonw__key(c->jw, "argv");
		json_argv(c->jw, chain[i]->argv, chain[i]->argv_len);
		jsonw__obj_end(c->jw);
	}
	jsonw__arr_end(c->jw);
	jsonw__key(c->jw, "lineage_complete");
	jsonw__bool(c->jw, complete);
}

/* Fields every record has. */
static void json_common(struct collector *c, const char *type, const struct aw_event_hdr *h,
			const struct session *s, uint32_t ppid)
{
	char ts[48], buf[512];

	jsonw__reset(c->jw);
	jsonw__obj_begin(c->jw);
	jsonw__key(c->jw, "type");
	jsonw__str(c->jw, type);
	c->cur_type = type;
	c->cur_verdict = c->cur_rule = NULL;
	c->cur_pid = h->pid;
	c->cur_agent = s ? s->agent : NULL;
	c->cur_session[0] = '\0';
	jsonw__key(c->jw, "time");
	time_str(c, h->ts, ts, sizeof(ts));
	jsonw__str(c->jw, ts);
	jsonw__key(c->jw, "pid");
	jsonw__u64(c->jw, h->pid);
	jsonw__key(c->jw, "tid");
	jsonw__u64(c->jw, h->tid);
	jsonw__key(c->jw, "ppid");
	jsonw__u64(c->jw, ppid);
	jsonw__key(c->jw, "session");
	if (s) {
		/* kept for the syslog structured data of this record */
		snprintf(c->cur_session, sizeof(c->cur_session), "%016llx", (unsigned long long)s->id);
		jsonw__str(c->jw, c->cur_session);
		jsonw__key(c->jw, "agent");
		jsonw__str(c->jw, s->agent);
		jsonw__key(c->jw, "attribution");
		jsonw__obj_begin(c->jw);
		jsonw__key(c->jw, "reason");
		jsonw__str(c->jw, reason_name(s->reason));
		jsonw__key(c->jw, "by");
		jsonw__str(c->jw, attribution(c, s, buf, sizeof(buf)));
		jsonw__key(c->jw, "root_pid");
		jsonw__u64(c->jw, s->root_pid);
		jsonw__obj_end(c->jw);
		jsonw__key(c->jw, "workspace");
		jsonw__str(c->jw, s->workspace);
		if (s->lost) {
			/* Some of this session's records were lost: what the log
			 * shows of it from here on is incomplete. */
			jsonw__key(c->jw, "degraded");
			jsonw__bool(c->jw, true);
		}
	} else {
		jsonw__null(c->jw);
		jsonw__key(c->jw, "agent");
		jsonw__null(c->jw);
	}
}

static void json_proc_image(struct collector *c, const struct proc *p)
{
	jsonw__key(c->jw, "exe");
	jsonw__str(c->jw, p ? p->exe : NULL);
	jsonw__key(c->jw, "argv");
	if (p)
		json_argv(c->jw, p->argv, p->argv_len);
	else
		jsonw__null(c->jw);
	jsonw__key(c->jw, "cwd");
	jsonw__str(c->jw, p ? p->cwd : NULL);
}

/* ---- text output --------------------------------------------------------- */

#define C_RESET  "\033[0m"
#define C_DIM    "\033[2m"
#define C_BOLD   "\033[1m"
#define C_RED    "\033[31m"
#define C_GREEN  "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BLUE   "\033[34m"
#define C_CYAN   "\033[36m"

static const char *col(struct collector *c, const char *code)
{
	return c->color ? code : "";
}

static void text_escaped(struct collector *c, const char *s, size_t n)
{
	char buf[8192];
	size_t need;

	if (!s) {
		fputs("?", c->out);
		return;
	}
	need = text_escape(s, n, buf, sizeof(buf));
	fputs(buf, c->out);
	if (need >= sizeof(buf))
		fputs("…", c->out);
}

struct text_argv_ctx {
	struct collector *c;
	int i;
};

static void text_argv_cb(const char *arg, size_t n, void *ctx)
{
	struct text_argv_ctx *t = ctx;
	bool quote = n == 0 || memchr(arg, ' ', n) || memchr(arg, '\'', n) || memchr(arg, '"', n);

	if (t->i++)
		fputc(' ', t->c->out);
	if (quote)
		fputc('\'', t->c->out);
	text_escaped(t->c, arg, n);
	if (quote)
		fputc('\'', t->c->out);
}

static void text_argv(struct collector *c, const char *blob, size_t len)
{
	struct text_argv_ctx t = { c, 0 };

	if (blob)
		argv_each(blob, len, text_argv_cb, &t);
}

static void text_head(struct collector *c, const struct aw_event_hdr *h, const struct session *s,
		      const char *type, const char *tcol)
{
	char ts[48];

	time_str(c, h->ts, ts, sizeof(ts));
	/* HH:MM:SS.mmm of the RFC 3339 stamp */
	fprintf(c->out, "%s%.12s%s ", col(c, C_DIM), ts + 11, col(c, C_RESET));
	if (s)
		fprintf(c->out, "%s%s%s ", col(c, C_CYAN), s->agent, col(c, C_RESET));
	else
		fputs("- ", c->out);
	fprintf(c->out, "%s%-5s%s %u ", col(c, tcol), type, col(c, C_RESET), h->pid);
}

static void text_lineage(struct collector *c, const struct proc *p, const struct session *s)
{
	const struct proc *chain[LINEAGE_MAX];
	bool complete = false;
	size_t n, i;

	if (!p || !s)
		return;
	n = proctable__lineage(c->pt, p, s->root_pid, s->root_start, chain, LINEAGE_MAX, &complete);
	if (n < 2)
		return;
	fprintf(c->out, "  %s[%s", col(c, C_DIM), complete ? "" : "… ");
	for (i = 0; i < n; i++) {
		const char *e = chain[i]->exe ? path_basename(chain[i]->exe) : "?";

		fprintf(c->out, "%s", i ? " > " : "");
		text_escaped(c, e, strlen(e));
		fprintf(c->out, " %u", chain[i]->pid);
	}
	fprintf(c->out, "]%s", col(c, C_RESET));
}

/* ---- counts for the metrics ------------------------------------------------ */

static void count_record(struct collector *c)
{
	for (size_t i = 0; c->cur_type && i < N_REC_TYPES; i++)
		if (!strcmp(c->cur_type, rec_types[i])) {
			c->records_by_type[i]++;
			return;
		}
}

/* "human (uid 0, pid 12)" -> "human": a label of few values. */
static void decider_label(const char *by, char *out, size_t len)
{
	size_t n = strcspn(by, "(");

	while (n && by[n - 1] == ' ')
		n--;
	snprintf(out, len, "%.*s", (int)n, by);
}

/* One more verdict of (rule, action, by).  The series are bounded: past
 * MAX_VCOUNTS distinct ones, the rest count under rule "other". */
static void count_verdict(struct collector *c, const char *rule, const char *action, const char *by)
{
	struct vcount *v;
	char b[16];

	decider_label(by, b, sizeof(b));
	if (!rule || !*rule)
		rule = "none";
	for (size_t i = 0; i < c->n_vcounts; i++) {
		v = &c->vcounts[i];
		if (!strcmp(v->rule, rule) && !strcmp(v->action, action) && !strcmp(v->by, b)) {
			v->n++;
			return;
		}
	}
	if (c->n_vcounts >= MAX_VCOUNTS) {
		if (strcmp(rule, "other"))
			count_verdict(c, "other", action, by);
		return;
	}
	if (!c->vcounts) {
		c->vcounts = calloc(MAX_VCOUNTS, sizeof(*c->vcounts));
		if (!c->vcounts)
			return;
	}
	v = &c->vcounts[c->n_vcounts++];
	snprintf(v->rule, sizeof(v->rule), "%s", rule);
	snprintf(v->action, sizeof(v->action), "%s", action);
	snprintf(v->by, sizeof(v->by), "%s", b);
	v->n = 1;
}

/* ---- syslog (--syslog) -------------------------------------------------------- */

static int record_severity(const struct collector *c)
{
	if (c->cur_type && !strcmp(c->cur_type, "loss"))
		return SLOG_SEV_ERR;      /* agentwatch itself failed to see something */
	if (c->cur_type && (!strcmp(c->cur_type, "gap") || !strcmp(c->cur_type, "tamper")))
		return SLOG_SEV_WARNING;
	return slog__severity_for_verdict(c->cur_verdict);
}

/*
 * A copy of the record off the host.  The SD-ELEMENT carries the fields a
 * receiver filters on; MSG is the record itself (native, or OCSF with
 * --syslog-format ocsf).  Never blocks: slog queues, and counts what it
 * drops.
 */
static void syslog_record(struct collector *c, const char *d, size_t len)
{
	char pid[16];
	struct slog_param params[5];

	if (c->o->syslog_ocsf) {
		if (ocsf__from_record(d, len, c->ocsf_w, &c->ocsf) != 1)
			return;
		d = jsonw__data(c->ocsf_w, &len);
	}
	snprintf(pid, sizeof(pid), "%u", c->cur_pid);
	params[0] = (struct slog_param){ "session", c->cur_session[0] ? c->cur_session : NULL };
	params[1] = (struct slog_param){ "agent", c->cur_agent };
	params[2] = (struct slog_param){ "pid", pid };
	params[3] = (struct slog_param){ "verdict", c->cur_verdict };
	params[4] = (struct slog_param){ "rule", c->cur_rule };
	slog__send(c->slog, record_severity(c), c->cur_type, params, 5, d, len, 0);
}

/*
 * The audit log's chain head, off the host: with a copy of the head kept
 * elsewhere, `log verify --head` detects a log cut back or rewritten
 * wholesale on this host, which the chain alone can't.
 */
static void syslog_chain_head(struct collector *c)
{
	struct auditlog_stats ls;
	struct slog_param params[2];
	char msg[256], recs[24], ts[48];
	int n;

	if (!c->slog || !c->log)
		return;
	auditlog__stats(c->log, &ls);
	format_rfc3339_ns(now_ns(CLOCK_REALTIME), ts, sizeof(ts));
	snprintf(recs, sizeof(recs), "%llu", (unsigned long long)ls.records);
	n = snprintf(msg, sizeof(msg), "{\"type\":\"chainhead\",\"time\":\"%s\",\"head\":\"%s\","
		     "\"records\":%s,\"segments\":%llu}", ts, auditlog__head(c->log), recs,
		     (unsigned long long)ls.segments);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	params[0] = (struct slog_param){ "head", auditlog__head(c->log) };
	params[1] = (struct slog_param){ "records", recs };
	slog__send(c->slog, SLOG_SEV_NOTICE, "chainhead", params, 2, msg, n, 0);
}

static void syslog_tick(struct collector *c)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);

	slog__tick(c->slog, now / 1000000);
	if (c->o->syslog_chain_s && now >= c->slog_chain_next_ns) {
		syslog_chain_head(c);
		c->slog_chain_next_ns = now + (uint64_t)c->o->syslog_chain_s * 1000000000ull;
	}
}

/* Keep the last records for `agentwatch watch` (control command events). */
/* Record number seq lives in slot seq % RECENT_MAX: the `events` reply
 * looks it up there. */
static void recent_push(struct collector *c, const char *d, size_t len)
{
	uint64_t seq = c->recent_seq + 1;
	struct recent *r = &c->recent[seq % RECENT_MAX];
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, d, len);
	copy[len] = '\0';
	free(r->json);
	r->json = copy;
	r->seq = c->recent_seq = seq;
}

/*
 * Every record is built as JSON, whatever the output format: it goes to the
 * output in JSON mode, and always to the recent-records ring that
 * `agentwatch watch` reads.  (Text mode has already printed its line.)
 */
static void finish_json(struct collector *c)
{
	size_t len;
	const char *d;

	jsonw__obj_end(c->jw);
	if (jsonw__error(c->jw)) {
		c->uc.output_errors++;
		return;
	}
	d = jsonw__data(c->jw, &len);
	count_record(c);
	recent_push(c, d, len);
	/* The durable log gets every record; one that carries a verdict that
	 * acts (pause, kill, deny...) is fsynced before we go on.  A failing
	 * log (full disk) is counted and never stops enforcement. */
	if (c->log && auditlog__append(c->log, d, len, c->durable))
		c->log_errors++;
	c->durable = false;
	if (c->slog)
		syslog_record(c, d, len);
	if (c->text)
		return;
	if (c->o->format == OUT_OCSF) {
		int r = ocsf__from_record(d, len, c->ocsf_w, &c->ocsf);

		if (r <= 0) {
			c->ocsf_errors += r < 0;
			return;
		}
		d = jsonw__data(c->ocsf_w, &len);
	}
	if (fwrite(d, 1, len, c->out) != len || fputc('\n', c->out) == EOF)
		c->uc.output_errors++;
}

/* ---- events ---------------------------------------------------------------- */

static struct session *session_for(struct collector *c, uint64_t id)
{
	return id ? session_find(c, id) : NULL;
}

static bool probe_candidate(struct collector *c, const struct dexec *d, uint32_t *sig_id)
{
	char path[64], *env = NULL, exe[PATH_MAX], fname[PATH_MAX], cwd[PATH_MAX];
	struct agent_probe pr = {0};
	size_t env_len = 0;
	int hit;

	snprintf(path, sizeof(path), "%s/%u/environ", c->o->proc_root, d->ev->hdr.pid);
	read_file_capped(path, ENV_CAP, &env, &env_len);
	if (d->exe.s && d->exe.len < sizeof(exe)) {
		memcpy(exe, d->exe.s, d->exe.len);
		exe[d->exe.len] = '\0';
		pr.exe = exe;
	}
	if (d->filename.s && d->filename.len < sizeof(fname)) {
		memcpy(fname, d->filename.s, d->filename.len);
		fname[d->filename.len] = '\0';
		pr.filename = fname;
	}
	if (d->cwd.s && d->cwd.len < sizeof(cwd)) {
		memcpy(cwd, d->cwd.s, d->cwd.len);
		cwd[d->cwd.len] = '\0';
		pr.cwd = cwd;
	}
	pr.argv = d->argv.s;
	pr.argv_len = d->argv.len;
	pr.env = env;
	pr.env_len = env_len;
	hit = agentset__match(c->agents, &pr, sig_id);
	free(env);
	return hit == 1;
}

struct pairs {
	struct proc_pair *v;
	size_t n, cap;
};

static int collect_pair(const struct procinfo *pi, void *ctx)
{
	struct pairs *ps = ctx;

	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 1024;
		struct proc_pair *nv = realloc(ps->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		ps->v = nv;
		ps->cap = cap;
	}
	ps->v[ps->n].pid = pi->pid;
	ps->v[ps->n].ppid = pi->ppid;
	ps->n++;
	return 0;
}

/* Put pid's descendants that exist now into the session.  Used when the
 * collector, not the kernel, opened the session: children forked between the
 * exec and our map write did not inherit it. */
static void adopt_descendants(struct collector *c, uint32_t root, const struct aw_session *ks)
{
	struct pairs ps = {0};
	uint32_t *kids = NULL;
	size_t n = 0, i;

	if (procscan__each(c->o->proc_root, false, collect_pair, &ps) < 0 || !ps.n)
		goto out;
	if (procscan__descendants(ps.v, ps.n, root, &kids, &n))
		goto out;
	for (i = 0; i < n; i++)
		if (sensor__set_session(c->sensor, kids[i], ks))
			c->uc.kernel_map_errors++;
out:
	free(kids);
	free(ps.v);
}

/* ---- rules and verdicts ---------------------------------------------------- */

/* argv joined with spaces and escaped for a terminal, cut to fit. */
static void cmdline_of(const char *argv, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;
	char tmp[1024];

	for (i = 0; i < len && o + 1 < sizeof(tmp); i++)
		tmp[o++] = argv[i] ? argv[i] : ' ';
	while (o && tmp[o - 1] == ' ')
		o--;
	tmp[o] = '\0';
	text_escape(tmp, o, out, outlen);
}

/* What the collector actually does: nothing in monitor mode. */
static enum rule_action enforced(const struct collector *c, const struct match_result *r)
{
	if (c->o->monitor)
		return RA_NONE;
	return r->verdict;
}

/* The hit that decided the verdict: the first with the strongest action. */
static const struct rule_hit *deciding_hit(const struct match_result *r, enum rule_action act)
{
	size_t i, n = r->n_hits < RULE_HITS_MAX ? r->n_hits : RULE_HITS_MAX;

	for (i = 0; i < n; i++)
		if (r->hits[i].action == act && r->hits[i].mode == RM_ENFORCE)
			return &r->hits[i];
	return n ? &r->hits[0] : NULL;
}

static int signal_proc(struct collector *c, uint32_t pid, uint64_t start, int sig)
{
	int err = procsig_send(c->o->proc_root, pid, start, c->tick_ns, sig);

	if (err && err != -ESRCH)
		c->vc.signal_errors++;
	return err;
}

/* One line on the blocked process's own stderr: the agent reads it and can
 * tell its human which rule stopped the command and why. */
static void tell_blocked(struct collector *c, uint32_t pid, const char *what,
			 const struct rule_hit *h, const char *extra)
{
	char line[RULE_MESSAGE_MAX + 256];
	int n;

	if (h)
		n = snprintf(line, sizeof(line), "agentwatch: %s by rule %s (%s): %s%s\n", what, h->id,
			     h->severity, h->message, extra ? extra : "");
	else
		n = snprintf(line, sizeof(line), "agentwatch: %s%s\n", what, extra ? extra : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	procsig_tell(c->o->proc_root, pid, line, n);
}

static void signal_session(struct collector *c, uint64_t session_id, int sig, uint32_t except)
{
	uint32_t pids[4096];
	size_t n = sensor__session_members(c->sensor, session_id, pids, 4096), i;

	for (i = 0; i < n; i++)
		if (pids[i] != except && pids[i] != (uint32_t)getpid())
			signal_proc(c, pids[i], 0, sig);
}

static void json_hits(struct collector *c, const struct match_result *r)
{
	size_t i, n = r->n_hits < RULE_HITS_MAX ? r->n_hits : RULE_HITS_MAX;

	jsonw__key(c->jw, "rules");
	jsonw__arr_begin(c->jw);
	for (i = 0; i < n; i++) {
		const struct rule_hit *h = &r->hits[i];

		jsonw__obj_begin(c->jw);
		jsonw__key(c->jw, "id");
		jsonw__str(c->jw, h->id);
		jsonw__key(c->jw, "severity");
		jsonw__str(c->jw, h->severity);
		jsonw__key(c->jw, "action");
		jsonw__str(c->jw, rule_action_name(h->action));
		jsonw__key(c->jw, "mode");
		jsonw__str(c->jw, rule_mode_name(h->mode));
		jsonw__key(c->jw, "message");
		jsonw__str(c->jw, h->message);
		jsonw__key(c->jw, "origin");
		jsonw__str(c->jw, h->origin);
		if (h->argv_truncated) {
			jsonw__key(c->jw, "argv_truncated");
			jsonw__bool(c->jw, true);
		}
		jsonw__obj_end(c->jw);
	}
	jsonw__arr_end(c->jw);
	if (r->hits_truncated) {
		jsonw__key(c->jw, "rules_truncated");
		jsonw__bool(c->jw, true);
	}
}

enum plan { PLAN_NONE, PLAN_CONT, PLAN_HOLD, PLAN_FREEZE, PLAN_KILL, PLAN_LATE_HOLD };

/* What happened to one event because of the rules, for its record. */
struct outcome {
	bool matched;                 /* rules were evaluated */
	enum rule_action verdict;     /* what the collector did */
	bool gated;
	const char *fallback;         /* "kill"/"allow" when the kernel decided */
	uint64_t pending_id;
	bool late;                    /* enforced after the process had started */
	enum plan plan;               /* what act_exec() will do */
	const struct rule_hit *hit;   /* the rule named on the process's stderr */
	const char *breaker;          /* the kernel's breaker stopped it: what we did */
	const char *breaker_state;    /* ... resumed: the agent's state line it deleted in */
	const char *reduced;          /* a missing kernel feature limited what was done */
	bool act_first;               /* act, then record what it achieved (late, reduced) */
	struct match_result res;      /* last: hits[] past n_hits is never read */
};

/* Everything zero but res.hits[], which is about 18 KiB and only read up to
 * res.n_hits: clearing it cost more than the rest of an exec's handling. */
static void outcome_init(struct outcome *o)
{
	memset(o, 0, offsetof(struct outcome, res.hits));
}

/*
 * Reduced mode (user/featureset.h): what could not be done, on the record
 * it concerns, so no record claims more than happened.
 */
#define REDUCED_EXEC_LATE "no in-kernel exec gate (send_signal off): the command was " \
	"already running when the collector acted"
#define REDUCED_EXEC_GONE "no in-kernel exec gate (send_signal off): the command had " \
	"exited before the collector could act"
#define REDUCED_FILE_LATE "no in-kernel stop (send_signal off): the process ran on until " \
	"the collector acted"
#define REDUCED_FILE_GONE "no in-kernel stop (send_signal off): the process had exited " \
	"before the collector could act"
#define REDUCED_NET_DENY "no cgroup connect hooks (cgroup2 or cgroup_sock off): a deny " \
	"rule is reported, not enforced"

static void json_outcome(struct collector *c, const struct outcome *o)
{
	if (o->reduced) {
		jsonw__key(c->jw, "reduced");
		jsonw__str(c->jw, o->reduced);
	}
	if (o->gated || o->fallback) {
		jsonw__key(c->jw, "gated");
		jsonw__bool(c->jw, true);
	}
	if (o->fallback) {
		jsonw__key(c->jw, "fallback");
		jsonw__str(c->jw, o->fallback);
	}
	if (o->breaker) {
		jsonw__key(c->jw, "breaker");
		jsonw__str(c->jw, o->breaker);
		if (o->breaker_state) {
			jsonw__key(c->jw, "breaker_state");
			jsonw__str(c->jw, o->breaker_state);
		}
	}
	if (!o->matched || (!o->res.n_hits && !o->gated))
		return;
	jsonw__key(c->jw, "verdict");
	jsonw__str(c->jw, rule_action_name(o->verdict));
	if (o->verdict >= RA_PAUSE)
		c->durable = true;
	{
		const struct rule_hit *h = deciding_hit(&o->res, o->res.would);

		count_verdict(c, h ? h->id : NULL, rule_action_name(o->verdict), "rule");
		c->cur_verdict = rule_action_name(o->verdict);
		c->cur_rule = h ? h->id : NULL;
	}
	if (o->res.would != o->verdict) {
		jsonw__key(c->jw, "would");
		jsonw__str(c->jw, rule_action_name(o->res.would));
	}
	if (o->pending_id) {
		jsonw__key(c->jw, "pending_id");
		jsonw__u64(c->jw, o->pending_id);
	}
	if (o->late) {
		jsonw__key(c->jw, "enforced_late");
		jsonw__bool(c->jw, true);
	}
	json_hits(c, &o->res);
}

static void text_outcome(struct collector *c, const struct outcome *o)
{
	const struct rule_hit *h;

	if (o->fallback)
		fprintf(c->out, " %s[collector stale: %s in kernel]%s", col(c, C_RED), o->fallback,
			col(c, C_RESET));
	if (o->breaker)
		fprintf(c->out, " %s[breaker tripped: %s]%s", col(c, C_YELLOW), o->breaker,
			col(c, C_RESET));
	if (o->reduced)
		fprintf(c->out, " %s[reduced: %s]%s", col(c, C_YELLOW), o->reduced, col(c, C_RESET));
	if (!o->matched || !o->res.n_hits)
		return;
	h = deciding_hit(&o->res, o->res.would);
	fprintf(c->out, " %s%s%s%s", col(c, o->verdict >= RA_PAUSE ? C_RED : C_YELLOW),
		o->verdict >= RA_PAUSE ? C_BOLD : "", rule_action_name(o->verdict), col(c, C_RESET));
	if (o->res.would != o->verdict)
		fprintf(c->out, " (would %s)", rule_action_name(o->res.would));
	if (o->pending_id)
		fprintf(c->out, " #%llu", (unsigned long long)o->pending_id);
	if (h)
		fprintf(c->out, " [%s: %s]", h->id, h->message);
}

static struct pending *pending_add(struct collector *c)
{
	size_t i;

	for (i = 0; i < MAX_PENDING; i++)
		if (!c->pending[i].id) {
			memset(&c->pending[i], 0, sizeof(c->pending[i]));
			c->pending[i].id = ++c->next_pending_id;
			return &c->pending[i];
		}
	return NULL;
}

static struct pending *pending_find(struct collector *c, uint64_t id)
{
	size_t i;

	for (i = 0; i < MAX_PENDING; i++)
		if (id && c->pending[i].id == id)
			return &c->pending[i];
	return NULL;
}

static size_t pending_count(const struct collector *c)
{
	size_t i, n = 0;

	for (i = 0; i < MAX_PENDING; i++)
		n += c->pending[i].id != 0;
	return n;
}

/*
 * Hold a stopped process for a human: `pause` waits with the rule's timeout
 * and default; `freeze` also stops every other process of the session and
 * waits without a timeout.  NULL when the table is full (the caller then
 * decides without a human).
 */
static struct pending *pending_hold(struct collector *c, uint32_t pid, uint64_t start,
				    const struct session *s, enum rule_action act,
				    const struct rule_hit *h, const char *argv, size_t argv_len)
{
	struct pending *pd = pending_add(c);

	if (!pd)
		return NULL;
	pd->pid = pid;
	pd->start = start;
	pd->session_id = s ? s->id : 0;
	pd->since_ns = now_ns(CLOCK_MONOTONIC);
	if (act == RA_FREEZE) {
		/* the caller stops the rest of the session */
		copy_str(pd->message, sizeof(pd->message), "session frozen");
	} else {
		uint32_t t = h && h->pause_timeout_s ? h->pause_timeout_s : c->o->pause_timeout_s;

		pd->deadline_ns = pd->since_ns + (uint64_t)t * 1000000000ull;
		pd->dflt = h ? h->pause_default : RA_KILL;
		copy_str(pd->message, sizeof(pd->message), h ? h->message : "");
	}
	copy_str(pd->rule, sizeof(pd->rule), h ? h->id : "?");
	copy_str(pd->agent, sizeof(pd->agent), s ? s->agent : "");
	if (argv)
		cmdline_of(argv, argv_len, pd->cmdline, sizeof(pd->cmdline));
	c->vc.paused++;
	return pd;
}

/* A record for a verdict reached after the exec record: a human's answer,
 * or a pause that timed out. */
static void out_resolution(struct collector *c, const struct pending *pd, const char *verdict,
			   const char *by)
{
	struct aw_event_hdr h = { .pid = pd->pid, .tid = pd->pid };
	struct session *s = session_for(c, pd->session_id);
	struct proc *p = proctable__lookup(c->pt, pd->pid, pd->start);

	h.ts = now_ns(CLOCK_BOOTTIME);
	if (c->text) {
		text_head(c, &h, s, "verdict", C_RED);
		fprintf(c->out, "#%llu %s by %s [%s] %s", (unsigned long long)pd->id, verdict, by,
			pd->rule, pd->cmdline);
		fputc('\n', c->out);
	}
	json_common(c, "verdict", &h, s, p ? p->ppid : 0);
	c->durable = true;
	json_proc_image(c, p);
	jsonw__key(c->jw, "pending_id");
	jsonw__u64(c->jw, pd->id);
	jsonw__key(c->jw, "verdict");
	jsonw__str(c->jw, verdict);
	jsonw__key(c->jw, "decided_by");
	jsonw__str(c->jw, by);
	count_verdict(c, pd->rule, verdict, by);
	c->cur_verdict = verdict;
	c->cur_rule = pd->rule;
	jsonw__key(c->jw, "rule");
	jsonw__str(c->jw, pd->rule);
	jsonw__key(c->jw, "waited_ms");
	jsonw__u64(c->jw, (now_ns(CLOCK_MONOTONIC) - pd->since_ns) / 1000000);
	json_lineage(c, p, s);
	finish_json(c);
}

/* Carry out a paused exec's verdict.  allow resumes it (and, for a frozen
 * session, every member); anything else kills it (or the whole frozen
 * session). */
static void pending_resolve(struct collector *c, struct pending *pd, bool allow, const char *by)
{
	bool frozen = strcmp(pd->message, "session frozen") == 0;

	if (allow) {
		if (frozen)
			signal_session(c, pd->session_id, SIGCONT, 0);
		signal_proc(c, pd->pid, pd->start, SIGCONT);
	} else {
		char what[RULE_ID_MAX + RULE_MESSAGE_MAX + 32], extra[96];

		/* The rule and its message, as for a kill rule: the agent can
		 * tell its human what was refused and who refused it. */
		if (pd->rule[0])
			snprintf(what, sizeof(what), "blocked by rule %s: %s", pd->rule, pd->message);
		else
			snprintf(what, sizeof(what), "blocked");
		snprintf(extra, sizeof(extra), " (denied by %s)", by);
		tell_blocked(c, pd->pid, what, NULL, extra);
		if (frozen)
			signal_session(c, pd->session_id, SIGKILL, 0);
		signal_proc(c, pd->pid, pd->start, SIGKILL);
	}
	out_resolution(c, pd, allow ? "allow" : "kill", by);
	fflush(c->out);
	sensor__gate_done(c->sensor, pd->pid);
	memset(pd, 0, sizeof(*pd));
}

static void pending_expire(struct collector *c)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	size_t i;

	for (i = 0; i < MAX_PENDING; i++) {
		struct pending *pd = &c->pending[i];

		if (!pd->id)
			continue;
		/* A paused process that is gone (killed by someone else) needs no
		 * verdict any more. */
		if (procsig_is_stopped(c->o->proc_root, pd->pid) < 0) {
			sensor__gate_done(c->sensor, pd->pid);
			memset(pd, 0, sizeof(*pd));
			continue;
		}
		if (!pd->deadline_ns || now < pd->deadline_ns)
			continue;
		c->vc.pause_timeouts++;
		pending_resolve(c, pd, pd->dflt == RA_NONE, "timeout");
	}
}

/* Read the stopped process's environment for env predicates. */
static char *read_environ(struct collector *c, uint32_t pid, size_t *len)
{
	char path[64], *env = NULL;

	snprintf(path, sizeof(path), "%s/%u/environ", c->o->proc_root, pid);
	if (read_file_capped(path, ENV_CAP, &env, len))
		return NULL;
	return env;
}

struct env_loader {
	struct collector *c;
	uint32_t pid;
	char *env;
};

/* exec_ctx.load_env: the matcher asks only when a rule needs it. */
static int load_environ(void *ctx, const char **env, size_t *len)
{
	struct env_loader *l = ctx;

	l->env = read_environ(l->c, l->pid, len);
	*env = l->env;
	return l->env ? 0 : -ENOENT;
}

/* exec_ctx.resolve: paths as the (stopped, for a gated exec) process will
 * see them, through its /proc/PID/root. */
static int resolve_in_proc(void *ctx, const char *cwd, const char *path, unsigned flags,
			   char *out, size_t len, bool *last_link)
{
	return procpath__resolve(ctx, cwd, path, flags, out, len, last_link);
}

/* The workspace rules see: `set workspace` (resolved at load), else the
 * agent root's cwd as the kernel reported it (symlink-free already). */
static const char *workspace_of(const struct collector *c, const struct session *s)
{
	if (c->rules_ws[0])
		return c->rules_ws;
	return s ? s->workspace : NULL;
}

static void match_exec(struct collector *c, const struct dexec *d, const struct session *s,
		       const struct proc *p, const char *exe, const char *cwd, struct outcome *o)
{
	const struct proc *chain[LINEAGE_MAX];
	const char *anc[LINEAGE_MAX];
	char fname[PATH_MAX];
	struct exec_ctx x = {0};
	bool complete;
	size_t n = 0, i;
	uint64_t t0;

	if (!c->rules || !s)
		return;
	if (p)
		n = proctable__lineage(c->pt, p, s->root_pid, s->root_start, chain, LINEAGE_MAX,
				       &complete);
	/* ancestors: exe paths, parent first (chain is root first, ends at p) */
	for (i = 0; i + 1 < n; i++)
		anc[i] = chain[n - 2 - i]->exe ? chain[n - 2 - i]->exe : "";
	if (d->filename.s && d->filename.len < sizeof(fname)) {
		memcpy(fname, d->filename.s, d->filename.len);
		fname[d->filename.len] = '\0';
		x.filename = fname;
	}
	x.exe = exe;
	x.argv = d->argv.s;
	x.argv_len = d->argv.len;
	x.argv_truncated = d->ev->flags & AW_EXEC_ARGV_TRUNC;
	x.cwd = cwd;
	x.workspace = workspace_of(c, s);
	x.agent = s->agent;
	x.ancestors = anc;
	x.n_ancestors = n ? n - 1 : 0;
	/* A gated process is stopped, so its environment is exactly what it
	 * exec'd with.  Others are running, but /proc/PID/environ is the block
	 * it started with unless it rewrote it.  It is read only if a rule
	 * that applies to this exec looks at it (env, or HOME for a ~ path):
	 * most execs cost no /proc read at all. */
	struct env_loader el = { c, d->ev->hdr.pid, NULL };

	x.load_env = load_environ;
	x.env_ctx = &el;
	procpath__init(&c->pp, c->o->proc_root, d->ev->hdr.pid);
	x.resolve = resolve_in_proc;
	x.resolve_ctx = &c->pp;
	x.session_id = s->id;
	x.now_ns = d->ev->hdr.ts;
	t0 = now_ns(CLOCK_MONOTONIC);
	if (ruleset__match_exec(c->rules, c->rates, &x, &o->res) == 0)
		o->matched = true;
	prom_hist__observe(&c->eval_hist[EVAL_EXEC], now_ns(CLOCK_MONOTONIC) - t0);
	procpath__release(&c->pp);
	free(el.env);
}

/* Act on an exec's verdict.  Gated execs are stopped in the kernel and wait
 * for this; others are already running. */
/*
 * Decide an exec's verdict (plan_exec), write its record, then carry it out
 * (act_exec): a kill, pause or deny is in the durable log before the
 * process feels it.  A paused exec's pending entry is made in the plan, so
 * the record can name its id.
 */
static void plan_exec(struct collector *c, const struct dexec *d, const struct session *s,
		      struct outcome *o)
{
	uint32_t pid = d->ev->hdr.pid;
	uint64_t start = norm_start(c, d->ev->hdr.start);
	enum rule_action act = o->matched ? enforced(c, &o->res) : RA_NONE;
	const struct rule_hit *h = o->matched ? deciding_hit(&o->res, act) : NULL;
	struct pending *pd;

	o->gated = d->ev->flags & AW_EXEC_GATED;
	if (d->ev->flags & AW_EXEC_FALLBACK_KILL)
		o->fallback = "kill";
	else if (d->ev->flags & AW_EXEC_FALLBACK_ALLOW)
		o->fallback = "allow";
	o->verdict = act;
	o->hit = h;
	if (o->gated)
		c->vc.gated++;
	if (!o->gated) {
		/* The kernel could not stop it (reduced mode): act, then say
		 * what that achieved; pause and freeze stop it late. */
		o->act_first = d->ev->flags & AW_EXEC_UNGATED;
		if (o->act_first && act >= RA_PAUSE)
			o->reduced = REDUCED_EXEC_LATE;
		/* Not stopped: only a kill can still help, and only late. */
		if (act >= RA_DENY && act != RA_FREEZE) {
			o->late = true;
			o->plan = PLAN_KILL;
		} else if (o->act_first && (act == RA_PAUSE || act == RA_FREEZE)) {
			o->late = true;
			o->plan = PLAN_LATE_HOLD;
		}
		return;
	}
	if (act == RA_PAUSE || act == RA_FREEZE) {
		pd = pending_hold(c, pid, start, s, act, h, d->argv.s, d->argv.len);
		if (pd) {
			o->pending_id = pd->id;
			o->plan = act == RA_FREEZE ? PLAN_FREEZE : PLAN_HOLD;
			return;
		}
		/* No room to wait for a human: the rule's default decides. */
		act = h && h->pause_default == RA_NONE ? RA_NONE : RA_KILL;
		o->verdict = act;
	}
	o->plan = act >= RA_DENY ? PLAN_KILL : PLAN_CONT;
}

/* An act_first exec the collector was too late for: nothing was done. */
static void too_late(struct outcome *o)
{
	o->verdict = RA_NONE;
	o->late = false;
	o->pending_id = 0;
	o->reduced = REDUCED_EXEC_GONE;
}

/* Reduced mode: the kernel did not stop it, so stop it now and hold it for
 * a human the way the gate would have.  Gone already: say so. */
static void late_hold(struct collector *c, const struct dexec *d, const struct session *s,
		      struct outcome *o)
{
	uint32_t pid = d->ev->hdr.pid;
	uint64_t start = norm_start(c, d->ev->hdr.start);
	struct pending *pd;

	if (signal_proc(c, pid, start, SIGSTOP)) {
		too_late(o);
		return;
	}
	pd = pending_hold(c, pid, start, s, o->verdict, o->hit, d->argv.s, d->argv.len);
	if (!pd) {
		/* No room to wait for a human: the rule's default decides. */
		o->verdict = o->hit && o->hit->pause_default == RA_NONE ? RA_NONE : RA_KILL;
		if (o->verdict == RA_NONE) {
			signal_proc(c, pid, start, SIGCONT);
			return;
		}
		tell_blocked(c, pid, "killed", o->hit, NULL);
		signal_proc(c, pid, start, SIGKILL);
		c->vc.late_kills++;
		return;
	}
	o->pending_id = pd->id;
	if (o->verdict == RA_FREEZE && s)
		signal_session(c, s->id, SIGSTOP, pid);
}

static void act_exec(struct collector *c, const struct dexec *d, const struct session *s,
		     struct outcome *o)
{
	uint32_t pid = d->ev->hdr.pid;
	uint64_t start = norm_start(c, d->ev->hdr.start);
	int err;

	switch (o->plan) {
	case PLAN_NONE:
	case PLAN_HOLD:
		return; /* held: stays stopped for a human */
	case PLAN_FREEZE:
		if (s)
			signal_session(c, s->id, SIGSTOP, pid);
		return;
	case PLAN_CONT: {
		bool live = !(d->ev->flags & AW_EXEC_REPLAYED);
		int pfd = procsig_pidfd(pid), err = pfd < 0 ? pfd : 0;
		uint64_t sent = 0;

		/* Pin the pid, then prove it is the process this record
		 * stopped: the fast way, the one every allowed gated exec waits
		 * on, by the gate's own entry (taking it is also forgetting
		 * it); otherwise (a replayed exec, an entry gone) by its start
		 * time in /proc. */
		if (!err && o->gated && live && sensor__gate_take(c->sensor, pid, d->ev->hdr.ts))
			err = procsig_send_pidfd(pfd, SIGCONT, &sent);
		else {
			if (!o->gated || !live || err)
				sensor__gate_done(c->sensor, pid);
			if (!err)
				err = procsig_check_start(c->o->proc_root, pid, start, c->tick_ns);
			if (!err)
				err = procsig_send_pidfd(pfd, SIGCONT, &sent);
		}
		if (err && err != -ESRCH)
			c->vc.signal_errors++;
		if (pfd >= 0)
			close(pfd);
		c->vc.allowed++;
		/* The cost of the gate to the process: from the kernel's exec
		 * timestamp (CLOCK_BOOTTIME) to the SIGCONT that makes it
		 * runnable.  A replayed exec waited for a collector, not for
		 * the gate: left out. */
		if (o->gated && live && sent > d->ev->hdr.ts) {
			lat__observe(&c->gate_lat, sent - d->ev->hdr.ts);
			prom_hist__observe(&c->gate_hist, sent - d->ev->hdr.ts);
		}
		return;
	}
	case PLAN_LATE_HOLD:
		late_hold(c, d, s, o);
		return;
	case PLAN_KILL:
		if (o->gated)
			sensor__gate_done(c->sensor, pid);
		tell_blocked(c, pid, o->late ? "killed" : "blocked", o->hit, NULL);
		if (o->verdict == RA_KILL_SESSION && s)
			signal_session(c, s->id, SIGKILL, pid);
		err = signal_proc(c, pid, start, SIGKILL);
		if (o->act_first && err) {
			too_late(o);
			return;
		}
		if (o->late)
			c->vc.late_kills++;
		else
			c->vc.killed++;
		return;
	}
}

static void out_exec(struct collector *c, const struct dexec *d, const struct session *s,
		     const struct proc *p, const struct outcome *o)
{
	const struct aw_exec_event *ev = d->ev;
	char ts[48];

	if (c->text) {
		text_head(c, &ev->hdr, s, "exec", C_GREEN);
		text_argv(c, d->argv.s, d->argv.len);
		if (ev->flags & AW_EXEC_ARGV_TRUNC)
			fprintf(c->out, " %s[argv truncated: %u of %u bytes]%s", col(c, C_YELLOW),
				ev->argv_len, ev->argv_total, col(c, C_RESET));
		if (ev->flags & AW_EXEC_SESSION_START)
			fprintf(c->out, " %s(session start)%s", col(c, C_BOLD), col(c, C_RESET));
		text_outcome(c, o);
		text_lineage(c, p, s);
		fputc('\n', c->out);
	}
	json_common(c, "exec", &ev->hdr, s, ev->ppid);
	jsonw__key(c->jw, "exe");
	jsonw__strn(c->jw, d->exe.s, d->exe.len);
	jsonw__key(c->jw, "filename");
	jsonw__strn(c->jw, d->filename.s, d->filename.len);
	jsonw__key(c->jw, "argv");
	json_argv(c->jw, d->argv.s, d->argv.len);
	jsonw__key(c->jw, "argc");
	jsonw__u64(c->jw, ev->argc);
	jsonw__key(c->jw, "argv_truncated");
	jsonw__bool(c->jw, ev->flags & AW_EXEC_ARGV_TRUNC);
	jsonw__key(c->jw, "argv_bytes");
	jsonw__u64(c->jw, ev->argv_total);
	jsonw__key(c->jw, "cwd");
	jsonw__strn(c->jw, d->cwd.s, d->cwd.len);
	jsonw__key(c->jw, "comm");
	jsonw__strn(c->jw, ev->comm, strnlen(ev->comm, sizeof(ev->comm)));
	jsonw__key(c->jw, "uid");
	jsonw__u64(c->jw, ev->uid);
	jsonw__key(c->jw, "euid");
	jsonw__u64(c->jw, ev->euid);
	jsonw__key(c->jw, "gid");
	jsonw__u64(c->jw, ev->gid);
	jsonw__key(c->jw, "egid");
	jsonw__u64(c->jw, ev->egid);
	jsonw__key(c->jw, "cgroup_id");
	jsonw__u64(c->jw, ev->cgroup_id);
	jsonw__key(c->jw, "start_time");
	time_str(c, ev->hdr.start, ts, sizeof(ts));
	jsonw__str(c->jw, ts);
	jsonw__key(c->jw, "session_start");
	jsonw__bool(c->jw, ev->flags & AW_EXEC_SESSION_START);
	if (ev->flags & AW_EXEC_REPLAYED) {
		jsonw__key(c->jw, "replayed");
		jsonw__bool(c->jw, true);
	}
	if (ev->flags & (AW_EXEC_EXE_TRUNC | AW_EXEC_CWD_TRUNC | AW_EXEC_FILENAME_TRUNC)) {
		jsonw__key(c->jw, "truncated");
		jsonw__arr_begin(c->jw);
		if (ev->flags & AW_EXEC_EXE_TRUNC)
			jsonw__str(c->jw, "exe");
		if (ev->flags & AW_EXEC_CWD_TRUNC)
			jsonw__str(c->jw, "cwd");
		if (ev->flags & AW_EXEC_FILENAME_TRUNC)
			jsonw__str(c->jw, "filename");
		jsonw__arr_end(c->jw);
	}
	json_outcome(c, o);
	json_lineage(c, p, s);
	finish_json(c);
}

static char *dstr_dup(const struct dstr *d)
{
	char *s;

	if (!d->s)
		return NULL;
	s = malloc(d->len + 1);
	if (s) {
		memcpy(s, d->s, d->len);
		s[d->len] = '\0';
	}
	return s;
}

static void handle_exec(struct collector *c, const void *data, size_t size)
{
	struct outcome o;
	struct aw_session fresh;
	struct session *s = NULL;
	struct proc *p = NULL;
	struct dexec d;
	uint32_t sig_id;
	char *exe, *cwd;

	if (decode_exec(data, size, &d)) {
		c->uc.decode_errors++;
		return;
	}
	if (d.ev->flags & AW_EXEC_CANDIDATE) {
		c->uc.candidates_seen++;
		if (probe_candidate(c, &d, &sig_id)) {
			c->uc.candidates_matched++;
			memset(&fresh, 0, sizeof(fresh));
			fresh.id = d.ev->hdr.ts;
			fresh.root_start = d.ev->hdr.start;
			fresh.root_tgid = d.ev->hdr.pid;
			fresh.sig_id = sig_id;
			fresh.reason = AW_REASON_SIG_USER;
			copy_str(fresh.agent, sizeof(fresh.agent), agentset__agent(c->agents, sig_id));
			if (sensor__set_session(c->sensor, d.ev->hdr.pid, &fresh))
				c->uc.kernel_map_errors++;
			adopt_descendants(c, d.ev->hdr.pid, &fresh);
			/* Treat the record as the session's first exec from here on. */
			((struct aw_exec_event *)d.ev)->sess = fresh;
			((struct aw_exec_event *)d.ev)->hdr.session_id = fresh.id;
			((struct aw_exec_event *)d.ev)->flags |= AW_EXEC_SESSION_START;
		} else if (!c->o->sensor.all_execs) {
			return;
		}
	}

	exe = dstr_dup(&d.exe);
	cwd = dstr_dup(&d.cwd);
	if (d.ev->hdr.session_id) {
		s = session_learn(c, &d.ev->sess, cwd, d.ev->hdr.ts);
		if (s)
			s->n_exec++;
		p = proctable__exec(c->pt, d.ev->hdr.pid, norm_start(c, d.ev->hdr.start), d.ev->ppid,
				    norm_start(c, d.ev->parent_start), d.ev->hdr.session_id, exe, cwd,
				    d.argv.s, d.argv.len, d.ev->hdr.ts);
	}
	outcome_init(&o);
	/* A gated exec is held on this decision: check the workspace now.
	 * Other execs are judged for the record, and a storm of them checks
	 * at most every 100 ms. */
	if (s && c->rules)
		session_ws_follow(c, s, d.ev->flags & AW_EXEC_GATED);
	match_exec(c, &d, s, p, exe, cwd, &o);
	if (s || (d.ev->flags & AW_EXEC_GATED))
		plan_exec(c, &d, s, &o);
	/* A verdict that acts (kill, hold) is on record, fsynced, before it is
	 * carried out.  An allowed process resumes first: nothing about the
	 * record needs it stopped, and the gate's cost to it is the time to
	 * the SIGCONT. */
	if (o.plan == PLAN_CONT || o.act_first) {
		/* Reduced mode acts first too: the record then says what the
		 * late action achieved, not what it meant to do. */
		act_exec(c, &d, s, &o);
		out_exec(c, &d, s, p, &o);
	} else {
		out_exec(c, &d, s, p, &o);
		/* Only a verdict that acts must be out before it is carried
		 * out; the rest leaves with the batch (the main loop flushes
		 * after every drain). */
		if (o.plan != PLAN_NONE)
			fflush(c->out);
		act_exec(c, &d, s, &o);
	}
	free(exe);
	free(cwd);
}

static void handle_fork(struct collector *c, const struct aw_fork_event *ev)
{
	struct session *s = session_for(c, ev->hdr.session_id);
	struct proc *p;

	p = proctable__fork(c->pt, ev->hdr.pid, norm_start(c, ev->hdr.start), ev->ppid,
			    norm_start(c, ev->parent_start), ev->hdr.session_id, ev->hdr.ts);
	if (!c->o->show_forks)
		return;
	if (c->text) {
		text_head(c, &ev->hdr, s, "fork", C_DIM);
		fprintf(c->out, "from %u", ev->ppid);
		text_lineage(c, p, s);
		fputc('\n', c->out);
	}
	json_common(c, "fork", &ev->hdr, s, ev->ppid);
	json_proc_image(c, p);
	json_lineage(c, p, s);
	finish_json(c);
}

static struct proc *proc_of(struct collector *c, const struct aw_event_hdr *h)
{
	struct proc *p;

	p = proctable__lookup(c->pt, h->pid, h->start ? norm_start(c, h->start) : 0);
	if (!p && h->start)
		p = proctable__lookup(c->pt, h->pid, 0);
	if (!p)
		c->uc.unknown_process++;
	return p;
}

static void handle_exit(struct collector *c, const struct aw_exit_event *ev)
{
	struct session *s = session_for(c, ev->hdr.session_id);
	struct proc *p = proc_of(c, &ev->hdr);
	uint32_t code = ev->exit_code;
	uint32_t sig = code & 0x7f;

	if (s) {
		s->n_exit++;
		if (ev->hdr.pid == s->root_pid)
			s->root_exited = true;
	}
	if (c->text) {
		text_head(c, &ev->hdr, s, "exit", C_DIM);
		if (sig)
			fprintf(c->out, "%skilled by signal %u%s%s", col(c, C_RED), sig,
				(code & 0x80) ? " (core dumped)" : "", col(c, C_RESET));
		else
			fprintf(c->out, "status %u", (code >> 8) & 0xff);
		text_lineage(c, p, s);
		fputc('\n', c->out);
	}
	json_common(c, "exit", &ev->hdr, s, p ? p->ppid : 0);
	json_proc_image(c, p);
	if (sig) {
		jsonw__key(c->jw, "signal");
		jsonw__u64(c->jw, sig);
		jsonw__key(c->jw, "core_dumped");
		jsonw__bool(c->jw, code & 0x80);
	} else {
		jsonw__key(c->jw, "exit_code");
		jsonw__u64(c->jw, (code >> 8) & 0xff);
	}
	json_lineage(c, p, s);
	finish_json(c);
	if (p)
		proctable__exit(c->pt, p->pid, p->start, code, ev->hdr.ts);
}

static const char *errno_name(int32_t result, char *buf, size_t len)
{
	const char *n;

	if (result >= 0)
		return NULL;
	n = strerrorname_np(-result);
	if (n)
		return n;
	snprintf(buf, len, "E%d", -result);
	return buf;
}

static const char *proto_name(uint32_t proto, uint32_t type)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	case IPPROTO_SCTP: return "sctp";
	case 0: return type == SOCK_DGRAM ? "udp" : type == SOCK_STREAM ? "tcp" : "unknown";
	default: return "other";
	}
}

/* bpf() commands by name: the ones that touch other programs' objects
 * first, so the record says what the agent tried. */
static const char *bpf_cmd_name(uint32_t cmd, char *buf, size_t len)
{
	static const char *const names[] = {
		[BPF_MAP_CREATE] = "MAP_CREATE", [BPF_MAP_LOOKUP_ELEM] = "MAP_LOOKUP_ELEM",
		[BPF_MAP_UPDATE_ELEM] = "MAP_UPDATE_ELEM", [BPF_MAP_DELETE_ELEM] = "MAP_DELETE_ELEM",
		[BPF_MAP_GET_NEXT_KEY] = "MAP_GET_NEXT_KEY", [BPF_PROG_LOAD] = "PROG_LOAD",
		[BPF_OBJ_PIN] = "OBJ_PIN", [BPF_OBJ_GET] = "OBJ_GET", [BPF_PROG_ATTACH] = "PROG_ATTACH",
		[BPF_PROG_DETACH] = "PROG_DETACH", [BPF_PROG_GET_NEXT_ID] = "PROG_GET_NEXT_ID",
		[BPF_MAP_GET_NEXT_ID] = "MAP_GET_NEXT_ID", [BPF_PROG_GET_FD_BY_ID] = "PROG_GET_FD_BY_ID",
		[BPF_MAP_GET_FD_BY_ID] = "MAP_GET_FD_BY_ID", [BPF_OBJ_GET_INFO_BY_FD] = "OBJ_GET_INFO_BY_FD",
		[BPF_LINK_CREATE] = "LINK_CREATE", [BPF_LINK_UPDATE] = "LINK_UPDATE",
		[BPF_LINK_GET_FD_BY_ID] = "LINK_GET_FD_BY_ID", [BPF_LINK_GET_NEXT_ID] = "LINK_GET_NEXT_ID",
		[BPF_LINK_DETACH] = "LINK_DETACH", [BPF_BTF_LOAD] = "BTF_LOAD",
	};

	if (cmd < sizeof(names) / sizeof(names[0]) && names[cmd])
		return names[cmd];
	snprintf(buf, len, "cmd %u", cmd);
	return buf;
}

/* One tamper record: who (lineage), what kind, what exactly, aimed at whom. */
static void out_tamper(struct collector *c, const struct aw_event_hdr *h, struct session *s,
		       struct proc *p, const char *kind, const char *what, uint32_t target,
		       const char *comm, size_t comm_len)
{
	c->vc.tamper++;
	if (c->text) {
		text_head(c, h, s, "tamper", C_RED);
		fprintf(c->out, "%s%s %s%s", col(c, C_BOLD), kind, what, col(c, C_RESET));
		if (target)
			fprintf(c->out, " -> agentwatch (pid %u)", target);
		text_lineage(c, p, s);
		fputc('\n', c->out);
	}
	json_common(c, "tamper", h, s, p ? p->ppid : 0);
	c->durable = true;   /* evidence: on disk before anything else happens */
	json_proc_image(c, p);
	jsonw__key(c->jw, "kind"); jsonw__str(c->jw, kind);
	jsonw__key(c->jw, "what"); jsonw__str(c->jw, what);
	jsonw__key(c->jw, "target_pid");
	if (target)
		jsonw__u64(c->jw, target);
	else
		jsonw__null(c->jw);
	jsonw__key(c->jw, "comm");
	jsonw__strn(c->jw, comm, comm_len);
	json_lineage(c, p, s);
	finish_json(c);
}

/* agentwatch's own files: its log, pins, state and rules. */
static bool own_path(const struct collector *c, const char *path)
{
	const char *const dirs[] = { c->o->log_dir, c->o->sensor.pin_dir, c->o->state_dir,
				     c->o->rules_dir };

	for (size_t i = 0; path && path[0] == '/' && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (dirs[i] && dirs[i][0] == '/' && path_is_under(path, dirs[i]))
			return true;
	return false;
}

static void handle_tamper(struct collector *c, const struct aw_tamper_event *ev)
{
	static const char *const kinds[] = { "?", "signal", "ptrace", "bpf" };
	struct session *s = session_for(c, ev->hdr.session_id);
	struct proc *p = proc_of(c, &ev->hdr);
	const char *kind = ev->kind < 4 ? kinds[ev->kind] : "?";
	char what[48];
	const char *sig;

	switch (ev->kind) {
	case AW_TAMPER_SIGNAL:
		sig = ev->arg < 65 ? sigabbrev_np((int)ev->arg) : NULL;
		snprintf(what, sizeof(what), "SIG%s", sig ? sig : "?");
		break;
	case AW_TAMPER_BPF:
		snprintf(what, sizeof(what), "%s", bpf_cmd_name(ev->arg, what, sizeof(what)));
		break;
	default:
		snprintf(what, sizeof(what), "request %u", ev->arg);
	}
	out_tamper(c, &ev->hdr, s, p, kind, what, ev->target, ev->comm,
		   strnlen(ev->comm, sizeof(ev->comm)));
}

static void handle_net(struct collector *c, const struct aw_net_event *ev)
{
	struct session *s = session_for(c, ev->hdr.session_id);
	struct proc *p = proc_of(c, &ev->hdr);
	char addr[INET6_ADDRSTRLEN], eb[16];
	const char *op = ev->op == AW_NET_CONNECT ? "connect" : "sendmsg";
	const char *err;
	bool no_result = ev->flags & AW_NET_NO_RESULT;

	struct outcome o;

	if (!inet_ntop(ev->family == 10 ? AF_INET6 : AF_INET, ev->addr, addr, sizeof(addr)))
		copy_str(addr, sizeof(addr), "?");
	err = errno_name(ev->result, eb, sizeof(eb));
	if (s)
		s->n_net++;
	outcome_init(&o);
	if (c->rules && s) {
		struct net_ctx x = {0};

		x.family = ev->family == 10 ? AF_INET6 : AF_INET;
		memcpy(x.addr, ev->addr, sizeof(x.addr));
		x.port = ev->port;
		x.protocol = ev->protocol ? (int)ev->protocol :
			     ev->sock_type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
		x.agent = s->agent;
		x.exe = p ? p->exe : NULL;
		x.session_id = s->id;
		x.now_ns = ev->hdr.ts;
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);

		o.matched = ruleset__match_net(c->rules, c->rates, &x, &o.res) == 0;
		prom_hist__observe(&c->eval_hist[EVAL_NET], now_ns(CLOCK_MONOTONIC) - t0);
	}
	if (o.matched)
		o.verdict = enforced(c, &o.res);
	if (ev->flags & AW_NET_DENIED) {
		/* Refused in the kernel with EPERM: say so on the process's stderr,
		 * where the agent will see it next to its tool's error. */
		const struct rule_hit *h = o.matched ? deciding_hit(&o.res, RA_DENY) : NULL;
		char extra[128];

		o.matched = true;
		o.verdict = RA_DENY;
		c->vc.denied_net++;
		snprintf(extra, sizeof(extra), " (connection to %s port %u refused)", addr, ev->port);
		tell_blocked(c, ev->hdr.pid, "network access denied", h, extra);
		if (ev->flags & AW_NET_STOPPED)
			signal_proc(c, ev->hdr.pid, ev->hdr.start ? norm_start(c, ev->hdr.start) : 0,
				    SIGCONT);
	} else if (o.matched && o.verdict == RA_DENY && !sensor__network_attached(c->sensor)) {
		/* No cgroup hook saw this call (reduced mode): nothing refused
		 * it, and the record must not say it was denied. */
		o.verdict = RA_NONE;
		o.reduced = REDUCED_NET_DENY;
	} else if (o.matched && o.verdict >= RA_KILL && o.verdict != RA_FREEZE) {
		/* Rules the kernel can't decide alone (agent, lineage): kill late. */
		const struct rule_hit *h = deciding_hit(&o.res, o.verdict);

		o.late = true;
		c->vc.late_kills++;
		tell_blocked(c, ev->hdr.pid, "killed", h, NULL);
		signal_proc(c, ev->hdr.pid, ev->hdr.start ? norm_start(c, ev->hdr.start) : 0, SIGKILL);
	}
	if (c->text) {
		text_head(c, &ev->hdr, s, "net", C_BLUE);
		fprintf(c->out, "%s %s %s%s%s:%u", op, proto_name(ev->protocol, ev->sock_type),
			ev->family == 10 ? "[" : "", addr, ev->family == 10 ? "]" : "", ev->port);
		if (!no_result && err)
			fprintf(c->out, " %s%s%s", col(c, C_RED), err, col(c, C_RESET));
		text_outcome(c, &o);
		text_lineage(c, p, s);
		fputc('\n', c->out);
	}
	json_common(c, "net", &ev->hdr, s, p ? p->ppid : 0);
	json_proc_image(c, p);
	jsonw__key(c->jw, "op");
	jsonw__str(c->jw, op);
	jsonw__key(c->jw, "family");
	jsonw__str(c->jw, ev->family == 10 ? "ipv6" : "ipv4");
	jsonw__key(c->jw, "protocol");
	jsonw__str(c->jw, proto_name(ev->protocol, ev->sock_type));
	jsonw__key(c->jw, "address");
	jsonw__str(c->jw, addr);
	jsonw__key(c->jw, "port");
	jsonw__u64(c->jw, ev->port);
	jsonw__key(c->jw, "result");
	if (no_result)
		jsonw__null(c->jw);
	else
		jsonw__i64(c->jw, ev->result);
	jsonw__key(c->jw, "error");
	jsonw__str(c->jw, no_result ? NULL : err);
	json_outcome(c, &o);
	json_lineage(c, p, s);
	finish_json(c);
}

/*
 * Where a file syscall's path led.  The kernel gives the path as passed
 * and, for a relative one, the directory it was relative to (the cwd or
 * the dirfd's, at the time of the call).  A single name in that directory
 * is exact as it is: what unlink, rmdir and rename act on is the name
 * itself, never what a link there points to.  Anything longer may go
 * through symbolic links ("link/x", "/tmp/ws/link/x", "a/../b"), which are
 * resolved in the process's root the way its lookup went (follow: the
 * last component too, for truncate and open).  Resolving happens after
 * the call, so a link changed in between misleads it; the kernel's
 * directory for a dirfd or cwd never does.  *unresolved: out holds only
 * the lexical form.  ts: when the call returned (the record's time).
 */
static void file_path(struct collector *c, const struct dstr *path, const struct dstr *dir,
		      bool follow, uint64_t ts, char *out, size_t len, bool *unresolved)
{
	char pbuf[AW_PATH_MAX + 1], dbuf[AW_PATH_MAX + 1], res[AW_PATH_MAX];
	const char *d = NULL;

	out[0] = '\0';
	*unresolved = false;
	if (!path->s || path->len >= sizeof(pbuf))
		return;
	memcpy(pbuf, path->s, path->len);
	pbuf[path->len] = '\0';
	dbuf[0] = '\0';
	if (dir->s && dir->len < sizeof(dbuf)) {
		memcpy(dbuf, dir->s, dir->len);
		dbuf[dir->len] = '\0';
		d = dbuf[0] == '/' ? dbuf : NULL;
	}
	if (path_join_normalize(d, pbuf, out, len) < 0) {
		if (pbuf[0] != '/')
			out[0] = '\0';
		return;
	}
	if (!follow && d && pbuf[0] && !strchr(pbuf, '/') && strcmp(pbuf, ".") && strcmp(pbuf, ".."))
		return;
	if (pbuf[0] != '/' && !d)
		return;
	if ((follow ? procpath__resolve(&c->pp, d, pbuf, PATH_RESOLVE_FOLLOW, res, sizeof(res), NULL) :
		      procpath_cache__resolve(&c->pcache, &c->pp, d, pbuf, ts, res, sizeof(res))) < 0) {
		*unresolved = true;
		return;
	}
	snprintf(out, len, "%s", res);
}

/*
 * A file rule fired.  The syscall that reported it has already completed (a
 * tracepoint can't stop it), so the action is on the process: stop it at
 * its first protected hit (pause, for a human) or kill it, before it does
 * more of the same.
 */
static void enforce_file(struct collector *c, const struct dfile *d, const struct session *s,
			 const struct proc *p, struct outcome *o)
{
	uint32_t pid = d->ev->hdr.pid;
	uint64_t start = norm_start(c, d->ev->hdr.start);
	enum rule_action act = enforced(c, &o->res);
	const struct rule_hit *h = deciding_hit(&o->res, act);
	struct pending *pd;

	bool unstopped = d->ev->flags & AW_FILE_PROT_UNSTOPPED ||
			 !features__on(sensor__features(c->sensor), FEAT_SEND_SIGNAL);

	o->verdict = act;
	if (act < RA_PAUSE)
		return;
	o->late = true;
	if (unstopped)
		o->reduced = REDUCED_FILE_LATE;
	if (act == RA_PAUSE || act == RA_FREEZE) {
		if (signal_proc(c, pid, start, SIGSTOP)) {
			if (unstopped) {
				o->verdict = RA_NONE;
				o->late = false;
				o->reduced = REDUCED_FILE_GONE;
			}
			return;
		}
		pd = pending_hold(c, pid, start, s, act, h, p ? p->argv : NULL, p ? p->argv_len : 0);
		if (!pd) {
			signal_proc(c, pid, start, SIGKILL);
			o->verdict = RA_KILL;
			return;
		}
		if (act == RA_FREEZE && s)
			signal_session(c, s->id, SIGSTOP, pid);
		o->pending_id = pd->id;
		return;
	}
	tell_blocked(c, pid, "killed", h, NULL);
	if (act == RA_KILL_SESSION && s)
		signal_session(c, s->id, SIGKILL, 0);
	if (signal_proc(c, pid, start, SIGKILL) && unstopped) {
		o->verdict = RA_NONE;
		o->late = false;
		o->reduced = REDUCED_FILE_GONE;
		return;
	}
	c->vc.killed++;
}

/*
 * The kernel stopped a session process at its Nth deletion within the
 * breaker window.  Deleting inside the agent's own workspace (rm -rf
 * node_modules) is normal: resume it and exempt it from the breaker.
 * Anything else waits for a human, and is killed if nobody answers.
 */
static void breaker_tripped(struct collector *c, const struct dfile *d, const struct session *s,
			    const struct proc *p, const char *path, bool unresolved, struct outcome *o)
{
	const char *ws = workspace_of(c, s);
	uint32_t pid = d->ev->hdr.pid;
	uint64_t start = norm_start(c, d->ev->hdr.start);
	struct rule_hit *h;
	struct pending *pd;

	c->vc.breaker_trips++;
	/* The record says what the trip led to, even when it led nowhere:
	 * a reviewer sees every time the breaker fired. */
	/* A path that could not be resolved is not known to be inside. */
	if (c->o->monitor ||
	    (ws && path[0] && !unresolved && path_is_under(path, ws) && strcmp(path, ws))) {
		sensor__breaker_set(c->sensor, pid, AW_BREAKER_EXEMPT);
		signal_proc(c, pid, start, SIGCONT);
		o->breaker = c->o->monitor ? "resumed (monitor mode)" :
					     "resumed (deleting inside the workspace)";
		return;
	}
	if (o->pending_id || o->verdict >= RA_DENY) {
		o->breaker = "decided by a file rule";
		return;
	}
	/* The agent tidying its own state (`state` lines in agents.conf):
	 * Codex removes two dozen SQLite journals in ~/.codex within a second
	 * at exit.  Resume it and re-arm the breaker, so the next burst is
	 * judged again; never exempt it. */
	if (s && path[0]) {
		size_t env_len = 0;
		char *env = read_environ(c, pid, &env_len);
		const char *st = agentset__own_state(c->agents, s->agent, path, env, env_len);

		free(env);
		if (st) {
			sensor__breaker_set(c->sensor, pid, AW_BREAKER_ARMED);
			signal_proc(c, pid, start, SIGCONT);
			o->breaker = "resumed (the agent's own state)";
			o->breaker_state = st;
			return;
		}
	}
	/* Reduced mode: the kernel counted the trip but could not stop the
	 * process; the collector does, late. */
	if (!features__on(sensor__features(c->sensor), FEAT_SEND_SIGNAL)) {
		if (signal_proc(c, pid, start, SIGSTOP)) {
			o->breaker = "too late: the process had exited";
			o->reduced = REDUCED_FILE_GONE;
			return;
		}
		o->reduced = REDUCED_FILE_LATE;
	} else if (procsig_is_gone(c->o->proc_root, pid)) {
		/* The trip raced the process's exit (Codex removes its journals
		 * as it exits): the stop changed nothing, and there is no one
		 * left to hold for a human. */
		o->breaker = "none: the process had exited";
		return;
	}
	pd = pending_hold(c, pid, start, s, RA_PAUSE, NULL, p ? p->argv : NULL, p ? p->argv_len : 0);
	if (!pd) {
		tell_blocked(c, pid, "killed by the mass-deletion breaker", NULL, NULL);
		signal_proc(c, pid, start, SIGKILL);
		o->breaker = "killed (no room to hold it for a human)";
		o->verdict = RA_KILL;
		o->late = true;
		return;
	}
	o->breaker = "paused for a human";
	copy_str(pd->rule, sizeof(pd->rule), "mass-deletion-breaker");
	/* The path is cut to fit; "%.300s" keeps the sentence whole. */
	snprintf(pd->message, sizeof(pd->message),
		 "%u deletions within %llu ms, the last outside the workspace: %.300s",
		 c->o->sensor.breaker_n,
		 (unsigned long long)(c->o->sensor.breaker_window_ns / 1000000), path);
	o->pending_id = pd->id;
	o->verdict = RA_PAUSE;
	o->late = true;
	/* Name the breaker like a rule in the record. */
	o->matched = true;
	if (o->res.n_hits < RULE_HITS_MAX) {
		h = &o->res.hits[o->res.n_hits++];
		memset(h, 0, sizeof(*h));
		h->id = "mass-deletion-breaker";
		h->severity = "high";
		h->origin = "kernel breaker";
		h->action = RA_PAUSE;
		h->mode = RM_ENFORCE;
		copy_str(h->message, sizeof(h->message), pd->message);
	}
	if (o->res.would < RA_PAUSE)
		o->res.would = RA_PAUSE;
	tell_blocked(c, pid, "paused by the mass-deletion breaker", NULL, NULL);
}

static void handle_file(struct collector *c, const void *data, size_t size)
{
	char p1[2 * AW_PATH_MAX], p2[2 * AW_PATH_MAX], eb[16];
	const char *own;
	struct session *s;
	struct proc *p;
	struct dfile d;
	const char *err;
	struct outcome o;
	bool follow, unres1, unres2;

	if (decode_file(data, size, &d)) {
		c->uc.decode_errors++;
		return;
	}
	s = session_for(c, d.ev->hdr.session_id);
	p = proc_of(c, &d.ev->hdr);
	/* truncate and open(O_TRUNC) act on what a link points to (an open
	 * with O_NOFOLLOW fails on a link); the rest on the name. */
	follow = d.ev->op == AW_FILE_TRUNCATE ||
		 (d.ev->op == AW_FILE_OPEN_TRUNC && !(d.ev->open_flags & O_NOFOLLOW));
	procpath__init(&c->pp, c->o->proc_root, d.ev->hdr.pid);
	if (d.ev->flags & AW_FILE_OWN_ROOT)
		procpath__own_root(&c->pp);
	file_path(c, &d.path, &d.dir, follow, d.ev->hdr.ts, p1, sizeof(p1), &unres1);
	file_path(c, &d.path2, &d.dir2, false, d.ev->hdr.ts, p2, sizeof(p2), &unres2);
	procpath__release(&c->pp);
	err = errno_name(d.ev->result, eb, sizeof(eb));
	if (s)
		s->n_file++;
	if (s && (c->rules || (d.ev->flags & AW_FILE_BREAKER)))
		session_ws_follow(c, s, d.ev->flags & AW_FILE_BREAKER);
	outcome_init(&o);
	if (c->rules && s) {
		struct file_ctx x = {0};

		x.op = d.ev->op;
		x.path = p1[0] ? p1 : NULL;
		x.path2 = p2[0] ? p2 : NULL;
		x.cwd = p ? p->cwd : NULL;
		x.unresolved = unres1;
		x.unresolved2 = unres2;
		x.workspace = workspace_of(c, s);
		x.agent = s->agent;
		x.exe = p ? p->exe : NULL;
		x.session_id = s->id;
		x.now_ns = d.ev->hdr.ts;
		if (x.path) {
			uint64_t t0 = now_ns(CLOCK_MONOTONIC);

			o.matched = ruleset__match_file(c->rules, c->rates, &x, &o.res) == 0;
			prom_hist__observe(&c->eval_hist[EVAL_FILE], now_ns(CLOCK_MONOTONIC) - t0);
		}
	}
	if (o.matched)
		enforce_file(c, &d, s, p, &o);
	if (d.ev->flags & AW_FILE_PROT_KILLED) {
		o.verdict = RA_KILL; /* the kernel's fallback: no collector was there */
		o.fallback = "kill";
	} else if ((d.ev->flags & AW_FILE_PROTECTED) && o.verdict < RA_PAUSE) {
		/* Stopped in the kernel, but the full rule (globs, normalised
		 * paths, agent) says no: let it go on. */
		signal_proc(c, d.ev->hdr.pid, norm_start(c, d.ev->hdr.start), SIGCONT);
	}
	if (d.ev->flags & AW_FILE_PROTECTED) {
		o.gated = true;
		c->vc.protected_stops++;
	}
	if (d.ev->flags & AW_FILE_BREAKER)
		breaker_tripped(c, &d, s, p, p1, unres1, &o);
	if (c->text) {
		text_head(c, &d.ev->hdr, s, "file", C_YELLOW);
		fprintf(c->out, "%s ", file_op_name(d.ev->op));
		text_escaped(c, p1[0] ? p1 : d.path.s, p1[0] ? strlen(p1) : d.path.len);
		if (d.path2.s) {
			fputs(" -> ", c->out);
			text_escaped(c, p2[0] ? p2 : d.path2.s, p2[0] ? strlen(p2) : d.path2.len);
		}
		if (err)
			fprintf(c->out, " %s%s%s", col(c, C_RED), err, col(c, C_RESET));
		text_outcome(c, &o);
		text_lineage(c, p, s);
		fputc('\n', c->out);
	}
	json_common(c, "file", &d.ev->hdr, s, p ? p->ppid : 0);
	json_proc_image(c, p);
	jsonw__key(c->jw, "op");
	jsonw__str(c->jw, file_op_name(d.ev->op));
	jsonw__key(c->jw, "path");
	if (p1[0])
		jsonw__str(c->jw, p1);
	else
		jsonw__strn(c->jw, d.path.s, d.path.len);
	jsonw__key(c->jw, "path_arg");
	jsonw__strn(c->jw, d.path.s, d.path.len);
	if (d.path2.s) {
		jsonw__key(c->jw, "path2");
		if (p2[0])
			jsonw__str(c->jw, p2);
		else
			jsonw__strn(c->jw, d.path2.s, d.path2.len);
		jsonw__key(c->jw, "path2_arg");
		jsonw__strn(c->jw, d.path2.s, d.path2.len);
	}
	if (d.ev->op == AW_FILE_UNLINKAT) {
		jsonw__key(c->jw, "removedir");
		jsonw__bool(c->jw, d.ev->flags & AW_FILE_AT_REMOVEDIR);
	}
	if (d.ev->op == AW_FILE_OPEN_TRUNC || d.ev->op == AW_FILE_RENAMEAT2) {
		jsonw__key(c->jw, "flags");
		jsonw__u64(c->jw, d.ev->open_flags);
	}
	if (d.ev->flags & (AW_FILE_PATH_TRUNC | AW_FILE_PATH2_TRUNC | AW_FILE_DIR_TRUNC |
			   AW_FILE_DIR2_TRUNC)) {
		jsonw__key(c->jw, "path_truncated");
		jsonw__bool(c->jw, true);
	}
	jsonw__key(c->jw, "result");
	jsonw__i64(c->jw, d.ev->result);
	jsonw__key(c->jw, "error");
	jsonw__str(c->jw, err);
	json_outcome(c, &o);
	json_lineage(c, p, s);
	finish_json(c);
	/* A session process deleting, renaming or truncating agentwatch's own
	 * log, pins, state or rules: evidence of an agent fighting back, on
	 * record as such (the hash chain and the off-host head catch what it
	 * did to the log). */
	own = !s ? NULL : own_path(c, p1) ? p1 : own_path(c, p2) ? p2 : NULL;
	if (own) {
		char what[AW_PATH_MAX + 32];

		snprintf(what, sizeof(what), "%s %s", file_op_name(d.ev->op), own);
		out_tamper(c, &d.ev->hdr, s, p, "file", what, 0, p && p->exe ? path_basename(p->exe) : "",
			   p && p->exe ? strlen(path_basename(p->exe)) : 0);
	}
}

static int on_event(void *ctx, const void *data, size_t size)
{
	struct collector *c = ctx;
	const struct aw_event_hdr *h;

	if (decode_hdr(data, size, &h)) {
		c->uc.decode_errors++;
		return 0;
	}
	switch (h->type) {
	case AW_EV_EXEC:
		handle_exec(c, data, size);
		break;
	case AW_EV_FILE:
		handle_file(c, data, size);
		break;
	case AW_EV_FORK:
	case AW_EV_EXIT:
	case AW_EV_NET:
	case AW_EV_TAMPER:
		if (decode_fixed(data, size, h->type)) {
			c->uc.decode_errors++;
			break;
		}
		if (h->type == AW_EV_FORK)
			handle_fork(c, data);
		else if (h->type == AW_EV_EXIT)
			handle_exit(c, data);
		else if (h->type == AW_EV_TAMPER)
			handle_tamper(c, data);
		else
			handle_net(c, data);
		break;
	}
	return 0;
}

/* ---- start-up: signatures, /proc scan ------------------------------------- */

static int push_name(const char *name, uint32_t prefix_bytes, uint32_t sig_id, uint32_t flags,
		     const char *agent, void *ctx)
{
	struct collector *c = ctx;
	int err = sensor__add_agent_name(c->sensor, name, prefix_bytes, sig_id, flags, agent);

	if (err)
		fprintf(stderr, "agentwatch: failed to add agent name %.*s: %s\n",
			(int)prefix_bytes, name, strerror(-err));
	return err;
}

/*
 * The path a running process was exec'd by, as far as /proc still tells:
 * the kernel set comm to the basename of that path (cut to 15 bytes), and
 * the path itself is argv[0] for a binary or symlink, or argv[1] or argv[2]
 * for a #! script (after the interpreter and its optional argument).  Only
 * an argument whose basename agrees with comm is taken, so `vim claude` is
 * not mistaken for claude.
 */
static const char *scan_filename(const struct procinfo *pi)
{
	size_t clen = strnlen(pi->comm, sizeof(pi->comm));
	size_t off = 0;
	int k;

	if (!clen || !pi->argv)
		return NULL;
	for (k = 0; k < 3 && off < pi->argv_len; k++) {
		const char *arg = pi->argv + off;
		size_t n = strnlen(arg, pi->argv_len - off);
		const char *base = memrchr(arg, '/', n);

		base = base ? base + 1 : arg;
		if (off + n < pi->argv_len && strncmp(base, pi->comm, clen) == 0 &&
		    strlen(base) >= clen && (strlen(base) == clen || clen == 15))
			return arg;
		off += n + 1;
	}
	return NULL;
}

struct scanned {
	struct procinfo *v;   /* argv/env released after matching */
	size_t n, cap;
};

static int collect_proc(const struct procinfo *pi, void *ctx)
{
	struct scanned *sc = ctx;

	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 512;
		struct procinfo *nv = realloc(sc->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		sc->v = nv;
		sc->cap = cap;
	}
	sc->v[sc->n] = *pi;
	/* procscan owns pi's buffers; keep our own copies */
	sc->v[sc->n].argv = NULL;
	sc->v[sc->n].env = NULL;
	if (pi->argv_len) {
		sc->v[sc->n].argv = malloc(pi->argv_len);
		if (sc->v[sc->n].argv)
			memcpy(sc->v[sc->n].argv, pi->argv, pi->argv_len);
		else
			sc->v[sc->n].argv_len = 0;
	}
	if (pi->env_len) {
		sc->v[sc->n].env = malloc(pi->env_len);
		if (sc->v[sc->n].env)
			memcpy(sc->v[sc->n].env, pi->env, pi->env_len);
		else
			sc->v[sc->n].env_len = 0;
	}
	sc->n++;
	return 0;
}

static ssize_t scanned_index(const struct scanned *sc, uint32_t pid)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		if (sc->v[i].pid == pid)
			return i;
	return -1;
}

/* Put the process at index i and, recursively, its descendants into
 * session ks: in the kernel map and in the process table. */
static void seed_tree(struct collector *c, struct scanned *sc, bool *taken, size_t i,
		      const struct aw_session *ks, int depth)
{
	const struct procinfo *pi = &sc->v[i];
	size_t j;

	if (taken[i] || depth > 256)
		return;
	taken[i] = true;
	if (sensor__set_session(c->sensor, pi->pid, ks))
		c->uc.kernel_map_errors++;
	proctable__exec(c->pt, pi->pid, norm_start(c, pi->start_ns), pi->ppid, 0, ks->id,
			pi->exe[0] ? pi->exe : NULL, pi->cwd[0] ? pi->cwd : NULL, pi->argv,
			pi->argv_len, 0);
	for (j = 0; j < sc->n; j++)
		if (sc->v[j].ppid == pi->pid && sc->v[j].start_ns >= pi->start_ns)
			seed_tree(c, sc, taken, j, ks, depth + 1);
}

static void open_seeded(struct collector *c, struct scanned *sc, bool *taken, size_t i,
			uint32_t reason, uint32_t sig_id, const char *agent)
{
	const struct procinfo *pi = &sc->v[i];
	struct aw_session ks;

	memset(&ks, 0, sizeof(ks));
	ks.id = ((uint64_t)pi->pid << 32) ^ pi->start_ns ^ c->started_ns;
	ks.root_start = pi->start_ns;
	ks.root_tgid = pi->pid;
	ks.reason = reason;
	ks.sig_id = sig_id;
	copy_str(ks.agent, sizeof(ks.agent), agent);
	session_learn(c, &ks, pi->cwd[0] ? pi->cwd : NULL, 0);
	seed_tree(c, sc, taken, i, &ks, 0);
	if (c->text)
		fprintf(stderr, "agentwatch: %s session %u (%s) %s\n", agent, pi->pid,
			pi->comm, reason == AW_REASON_PROC_SCAN ? "already running" : "declared");
}

struct ksess {
	uint32_t tgid;
	struct aw_session s;
};

struct ksessions {
	struct ksess *v;
	size_t n, cap;
};

static int collect_ksession(uint32_t tgid, const struct aw_session *ks, void *ctx)
{
	struct ksessions *k = ctx;

	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 256;
		struct ksess *nv = realloc(k->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		k->v = nv;
		k->cap = cap;
	}
	k->v[k->n].tgid = tgid;
	k->v[k->n].s = *ks;
	k->n++;
	return 0;
}

/*
 * Sessions the kernel already holds (a predecessor's, when we took over
 * its pinned maps; or ones `agentwatch exec` declared): learn them, with
 * their processes, instead of rediscovering them.
 */
static void adopt_kernel_sessions(struct collector *c, struct scanned *sc, bool *taken)
{
	struct ksessions k = {0};
	size_t i, j;

	sensor__sessions_each(c->sensor, collect_ksession, &k);
	/* roots first, so the workspace is the root's cwd */
	for (j = 0; j < k.n; j++) {
		ssize_t idx = scanned_index(sc, k.v[j].tgid);

		if (k.v[j].tgid != k.v[j].s.root_tgid)
			continue;
		session_learn(c, &k.v[j].s, idx >= 0 && sc->v[idx].cwd[0] ? sc->v[idx].cwd : NULL, 0);
	}
	for (i = 0; i < sc->n; i++) {
		const struct procinfo *pi = &sc->v[i];

		for (j = 0; j < k.n; j++) {
			if (k.v[j].tgid != pi->pid)
				continue;
			session_learn(c, &k.v[j].s, NULL, 0);
			taken[i] = true;
			proctable__exec(c->pt, pi->pid, norm_start(c, pi->start_ns), pi->ppid, 0,
					k.v[j].s.id, pi->exe[0] ? pi->exe : NULL,
					pi->cwd[0] ? pi->cwd : NULL, pi->argv, pi->argv_len, 0);
			break;
		}
	}
	free(k.v);
}

/* --within: is scanned process i the scope root or one of its descendants? */
static bool scanned_in_scope(const struct scanned *sc, size_t i, uint32_t root)
{
	for (int depth = 0; depth < 256; depth++) {
		ssize_t j;

		if (sc->v[i].pid == root)
			return true;
		if (sc->v[i].ppid <= 1 || (j = scanned_index(sc, sc->v[i].ppid)) < 0)
			return false;
		i = (size_t)j;
	}
	return false;
}

static int seed_sessions(struct collector *c)
{
	struct scanned sc = {0};
	bool *taken = NULL;
	size_t i, k;
	int err;

	err = procscan__each(c->o->proc_root, true, collect_proc, &sc);
	if (err < 0) {
		fprintf(stderr, "agentwatch: /proc scan failed: %s\n", strerror(-err));
		goto out;
	}
	taken = calloc(sc.n + 1, sizeof(*taken));
	if (!taken) {
		err = -ENOMEM;
		goto out;
	}
	/* --within: the scope root and what already runs under it are in
	 * scope (what they fork from now on follows in the kernel); nothing
	 * else may open a session, so mark it taken. */
	if (c->o->sensor.scope_tgid) {
		if ((err = sensor__scope_add(c->sensor, c->o->sensor.scope_tgid))) {
			fprintf(stderr, "agentwatch: --within %u: %s\n", c->o->sensor.scope_tgid,
				strerror(-err));
			goto out;
		}
		for (i = 0; i < sc.n; i++) {
			if (scanned_in_scope(&sc, i, c->o->sensor.scope_tgid))
				sensor__scope_add(c->sensor, sc.v[i].pid);
			else
				taken[i] = true;
		}
	}
	adopt_kernel_sessions(c, &sc, taken);
	/* Declared roots first: the operator said so. */
	for (k = 0; k < c->o->n_session_roots; k++) {
		const char *spec = c->o->session_roots[k];
		char pidbuf[32], *colon;
		const char *name = "declared";
		uint64_t pid;
		ssize_t idx;

		copy_str(pidbuf, sizeof(pidbuf), spec);
		colon = strchr(pidbuf, ':');
		if (colon) {
			*colon = '\0';
			name = spec + (colon - pidbuf) + 1;
		}
		if (parse_u64(pidbuf, &pid) || pid == 0 || pid > UINT32_MAX) {
			fprintf(stderr, "agentwatch: --session-root %s: not a pid\n", spec);
			err = -EINVAL;
			goto out;
		}
		idx = scanned_index(&sc, pid);
		if (idx < 0) {
			fprintf(stderr, "agentwatch: --session-root %s: no such process\n", spec);
			err = -ESRCH;
			goto out;
		}
		open_seeded(c, &sc, taken, idx, AW_REASON_DECLARED_PID, SIG_NONE, name);
	}
	/* Then agents found running, oldest first, so that an agent started
	 * by another agent stays in the outer session. */
	for (;;) {
		ssize_t best = -1;
		uint32_t best_sig = 0;

		for (i = 0; i < sc.n; i++) {
			struct agent_probe pr = {0};
			uint32_t sig;

			if (taken[i] || sc.v[i].pid == (uint32_t)getpid())
				continue;
			pr.exe = sc.v[i].exe[0] ? sc.v[i].exe : NULL;
			pr.filename = scan_filename(&sc.v[i]);
			pr.cwd = sc.v[i].cwd[0] ? sc.v[i].cwd : NULL;
			pr.argv = sc.v[i].argv;
			pr.argv_len = sc.v[i].argv_len;
			pr.env = sc.v[i].env;
			pr.env_len = sc.v[i].env_len;
			if (agentset__match(c->agents, &pr, &sig) != 1)
				continue;
			if (best < 0 || sc.v[i].start_ns < sc.v[best].start_ns) {
				best = i;
				best_sig = sig;
			}
		}
		if (best < 0)
			break;
		open_seeded(c, &sc, taken, best, AW_REASON_PROC_SCAN, best_sig,
			    agentset__agent(c->agents, best_sig));
	}
	err = 0;
out:
	for (i = 0; i < sc.n; i++) {
		free(sc.v[i].argv);
		free(sc.v[i].env);
	}
	free(sc.v);
	free(taken);
	return err;
}

static int load_agents(struct collector *c, const char *default_file)
{
	char err[512];
	const char *file = c->o->agents_file ? c->o->agents_file : default_file;
	size_t i;
	int r;

	c->agents = agentset__new();
	if (!c->agents)
		return -ENOMEM;
	if (!c->o->no_default_agents || c->o->agents_file) {
		r = agentset__load_file(c->agents, file, err, sizeof(err));
		if (r) {
			fprintf(stderr, "agentwatch: %s\n", err);
			return r;
		}
	}
	for (i = 0; i < c->o->n_cli_agents; i++) {
		r = agentset__add_cli(c->agents, c->o->cli_agents[i], err, sizeof(err));
		if (r) {
			fprintf(stderr, "agentwatch: %s (in --agent %s)\n", err, c->o->cli_agents[i]);
			return r;
		}
	}
	return 0;
}

static void write_status(struct collector *c, bool final);

/* ---- rules: load, kernel knobs, reload ------------------------------------- */

struct names {
	const char **v;
	size_t n, cap;
};

static int collect_gated(const char *basename, void *ctx)
{
	struct names *nm = ctx;

	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 64;
		const char **nv = realloc(nm->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		nm->v = nv;
		nm->cap = cap;
	}
	nm->v[nm->n++] = basename;
	return 0;
}

struct netrule {
	int family, prefixlen, protocol;
	uint8_t addr[16];
	uint16_t lo, hi;
	uint32_t kid;         /* kernel rule id */
};

struct netrules {
	struct collector *c;
	struct netrule v[2048];
	size_t n;
	char *ids[AW_NET_KERNEL_RULES];
	size_t n_ids;
};

static int collect_net(int family, const uint8_t *addr, int prefixlen, uint16_t lo, uint16_t hi,
		       int protocol, const char *rule_id, void *ctx)
{
	struct netrules *nr = ctx;
	struct netrule *r;
	size_t i;

	if (nr->n >= sizeof(nr->v) / sizeof(nr->v[0]))
		return -E2BIG;
	r = &nr->v[nr->n++];
	memset(r, 0, sizeof(*r));
	r->family = family;
	r->prefixlen = prefixlen;
	r->protocol = protocol;
	memcpy(r->addr, addr, family == AF_INET ? 4 : 16);
	r->lo = lo;
	r->hi = hi;
	for (i = 0; i < nr->n_ids; i++)
		if (!strcmp(nr->ids[i], rule_id))
			break;
	if (i == nr->n_ids) {
		if (nr->n_ids >= AW_NET_KERNEL_RULES)
			return -E2BIG;
		nr->ids[nr->n_ids] = strdup(rule_id);
		if (!nr->ids[nr->n_ids])
			return -ENOMEM;
		nr->n_ids++;
	}
	r->kid = i + 1;
	return 0;
}

/* Does prefix a (len la) cover address b? */
static bool prefix_covers(const uint8_t *a, int la, const uint8_t *b)
{
	int full = la / 8, rest = la % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

/*
 * The kernel's LPM trie returns only the longest matching prefix, so each
 * prefix's entry carries its own rules and those of every shorter prefix
 * that covers it.
 */
static int build_deny(const struct netrules *nr, int family, void *keys, struct aw_net_deny *vals,
		      size_t max, size_t *out_n)
{
	size_t i, j, n = 0;

	for (i = 0; i < nr->n; i++) {
		const struct netrule *r = &nr->v[i];
		struct aw_net_deny *v;
		bool dup = false;

		if (r->family != family)
			continue;
		for (j = 0; j < i && !dup; j++)
			dup = nr->v[j].family == family && nr->v[j].prefixlen == r->prefixlen &&
			      !memcmp(nr->v[j].addr, r->addr, family == AF_INET ? 4 : 16);
		if (dup)
			continue;
		if (n >= max)
			return -E2BIG;
		v = &vals[n];
		memset(v, 0, sizeof(*v));
		if (family == AF_INET) {
			struct aw_net_key4 *k = &((struct aw_net_key4 *)keys)[n];

			k->prefixlen = r->prefixlen;
			memcpy(k->addr, r->addr, 4);
		} else {
			struct aw_net_key6 *k = &((struct aw_net_key6 *)keys)[n];

			k->prefixlen = r->prefixlen;
			memcpy(k->addr, r->addr, 16);
		}
		for (j = 0; j < nr->n; j++) {
			const struct netrule *o = &nr->v[j];

			if (o->family != family || o->prefixlen > r->prefixlen ||
			    !prefix_covers(o->addr, o->prefixlen, r->addr))
				continue;
			if (v->n >= AW_NET_RULES_PER_PREFIX)
				return -E2BIG;
			v->r[v->n].port_lo = o->lo;
			v->r[v->n].port_hi = o->hi;
			v->r[v->n].protocol = o->protocol;
			v->r[v->n].rule_id = o->kid;
			v->n++;
		}
		n++;
	}
	*out_n = n;
	return 0;
}

struct prot {
	struct aw_prot_key k[1024];
	struct aw_prot_val v[1024];
	size_t n;
	char *ids[1024];
	size_t n_ids;
};

static int prot_put(struct prot *pr, const char *bytes, size_t len, uint32_t ops, uint32_t rid)
{
	size_t i;

	if (len > AW_PROT_KEY_LEN)
		return 0; /* longer than the kernel key: the collector's check covers it */
	for (i = 0; i < pr->n; i++)
		if (pr->k[i].prefixlen == len * 8 && !memcmp(pr->k[i].path, bytes, len)) {
			pr->v[i].ops_mask |= ops;
			return 0;
		}
	if (pr->n >= 1024)
		return -E2BIG;
	memset(&pr->k[pr->n], 0, sizeof(pr->k[0]));
	memcpy(pr->k[pr->n].path, bytes, len);
	pr->k[pr->n].prefixlen = len * 8;
	pr->v[pr->n].ops_mask = ops;
	pr->v[pr->n].rule_id = rid;
	pr->n++;
	return 0;
}

/* "P" protects P itself (key "P\0") and everything under it (key "P/"). */
static int collect_prot(const char *prefix, uint32_t ops_mask, enum rule_action act,
			const char *rule_id, void *ctx)
{
	struct prot *pr = ctx;
	char norm[AW_PATH_MAX + 1];
	size_t len, i;
	int n, err;

	(void)act;
	n = path_join_normalize(NULL, prefix, norm, sizeof(norm) - 1);
	if (n <= 0)
		return 0;
	len = n;
	for (i = 0; i < pr->n_ids; i++)
		if (!strcmp(pr->ids[i], rule_id))
			break;
	if (i == pr->n_ids) {
		if (pr->n_ids >= 1024)
			return -E2BIG;
		if (!(pr->ids[pr->n_ids] = strdup(rule_id)))
			return -ENOMEM;
		pr->n_ids++;
	}
	if (len == 1) /* "/": everything */
		return prot_put(pr, "/", 1, ops_mask, i + 1);
	norm[len] = '\0';
	if ((err = prot_put(pr, norm, len + 1, ops_mask, i + 1)))
		return err;
	norm[len] = '/';
	return prot_put(pr, norm, len + 1, ops_mask, i + 1);
}

static int push_knobs(struct collector *c, struct ruleset *rs)
{
	struct prot *pr = calloc(1, sizeof(*pr));
	static struct aw_net_key4 k4[512];
	static struct aw_net_key6 k6[512];
	static struct aw_net_deny v4[512], v6[512];
	struct names nm = {0};
	struct netrules *nr = calloc(1, sizeof(*nr));
	size_t n4 = 0, n6 = 0, i;
	int err;

	if (!nr || !pr) {
		free(nr);
		free(pr);
		return -ENOMEM;
	}
	if ((err = ruleset__gated_binaries(rs, collect_gated, &nm)) ||
	    (err = ruleset__protected_paths(rs, collect_prot, pr)) ||
	    (err = ruleset__net_denies(rs, collect_net, nr)) ||
	    (err = build_deny(nr, AF_INET, k4, v4, 512, &n4)) ||
	    (err = build_deny(nr, AF_INET6, k6, v6, 512, &n6))) {
		fprintf(stderr, "agentwatch: rules do not fit the kernel maps: %s\n", strerror(-err));
		goto out;
	}
	/* Monitor mode stops nothing: it reports what the rules would do. */
	if ((err = sensor__set_gated(c->sensor, nm.v, c->o->monitor ? 0 : nm.n))) {
		fprintf(stderr, "agentwatch: failed to update gated binaries: %s\n", strerror(-err));
		goto out;
	}
	if ((err = sensor__set_protected(c->sensor, pr->k, pr->v, c->o->monitor ? 0 : pr->n))) {
		fprintf(stderr, "agentwatch: failed to update protected paths: %s\n", strerror(-err));
		goto out;
	}
	if ((err = sensor__set_net_deny(c->sensor, k4, v4, n4, k6, v6, n6))) {
		fprintf(stderr, "agentwatch: failed to update network deny lists: %s\n", strerror(-err));
		goto out;
	}
	for (i = 0; i < c->n_net_rule_ids; i++)
		free(c->net_rule_ids[i]);
	memcpy(c->net_rule_ids, nr->ids, nr->n_ids * sizeof(nr->ids[0]));
	c->n_net_rule_ids = nr->n_ids;
	nr->n_ids = 0;
out:
	for (i = 0; i < nr->n_ids; i++)
		free(nr->ids[i]);
	for (i = 0; i < pr->n_ids; i++)
		free(pr->ids[i]);
	free(nr);
	free(pr);
	free(nm.v);
	return err;
}

/* `set workspace` as the kernel will name it in events: with its symlinks
 * resolved (as they are now; a path that does not exist stays as given). */
static void set_rules_ws(struct collector *c)
{
	const char *ws = c->rules ? ruleset__workspace(c->rules) : NULL;
	struct procpath pp;

	c->rules_ws[0] = '\0';
	if (!ws)
		return;
	procpath__init(&pp, c->o->proc_root, (uint32_t)getpid());
	if (procpath__resolve(&pp, NULL, ws, PATH_RESOLVE_FOLLOW, c->rules_ws,
			      sizeof(c->rules_ws), NULL) < 0)
		snprintf(c->rules_ws, sizeof(c->rules_ws), "%s", ws);
	procpath__release(&pp);
}

/*
 * Load the rules directory into a new set and, only if it parses and its
 * kernel knobs fit, make it current.  A failed reload keeps the old rules
 * (and the old kernel knobs) in force; err says why.
 */
static int load_rules(struct collector *c, char *err, size_t errlen)
{
	struct ruleset *rs;
	int r;

	if (!c->o->rules_dir)
		return 0;
	rs = ruleset__new();
	if (!rs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = ruleset__load_dir(rs, c->o->rules_dir, err, errlen);
	if (r) {
		ruleset__free(rs);
		return r;
	}
	r = push_knobs(c, rs);
	if (r) {
		snprintf(err, errlen, "the rules do not fit the kernel maps: %s", strerror(-r));
		ruleset__free(rs);
		if (c->rules)
			push_knobs(c, c->rules); /* put the old knobs back */
		return r;
	}
	ruleset__free(c->rules);
	c->rules = rs;
	set_rules_ws(c);
	return 0;
}

static volatile sig_atomic_t reload_flag;

static void on_sighup(int sig)
{
	(void)sig;
	reload_flag = 1;
}

static void reload(struct collector *c, const char *why, char *msg, size_t msglen)
{
	char err[512] = "";
	int r = load_rules(c, err, sizeof(err));

	if (r) {
		c->vc.reload_errors++;
		snprintf(msg, msglen, "reload failed, previous rules stay in force: %s", err);
	} else {
		c->vc.reloads++;
		snprintf(msg, msglen, "reloaded %zu rules from %s", ruleset__count(c->rules),
			 c->o->rules_dir);
	}
	fprintf(stderr, "agentwatch: %s (%s)\n", msg, why);
}

/* ---- control socket -------------------------------------------------------- */

/*
 * An agent can never approve its own block: any peer that is in an agent
 * session — root or not — is refused, whatever the command.  The session
 * map is the kernel's, so a process can't leave its session by forking,
 * setsid or reparenting.
 */
static bool control_allow(void *ctx, const struct control_peer *peer, const char *command)
{
	struct collector *c = ctx;
	struct aw_session ks;

	if (peer->pid > 0 && sensor__get_session(c->sensor, peer->pid, &ks) == 0) {
		c->vc.control_refused++;
		return false;
	}
	return true;
}

static void json_pending(struct collector *c, struct jsonw *w)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	size_t i;

	jsonw__key(w, "pending");
	jsonw__arr_begin(w);
	for (i = 0; i < MAX_PENDING; i++) {
		const struct pending *pd = &c->pending[i];
		const struct session *s;
		const struct proc *p, *chain[LINEAGE_MAX];
		bool complete;
		size_t n = 0, k;

		if (!pd->id)
			continue;
		s = session_for(c, pd->session_id);
		p = proctable__lookup(c->pt, pd->pid, pd->start);
		jsonw__obj_begin(w);
		jsonw__key(w, "id"); jsonw__u64(w, pd->id);
		jsonw__key(w, "pid"); jsonw__u64(w, pd->pid);
		jsonw__key(w, "agent"); jsonw__str(w, pd->agent);
		jsonw__key(w, "rule"); jsonw__str(w, pd->rule);
		jsonw__key(w, "message"); jsonw__str(w, pd->message);
		jsonw__key(w, "command"); jsonw__str(w, pd->cmdline);
		jsonw__key(w, "age_ms"); jsonw__u64(w, (now - pd->since_ns) / 1000000);
		jsonw__key(w, "timeout_ms");
		if (pd->deadline_ns)
			jsonw__u64(w, pd->deadline_ns > now ? (pd->deadline_ns - now) / 1000000 : 0);
		else
			jsonw__null(w);
		jsonw__key(w, "default");
		jsonw__str(w, pd->deadline_ns ? (pd->dflt == RA_NONE ? "allow" : "kill") : NULL);
		jsonw__key(w, "lineage");
		jsonw__arr_begin(w);
		if (p && s)
			n = proctable__lineage(c->pt, p, s->root_pid, s->root_start, chain,
					       LINEAGE_MAX, &complete);
		for (k = 0; k < n; k++) {
			jsonw__obj_begin(w);
			jsonw__key(w, "pid"); jsonw__u64(w, chain[k]->pid);
			jsonw__key(w, "exe"); jsonw__str(w, chain[k]->exe);
			jsonw__key(w, "argv"); json_argv(w, chain[k]->argv, chain[k]->argv_len);
			jsonw__obj_end(w);
		}
		jsonw__arr_end(w);
		jsonw__obj_end(w);
	}
	jsonw__arr_end(w);
}

static int control_handle(void *ctx, const struct control_peer *peer, int argc, char **argv,
			  struct jsonw *reply, char *errbuf, size_t errlen)
{
	struct collector *c = ctx;
	const char *cmd = argv[0];

	if (!strcmp(cmd, "pending")) {
		json_pending(c, reply);
		return 0;
	}
	if (!strcmp(cmd, "allow") || !strcmp(cmd, "deny")) {
		bool allow = cmd[0] == 'a';
		struct pending *pd;
		uint64_t id;
		char by[64];

		if (argc != 2 || parse_u64(argv[1], &id)) {
			snprintf(errbuf, errlen, "usage: %s ID", cmd);
			return -EINVAL;
		}
		pd = pending_find(c, id);
		if (!pd) {
			snprintf(errbuf, errlen, "no pending verdict %s", argv[1]);
			return -ENOENT;
		}
		if (allow)
			c->vc.human_allows++;
		else
			c->vc.human_denies++;
		snprintf(by, sizeof(by), "human (uid %u, pid %d)", peer->uid, peer->pid);
		jsonw__key(reply, "id"); jsonw__u64(reply, id);
		jsonw__key(reply, "pid"); jsonw__u64(reply, pd->pid);
		jsonw__key(reply, "verdict"); jsonw__str(reply, allow ? "allow" : "kill");
		pending_resolve(c, pd, allow, by);
		return 0;
	}
	if (!strcmp(cmd, "events")) {
		uint64_t since = 0, first, seq;
		size_t n = 0;

		if (argc > 2 || (argc == 2 && parse_u64(argv[1], &since))) {
			snprintf(errbuf, errlen, "usage: events [SINCE]");
			return -EINVAL;
		}
		first = c->recent_seq > RECENT_MAX ? c->recent_seq - RECENT_MAX + 1 : 1;
		if (since + 1 > first)
			first = since + 1;
		if (c->recent_seq >= first && c->recent_seq - first >= EVENTS_REPLY_MAX)
			first = c->recent_seq - EVENTS_REPLY_MAX + 1; /* only the newest */
		jsonw__key(reply, "events");
		jsonw__arr_begin(reply);
		for (seq = first; seq <= c->recent_seq; seq++) {
			const struct recent *r = &c->recent[seq % RECENT_MAX];

			if (r->seq == seq && r->json) {
				jsonw__raw(reply, r->json);
				n++;
			}
		}
		jsonw__arr_end(reply);
		jsonw__key(reply, "seq");
		jsonw__u64(reply, c->recent_seq);
		jsonw__key(reply, "skipped");
		jsonw__u64(reply, first > since + 1 ? first - since - 1 : 0);
		return 0;
	}
	if (!strcmp(cmd, "freeze") || !strcmp(cmd, "kill-session")) {
		bool kill = cmd[0] == 'k';
		struct pending *pd;
		uint64_t id;

		if (argc != 2 || parse_u64(argv[1], &id) || !(pd = pending_find(c, id))) {
			snprintf(errbuf, errlen, "usage: %s ID (a pending verdict's id)", cmd);
			return -EINVAL;
		}
		jsonw__key(reply, "id"); jsonw__u64(reply, id);
		jsonw__key(reply, "session");
		{
			char sid[24];

			snprintf(sid, sizeof(sid), "%016llx", (unsigned long long)pd->session_id);
			jsonw__str(reply, sid);
		}
		if (kill) {
			c->vc.human_denies++;
			signal_session(c, pd->session_id, SIGKILL, 0);
			pending_resolve(c, pd, false, "human (kill-session)");
		} else {
			/* Stop the whole session and keep the entry, now as a freeze:
			 * allow resumes everyone, deny kills everyone. */
			signal_session(c, pd->session_id, SIGSTOP, 0);
			copy_str(pd->message, sizeof(pd->message), "session frozen");
			pd->deadline_ns = 0;
		}
		return 0;
	}
	if (!strcmp(cmd, "reload")) {
		char msg[768];

		reload(c, "control socket", msg, sizeof(msg));
		if (c->vc.reload_errors && strstr(msg, "failed")) {
			snprintf(errbuf, errlen, "%s", msg);
			return -EINVAL;
		}
		jsonw__key(reply, "message"); jsonw__str(reply, msg);
		jsonw__key(reply, "rules"); jsonw__u64(reply, c->rules ? ruleset__count(c->rules) : 0);
		return 0;
	}
	if (!strcmp(cmd, "status")) {
		char path[PATH_MAX], *buf = NULL;
		size_t len;

		/* The same document as status.json, fresh. */
		write_status(c, false);
		snprintf(path, sizeof(path), "%s/status.json", c->o->state_dir);
		if (read_file_capped(path, 4 << 20, &buf, &len) == 0) {
			while (len && buf[len - 1] == '\n')
				buf[--len] = '\0';
			jsonw__key(reply, "status");
			jsonw__raw(reply, buf);
			free(buf);
		}
		return 0;
	}
	snprintf(errbuf, errlen, "unknown command %s (pending, allow ID, deny ID, freeze ID, "
		 "kill-session ID, events [SINCE], reload, status)", cmd);
	return -EINVAL;
}

/* ---- after a crash: the gap, and processes left stopped ------------------------ */

/*
 * A gated process that nobody resolved (its collector died): rebuild its
 * exec record from /proc — it is stopped, so argv, cwd and environment are
 * as they were at exec — and decide it as if it had just arrived.
 */
static void replay_orphan(struct collector *c, uint32_t pid)
{
	struct aw_exec_event *ev;
	struct aw_session ks;
	struct procinfo pi;
	size_t fl, el, cl, size;
	char *buf;

	for (size_t i = 0; i < MAX_PENDING; i++)
		if (c->pending[i].id && c->pending[i].pid == pid)
			return; /* its queued record already made it pending */
	if (procscan__one(c->o->proc_root, pid, false, &pi)) {
		sensor__gate_done(c->sensor, pid);
		return;
	}
	if (procsig_is_stopped(c->o->proc_root, pid) != 1 ||
	    sensor__get_session(c->sensor, pid, &ks)) {
		sensor__gate_done(c->sensor, pid); /* someone resumed it, or not ours */
		procinfo__release(&pi);
		return;
	}
	fl = el = strlen(pi.exe) + 1;
	cl = strlen(pi.cwd) + 1;
	size = sizeof(*ev) + pi.argv_len + fl + el + cl;
	buf = calloc(1, size);
	if (!buf) {
		procinfo__release(&pi);
		return;
	}
	ev = (struct aw_exec_event *)buf;
	ev->hdr.type = AW_EV_EXEC;
	ev->hdr.size = size;
	ev->hdr.ts = now_ns(CLOCK_BOOTTIME);
	ev->hdr.pid = ev->hdr.tid = pid;
	ev->hdr.start = pi.start_ns;
	ev->hdr.session_id = ks.id;
	ev->sess = ks;
	ev->ppid = pi.ppid;
	ev->uid = ev->euid = pi.uid;
	ev->flags = AW_EXEC_GATED | AW_EXEC_REPLAYED;
	ev->argv_len = ev->argv_total = pi.argv_len;
	ev->filename_len = fl;
	ev->exe_len = el;
	ev->cwd_len = cl;
	copy_str(ev->comm, sizeof(ev->comm), pi.comm);
	memcpy(ev->data, pi.argv, pi.argv_len);
	memcpy(ev->data + pi.argv_len, pi.exe, fl);
	memcpy(ev->data + pi.argv_len + fl, pi.exe, el);
	memcpy(ev->data + pi.argv_len + fl + el, pi.cwd, cl);
	procinfo__release(&pi);
	handle_exec(c, buf, size);
	free(buf);
}

/*
 * Processes the gate stopped whose record never reached us (the ring buffer
 * was full) would stay stopped for good: rebuild each one's exec from /proc
 * and decide it like any other.  Run every heartbeat for those older than
 * a second, and with min_age 0 at shutdown, after the kernel has stopped
 * stopping processes.
 */
static void sweep_gated(struct collector *c, uint64_t min_age_ns)
{
	uint32_t pids[256];
	size_t n = sensor__gated_stale(c->sensor, min_age_ns, pids, 256);

	for (size_t i = 0; i < n; i++)
		replay_orphan(c, pids[i]);
}

static void resume_after_gap(struct collector *c)
{
	const uint32_t *pids;
	uint64_t prev = 0;
	size_t n, i;
	bool took = sensor__takeover(c->sensor, &prev);

	n = sensor__orphans(c->sensor, &pids);
	if (took || n) {
		struct aw_event_hdr h = {0};
		char from[48];

		h.ts = now_ns(CLOCK_BOOTTIME);
		h.pid = getpid();
		if (c->text) {
			text_head(c, &h, NULL, "gap", C_RED);
			fprintf(c->out, "%s; %zu stopped process(es) to decide\n",
				took ? "reattached to the pinned programs of a collector that died" :
				       "a previous collector's pins were stale and replaced", n);
		}
		/* Built in text mode too: the audit log must show the gap. */
		json_common(c, "gap", &h, NULL, 0);
		jsonw__key(c->jw, "reattached");
		jsonw__bool(c->jw, took);
		jsonw__key(c->jw, "last_heartbeat");
		if (prev) {
			time_str(c, prev, from, sizeof(from));
			jsonw__str(c->jw, from);
		} else {
			jsonw__null(c->jw);
		}
		jsonw__key(c->jw, "stopped_processes");
		jsonw__u64(c->jw, n);
		finish_json(c);
	}
	/* Records the kernel queued while nobody read them come first: they
	 * decide most of the stopped processes themselves. */
	sensor__drain(c->sensor);
	for (i = 0; i < n; i++)
		replay_orphan(c, pids[i]);
	fflush(c->out);
}

/* ---- status ------------------------------------------------------------- */


/* What this sensor does with the kernel it got (user/featureset.h). */
static void coverage_of(const struct collector *c, struct coverage *cv)
{
	struct coverage_opts co = {
		.no_network = c->o->sensor.no_network,
		.enforcing = c->rules && !c->o->monitor,
		.breaker = c->o->sensor.breaker_n > 0,
	};

	features__coverage(sensor__features(c->sensor), &co, cv);
}

static void json_features(struct collector *c, struct jsonw *w)
{
	struct coverage cv;

	coverage_of(c, &cv);
	features__json(sensor__features(c->sensor), &cv, w);
}

/* p50/p99/max of the allowed gated execs' stop-to-resume time. */
static void json_gate_latency(struct collector *c, struct jsonw *w)
{
	jsonw__key(w, "gate_latency");
	jsonw__obj_begin(w);
	jsonw__key(w, "count"); jsonw__u64(w, c->gate_lat.count);
	jsonw__key(w, "p50_us"); jsonw__u64(w, lat__quantile_us(&c->gate_lat, 0.5));
	jsonw__key(w, "p99_us"); jsonw__u64(w, lat__quantile_us(&c->gate_lat, 0.99));
	jsonw__key(w, "max_us"); jsonw__u64(w, c->gate_lat.max_ns / 1000);
	jsonw__obj_end(w);
}

/* Every loss and enforcement counter, as status.json and the stop record
 * show them. */
static void json_counters(struct collector *c, struct jsonw *w, const uint64_t kc[AW_CNT_MAX])
{
	jsonw__key(w, "kernel_counters");
	jsonw__obj_begin(w);
	for (unsigned int i = 0; i < AW_CNT_MAX; i++) {
		jsonw__key(w, sensor__counter_name(i));
		jsonw__u64(w, kc[i]);
	}
	jsonw__obj_end(w);
	jsonw__key(w, "collector_counters");
	jsonw__obj_begin(w);
#define UC(name) jsonw__key(w, #name); jsonw__u64(w, c->uc.name)
	UC(decode_errors); UC(candidates_seen); UC(candidates_matched); UC(sessions_opened);
	UC(sessions_dropped); UC(unknown_process); UC(output_errors); UC(kernel_map_errors);
#undef UC
	jsonw__obj_end(w);
	jsonw__key(w, "enforcement_counters");
	jsonw__obj_begin(w);
#define VC(name) jsonw__key(w, #name); jsonw__u64(w, c->vc.name)
	VC(gated); VC(allowed); VC(killed); VC(paused); VC(denied_net); VC(late_kills);
	VC(pause_timeouts); VC(human_allows); VC(human_denies); VC(signal_errors);
	VC(reloads); VC(reload_errors); VC(control_refused); VC(breaker_trips);
	VC(protected_stops); VC(tamper);
#undef VC
	jsonw__obj_end(w);
}

/*
 * The collector's own start and stop, in the record stream and the audit
 * log: they bound the windows the log covers.  A start with no stop before
 * it means the previous collector died; the start says how many torn
 * records the log cut on recovery, and the stop carries every loss counter.
 */
static void collector_record(struct collector *c, bool start)
{
	struct aw_event_hdr h = {0};
	uint64_t kc[AW_CNT_MAX];

	h.ts = now_ns(CLOCK_BOOTTIME);
	h.pid = h.tid = getpid();
	if (c->text) {
		char red[256];

		text_head(c, &h, NULL, start ? "start" : "stop", C_DIM);
		fprintf(c->out, "agentwatch %s %s", AGENTWATCH_VERSION,
			start ? (c->o->monitor ? "monitor mode" : "enforce mode") : "stopped");
		if (start && features__reduced(sensor__features(c->sensor), red, sizeof(red)))
			fprintf(c->out, " %s(reduced: %s off)%s", col(c, C_YELLOW), red,
				col(c, C_RESET));
		fputc('\n', c->out);
	}
	json_common(c, "collector", &h, NULL, getppid());
	jsonw__key(c->jw, "event");
	jsonw__str(c->jw, start ? "start" : "stop");
	jsonw__key(c->jw, "version");
	jsonw__str(c->jw, AGENTWATCH_VERSION);
	if (start) {
		jsonw__key(c->jw, "mode");
		jsonw__str(c->jw, c->o->monitor ? "monitor" : "enforce");
		jsonw__key(c->jw, "rules_dir");
		jsonw__str(c->jw, c->o->rules_dir);
		jsonw__key(c->jw, "rules");
		jsonw__u64(c->jw, c->rules ? ruleset__count(c->rules) : 0);
		jsonw__key(c->jw, "agent_signatures");
		jsonw__u64(c->jw, agentset__count(c->agents));
		jsonw__key(c->jw, "network_hooks");
		jsonw__bool(c->jw, sensor__network_attached(c->sensor));
		jsonw__key(c->jw, "fallback");
		jsonw__str(c->jw, c->o->sensor.gate_fallback == AW_FALLBACK_ALLOW ? "allow" : "kill");
		/* What the kernel gave this run: a reviewer of the log sees a
		 * reduced sensor's limits where its records begin. */
		json_features(c, c->jw);
		if (c->log) {
			struct auditlog_stats ls;

			auditlog__stats(c->log, &ls);
			jsonw__key(c->jw, "log_torn_cut");
			jsonw__u64(c->jw, ls.torn_cut);
		}
	} else {
		if (sensor__counters(c->sensor, kc))
			memset(kc, 0, sizeof(kc));
		json_counters(c, c->jw, kc);
		json_gate_latency(c, c->jw);
	}
	/* Durable: a stop record that made it to disk is the proof of a
	 * clean stop. */
	c->durable = true;
	finish_json(c);
}

/* Kernel counters that mean a record, or the tracking of a process, was lost. */
static bool is_loss_counter(unsigned int i)
{
	return i <= AW_CNT_RB_FAIL_FILE || i == AW_CNT_RB_FAIL_TAMPER || i == AW_CNT_SESSIONS_FULL ||
	       i == AW_CNT_INFLIGHT_FULL || i == AW_CNT_READ_FAIL;
}

/*
 * Losses go on record as they happen, not only in status: a "loss" record
 * with what was lost since the last one, so `log sessions` can tell which
 * sessions ran while the sensor was blind.
 */
static const char *const degraded_name[] = { "keep", "freeze", "gate" };

/*
 * A session just lost records: the sensor no longer saw all of it.  The
 * operator chose what that means (--degraded): keep going, freeze the
 * whole session until a human looks (allow resumes it, deny kills it), or
 * from now on stop every exec in it for a verdict, so that nothing more
 * runs unseen.
 */
static void degrade(struct collector *c, struct session *s)
{
	struct pending *pd;
	struct proc *root;

	switch (c->o->degraded) {
	case DEGRADED_KEEP:
		return;
	case DEGRADED_GATE:
		/* Gating every exec needs the kernel to stop them; a reduced
		 * sensor freezes the session instead (said at start). */
		if (features__on(sensor__features(c->sensor), FEAT_SEND_SIGNAL)) {
			sensor__session_set_flag(c->sensor, s->id, AW_SESS_GATE_ALL);
			return;
		}
		/* fall through */
	case DEGRADED_FREEZE:
		root = proctable__lookup(c->pt, s->root_pid, s->root_start);
		pd = pending_hold(c, s->root_pid, s->root_start, s, RA_FREEZE, NULL,
				  root ? root->argv : NULL, root ? root->argv_len : 0);
		signal_session(c, s->id, SIGSTOP, 0);
		if (!pd)
			return; /* frozen anyway; `agentwatch watch` can't list it */
		copy_str(pd->rule, sizeof(pd->rule), "degraded-session");
		return;
	}
}

struct sess_loss {
	struct session *s;
	uint64_t delta;
};

struct sess_losses {
	struct collector *c;
	struct sess_loss v[64];
	size_t n;
};

/* A session whose kernel loss count rose since we last looked. */
static int sess_loss_cb(uint64_t sid, uint64_t lost, void *ctx)
{
	struct sess_losses *l = ctx;
	struct session *s = session_find(l->c, sid);
	bool first;

	if (!s || lost <= s->lost || l->n >= sizeof(l->v) / sizeof(l->v[0]))
		return 0;
	first = s->lost == 0;
	l->v[l->n].s = s;
	l->v[l->n++].delta = lost - s->lost;
	s->lost = lost;
	if (first)
		degrade(l->c, s);
	return 0;
}

static void check_losses(struct collector *c)
{
	uint64_t kc[AW_CNT_MAX + 1], dropped = 0;
	struct aw_event_hdr h = {0};
	struct sess_losses sl = { .c = c };
	bool any = false;
	unsigned int i;
	char id[20];

	if (sensor__counters(c->sensor, kc))
		return;
	sensor__session_losses_each(c->sensor, sess_loss_cb, &sl);
	kc[AW_CNT_MAX] = c->uc.decode_errors;
	for (i = 0; i <= AW_CNT_MAX; i++)
		if ((i == AW_CNT_MAX || is_loss_counter(i)) && kc[i] > c->loss_seen[i])
			any = true;
	if (!any && !sl.n)
		return;
	h.ts = now_ns(CLOCK_BOOTTIME);
	h.pid = h.tid = getpid();
	json_common(c, "loss", &h, NULL, getppid());
	jsonw__key(c->jw, "source");
	jsonw__str(c->jw, "sensor");
	jsonw__key(c->jw, "counters");
	jsonw__obj_begin(c->jw);
	for (i = 0; i <= AW_CNT_MAX; i++) {
		if ((i != AW_CNT_MAX && !is_loss_counter(i)) || kc[i] <= c->loss_seen[i])
			continue;
		jsonw__key(c->jw, i == AW_CNT_MAX ? "decode_errors" : sensor__counter_name(i));
		jsonw__u64(c->jw, kc[i] - c->loss_seen[i]);
		if (i <= AW_CNT_RB_FAIL_FILE || i == AW_CNT_RB_FAIL_TAMPER || i == AW_CNT_MAX)
			dropped += kc[i] - c->loss_seen[i];
		c->loss_seen[i] = kc[i];
	}
	jsonw__obj_end(c->jw);
	jsonw__key(c->jw, "dropped");
	jsonw__u64(c->jw, dropped);
	jsonw__key(c->jw, "degraded_policy");
	jsonw__str(c->jw, degraded_name[c->o->degraded]);
	/* Exactly which sessions lost what (records of processes outside any
	 * session, with --all, are in dropped but in no session). */
	jsonw__key(c->jw, "sessions");
	jsonw__arr_begin(c->jw);
	for (size_t k = 0; k < sl.n; k++) {
		snprintf(id, sizeof(id), "%016llx", (unsigned long long)sl.v[k].s->id);
		jsonw__obj_begin(c->jw);
		jsonw__key(c->jw, "session"); jsonw__str(c->jw, id);
		jsonw__key(c->jw, "agent"); jsonw__str(c->jw, sl.v[k].s->agent);
		jsonw__key(c->jw, "lost"); jsonw__u64(c->jw, sl.v[k].delta);
		jsonw__obj_end(c->jw);
	}
	jsonw__arr_end(c->jw);
	if (c->text) {
		text_head(c, &h, NULL, "loss", C_RED);
		fprintf(c->out, "%llu record(s) lost; the sensor was partly blind\n",
			(unsigned long long)dropped);
	}
	finish_json(c);
}

/* ---- Prometheus metrics (--metrics) ----------------------------------------- */

static void prom_counter(struct prom_buf *b, const char *name, const char *help, uint64_t v)
{
	prom__family(b, name, PROM_COUNTER, help);
	prom__sample_u64(b, name, NULL, v);
}

static void prom_gauge(struct prom_buf *b, const char *name, const char *help, double v)
{
	prom__family(b, name, PROM_GAUGE, help);
	prom__sample(b, name, NULL, v);
}

static size_t live_sessions(const struct collector *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_sessions; i++)
		n += c->sessions[i].id != 0;
	return n;
}

/* Losses by point: the kernel's, the collector's and the log's. */
static void prom_losses(struct collector *c, struct prom_buf *b, const uint64_t kc[AW_CNT_MAX])
{
	static const char name[] = "agentwatch_lost_total";
	struct auditlog_stats ls = {0};

	prom__family(b, name, PROM_COUNTER, "Records or tracking lost, by where they were lost.");
	for (unsigned int i = 0; i < AW_CNT_MAX; i++) {
		const char *l[] = { "point", sensor__counter_name(i), NULL };

		if (is_loss_counter(i))
			prom__sample_u64(b, name, l, kc[i]);
	}
	if (c->log)
		auditlog__stats(c->log, &ls);
	{
		const char *l1[] = { "point", "decode_errors", NULL };
		const char *l2[] = { "point", "output_errors", NULL };
		const char *l3[] = { "point", "log_dropped", NULL };
		const char *l4[] = { "point", "log_append_errors", NULL };

		prom__sample_u64(b, name, l1, c->uc.decode_errors);
		prom__sample_u64(b, name, l2, c->uc.output_errors);
		prom__sample_u64(b, name, l3, ls.enospc_dropped);
		prom__sample_u64(b, name, l4, c->log_errors);
	}
}

static int metrics_render(void *ctx, struct prom_buf *b)
{
	static const char *const eval_kind[] = { "exec", "file", "net" };
	struct collector *c = ctx;
	uint64_t kc[AW_CNT_MAX];
	struct proctable_stats st;
	size_t i;

	if (sensor__counters(c->sensor, kc))
		memset(kc, 0, sizeof(kc));
	proctable__stats(c->pt, &st);
	{
		const char *l[] = { "version", AGENTWATCH_VERSION, "mode",
				    c->o->monitor ? "monitor" : "enforce", NULL };

		prom__family(b, "agentwatch_info", PROM_GAUGE, "The running collector.");
		prom__sample(b, "agentwatch_info", l, 1);
	}
	prom__family(b, "agentwatch_feature", PROM_GAUGE,
		     "Kernel features the sensor runs with (1) or without (0: reduced mode).");
	for (i = 0; i < FEAT_MAX; i++) {
		const struct feature_info *fi = feature__info(i);
		const char *l[] = { "feature", fi->name, NULL };

		if (!fi->unused)
			prom__sample(b, "agentwatch_feature", l,
				     features__on(sensor__features(c->sensor), i));
	}
	prom__family(b, "agentwatch_records_total", PROM_COUNTER, "Records written, by type.");
	for (i = 0; i < N_REC_TYPES; i++) {
		const char *l[] = { "type", rec_types[i], NULL };

		prom__sample_u64(b, "agentwatch_records_total", l, c->records_by_type[i]);
	}
	prom__family(b, "agentwatch_sensor_events_total", PROM_COUNTER,
		     "Kernel-side counters of the sensor, by name.");
	for (i = 0; i < AW_CNT_MAX; i++) {
		const char *l[] = { "counter", sensor__counter_name(i), NULL };

		prom__sample_u64(b, "agentwatch_sensor_events_total", l, kc[i]);
	}
	prom_losses(c, b, kc);
	prom__family(b, "agentwatch_verdicts_total", PROM_COUNTER,
		     "Verdicts by rule, action, and who decided (a rule at the event, a human, a timeout).");
	for (i = 0; i < c->n_vcounts; i++) {
		const struct vcount *v = &c->vcounts[i];
		const char *l[] = { "rule", v->rule, "action", v->action, "decided_by", v->by, NULL };

		prom__sample_u64(b, "agentwatch_verdicts_total", l, v->n);
	}
	prom_gauge(b, "agentwatch_pending", "Commands paused, waiting for a human verdict.",
		   (double)pending_count(c));
	prom_gauge(b, "agentwatch_sessions", "Agent sessions the collector tracks now.",
		   (double)live_sessions(c));
	prom_counter(b, "agentwatch_sessions_opened_total", "Agent sessions opened.",
		     c->uc.sessions_opened);
	prom_gauge(b, "agentwatch_processes", "Processes in the process table.", (double)st.live);
	prom_gauge(b, "agentwatch_rules", "Rules loaded.",
		   (double)(c->rules ? ruleset__count(c->rules) : 0));
	prom_counter(b, "agentwatch_rule_reloads_total", "Rule reloads that succeeded.", c->vc.reloads);
	prom_counter(b, "agentwatch_rule_reload_errors_total", "Rule reloads that failed (old rules kept).",
		     c->vc.reload_errors);
	prom__family(b, "agentwatch_rule_eval_seconds", PROM_HISTOGRAM,
		     "Time to evaluate the rules against one event, by event kind.");
	for (i = 0; i < 3; i++) {
		const char *l[] = { "kind", eval_kind[i], NULL };

		prom__histogram(b, "agentwatch_rule_eval_seconds", l, &c->eval_hist[i]);
	}
	prom__family(b, "agentwatch_gate_latency_seconds", PROM_HISTOGRAM,
		     "Allowed gated execs: from the kernel's exec timestamp to the collector's SIGCONT.");
	prom__histogram(b, "agentwatch_gate_latency_seconds", NULL, &c->gate_hist);
	if (c->log) {
		struct auditlog_stats ls;

		auditlog__stats(c->log, &ls);
		prom_counter(b, "agentwatch_log_records_total", "Records appended to the audit log.",
			     ls.records);
		prom_gauge(b, "agentwatch_log_segments", "Audit log segments on disk.", (double)ls.segments);
	}
	if (c->slog) {
		struct slog_stats ss;
		const char *lq[] = { "reason", "queue_full", NULL };
		const char *li[] = { "reason", "invalid", NULL };
		const char *ls[] = { "reason", "send", NULL };

		slog__stats(c->slog, &ss);
		prom_counter(b, "agentwatch_syslog_sent_total", "Messages handed to the syslog socket.",
			     ss.sent);
		prom__family(b, "agentwatch_syslog_dropped_total", PROM_COUNTER,
			     "Syslog messages dropped, by reason.");
		prom__sample_u64(b, "agentwatch_syslog_dropped_total", lq, ss.dropped_queue_full);
		prom__sample_u64(b, "agentwatch_syslog_dropped_total", li, ss.dropped_invalid);
		prom__sample_u64(b, "agentwatch_syslog_dropped_total", ls, ss.dropped_send);
		prom_gauge(b, "agentwatch_syslog_connected", "1 while the syslog socket is up.",
			   ss.connected);
		prom_gauge(b, "agentwatch_syslog_queued", "Syslog messages waiting to be sent.",
			   (double)ss.queued);
	}
	prom_gauge(b, "agentwatch_up_seconds", "Seconds since the collector started.",
		   (double)(now_ns(CLOCK_BOOTTIME) - c->started_ns) / 1e9);
	return 0;
}

static void write_status(struct collector *c, bool final)
{
	uint64_t kc[AW_CNT_MAX];
	struct proctable_stats st;
	char path[PATH_MAX], tmp[PATH_MAX + 8], buf[512];
	struct jsonw *w;
	size_t i, len;
	const char *d;
	FILE *f;

	if (!c->o->state_dir || !*c->o->state_dir)
		return;
	if (sensor__counters(c->sensor, kc))
		memset(kc, 0, sizeof(kc));
	proctable__stats(c->pt, &st);
	w = jsonw__new();
	if (!w)
		return;
	jsonw__obj_begin(w);
	jsonw__key(w, "pid");
	jsonw__u64(w, getpid());
	jsonw__key(w, "running");
	jsonw__bool(w, !final);
	jsonw__key(w, "updated");
	format_rfc3339_ns(now_ns(CLOCK_REALTIME), buf, sizeof(buf));
	jsonw__str(w, buf);
	jsonw__key(w, "agents_signatures");
	jsonw__u64(w, agentset__count(c->agents));
	jsonw__key(w, "network_hooks");
	jsonw__bool(w, sensor__network_attached(c->sensor));
	jsonw__key(w, "cgroup2");
	jsonw__str(w, sensor__cgroup_path(c->sensor));
	json_features(c, w);
	json_counters(c, w, kc);
	jsonw__key(w, "mode");
	jsonw__str(w, c->o->monitor ? "monitor" : "enforce");
	jsonw__key(w, "rules_dir");
	jsonw__str(w, c->o->rules_dir);
	jsonw__key(w, "rules");
	jsonw__u64(w, c->rules ? ruleset__count(c->rules) : 0);
	jsonw__key(w, "pending");
	jsonw__u64(w, pending_count(c));
	jsonw__key(w, "log");
	if (c->log) {
		struct auditlog_stats ls;

		auditlog__stats(c->log, &ls);
		jsonw__obj_begin(w);
		jsonw__key(w, "dir"); jsonw__str(w, c->o->log_dir);
		jsonw__key(w, "head"); jsonw__str(w, auditlog__head(c->log));
		jsonw__key(w, "records"); jsonw__u64(w, ls.records);
		jsonw__key(w, "segments"); jsonw__u64(w, ls.segments);
		jsonw__key(w, "dropped"); jsonw__u64(w, ls.enospc_dropped);
		jsonw__key(w, "write_errors"); jsonw__u64(w, ls.write_errors);
		jsonw__key(w, "torn_cut"); jsonw__u64(w, ls.torn_cut);
		jsonw__key(w, "append_errors"); jsonw__u64(w, c->log_errors);
		jsonw__obj_end(w);
	} else {
		jsonw__null(w);
	}
	json_gate_latency(c, w);
	jsonw__key(w, "syslog");
	if (c->slog) {
		struct slog_stats ss;

		slog__stats(c->slog, &ss);
		jsonw__obj_begin(w);
		jsonw__key(w, "dest"); jsonw__str(w, c->o->syslog_dest);
		jsonw__key(w, "connected"); jsonw__bool(w, ss.connected);
		jsonw__key(w, "sent"); jsonw__u64(w, ss.sent);
		jsonw__key(w, "dropped"); jsonw__u64(w, ss.dropped);
		jsonw__key(w, "queued"); jsonw__u64(w, ss.queued);
		jsonw__key(w, "truncated"); jsonw__u64(w, ss.truncated);
		jsonw__key(w, "disconnects"); jsonw__u64(w, ss.disconnects);
		jsonw__key(w, "last_error");
		jsonw__str(w, ss.last_error ? strerror(ss.last_error) : NULL);
		jsonw__obj_end(w);
	} else {
		jsonw__null(w);
	}
	jsonw__key(w, "process_table");
	jsonw__obj_begin(w);
	jsonw__key(w, "live"); jsonw__u64(w, st.live);
	jsonw__key(w, "exited"); jsonw__u64(w, st.exited);
	jsonw__key(w, "evicted"); jsonw__u64(w, st.evicted);
	jsonw__key(w, "bytes"); jsonw__u64(w, st.bytes);
	jsonw__key(w, "max"); jsonw__u64(w, c->o->max_procs);
	jsonw__obj_end(w);
	jsonw__key(w, "sessions");
	jsonw__arr_begin(w);
	for (i = 0; i < c->n_sessions; i++) {
		const struct session *s = &c->sessions[i];

		if (!s->id)
			continue;
		jsonw__obj_begin(w);
		jsonw__key(w, "id");
		snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)s->id);
		jsonw__str(w, buf);
		jsonw__key(w, "agent"); jsonw__str(w, s->agent);
		jsonw__key(w, "root_pid"); jsonw__u64(w, s->root_pid);
		jsonw__key(w, "reason"); jsonw__str(w, reason_name(s->reason));
		jsonw__key(w, "workspace"); jsonw__str(w, s->workspace);
		jsonw__key(w, "lost"); jsonw__u64(w, s->lost);
		jsonw__key(w, "degraded"); jsonw__bool(w, s->lost > 0);
		jsonw__key(w, "active"); jsonw__bool(w, !s->root_exited);
		jsonw__key(w, "execs"); jsonw__u64(w, s->n_exec);
		jsonw__key(w, "file_events"); jsonw__u64(w, s->n_file);
		jsonw__key(w, "net_events"); jsonw__u64(w, s->n_net);
		jsonw__obj_end(w);
	}
	jsonw__arr_end(w);
	jsonw__obj_end(w);

	if (snprintf(path, sizeof(path), "%s/status.json", c->o->state_dir) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		goto out;
	f = fopen(tmp, "we");
	if (!f)
		goto out;
	d = jsonw__data(w, &len);
	fwrite(d, 1, len, f);
	fputc('\n', f);
	if (fclose(f) == 0)
		rename(tmp, path);
out:
	jsonw__free(w);
}

static void print_counters(struct collector *c)
{
	uint64_t kc[AW_CNT_MAX];
	size_t i;

	if (sensor__counters(c->sensor, kc))
		return;
	fprintf(stderr, "agentwatch: counters:");
	for (i = 0; i < AW_CNT_MAX; i++)
		fprintf(stderr, " %s=%llu", sensor__counter_name(i), (unsigned long long)kc[i]);
#define UC(name) fprintf(stderr, " " #name "=%llu", (unsigned long long)c->uc.name)
	UC(decode_errors); UC(candidates_seen); UC(candidates_matched); UC(sessions_opened);
	UC(sessions_dropped); UC(unknown_process); UC(output_errors); UC(kernel_map_errors);
#undef UC
	fputc('\n', stderr);
}

/* ---- main loop ----------------------------------------------------------- */

static int open_output(struct collector *c)
{
	const struct collector_opts *o = c->o;

	if (!o->output || !strcmp(o->output, "-")) {
		c->out = stdout;
	} else {
		int fd = open(o->output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0 || !(c->out = fdopen(fd, "a"))) {
			int err = -errno;

			fprintf(stderr, "agentwatch: failed to open output %s: %s\n", o->output,
				strerror(-err));
			if (fd >= 0)
				close(fd);
			return err;
		}
	}
	switch (o->format) {
	case OUT_JSON:
	case OUT_OCSF: c->text = false; break;
	case OUT_TEXT: c->text = true; break;
	default: c->text = isatty(fileno(c->out)); break;
	}
	c->color = c->text && o->color && isatty(fileno(c->out));
	return 0;
}

/*
 * How long the loop may sleep once the ring buffer had nothing to read:
 * until the next heartbeat, or sooner for the audit log's next flush or
 * rotation and for --duration.  -1 when that is no longer than the short
 * timer (or syslog has work queued): no nap then.
 */
static int nap_ms(struct collector *c, uint64_t now, uint64_t last_beat, uint64_t deadline)
{
	uint64_t ms = last_beat + HEARTBEAT_NS > now ? (last_beat + HEARTBEAT_NS - now) / 1000000 : 0;
	int lt;

	if (!slog__idle(c->slog))
		return -1;
	lt = auditlog__timeout_ms(c->log, now_ns(CLOCK_REALTIME) / 1000000);
	if (lt >= 0 && (uint64_t)lt < ms)
		ms = (uint64_t)lt;
	if (deadline && (deadline > now ? (deadline - now) / 1000000 : 0) < ms)
		ms = deadline > now ? (deadline - now) / 1000000 : 0;
	return ms <= COLLECTOR_POLL_MS ? -1 : (int)ms;
}

int collector_run(const struct collector_opts *o, const char *default_agents)
{
	struct collector *c;
	struct sigaction sa;
	uint64_t deadline = 0, last_status = 0, last_beat = 0;
	long tck = sysconf(_SC_CLK_TCK);
	bool napping = false, can_nap;
	int err, nap = -1;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->o = o;
	c->tick_ns = tck > 0 ? 1000000000ull / tck : 10000000ull;
	c->boot_off = boot_to_realtime_offset();
	c->started_ns = now_ns(CLOCK_BOOTTIME);
	c->jw = jsonw__new();
	c->pt = proctable__new(o->max_procs);
	if (!c->jw || !c->pt) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < 3; i++)
		prom_hist__init(&c->eval_hist[i], prom_hist_latency_ns, PROM_HIST_LATENCY_N);
	prom_hist__init(&c->gate_hist, prom_hist_latency_ns, PROM_HIST_LATENCY_N);
	if (gethostname(c->hostname, sizeof(c->hostname) - 1))
		c->hostname[0] = '\0';
	c->ocsf.hostname = c->hostname[0] ? c->hostname : NULL;
	c->ocsf.product_version = AGENTWATCH_VERSION;
	if ((o->format == OUT_OCSF || o->syslog_ocsf) && !(c->ocsf_w = jsonw__new())) {
		err = -ENOMEM;
		goto cleanup;
	}
	if ((err = load_agents(c, default_agents)))
		goto cleanup;
	if ((err = open_output(c)))
		goto cleanup;
	if (o->log_dir && *o->log_dir) {
		struct auditlog_opts lo = {
			.dir = o->log_dir,
			.segment_bytes = o->log_segment_bytes,
			.retain_bytes = o->log_retain_bytes,
			/* gzip off the loop that releases gated processes */
			.gzip_thread = true,
		};
		int lerr = auditlog__open(&lo, &c->log);

		/* Enforcement matters more than the log: run without it, say so,
		 * and show it in status ("log": null). */
		if (lerr)
			fprintf(stderr, "agentwatch: cannot open the audit log in %s: %s; running "
				"without a durable log\n", o->log_dir, strerror(-lerr));
	}
	if (o->state_dir && *o->state_dir && mkdir_p(o->state_dir, 0700)) {
		err = -errno;
		fprintf(stderr, "agentwatch: failed to create state dir %s: %s\n", o->state_dir,
			strerror(-err));
		goto cleanup;
	}

	if ((err = sensor__open(&o->sensor, on_event, c, &c->sensor)))
		goto cleanup;
	if ((err = agentset__kernel_entries(c->agents, push_name, c)))
		goto cleanup;
	procpath_cache__init(&c->pcache);
	c->rates = ratetab__new(0);
	if (!c->rates) {
		err = -ENOMEM;
		goto cleanup;
	}
	{
		char rerr[512] = "";

		if ((err = load_rules(c, rerr, sizeof(rerr)))) {
			fprintf(stderr, "agentwatch: %s\n", rerr);
			goto cleanup;
		}
	}
	if (o->control_path && *o->control_path &&
	    (err = control__open(o->control_path, control_handle, control_allow, c, &c->control))) {
		fprintf(stderr, "agentwatch: failed to open control socket %s: %s\n",
			o->control_path, strerror(-err));
		goto cleanup;
	}
	if (o->syslog_dest && *o->syslog_dest) {
		struct slog_opts so = { .dest = o->syslog_dest, .facility = o->syslog_facility,
					.no_bom = o->syslog_no_bom };
		char serr[256];

		/* A receiver that is down is retried; a destination that can't
		 * be parsed or resolved is the operator's to fix now. */
		if ((err = slog__open(&so, &c->slog, serr, sizeof(serr)))) {
			fprintf(stderr, "agentwatch: %s\n", serr);
			goto cleanup;
		}
		c->slog_chain_next_ns = now_ns(CLOCK_MONOTONIC) +
					(uint64_t)o->syslog_chain_s * 1000000000ull;
	}
	if (o->metrics_addr && *o->metrics_addr) {
		char buf[128];

		if ((err = metrics__open(o->metrics_addr, &c->metrics))) {
			fprintf(stderr, "agentwatch: failed to serve metrics on %s: %s\n",
				o->metrics_addr, strerror(-err));
			goto cleanup;
		}
		metrics__addr(c->metrics, buf, sizeof(buf));
		fprintf(stderr, "agentwatch: metrics on http://%s/metrics\n", buf);
	}
	if ((err = seed_sessions(c)))
		goto cleanup;
	/* Losses a predecessor already reported (pinned counters) are not ours. */
	if (sensor__counters(c->sensor, c->loss_seen))
		memset(c->loss_seen, 0, sizeof(c->loss_seen));
	collector_record(c, true);
	syslog_chain_head(c);   /* the head this run starts from */
	resume_after_gap(c);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_sighup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	{
		char red[256];

		if (o->degraded == DEGRADED_GATE &&
		    !features__on(sensor__features(c->sensor), FEAT_SEND_SIGNAL))
			fprintf(stderr, "agentwatch: --degraded gate needs the kernel to stop execs "
				"(send_signal): a degraded session is frozen instead\n");
		fprintf(stderr, "agentwatch: watching (%zu agent signatures, %zu rules, %s mode%s%s%s%s); "
			"Ctrl-C to stop\n", agentset__count(c->agents),
			c->rules ? ruleset__count(c->rules) : 0, o->monitor ? "monitor" : "enforce",
			o->sensor.all_execs ? ", all execs" : "",
			sensor__network_attached(c->sensor) ? "" : ", no network hooks",
			features__reduced(sensor__features(c->sensor), red, sizeof(red)) ?
				", reduced: " : "", red);
	}
	if (o->duration_s > 0)
		deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)o->duration_s * 1000000000ull;
	write_status(c, false);
	/* A predecessor's pinned map may say it was napping, or lack the slot
	 * (then we never nap). */
	can_nap = sensor__set_napping(c->sensor, false) == 0;

	while (!stop_flag) {
		struct pollfd pfd[3];
		uint64_t now;
		int nfd = 0, timeout = napping ? nap : COLLECTOR_POLL_MS, n, ci = -1, mi = -1;
		int drained;

		pfd[nfd].fd = sensor__fd(c->sensor);
		pfd[nfd++].events = POLLIN;
		if (c->control) {
			int ct = control__timeout_ms(c->control);

			ci = nfd;
			pfd[nfd].fd = control__fd(c->control);
			pfd[nfd++].events = POLLIN;
			if (ct >= 0 && ct < timeout)
				timeout = ct;
		}
		if (c->metrics) {
			int mt = metrics__timeout_ms(c->metrics);

			mi = nfd;
			pfd[nfd].fd = metrics__fd(c->metrics);
			pfd[nfd++].events = POLLIN;
			if (mt >= 0 && mt < timeout)
				timeout = mt;
		}
		/* Ordinary records don't wake us while we are awake (see
		 * emit_flags() in bpf/maps.bpf.h): the short timeout is what
		 * bounds their latency.  Napping, the first record wakes us. */
		n = poll(pfd, nfd, timeout);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			fprintf(stderr, "agentwatch: poll failed: %s\n", strerror(-err));
			break;
		}
		drained = n = sensor__drain(c->sensor);
		if (n < 0) {
			err = n;
			fprintf(stderr, "agentwatch: ring buffer read failed: %s\n", strerror(-err));
			break;
		}
		/* Busy again: back to the short timer, without a wakeup per record. */
		if (napping && drained > 0) {
			sensor__set_napping(c->sensor, false);
			napping = false;
		}
		/* The sockets are served when they have something (readiness,
		 * or a client deadline due), not on every ring buffer wakeup:
		 * an accept() that finds nobody is latency for the gate. */
		if (c->control && ci >= 0 && (pfd[ci].revents || !control__timeout_ms(c->control)))
			control__process(c->control);
		if (c->metrics && mi >= 0 && (pfd[mi].revents || !metrics__timeout_ms(c->metrics)))
			metrics__process(c->metrics, metrics_render, c);
		if (c->slog)
			syslog_tick(c);
		if (c->log)
			auditlog__tick(c->log, now_ns(CLOCK_REALTIME) / 1000000);
		if (reload_flag) {
			char msg[768];

			reload_flag = 0;
			reload(c, "SIGHUP", msg, sizeof(msg));
		}
		fflush(c->out);
		now = now_ns(CLOCK_MONOTONIC);
		if (now - last_beat >= HEARTBEAT_NS) {
			sensor__heartbeat(c->sensor);
			pending_expire(c);
			sweep_gated(c, 1000000000ull);
			last_beat = now;
		}
		if (now - last_status > 1000000000ull) {
			check_losses(c);
			write_status(c, false);
			last_status = now;
		}
		if (deadline && now >= deadline)
			break;
		nap = drained || !can_nap ? -1 : nap_ms(c, now, last_beat, deadline);
		if (nap > 0 && !napping) {
			if (sensor__set_napping(c->sensor, true)) {
				can_nap = false;
			} else if (sensor__drain(c->sensor) > 0) {
				/* A record the kernel sent before it saw the flag
				 * did not wake us: it is read now, and we stay up. */
				sensor__set_napping(c->sensor, false);
			} else {
				napping = true;
			}
		} else if (nap <= 0 && napping) {
			sensor__set_napping(c->sensor, false);
			napping = false;
		}
	}
	if (napping)
		sensor__set_napping(c->sensor, false);
	/* Stop stopping processes, then drain what the kernel already queued
	 * and pick up any stopped process whose record was lost: after this
	 * nobody is left stopped that we don't know of. */
	sensor__quiesce(c->sensor);
	sensor__drain(c->sensor);
	sweep_gated(c, 0);
	/* Nobody will decide for paused processes after we go: apply each
	 * one's default now rather than leave it stopped for good. */
	for (size_t i = 0; i < MAX_PENDING; i++)
		if (c->pending[i].id)
			pending_resolve(c, &c->pending[i], c->pending[i].dflt == RA_NONE &&
					c->pending[i].deadline_ns, "collector exit");
	check_losses(c);
	collector_record(c, false);
	if (c->slog) {
		struct slog_stats ss;

		/* The last head, then give the receiver a moment to take it all. */
		syslog_chain_head(c);
		if (slog__drain(c->slog, 2000)) {
			slog__stats(c->slog, &ss);
			fprintf(stderr, "agentwatch: syslog: %llu message(s) not delivered at exit\n",
				(unsigned long long)ss.queued);
		}
	}
	fflush(c->out);
	write_status(c, true);
	print_counters(c);
cleanup:
	control__free(c->control);
	metrics__free(c->metrics);
	slog__free(c->slog);
	jsonw__free(c->ocsf_w);
	free(c->vcounts);
	auditlog__free(c->log);
	sensor__free(c->sensor);
	if (c->out && c->out != stdout)
		fclose(c->out);
	agentset__free(c->agents);
	ruleset__free(c->rules);
	ratetab__free(c->rates);
	procpath_cache__free(&c->pcache);
	for (size_t i = 0; i < c->n_net_rule_ids; i++)
		free(c->net_rule_ids[i]);
	for (size_t i = 0; i < RECENT_MAX; i++)
		free(c->recent[i].json);
	proctable__free(c->pt);
	jsonw__free(c->jw);
	for (size_t i = 0; i < c->n_sessions; i++)
		session_release(&c->sessions[i]);
	free(c);
	return err;
}
