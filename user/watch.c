// SPDX-License-Identifier: GPL-2.0
/*
 * `agentwatch watch`: the reviewer's terminal.  It polls the collector over
 * the control socket for new records (`events SINCE`) and for the commands
 * waiting on a human (`pending`), draws both, and takes single keys:
 *
 *   a allow   d deny   f freeze the session   k kill the session
 *   up/down (or tab) choose a pending command   q quit
 *
 * Every byte that came from an agent (argv, paths) goes through
 * text_escape() before it reaches the terminal.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "json.h"
#include "jsonr.h"
#include "util.h"
#include "watch.h"

#define LINES_KEPT 500
#define LINE_MAX_BYTES 1024
#define REFRESH_MS 250

struct view {
	const char *path;
	bool color;
	uint64_t seq;
	char *lines[LINES_KEPT];
	size_t n_lines, head;           /* ring of rendered event lines */
	struct jdoc *pending;           /* last `pending` reply */
	size_t n_pending, sel;
	char status[256];
	bool connected;
};

static volatile sig_atomic_t watch_stop;
static struct termios saved_tio;
static bool tio_saved;

static void on_sig(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	fputs("\033[?25h", stdout);
	fflush(stdout);
}

static const char *C(const struct view *v, const char *code)
{
	return v->color ? code : "";
}

/* Append text_escape()d bytes to a line buffer. */
static void cat_esc(char *line, size_t cap, const char *s, size_t n)
{
	size_t used = strlen(line);

	if (used + 1 >= cap || !s)
		return;
	text_escape(s, n, line + used, cap - used);
}

static void cat_str(char *line, size_t cap, const char *s)
{
	size_t used = strlen(line);

	if (used + 1 < cap)
		snprintf(line + used, cap - used, "%s", s);
}

static void cat_argv(char *line, size_t cap, const struct jnode *argv)
{
	const struct jnode *a;
	int i = 0;

	if (!argv || argv->t != J_ARR)
		return;
	for (a = argv->child; a; a = a->next) {
		size_t len;
		const char *s = jnode__str(a, &len);

		if (i++)
			cat_str(line, cap, " ");
		cat_esc(line, cap, s, len);
	}
}

void render_record_line(const struct jnode *r, bool color, char *line, size_t cap)
{
	struct view vv = { .color = color }, *v = &vv;

	const char *type = jnode__str(jnode__get(r, "type"), NULL);
	const char *t = jnode__str(jnode__get(r, "time"), NULL);
	const char *agent = jnode__str(jnode__get(r, "agent"), NULL);
	const char *verdict = jnode__str(jnode__get(r, "verdict"), NULL);
	const struct jnode *rules = jnode__get(r, "rules");
	size_t len;
	const char *s;

	line[0] = '\0';
	if (!type)
		return;
	snprintf(line, cap, "%.12s %-8.8s %-7s %6lld  ", t && strlen(t) > 23 ? t + 11 : "?",
		 agent ? agent : "-", type, (long long)jnode__int(jnode__get(r, "pid"), 0));
	if (!strcmp(type, "exec")) {
		cat_argv(line, cap, jnode__get(r, "argv"));
	} else if (!strcmp(type, "exit")) {
		const struct jnode *sig = jnode__get(r, "signal");
		char b[64];

		if (sig)
			snprintf(b, sizeof(b), "killed by signal %lld", (long long)jnode__int(sig, 0));
		else
			snprintf(b, sizeof(b), "status %lld",
				 (long long)jnode__int(jnode__get(r, "exit_code"), 0));
		cat_str(line, cap, b);
	} else if (!strcmp(type, "file")) {
		cat_str(line, cap, jnode__str(jnode__get(r, "op"), NULL) ? jnode__str(jnode__get(r, "op"), NULL) : "?");
		cat_str(line, cap, " ");
		s = jnode__str(jnode__get(r, "path"), &len);
		cat_esc(line, cap, s, len);
	} else if (!strcmp(type, "net")) {
		char b[160];

		snprintf(b, sizeof(b), "%s %s %s:%lld %s",
			 jnode__str(jnode__get(r, "op"), NULL) ? jnode__str(jnode__get(r, "op"), NULL) : "?",
			 jnode__str(jnode__get(r, "protocol"), NULL) ? jnode__str(jnode__get(r, "protocol"), NULL) : "?",
			 jnode__str(jnode__get(r, "address"), NULL) ? jnode__str(jnode__get(r, "address"), NULL) : "?",
			 (long long)jnode__int(jnode__get(r, "port"), 0),
			 jnode__str(jnode__get(r, "error"), NULL) ? jnode__str(jnode__get(r, "error"), NULL) : "");
		cat_str(line, cap, b);
	} else if (!strcmp(type, "verdict")) {
		char b[200];
		const char *by = jnode__str(jnode__get(r, "decided_by"), NULL);
		const char *rule = jnode__str(jnode__get(r, "rule"), NULL);

		snprintf(b, sizeof(b), "#%lld %s by %s [%s]",
			 (long long)jnode__int(jnode__get(r, "pending_id"), 0), verdict ? verdict : "?",
			 by ? by : "?", rule ? rule : "?");
		cat_str(line, cap, b);
		verdict = NULL;
	} else if (!strcmp(type, "gap")) {
		cat_str(line, cap, "collector restarted: reattached to the pinned programs");
	}
	if (verdict && strcmp(verdict, "allow")) {
		const char *id = rules && rules->child ? jnode__str(jnode__get(rules->child, "id"), NULL) : NULL;
		char b[160];

		snprintf(b, sizeof(b), "  %s%s%s%s%s%s", C(v, "\033[1;31m"), verdict, C(v, "\033[0m"),
			 id ? " [" : "", id ? id : "", id ? "]" : "");
		cat_str(line, cap, b);
	}
}

