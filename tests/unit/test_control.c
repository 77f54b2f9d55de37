// SPDX-License-Identifier: GPL-2.0
/*
 * Tests for user/control.c on real unix sockets in a mkdtemp directory.
 *
 * The server never blocks and the client does, so a test that needs both
 * runs control_request() in a forked child and drives control__process()
 * here until the child has reported (run_client()).  Raw sockets stand in
 * for misbehaving clients.  Every wait is bounded; nothing assumes root
 * except test_control_non_root_peer_refused, which needs it to become
 * another uid and returns early without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "control.h"
#include "json.h"

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

enum hmode { H_ECHO, H_FAIL, H_FAIL_NOMSG, H_UNBALANCED, H_RAW_NEWLINE, H_BIG };

struct tctx {
	enum hmode mode;
	const char *fail_msg;		/* H_FAIL: errbuf text */
	size_t big;			/* H_BIG: length of the "s" string */
	int calls;			/* handler */
	struct control_peer peer;	/* handler's last peer */
	const char *refuse;		/* allow() says no to this command */
	bool refuse_connect;		/* allow() says no at accept (command NULL) */
	int allow_null, allow_cmd;	/* allow() calls */
	char last_cmd[64];
	pid_t allow_pid;
};

struct fx {
	char dir[64];
	char path[128];
	struct control *c;
	struct tctx t;
	char *reply;		/* run_client()'s last reply; freed by the next and fx_fini() */
};

static int handler(void *ctx, const struct control_peer *peer, int argc, char **argv,
		   struct jsonw *reply, char *errbuf, size_t errlen)
{
	struct tctx *t = ctx;
	int i;

	t->calls++;
	t->peer = *peer;
	switch (t->mode) {
	case H_ECHO:
		jsonw__key(reply, "argv");
		jsonw__arr_begin(reply);
		for (i = 0; i < argc; i++)
			jsonw__str(reply, argv[i]);
		jsonw__arr_end(reply);
		if (argv[argc])
			return -EFAULT;
		return 0;
	case H_FAIL:
		/* Written, then discarded by the server. */
		jsonw__key(reply, "partial");
		jsonw__u64(reply, 1);
		snprintf(errbuf, errlen, "%s", t->fail_msg);
		return -ENOENT;
	case H_FAIL_NOMSG:
		return -EPERM;
	case H_UNBALANCED:
		jsonw__key(reply, "a");
		jsonw__arr_begin(reply);
		jsonw__obj_begin(reply);
		return 0;
	case H_RAW_NEWLINE:
		jsonw__key(reply, "x");
		jsonw__raw(reply, "1\n");
		return 0;
	case H_BIG: {
		char *s = malloc(t->big);

		if (!s)
			return -ENOMEM;
		memset(s, 'b', t->big);
		jsonw__key(reply, "s");
		jsonw__strn(reply, s, t->big);
		free(s);
		return 0;
	}
	}
	return -EINVAL;
}

static bool allow_fn(void *ctx, const struct control_peer *peer, const char *command)
{
	struct tctx *t = ctx;

	t->allow_pid = peer->pid;
	if (!command) {
		t->allow_null++;
		return !t->refuse_connect;
	}
	t->allow_cmd++;
	snprintf(t->last_cmd, sizeof(t->last_cmd), "%s", command);
	return !(t->refuse && !strcmp(command, t->refuse));
}

/* A fresh directory and socket path; the control is not opened yet. */
static bool fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/aw-control-XXXXXX");
	if (!mkdtemp(f->dir))
		return false;
	snprintf(f->path, sizeof(f->path), "%s/control.sock", f->dir);
	return true;
}

static int fx_open(struct fx *f)
{
	return control__open(f->path, handler, allow_fn, &f->t, &f->c);
}