static void push_line(struct view *v, const char *line)
{
	size_t slot = (v->head + v->n_lines) % LINES_KEPT;

	if (v->n_lines == LINES_KEPT) {
		slot = v->head;
		v->head = (v->head + 1) % LINES_KEPT;
	} else {
		v->n_lines++;
	}
	free(v->lines[slot]);
	v->lines[slot] = strdup(line);
}

static struct jdoc *request(struct view *v, int argc, char **argv)
{
	char *reply = NULL, err[256];
	struct jdoc *d;
	int r = control_request(v->path, argc, argv, 2000, &reply);

	if (r) {
		v->connected = false;
		snprintf(v->status, sizeof(v->status), "%s: %s", v->path, strerror(-r));
		return NULL;
	}
	v->connected = true;
	d = jsonr__parse(reply, strlen(reply), err, sizeof(err));
	if (!d)
		snprintf(v->status, sizeof(v->status), "bad reply: %.200s", err);
	else if (!jnode__bool(jnode__get(jsonr__root(d), "ok"))) {
		const char *e = jnode__str(jnode__get(jsonr__root(d), "error"), NULL);

		snprintf(v->status, sizeof(v->status), "%s", e ? e : "request failed");
		jsonr__free(d);
		d = NULL;
	}
	free(reply);
	return d;
}

static void refresh(struct view *v)
{
	char since[32], line[LINE_MAX_BYTES];
	char *ev_req[] = { "events", since, NULL };
	char *pd_req[] = { "pending", NULL };
	struct jdoc *d;
	const struct jnode *e;

	snprintf(since, sizeof(since), "%llu", (unsigned long long)v->seq);
	d = request(v, 2, ev_req);
	if (d) {
		const struct jnode *events = jnode__get(jsonr__root(d), "events");

		for (e = events ? events->child : NULL; e; e = e->next) {
			render_record_line(e, v->color, line, sizeof(line));
			if (line[0])
				push_line(v, line);
		}
		v->seq = jnode__int(jnode__get(jsonr__root(d), "seq"), (int64_t)v->seq);
		jsonr__free(d);
	}
	d = request(v, 1, pd_req);
	if (d) {
		const struct jnode *p = jnode__get(jsonr__root(d), "pending");

		jsonr__free(v->pending);
		v->pending = d;
		v->n_pending = 0;
		for (e = p ? p->child : NULL; e; e = e->next)
			v->n_pending++;
		if (v->sel >= v->n_pending)
			v->sel = v->n_pending ? v->n_pending - 1 : 0;
	}
}

static const struct jnode *pending_at(struct view *v, size_t i)
{
	const struct jnode *p = v->pending ? jnode__get(jsonr__root(v->pending), "pending") : NULL;
	const struct jnode *e;

	for (e = p ? p->child : NULL; e && i; e = e->next)
		i--;
	return e;
}

static void draw(struct view *v, bool once)
{
	struct winsize ws = { .ws_row = 40, .ws_col = 120 };
	char line[LINE_MAX_BYTES];
	size_t rows, i, first, shown = 0;

	if (!once)
		ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	if (!once)
		fputs("\033[H\033[2J", stdout);
	printf("%sagentwatch watch%s  %s  a allow  d deny  f freeze session  k kill session  "
	       "up/down select  q quit\n", C(v, "\033[1m"), C(v, "\033[0m"),
	       v->connected ? "connected" : "NOT CONNECTED");
	if (v->status[0])
		printf("%s%s%s\n", C(v, "\033[33m"), v->status, C(v, "\033[0m"));
	printf("%s-- pending (%zu) --%s\n", C(v, "\033[1m"), v->n_pending, C(v, "\033[0m"));
	for (i = 0; i < v->n_pending && i < 8; i++) {
		const struct jnode *p = pending_at(v, i);
		const char *cmd = jnode__str(jnode__get(p, "command"), NULL);
		const char *rule = jnode__str(jnode__get(p, "rule"), NULL);
		const char *agent = jnode__str(jnode__get(p, "agent"), NULL);
		const struct jnode *tmo = jnode__get(p, "timeout_ms");

		const char *dflt = jnode__str(jnode__get(p, "default"), NULL);
		char when[64] = "no timeout";

		if (tmo && tmo->t == J_NUM)
			snprintf(when, sizeof(when), "%s in %.0fs", dflt ? dflt : "default",
				 jnode__int(tmo, 0) / 1000.0);
		line[0] = '\0';
		cat_esc(line, sizeof(line), cmd, cmd ? strlen(cmd) : 0);
		printf("%s%s #%lld %s pid %lld [%s] waiting %.1fs, %s  %s%s\n",
		       i == v->sel ? C(v, "\033[7m") : "", i == v->sel ? ">" : " ",
		       (long long)jnode__int(jnode__get(p, "id"), 0), agent ? agent : "?",
		       (long long)jnode__int(jnode__get(p, "pid"), 0), rule ? rule : "?",
		       jnode__int(jnode__get(p, "age_ms"), 0) / 1000.0, when, line,
		       i == v->sel ? C(v, "\033[0m") : "");
		if (i == v->sel) {
			const struct jnode *lin = jnode__get(p, "lineage"), *e;
			const char *msg = jnode__str(jnode__get(p, "message"), NULL);

			line[0] = '\0';
			for (e = lin ? lin->child : NULL; e; e = e->next) {
				const struct jnode *av = jnode__get(e, "argv");
				size_t l = 0;
				const char *a0 = av && av->child ? jnode__str(av->child, &l) : NULL;
				char pid[24];

				if (line[0])
					cat_str(line, sizeof(line), " > ");
				cat_esc(line, sizeof(line), a0, l);
				snprintf(pid, sizeof(pid), " %lld", (long long)jnode__int(jnode__get(e, "pid"), 0));
				cat_str(line, sizeof(line), pid);
			}
			printf("     lineage: %s\n", line);
			line[0] = '\0';
			cat_esc(line, sizeof(line), msg, msg ? strlen(msg) : 0);
			printf("     why: %s\n", line);
		}
	}
	printf("%s-- events --%s\n", C(v, "\033[1m"), C(v, "\033[0m"));
	rows = ws.ws_row > 14 ? ws.ws_row - 8 - (v->n_pending < 8 ? v->n_pending : 8) : 6;
	first = v->n_lines > rows ? v->n_lines - rows : 0;
	for (i = first; i < v->n_lines; i++) {
		const char *l = v->lines[(v->head + i) % LINES_KEPT];

		printf("%.*s\n", (int)(ws.ws_col ? ws.ws_col : 120), l ? l : "");
		shown++;
	}
	fflush(stdout);
}

static void act(struct view *v, const char *verb)
{
	const struct jnode *p = pending_at(v, v->sel);
	char id[32];
	char *req[] = { (char *)verb, id, NULL };
	struct jdoc *d;

	if (!p) {
		snprintf(v->status, sizeof(v->status), "nothing pending");
		return;
	}
	snprintf(id, sizeof(id), "%lld", (long long)jnode__int(jnode__get(p, "id"), 0));
	d = request(v, 2, req);
	if (d) {
		snprintf(v->status, sizeof(v->status), "#%s: %s", id, verb);
		jsonr__free(d);
	}
	refresh(v);
}

/* One key, or an arrow's escape sequence. */
static void on_key(struct view *v, const char *k, ssize_t n)
{
	if (n >= 3 && k[0] == 27 && k[1] == '[') {
		if (k[2] == 'A' && v->sel > 0)
			v->sel--;
		else if (k[2] == 'B' && v->sel + 1 < v->n_pending)
			v->sel++;
		return;
	}
	switch (k[0]) {
	case 'q': case 3: watch_stop = 1; break;
	case '\t': v->sel = v->n_pending ? (v->sel + 1) % v->n_pending : 0; break;
	case 'a': act(v, "allow"); break;
	case 'd': act(v, "deny"); break;
	case 'f': act(v, "freeze"); break;
	case 'k': act(v, "kill-session"); break;
	default: break;
	}
}

int watch_run(const char *control_path, bool once, bool color)
{
	struct view v = { .path = control_path, .color = color };
	struct sigaction sa;
	struct termios raw;
	size_t i;

	if (once) {
		refresh(&v);
		draw(&v, true);
		jsonr__free(v.pending);
		for (i = 0; i < LINES_KEPT; i++)
			free(v.lines[i]);
		return v.connected ? 0 : 1;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fputs("agentwatch watch needs a terminal (use --once, or agentwatch pending)\n", stderr);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		tio_saved = true;
		raw = saved_tio;
		raw.c_lflag &= ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	fputs("\033[?25l", stdout);
	while (!watch_stop) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		char k[8];

		refresh(&v);
		draw(&v, false);
		if (poll(&pfd, 1, REFRESH_MS) > 0) {
			ssize_t n = read(STDIN_FILENO, k, sizeof(k));

			if (n > 0)
				on_key(&v, k, n);
		}
	}
	restore_tty();
	jsonr__free(v.pending);
	for (i = 0; i < LINES_KEPT; i++)
		free(v.lines[i]);
	return 0;
}