static void fx_fini(struct fx *f)
{
	free(f->reply);
	f->reply = NULL;
	control__free(f->c);
	f->c = NULL;
	if (f->dir[0])
		test__rmtree(f->dir);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* Clients                                                             */
/* ------------------------------------------------------------------ */

/*
 * control_request() in a child (after before(), if any) while this process
 * serves.  Returns the child's return code, or INT32_MIN if the child
 * didn't report within 2.5 s; the reply goes to f->reply ("" if none).
 */
static int run_client_as(struct fx *f, int argc, char **argv, pid_t *pidp, bool (*before)(void))
{
	const size_t cap = 4u << 20;
	char *buf;
	size_t len = 0;
	uint64_t end = ms_now() + 2500;
	int p[2], status, rc = INT32_MIN;
	bool eof = false;
	pid_t pid;
	char *nl;

	free(f->reply);
	f->reply = NULL;
	buf = malloc(cap);
	if (!buf)
		return INT32_MIN;
	if (pipe2(p, O_CLOEXEC)) {
		free(buf);
		return INT32_MIN;
	}
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		free(buf);
		return INT32_MIN;
	}
	if (pid == 0) {
		char *r = NULL;
		int rc;

		close(p[0]);
		if (before && !before())
			_exit(1);
		rc = control_request(f->path, argc, argv, 2000, &r);
		dprintf(p[1], "%d\n%s", rc, r ? r : "");
		_exit(0);
	}
	close(p[1]);
	while (!eof && ms_now() < end) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		control__process(f->c);
		if (poll(&pfd, 1, 5) <= 0)
			continue;
		n = read(p[0], buf + len, cap - 1 - len);
		if (n <= 0 || len + n >= cap - 1)
			eof = true;
		if (n > 0)
			len += n;
	}
	close(p[0]);
	if (!eof)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (pidp)
		*pidp = pid;
	buf[len] = '\0';
	nl = strchr(buf, '\n');
	if (eof && nl) {
		*nl = '\0';
		f->reply = strdup(nl + 1);
		rc = atoi(buf);
	}
	free(buf);
	return rc;
}

static int run_client(struct fx *f, int argc, char **argv)
{
	return run_client_as(f, argc, argv, NULL, NULL);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Read one reply line from fd while serving, for at most ms.  Returns the
 * line's length (without '\n', NUL-terminated in out) or -1.
 */
static int serve_read_line(struct fx *f, int fd, char *out, size_t outlen, int ms)
{
	uint64_t end = ms_now() + ms;
	size_t len = 0;

	while (ms_now() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char *nl;
		ssize_t n;

		control__process(f->c);
		if (poll(&pfd, 1, 5) <= 0)
			continue;
		n = recv(fd, out + len, outlen - 1 - len, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			return -1;
		len += n;
		out[len] = '\0';
		if ((nl = strchr(out, '\n'))) {
			*nl = '\0';
			return nl - out;
		}
		if (len + 1 >= outlen)
			return -1;
	}
	return -1;
}

/* Send raw bytes on a new connection and return the reply line. */
static int raw_exchange(struct fx *f, const void *data, size_t n, bool shut,
			char *out, size_t outlen)
{
	int fd = raw_connect(f->path), r;

	if (fd < 0)
		return -1;
	if (send(fd, data, n, MSG_NOSIGNAL) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	if (shut)
		shutdown(fd, SHUT_WR);
	r = serve_read_line(f, fd, out, outlen, 2000);
	close(fd);
	return r;
}

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void roundtrip_echo(struct fx *f)
{
	pid_t pid = 0;
	int rc;

	ASSERT_EQ_INT(fx_open(f), 0);
	rc = run_client_as(f, 3, ARGV("echo", "a", "b-c:42"), &pid, NULL);
	ASSERT_EQ_INT(rc, 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":true,\"argv\":[\"echo\",\"a\",\"b-c:42\"]}");
	ASSERT_TRUE(control_reply_ok(f->reply));
	ASSERT_EQ_INT(f->t.calls, 1);
	ASSERT_EQ_INT(f->t.peer.pid, pid);
	ASSERT_EQ_INT(f->t.peer.uid, geteuid());
	ASSERT_EQ_INT(f->t.peer.gid, getegid());
	/* Checked once at accept, once for the command. */
	ASSERT_EQ_INT(f->t.allow_null, 1);
	ASSERT_EQ_INT(f->t.allow_cmd, 1);
	ASSERT_EQ_STR(f->t.last_cmd, "echo");
	ASSERT_EQ_INT(f->t.allow_pid, pid);
}

void test_control_roundtrip_echo(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	roundtrip_echo(&f);
	fx_fini(&f);
}

static void error_reply(struct fx *f)
{
	char text[64];
	struct control_stats st;

	ASSERT_EQ_INT(fx_open(f), 0);
	f->t.mode = H_FAIL;
	f->t.fail_msg = "no pending verdict 42";
	ASSERT_EQ_INT(run_client(f, 2, ARGV("allow", "42")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":false,\"error\":\"no pending verdict 42\"}");
	ASSERT_FALSE(control_reply_ok(f->reply));
	ASSERT_EQ_INT(control_reply_error(f->reply, text, sizeof(text)), 0);
	ASSERT_EQ_STR(text, "no pending verdict 42");

	/* No message: strerror() of the return value. */
	f->t.mode = H_FAIL_NOMSG;
	ASSERT_EQ_INT(run_client(f, 1, ARGV("reload")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":false,\"error\":\"Operation not permitted\"}");

	/* Attacker-controlled bytes in a message survive the trip exactly. */
	f->t.mode = H_FAIL;
	f->t.fail_msg = "bad \x1b[31m\xff\"x\"\\ \xc3\xa9";
	ASSERT_EQ_INT(run_client(f, 1, ARGV("x")), 0);
	ASSERT_EQ_INT(control_reply_error(f->reply, text, sizeof(text)), 0);
	ASSERT_EQ_STR(text, f->t.fail_msg);

	control__stats(f->c, &st);
	ASSERT_EQ_U64(st.requests, 3);
	ASSERT_EQ_U64(st.handler_errors, 3);
}

void test_control_error_reply(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	error_reply(&f);
	fx_fini(&f);
}

static void bad_handler_reply(struct fx *f)
{
	struct control_stats st;

	ASSERT_EQ_INT(fx_open(f), 0);
	f->t.mode = H_UNBALANCED;
	ASSERT_EQ_INT(run_client(f, 1, ARGV("status")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":false,\"error\":"
		      "\"internal error: the handler left the reply unbalanced\"}");
	/* A raw newline would split the reply line. */
	f->t.mode = H_RAW_NEWLINE;
	ASSERT_EQ_INT(run_client(f, 1, ARGV("status")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":false,\"error\":"
		      "\"internal error: the handler left the reply unbalanced\"}");
	control__stats(f->c, &st);
	ASSERT_EQ_U64(st.internal_errors, 2);
}

void test_control_bad_handler_reply(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	bad_handler_reply(&f);
	fx_fini(&f);
}

static void allow_refuses(struct fx *f)
{
	char text[128];
	struct control_stats st;

	ASSERT_EQ_INT(fx_open(f), 0);
	f->t.refuse = "allow";
	ASSERT_EQ_INT(run_client(f, 2, ARGV("allow", "7")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":false,\"error\":\"" CONTROL_REFUSED_SESSION "\"}");
	ASSERT_EQ_INT(control_reply_error(f->reply, text, sizeof(text)), 0);
	ASSERT_EQ_STR(text, "refused: requests from inside an agent session are not accepted");
	ASSERT_EQ_INT(f->t.calls, 0);
	ASSERT_EQ_STR(f->t.last_cmd, "allow");

	/* The same peer may still run what allow() permits. */
	ASSERT_EQ_INT(run_client(f, 1, ARGV("status")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":true,\"argv\":[\"status\"]}");
	ASSERT_EQ_INT(f->t.calls, 1);
	control__stats(f->c, &st);
	ASSERT_EQ_U64(st.refused_peer, 1);
}

void test_control_allow_refuses(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	allow_refuses(&f);
	fx_fini(&f);
}

static void allow_refuses_at_connect(struct fx *f)
{

	ASSERT_EQ_INT(fx_open(f), 0);
	f->t.refuse_connect = true;
	ASSERT_EQ_INT(run_client(f, 2, ARGV("deny", "7")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":false,\"error\":\"" CONTROL_REFUSED_SESSION "\"}");
	/* Refused before the command was read: it never reached allow(). */
	ASSERT_EQ_INT(f->t.allow_null, 1);
	ASSERT_EQ_INT(f->t.allow_cmd, 0);
	ASSERT_EQ_INT(f->t.calls, 0);
}

void test_control_allow_refuses_at_connect(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	allow_refuses_at_connect(&f);
	fx_fini(&f);
}

static void exited_peer_refused(struct fx *f)
{
	struct control_stats st;
	int status, i;
	pid_t pid;

	ASSERT_EQ_INT(fx_open(f), 0);
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		int fd = raw_connect(f->path);

		if (fd >= 0)
			send(fd, "allow 7\n", 8, MSG_NOSIGNAL);
		_exit(0);
	}
	ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
	for (i = 0; i < 10; i++) {
		control__process(f->c);
		usleep(2000);
	}
	control__stats(f->c, &st);
	ASSERT_EQ_U64(st.accepted, 1);
	ASSERT_EQ_U64(st.refused_peer, 1);
	ASSERT_EQ_INT(f->t.calls, 0);
}

/* A connector that is gone can't be checked (its session entry went with
 * it, and its pid may be reused), so it is refused. */
void test_control_exited_peer_refused(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	exited_peer_refused(&f);
	fx_fini(&f);
}

static bool become_nobody(void)
{
	return !setgroups(0, NULL) && !setgid(65534) && !setuid(65534);
}

static void non_root_peer_refused(struct fx *f)
{
	struct control_stats st;

	ASSERT_EQ_INT(fx_open(f), 0);
	/* Open the way through the file modes, so that only the server's
	 * own check stands between uid 65534 and the handler. */
	ASSERT_EQ_INT(chmod(f->dir, 0711), 0);
	ASSERT_EQ_INT(chmod(f->path, 0666), 0);
	ASSERT_EQ_INT(run_client_as(f, 1, ARGV("status"), NULL, become_nobody), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":false,\"error\":"
		      "\"permission denied: the control socket serves root only\"}");
	ASSERT_EQ_INT(f->t.calls, 0);
	ASSERT_EQ_INT(f->t.allow_null, 0);
	control__stats(f->c, &st);
	ASSERT_EQ_U64(st.refused_uid, 1);
	ASSERT_EQ_U64(st.accepted, 0);
}

void test_control_non_root_peer_refused(void)
{
	struct fx f;

	/* Only root can become another uid to try it. */
	if (geteuid() != 0)
		return;
	ASSERT_TRUE(fx_init(&f));
	non_root_peer_refused(&f);
	fx_fini(&f);
}

static void oversize_line(struct fx *f)
{
	char big[CONTROL_MAX_LINE + 16], out[256], *reply = NULL;
	struct control_stats st;
	size_t wl;

	ASSERT_EQ_INT(fx_open(f), 0);
	/* One byte over: 4096 bytes and no '\n' among them. */
	memset(big, 'a', sizeof(big));
	ASSERT_TRUE(raw_exchange(f, big, CONTROL_MAX_LINE + 1, false, out, sizeof(out)) > 0);
	ASSERT_EQ_STR(out, "{\"ok\":false,\"error\":\"bad request: line longer than 4096 bytes\"}");
	/* Far over, and the client still sending. */
	ASSERT_TRUE(raw_exchange(f, big, sizeof(big), false, out, sizeof(out)) > 0);
	ASSERT_EQ_STR(out, "{\"ok\":false,\"error\":\"bad request: line longer than 4096 bytes\"}");
	ASSERT_EQ_INT(f->t.calls, 0);

	/* Exactly the limit, '\n' included, is served: "echo " + word + "\n". */
	wl = CONTROL_MAX_LINE - 6;
	memset(big, 'x', wl);
	big[wl] = '\0';
	ASSERT_EQ_INT(run_client(f, 2, ARGV("echo", big)), 0);
	ASSERT_TRUE(control_reply_ok(f->reply));
	ASSERT_EQ_U64(strlen(f->reply), strlen("{\"ok\":true,\"argv\":[\"echo\",\"\"]}") + wl);
	/* The client refuses to build a line over it. */
	big[wl] = 'x';
	big[wl + 1] = '\0';
	ASSERT_EQ_INT(control_request(f->path, 2, ARGV("echo", big), 500, &reply), -E2BIG);
	ASSERT_NULL(reply);
	control__stats(f->c, &st);
	ASSERT_EQ_U64(st.bad_requests, 2);
}

void test_control_oversize_line(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	oversize_line(&f);
	fx_fini(&f);
}

static void bad_requests(struct fx *f)
{
	char out[512], many[CONTROL_MAX_LINE];
	size_t n = 0;
	int i;

	ASSERT_EQ_INT(fx_open(f), 0);
#define RAW(s, shut) raw_exchange(f, s, sizeof(s) - 1, shut, out, sizeof(out))
	ASSERT_TRUE(RAW("\n", false) > 0);
	ASSERT_EQ_STR(out, "{\"ok\":false,\"error\":\"bad request: empty request line\"}");
	ASSERT_TRUE(RAW(" \t \r\n", false) > 0);
	ASSERT_EQ_STR(out, "{\"ok\":false,\"error\":\"bad request: empty request line\"}");
	ASSERT_TRUE(RAW("echo a\x01" "b\n", false) > 0);
	ASSERT_EQ_STR(out, "{\"ok\":false,\"error\":\"bad request: control byte in the request line\"}");
	ASSERT_TRUE(RAW("echo a\0b\n", false) > 0);
	ASSERT_EQ_STR(out, "{\"ok\":false,\"error\":\"bad request: control byte in the request line\"}");
	ASSERT_TRUE(RAW("echo a", true) > 0);
	ASSERT_EQ_STR(out, "{\"ok\":false,\"error\":"
		      "\"bad request: end of input before the end of the line\"}");
	ASSERT_EQ_INT(f->t.calls, 0);

	/* Tabs and runs of blanks separate words; "\r\n" ends a line too;
	 * what follows the first line is ignored. */
	ASSERT_TRUE(RAW("echo\ta  \t b\r\nmore junk\n", false) > 0);
	ASSERT_EQ_STR(out, "{\"ok\":true,\"argv\":[\"echo\",\"a\",\"b\"]}");

	for (i = 0; i <= CONTROL_MAX_ARGS; i++)
		n += snprintf(many + n, sizeof(many) - n, "w ");
	many[n - 1] = '\n';
	ASSERT_TRUE(raw_exchange(f, many, n, false, out, sizeof(out)) > 0);
	ASSERT_EQ_STR(out, "{\"ok\":false,\"error\":\"bad request: more than 64 words\"}");
	ASSERT_EQ_INT(f->t.calls, 1);
#undef RAW
}

void test_control_bad_requests(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	bad_requests(&f);
	fx_fini(&f);
}

static void idle_client_dropped(struct fx *f)
{
	char out[256];
	struct control_stats st;
	uint64_t t0, t1;
	int idle = -1, n;

	ASSERT_EQ_INT(fx_open(f), 0);
	t0 = ms_now();
	idle = raw_connect(f->path);
	ASSERT_TRUE(idle >= 0);
	control__process(f->c);
	ASSERT_EQ_INT(control__timeout_ms(f->c) > 0, 1);
	ASSERT_TRUE(control__timeout_ms(f->c) <= CONTROL_READ_TIMEOUT_MS);

	/* Another client is served at once while the idle one waits. */
	ASSERT_EQ_INT(run_client(f, 1, ARGV("status")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":true,\"argv\":[\"status\"]}");
	ASSERT_TRUE(ms_now() - t0 < 500);

	/* The idle one gets a timeout reply after about the deadline. */
	n = serve_read_line(f, idle, out, sizeof(out), 2000);
	t1 = ms_now();
	close(idle);
	ASSERT_TRUE(n > 0);
	ASSERT_EQ_STR(out, "{\"ok\":false,\"error\":"
		      "\"timeout: no complete request line within 1000 ms\"}");
	ASSERT_TRUE(t1 - t0 >= CONTROL_READ_TIMEOUT_MS - 10);
	ASSERT_TRUE(t1 - t0 < CONTROL_READ_TIMEOUT_MS + 500);
	control__stats(f->c, &st);
	ASSERT_EQ_U64(st.timed_out, 1);
	ASSERT_EQ_INT(control__timeout_ms(f->c), -1);
	ASSERT_EQ_INT(f->t.calls, 1);
}

void test_control_idle_client_dropped(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	idle_client_dropped(&f);
	fx_fini(&f);
}

static void busy(struct fx *f, int *fds)
{
	struct pollfd pfds[CONTROL_MAX_FDS + 4];
	struct control_stats st;
	char out[256];
	int i, extra;

	ASSERT_EQ_INT(fx_open(f), 0);
	ASSERT_EQ_INT(control__fds(f->c, pfds, CONTROL_MAX_FDS), 1);
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		fds[i] = raw_connect(f->path);
		ASSERT_TRUE(fds[i] >= 0);
	}
	control__process(f->c);
	ASSERT_EQ_INT(control__fds(f->c, pfds, CONTROL_MAX_FDS + 4), CONTROL_MAX_FDS);
	ASSERT_EQ_INT(pfds[1].events, POLLIN);
	ASSERT_EQ_INT(control__fds(f->c, pfds, 5), 5);

	extra = raw_connect(f->path);
	ASSERT_TRUE(extra >= 0);
	i = serve_read_line(f, extra, out, sizeof(out), 1000);
	close(extra);
	ASSERT_TRUE(i > 0);
	ASSERT_EQ_STR(out, "{\"ok\":false,\"error\":\"busy: too many control connections, try again\"}");
	control__stats(f->c, &st);
	ASSERT_EQ_U64(st.accepted, CONTROL_MAX_CLIENTS);
	ASSERT_EQ_U64(st.busy, 1);
}

void test_control_busy(void)
{
	int fds[CONTROL_MAX_CLIENTS], i;
	struct fx f;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		fds[i] = -1;
	ASSERT_TRUE(fx_init(&f));
	busy(&f, fds);
	fx_fini(&f);
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void fd_pollable(struct fx *f)
{
	struct pollfd p = { .events = POLLIN };
	char out[256];
	int fd;

	ASSERT_EQ_INT(fx_open(f), 0);
	p.fd = control__fd(f->c);
	ASSERT_TRUE(p.fd >= 0);
	ASSERT_EQ_INT(poll(&p, 1, 0), 0);
	fd = raw_connect(f->path);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ_INT(poll(&p, 1, 1000), 1);	/* a connection to accept */
	control__process(f->c);
	ASSERT_EQ_INT(poll(&p, 1, 0), 0);	/* accepted, nothing to read */
	ASSERT_EQ_INT(send(fd, "echo\n", 5, MSG_NOSIGNAL), 5);
	ASSERT_EQ_INT(poll(&p, 1, 1000), 1);	/* a line to read */
	ASSERT_TRUE(serve_read_line(f, fd, out, sizeof(out), 1000) > 0);
	close(fd);
	ASSERT_EQ_STR(out, "{\"ok\":true,\"argv\":[\"echo\"]}");
	ASSERT_EQ_INT(poll(&p, 1, 0), 0);	/* all done */
}

/* control__fd() wakes the caller's poll for each step, and only then. */
void test_control_fd_pollable(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	fd_pollable(&f);
	fx_fini(&f);
}

static void socket_mode(struct fx *f)
{
	char sub[128], path[160];
	struct stat st;
	struct control *c = NULL;

	snprintf(sub, sizeof(sub), "%s/run/agentwatch", f->dir);
	snprintf(path, sizeof(path), "%s/control.sock", sub);
	ASSERT_EQ_INT(control__open(path, handler, allow_fn, &f->t, &c), 0);
	ASSERT_EQ_INT(lstat(path, &st), 0);
	control__free(c);
	ASSERT_TRUE(S_ISSOCK(st.st_mode));
	ASSERT_EQ_INT(st.st_mode & 07777, 0600);
	ASSERT_EQ_INT(st.st_uid, geteuid());
	ASSERT_EQ_INT(lstat(sub, &st), 0);
	ASSERT_TRUE(S_ISDIR(st.st_mode));
	ASSERT_EQ_INT(st.st_mode & 07777, 0700);
	/* Freed: the socket is gone, the lock file stays. */
	ASSERT_EQ_INT(lstat(path, &st), -1);
	ASSERT_EQ_INT(errno, ENOENT);
	snprintf(path, sizeof(path), "%s/control.sock.lock", sub);
	ASSERT_EQ_INT(lstat(path, &st), 0);

	/* Under a lax umask too: the mode comes from us, not the caller. */
	mode_t old = umask(0);
	int err = fx_open(f);

	umask(old);
	ASSERT_EQ_INT(err, 0);
	ASSERT_EQ_INT(lstat(f->path, &st), 0);
	ASSERT_EQ_INT(st.st_mode & 07777, 0600);

	/* A directory others could write is refused. */
	snprintf(sub, sizeof(sub), "%s/lax", f->dir);
	snprintf(path, sizeof(path), "%s/control.sock", sub);
	ASSERT_EQ_INT(mkdir(sub, 0700), 0);
	ASSERT_EQ_INT(chmod(sub, 0777), 0);
	ASSERT_EQ_INT(control__open(path, handler, allow_fn, &f->t, &c), -EPERM);
	ASSERT_NULL(c);
}

void test_control_socket_mode(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	socket_mode(&f);
	fx_fini(&f);
}

static void stale_socket_replaced(struct fx *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *reply = NULL;
	struct stat st;
	int fd;

	/* A socket file that nobody listens on, as a killed server leaves. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ_INT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ASSERT_EQ_INT(lstat(f->path, &st), 0);
	ASSERT_TRUE(S_ISSOCK(st.st_mode));
	ASSERT_EQ_INT(control_request(f->path, 1, ARGV("status"), 500, &reply), -ECONNREFUSED);

	ASSERT_EQ_INT(fx_open(f), 0);
	ASSERT_EQ_INT(run_client(f, 1, ARGV("status")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":true,\"argv\":[\"status\"]}");
}

void test_control_stale_socket_replaced(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	stale_socket_replaced(&f);
	fx_fini(&f);
}

static void live_path_refused(struct fx *f)
{
	struct control *second = NULL;

	ASSERT_EQ_INT(fx_open(f), 0);
	ASSERT_EQ_INT(control__open(f->path, handler, allow_fn, &f->t, &second), -EADDRINUSE);
	ASSERT_NULL(second);
	/* The first one still owns the path and answers. */
	ASSERT_EQ_INT(run_client(f, 1, ARGV("status")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":true,\"argv\":[\"status\"]}");
}

void test_control_live_path_refused(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	live_path_refused(&f);
	fx_fini(&f);
}

static void starting_server_excluded(struct fx *f, int *lockfd)
{
	struct control *c = NULL;
	char lp[160];
	struct stat st;

	/* Another server holds the lock but has not bound yet: the socket
	 * path is empty, and still the path is taken. */
	snprintf(lp, sizeof(lp), "%s.lock", f->path);
	*lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_TRUE(*lockfd >= 0);
	ASSERT_EQ_INT(flock(*lockfd, LOCK_EX | LOCK_NB), 0);
	ASSERT_EQ_INT(control__open(f->path, handler, allow_fn, &f->t, &c), -EADDRINUSE);
	ASSERT_NULL(c);
	ASSERT_EQ_INT(lstat(f->path, &st), -1);
	/* Released: ours now. */
	close(*lockfd);
	*lockfd = -1;
	ASSERT_EQ_INT(fx_open(f), 0);
}

void test_control_starting_server_excluded(void)
{
	struct fx f;
	int lockfd = -1;

	ASSERT_TRUE(fx_init(&f));
	starting_server_excluded(&f, &lockfd);
	if (lockfd >= 0)
		close(lockfd);
	fx_fini(&f);
}

static void foreign_listener_kept(struct fx *f, int *lfd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat before, after;
	struct control *c = NULL;
	int fd;

	/* Something that answers but doesn't take our lock. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	*lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_TRUE(*lfd >= 0);
	ASSERT_EQ_INT(bind(*lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_EQ_INT(listen(*lfd, 4), 0);
	ASSERT_EQ_INT(lstat(f->path, &before), 0);
	ASSERT_EQ_INT(control__open(f->path, handler, allow_fn, &f->t, &c), -EADDRINUSE);
	ASSERT_NULL(c);
	ASSERT_EQ_INT(lstat(f->path, &after), 0);
	ASSERT_EQ_U64(after.st_ino, before.st_ino);
	/* ... and it still answers at that path. */
	fd = raw_connect(f->path);
	ASSERT_TRUE(fd >= 0);
	close(fd);
}

void test_control_foreign_listener_kept(void)
{
	struct fx f;
	int lfd = -1;

	ASSERT_TRUE(fx_init(&f));
	foreign_listener_kept(&f, &lfd);
	if (lfd >= 0)
		close(lfd);
	fx_fini(&f);
}

static void non_socket_kept(struct fx *f)
{
	struct control *c = NULL;
	char buf[16] = "";
	int fd;

	fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ_INT(write(fd, "keep", 4), 4);
	close(fd);
	ASSERT_EQ_INT(control__open(f->path, handler, allow_fn, &f->t, &c), -EEXIST);
	ASSERT_NULL(c);
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ_INT(read(fd, buf, sizeof(buf) - 1), 4);
	close(fd);
	ASSERT_EQ_STR(buf, "keep");
}

void test_control_non_socket_kept(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	non_socket_kept(&f);
	fx_fini(&f);
}

static void client_errors(struct fx *f)
{
	char longpath[200], *reply = NULL;
	uint64_t t0;

	ASSERT_EQ_INT(control_request(f->path, 1, ARGV("status"), 500, &reply), -ENOENT);
	ASSERT_EQ_INT(control_request(f->path, 0, ARGV("status"), 500, &reply), -EINVAL);
	ASSERT_EQ_INT(control_request(f->path, 2, ARGV("allow", "1 2"), 500, &reply), -EINVAL);
	ASSERT_EQ_INT(control_request(f->path, 2, ARGV("allow", ""), 500, &reply), -EINVAL);
	ASSERT_EQ_INT(control_request(f->path, 2, ARGV("allow", "1\n"), 500, &reply), -EINVAL);
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ASSERT_EQ_INT(control_request(longpath, 1, ARGV("status"), 500, &reply), -ENAMETOOLONG);
	ASSERT_EQ_INT(control__open(longpath, handler, allow_fn, &f->t, &f->c), -ENAMETOOLONG);
	ASSERT_EQ_INT(control__open(f->path, NULL, allow_fn, &f->t, &f->c), -EINVAL);
	ASSERT_EQ_INT(control__open(f->path, handler, NULL, &f->t, &f->c), -EINVAL);
	ASSERT_NULL(reply);

	/* A server that never gets to process: the client gives up in time. */
	ASSERT_EQ_INT(fx_open(f), 0);
	t0 = ms_now();
	ASSERT_EQ_INT(control_request(f->path, 1, ARGV("status"), 200, &reply), -ETIMEDOUT);
	ASSERT_TRUE(ms_now() - t0 >= 190);
	ASSERT_TRUE(ms_now() - t0 < 1000);
	ASSERT_NULL(reply);
}

void test_control_client_errors(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	client_errors(&f);
	fx_fini(&f);
}

static void big_reply(struct fx *f)
{
	const size_t wrap = strlen("{\"ok\":true,\"s\":\"\"}");
	struct control_stats st;
	size_t i;

	ASSERT_EQ_INT(fx_open(f), 0);
	/* Far more than a socket buffer: written over many process calls. */
	f->t.mode = H_BIG;
	f->t.big = 3u << 20;
	ASSERT_EQ_INT(run_client(f, 1, ARGV("pending")), 0);
	ASSERT_TRUE(control_reply_ok(f->reply));
	ASSERT_EQ_U64(strlen(f->reply), wrap + f->t.big);
	for (i = 0; i < f->t.big; i++)
		if (f->reply[wrap - 2 + i] != 'b')
			break;
	ASSERT_EQ_U64(i, f->t.big);

	/* One byte over the cap, '\n' included: refused by the server. */
	f->t.big = CONTROL_MAX_REPLY - wrap;
	ASSERT_EQ_INT(run_client(f, 1, ARGV("pending")), 0);
	ASSERT_EQ_STR(f->reply, "{\"ok\":false,\"error\":\"internal error: a reply of "
		      "16777217 bytes is over the 16777216 byte limit\"}");
	control__stats(f->c, &st);
	ASSERT_EQ_U64(st.internal_errors, 1);
	ASSERT_EQ_U64(st.write_failed, 0);
}

void test_control_big_reply(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	big_reply(&f);
	fx_fini(&f);
}

/* A fake server in a child: accept one connection, write n bytes of 'a'
 * (then '\n' if nl), close. */
static pid_t rogue_server(const char *path, size_t n, bool nl)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1)) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		static char chunk[65536];
		int fd = accept(lfd, NULL, NULL);

		memset(chunk, 'a', sizeof(chunk));
		alarm(3);
		while (fd >= 0 && n) {
			size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
			ssize_t w = send(fd, chunk, k, MSG_NOSIGNAL);

			if (w <= 0)
				break;
			n -= w;
		}
		if (fd >= 0 && nl)
			send(fd, "\n", 1, MSG_NOSIGNAL);
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void rogue_server_replies(struct fx *f)
{
	char *reply = NULL;
	int status;
	pid_t pid;

	/* More than the reply cap and still no '\n'. */
	pid = rogue_server(f->path, CONTROL_MAX_REPLY + 1, true);
	ASSERT_TRUE(pid > 0);
	ASSERT_EQ_INT(control_request(f->path, 1, ARGV("pending"), 2000, &reply), -EMSGSIZE);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ASSERT_NULL(reply);
	/* Closed mid-line. */
	pid = rogue_server(f->path, 10, false);
	ASSERT_TRUE(pid > 0);
	ASSERT_EQ_INT(control_request(f->path, 1, ARGV("pending"), 2000, &reply), -EPROTO);
	waitpid(pid, &status, 0);
	ASSERT_NULL(reply);
	/* Exactly the cap, '\n' included, is read whole. */
	pid = rogue_server(f->path, CONTROL_MAX_REPLY - 1, true);
	ASSERT_TRUE(pid > 0);
	ASSERT_EQ_INT(control_request(f->path, 1, ARGV("pending"), 2000, &reply), 0);
	waitpid(pid, &status, 0);
	ASSERT_NOT_NULL(reply);
	ASSERT_EQ_U64(strlen(reply), CONTROL_MAX_REPLY - 1);
	free(reply);
}

void test_control_client_rogue_server(void)
{
	struct fx f;

	ASSERT_TRUE(fx_init(&f));
	rogue_server_replies(&f);
	fx_fini(&f);
}

void test_control_reply_decode(void)
{
	char buf[64];

	ASSERT_TRUE(control_reply_ok("{\"ok\":true}"));
	ASSERT_TRUE(control_reply_ok("{\"ok\":true,\"n\":1}"));
	ASSERT_FALSE(control_reply_ok("{\"ok\":trueish}"));
	ASSERT_FALSE(control_reply_ok("{\"ok\":false,\"error\":\"x\"}"));
	ASSERT_FALSE(control_reply_ok(NULL));

	ASSERT_EQ_INT(control_reply_error("{\"ok\":false,\"error\":"
					  "\"a\\\"b\\\\c\\/\\n\\u0001\\udcff\\u00e9\\u20ac\"}",
					  buf, sizeof(buf)), 0);
	ASSERT_EQ_STR(buf, "a\"b\\c/\n\x01\xff\xc3\xa9\xe2\x82\xac");
	/* Truncation never splits a UTF-8 sequence. */
	ASSERT_EQ_INT(control_reply_error("{\"ok\":false,\"error\":\"ab\\u00e9cd\"}", buf, 4), 0);
	ASSERT_EQ_STR(buf, "ab");
	ASSERT_EQ_INT(control_reply_error("{\"ok\":true}", buf, sizeof(buf)), -EINVAL);
	ASSERT_EQ_INT(control_reply_error("{\"ok\":false,\"error\":\"x", buf, sizeof(buf)), -EINVAL);
	ASSERT_EQ_INT(control_reply_error("{\"ok\":false,\"error\":\"x\"}junk", buf, sizeof(buf)),
		      -EINVAL);
	ASSERT_EQ_INT(control_reply_error("{\"ok\":false,\"error\":\"\\q\"}", buf, sizeof(buf)),
		      -EINVAL);
	ASSERT_EQ_INT(control_reply_error("{\"ok\":false,\"error\":\"\\ud800\"}", buf, sizeof(buf)),
		      -EINVAL);
	ASSERT_EQ_INT(control_reply_error("{\"ok\":false,\"error\":\"\\u12\"}", buf, sizeof(buf)),
		      -EINVAL);
}
