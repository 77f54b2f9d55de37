// SPDX-License-Identifier: GPL-2.0
/* The control socket: server and client.  The protocol, the peer checks and
 * the handler's reply contract are described in control.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "json.h"
#include "procscan.h"
#include "util.h"

/* asm-generic/socket.h (x86, arm64 and most others; Linux 6.5+).  The
 * libc headers don't have it yet. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#define AW_PF_EXITING 0x00000004u	/* include/linux/sched.h */

#define AW_STR_(x) #x
#define AW_STR(x) AW_STR_(x)

enum client_state { CL_FREE = 0, CL_READ, CL_WRITE };

struct client {
	enum client_state state;
	int fd;
	int pidfd;		/* the peer's pidfd, -1 if the kernel gave none */
	bool gone;		/* the kernel said the peer no longer exists */
	struct control_peer peer;
	uint64_t deadline_ms;	/* CLOCK_MONOTONIC */
	size_t len;		/* bytes of line read so far */
	char line[CONTROL_MAX_LINE + 1];
	char *out;		/* the reply, '\n' included */
	size_t out_len, out_off;
};

struct control {
	int lfd, epfd, lockfd;
	uid_t owner;		/* our euid: the one non-root uid served */
	bool bound;		/* path is our socket: unlink it at free */
	dev_t dev;
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_handler_fn fn;
	control_peer_fn allow;
	void *ctx;
	struct jsonw *jw;
	struct control_stats st;
	struct client cl[CONTROL_MAX_CLIENTS];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fill_addr(const char *path, struct sockaddr_un *sa, socklen_t *salen)
{
	size_t n;

	if (!path || !*path)
		return -EINVAL;
	n = strlen(path);
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	*salen = offsetof(struct sockaddr_un, sun_path) + n + 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Opening: directory, lock, stale socket, bind                        */
/* ------------------------------------------------------------------ */

/*
 * The directory is what protects the socket from being replaced, so an
 * existing one must not be writable by anyone but us.  (A socket's own mode
 * only guards connect(); unlink and rename are the directory's business.)
 */
static int prepare_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	struct stat st;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		memcpy(dir, path, slash - path);	/* < sun_path, fits */
		dir[slash - path] = '\0';
	}
	if (mkdir_p(dir, 0700))
		return -errno;
	if (lstat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

/*
 * An exclusive flock on "<path>.lock" for our whole life.  Without it two
 * servers starting together could each find no one answering, and the
 * second would unlink the first one's fresh socket.  The lock file stays:
 * unlinking it would let a later opener lock a different inode than a
 * racing one.
 */
static int take_lock(struct control *c)
{
	char lp[sizeof(c->path) + 8];

	snprintf(lp, sizeof(lp), "%s.lock", c->path);	/* sized to fit */
	c->lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lockfd < 0)
		return -errno;
	if (flock(c->lockfd, LOCK_EX | LOCK_NB))
		return errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
	return 0;
}

/*
 * Holding the lock, a socket at path was left by a dead server, or belongs
 * to something that doesn't take the lock: ask it.  A non-blocking connect
 * to a unix socket never waits: it succeeds (someone listens), fails with
 * EAGAIN (someone listens, backlog full) or ECONNREFUSED (no one does).
 */
static int clear_stale(const char *path, const struct sockaddr_un *sa, socklen_t salen)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, salen) == 0 || errno == EAGAIN)
		err = -EADDRINUSE;
	else if (errno == ECONNREFUSED)
		err = unlink(path) && errno != ENOENT ? -errno : 0;
	else
		err = errno == ENOENT ? 0 : -errno;
	close(fd);
	return err;
}

static int bind_listen(struct control *c, const struct sockaddr_un *sa, socklen_t salen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct stat st;
	mode_t old;
	int r, e;

	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->lfd < 0)
		return -errno;
	/* The socket file takes its mode from the umask at bind(); fchmod()
	 * on a socket fd doesn't reach it.  So it is 0600 from birth, with no
	 * window in which a chmod is still to come.  (The umask is per
	 * process: fine in the single-threaded collector.) */
	old = umask(0177);
	r = bind(c->lfd, (const struct sockaddr *)sa, salen);
	e = errno;
	umask(old);
	if (r)
		return -e;
	if (lstat(c->path, &st))
		return -errno;
	c->bound = true;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (listen(c->lfd, 2 * CONTROL_MAX_CLIENTS))
		return -errno;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		return -errno;
	ev.data.fd = c->lfd;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->lfd, &ev))
		return -errno;
	return 0;
}

int control__open(const char *path, control_handler_fn fn, control_peer_fn allow,
		  void *ctx, struct control **out)
{
	struct sockaddr_un sa;
	struct control *c = NULL;
	socklen_t salen;
	int err, i;

	if (out)
		*out = NULL;
	if (!out || !fn || !allow)
		return -EINVAL;
	if ((err = fill_addr(path, &sa, &salen)))
		return err;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->lfd = c->epfd = c->lockfd = -1;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->cl[i].fd = c->cl[i].pidfd = -1;
	memcpy(c->path, sa.sun_path, sizeof(c->path));
	c->fn = fn;
	c->allow = allow;
	c->ctx = ctx;
	c->owner = geteuid();
	c->jw = jsonw__new();
	if (!c->jw) {
		err = -ENOMEM;
		goto cleanup;
	}
	if ((err = prepare_dir(path)))
		goto cleanup;
	if ((err = take_lock(c)))
		goto cleanup;
	if ((err = clear_stale(path, &sa, salen)))
		goto cleanup;
	if ((err = bind_listen(c, &sa, salen)))
		goto cleanup;
	*out = c;
	return 0;
cleanup:
	control__free(c);
	return err;
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static void drop(struct control *c, struct client *cl)
{
	if (cl->fd >= 0) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
		close(cl->fd);
	}
	if (cl->pidfd >= 0)
		close(cl->pidfd);
	free(cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->state = CL_FREE;
	cl->fd = cl->pidfd = -1;
}

static void watch(struct control *c, struct client *cl, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = cl->fd };

	/* Only the caller's wakeups depend on the epoll set; control__process()
	 * tries every client anyway, so a failure here costs latency, not
	 * correctness. */
	epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
}

/* {"ok":false,"error":msg} into c->jw; false if it could not be encoded. */
static bool encode_error(struct control *c, const char *msg)
{
	jsonw__reset(c->jw);
	jsonw__obj_begin(c->jw);
	jsonw__key(c->jw, "ok");
	jsonw__bool(c->jw, false);
	jsonw__key(c->jw, "error");
	jsonw__str(c->jw, msg);
	jsonw__obj_end(c->jw);
	return jsonw__error(c->jw) == 0;
}

/* For a connection we won't serve (busy, wrong uid): one non-blocking try
 * to say why, then close.  The reply is tiny and the socket's send buffer
 * empty, so the try only fails if the peer is already gone. */
static void say_and_close(struct control *c, int fd, const char *msg)
{
	size_t len;
	const char *s;
	char buf[CONTROL_ERR_MAX + 64];

	if (encode_error(c, msg)) {
		s = jsonw__data(c->jw, &len);
		if (len + 1 <= sizeof(buf)) {
			memcpy(buf, s, len);
			buf[len++] = '\n';
			if (send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
				c->st.write_failed++;
		}
	}
	close(fd);
}

static void client_write(struct control *c, struct client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			c->st.write_failed++;
			drop(c, cl);
			return;
		}
		cl->out_off += n;
	}
	drop(c, cl);
}

static void finish_error(struct control *c, struct client *cl, const char *msg);

/* Send what c->jw holds, plus '\n', and let client_write() finish it. */
static void start_reply(struct control *c, struct client *cl)
{
	size_t len;
	const char *s = jsonw__data(c->jw, &len);
	char msg[128];

	if (len + 1 > CONTROL_MAX_REPLY) {
		c->st.internal_errors++;
		snprintf(msg, sizeof(msg), "internal error: a reply of %zu bytes is over the %u byte limit",
			 len + 1, CONTROL_MAX_REPLY);
		finish_error(c, cl, msg);
		return;
	}
	cl->out = malloc(len + 1);
	if (!cl->out) {
		c->st.internal_errors++;
		c->st.write_failed++;
		drop(c, cl);
		return;
	}
	memcpy(cl->out, s, len);
	cl->out[len] = '\n';
	cl->out_len = len + 1;
	cl->out_off = 0;
	cl->state = CL_WRITE;
	cl->deadline_ms = now_ms() + CONTROL_WRITE_TIMEOUT_MS;
	watch(c, cl, EPOLLOUT);
	client_write(c, cl);
}

static void finish_error(struct control *c, struct client *cl, const char *msg)
{
	if (!encode_error(c, msg)) {
		c->st.internal_errors++;
		c->st.write_failed++;
		drop(c, cl);
		return;
	}
	start_reply(c, cl);
}

/*
 * Has the peer begun to exit?  Its session entry is deleted by the exit
 * tracepoint of the group's last thread (bpf/proc.bpf.c).  By then the
 * group leader has PF_EXITING: it is that thread (the flag is set earlier
 * in do_exit()) or it exited before.  So the leader's /proc/PID/stat read
 * after allow() without PF_EXITING and not a zombie means the entry
 * allow() looked at had not been removed by an exit.  The pidfd, polled
 * after that and not readable (it turns readable once the thread group
 * has exited), means the stat was the connector's and not that of a later
 * process given the same pid.
 */
static bool peer_alive(const struct client *cl)
{
	struct pollfd pfd = { .fd = cl->pidfd, .events = POLLIN };
	struct proc_stat ps;
	char path[64], *buf;
	size_t len;
	int err;

	if (cl->gone)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)cl->peer.pid);
	if (read_file_capped(path, 4096, &buf, &len))
		return false;
	err = procscan__parse_stat(buf, len, &ps);
	free(buf);
	if (err || ps.pid != (uint32_t)cl->peer.pid || ps.state == 'Z' || ps.state == 'X' ||
	    (ps.flags & AW_PF_EXITING))
		return false;
	if (cl->pidfd >= 0 && poll(&pfd, 1, 0) != 0)
		return false;
	return true;
}

/* NULL if the peer may go on (command NULL: use the socket at all), else
 * the refusal to send. */
static const char *peer_refusal(struct control *c, const struct client *cl, const char *command)
{
	if (cl->peer.pid <= 0)
		return "refused: the requesting process is not visible from this pid namespace";
	if (!c->allow(c->ctx, &cl->peer, command))
		return CONTROL_REFUSED_SESSION;
	if (!peer_alive(cl))
		return "refused: the requesting process is exiting or gone, so its session can't be checked";
	return NULL;
}

/*
 * The peer's pidfd, tied to the process itself rather than its pid.
 * SO_PEERPIDFD (6.5+) is the connector; pidfd_open() (5.3+) at accept is
 * the process holding the SO_PEERCRED pid now, very likely the same one.
 */
static void get_pidfd(struct client *cl)
{
	socklen_t l = sizeof(cl->pidfd);
	int fd = -1;

	if (getsockopt(cl->fd, SOL_SOCKET, SO_PEERPIDFD, &fd, &l) == 0 && fd >= 0) {
		cl->pidfd = fd;
		return;
	}
	if (errno == ESRCH) {
		cl->gone = true;
		return;
	}
#ifdef SYS_pidfd_open
	fd = syscall(SYS_pidfd_open, cl->peer.pid, 0);
	if (fd >= 0)
		cl->pidfd = fd;
	else if (errno == ESRCH)
		cl->gone = true;
#endif
}

static struct client *free_slot(struct control *c)
{
	int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->cl[i].state == CL_FREE)
			return &c->cl[i];
	return NULL;
}

static void admit(struct control *c, int fd, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	struct client *cl = free_slot(c);
	struct ucred uc;
	socklen_t l = sizeof(uc);
	const char *why;

	if (!cl) {
		c->st.busy++;
		say_and_close(c, fd, "busy: too many control connections, try again");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l)) {
		c->st.accept_errors++;
		close(fd);
		return;
	}
	if (uc.uid != 0 && uc.uid != c->owner) {
		c->st.refused_uid++;
		say_and_close(c, fd, "permission denied: the control socket serves root only");
		return;
	}
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		c->st.accept_errors++;
		close(fd);
		return;
	}
	cl->fd = fd;
	cl->peer.pid = uc.pid;
	cl->peer.uid = uc.uid;
	cl->peer.gid = uc.gid;
	cl->state = CL_READ;
	cl->deadline_ms = now + CONTROL_READ_TIMEOUT_MS;
	c->st.accepted++;
	get_pidfd(cl);
	/* Refuse agent sessions before reading a byte, so they can't hold a
	 * slot for the read deadline and starve the human's CLI. */
	if ((why = peer_refusal(c, cl, NULL))) {
		c->st.refused_peer++;
		finish_error(c, cl, why);
	}
}

static void accept_new(struct control *c, uint64_t now)
{
	int i;

	/* Bounded, so a connect flood can't keep us from the ring buffer. */
	for (i = 0; i < 2 * CONTROL_MAX_CLIENTS; i++) {
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			admit(c, fd, now);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		/* EMFILE and the like leave the connection queued, and the
		 * listening socket readable: counted, and retried next call. */
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			c->st.accept_errors++;
		return;
	}
}

/*
 * True if s is one JSON object, balanced, with no raw newline or NUL: what
 * the line protocol needs.  jsonw escapes every string, but a handler can
 * leave a level open (our closing '}' then closes its level, not ours) or
 * pass anything through jsonw__raw().
 */
static bool reply_framed(const char *s, size_t n)
{
	bool in_str = false;
	int depth = 0;
	size_t i;

	if (!n || s[0] != '{')
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '\n' || ch == '\0')
			return false;
		if (in_str) {
			if (ch == '\\' && i + 1 < n && s[i + 1] != '\n' && s[i + 1] != '\0')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (--depth < 0 || (depth == 0 && i + 1 != n))
				return false;
		}
	}
	return depth == 0 && !in_str;
}

static void run_handler(struct control *c, struct client *cl, int argc, char **argv)
{
	char err[CONTROL_ERR_MAX] = "", msg[128];
	size_t len;
	const char *s;
	int ret;

	jsonw__reset(c->jw);
	jsonw__obj_begin(c->jw);
	jsonw__key(c->jw, "ok");
	jsonw__bool(c->jw, true);
	c->st.requests++;
	ret = c->fn(c->ctx, &cl->peer, argc, argv, c->jw, err, sizeof(err));
	if (ret < 0) {
		c->st.handler_errors++;
		err[sizeof(err) - 1] = '\0';
		/* -ret of INT_MIN would overflow; anything that low isn't an errno. */
		finish_error(c, cl, err[0] ? err : strerror(ret < -4095 ? EIO : -ret));
		return;
	}
	jsonw__obj_end(c->jw);
	if ((ret = jsonw__error(c->jw))) {
		c->st.internal_errors++;
		snprintf(msg, sizeof(msg), "internal error: the reply could not be encoded: %s",
			 strerror(-ret));
		finish_error(c, cl, msg);
		return;
	}
	s = jsonw__data(c->jw, &len);
	if (!reply_framed(s, len)) {
		c->st.internal_errors++;
		finish_error(c, cl, "internal error: the handler left the reply unbalanced");
		return;
	}
	start_reply(c, cl);
}

static int split_words(char *s, char **argv, int max)
{
	int argc = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (argc == max)
			return -1;
		argv[argc++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
	argv[argc] = NULL;
	return argc;
}

/* line[0..n) is the request, its '\n' already replaced by a NUL. */
static void dispatch(struct control *c, struct client *cl, size_t n)
{
	char *argv[CONTROL_MAX_ARGS + 1];
	const char *why;
	size_t i;
	int argc;

	if (n && cl->line[n - 1] == '\r')
		cl->line[--n] = '\0';
	for (i = 0; i < n; i++) {
		unsigned char ch = cl->line[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			c->st.bad_requests++;
			finish_error(c, cl, "bad request: control byte in the request line");
			return;
		}
	}
	argc = split_words(cl->line, argv, CONTROL_MAX_ARGS);
	if (argc <= 0) {
		c->st.bad_requests++;
		finish_error(c, cl, argc ? "bad request: more than " AW_STR(CONTROL_MAX_ARGS) " words"
				    : "bad request: empty request line");
		return;
	}
	if ((why = peer_refusal(c, cl, argv[0]))) {
		c->st.refused_peer++;
		finish_error(c, cl, why);
		return;
	}
	run_handler(c, cl, argc, argv);
}

static void client_read(struct control *c, struct client *cl)
{
	for (;;) {
		size_t room = CONTROL_MAX_LINE - cl->len;
		ssize_t n;
		char *nl;

		if (!room) {
			c->st.bad_requests++;
			finish_error(c, cl, "bad request: line longer than " AW_STR(CONTROL_MAX_LINE)
				     " bytes");
			return;
		}
		n = recv(cl->fd, cl->line + cl->len, room, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				drop(c, cl);
			return;
		}
		if (n == 0) {
			/* Connected and left without a byte (the stale-socket
			 * probe of another control__open, say): nothing to say. */
			if (!cl->len) {
				drop(c, cl);
				return;
			}
			c->st.bad_requests++;
			finish_error(c, cl, "bad request: end of input before the end of the line");
			return;
		}
		nl = memchr(cl->line + cl->len, '\n', n);
		cl->len += n;
		if (nl) {
			*nl = '\0';
			dispatch(c, cl, nl - cl->line);
			return;
		}
	}
}

static void expire(struct control *c, struct client *cl)
{
	if (cl->state == CL_READ) {
		c->st.timed_out++;
		finish_error(c, cl, "timeout: no complete request line within "
			     AW_STR(CONTROL_READ_TIMEOUT_MS) " ms");
	} else {
		c->st.write_failed++;
		drop(c, cl);
	}
}

void control__process(struct control *c)
{
	uint64_t now;
	int i;

	if (!c)
		return;
	now = now_ms();
	accept_new(c, now);
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct client *cl = &c->cl[i];

		if (cl->state == CL_READ)
			client_read(c, cl);
		else if (cl->state == CL_WRITE)
			client_write(c, cl);
		/* A reply started just now has a fresh deadline; the read
		 * deadline is checked against this call's start. */
		if (cl->state != CL_FREE && now >= cl->deadline_ms)
			expire(c, cl);
	}
}

int control__fd(const struct control *c)
{
	return c ? c->epfd : -1;
}

int control__fds(const struct control *c, struct pollfd *fds, int max)
{
	int i, n = 0;

	if (!c || max < 1)
		return 0;
	fds[n++] = (struct pollfd){ .fd = c->lfd, .events = POLLIN };
	for (i = 0; i < CONTROL_MAX_CLIENTS && n < max; i++) {
		const struct client *cl = &c->cl[i];

		if (cl->state == CL_FREE)
			continue;
		fds[n++] = (struct pollfd){
			.fd = cl->fd,
			.events = cl->state == CL_READ ? POLLIN : POLLOUT,
		};
	}
	return n;
}

int control__timeout_ms(const struct control *c)
{
	uint64_t now = now_ms(), best = UINT64_MAX;
	int i;

	if (!c)
		return -1;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->cl[i].state != CL_FREE && c->cl[i].deadline_ms < best)
			best = c->cl[i].deadline_ms;
	if (best == UINT64_MAX)
		return -1;
	if (best <= now)
		return 0;
	return best - now > INT_MAX ? INT_MAX : (int)(best - now);
}

void control__stats(const struct control *c, struct control_stats *st)
{
	if (c)
		*st = c->st;
	else
		memset(st, 0, sizeof(*st));
}

void control__free(struct control *c)
{
	struct stat st;
	int i;

	if (!c)
		return;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->cl[i].state != CL_FREE)
			drop(c, &c->cl[i]);
	if (c->lfd >= 0)
		close(c->lfd);
	/* Only the socket we bound: still holding the lock, no other server
	 * can have put its own there, but someone may have moved ours. */
	if (c->bound && lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->lockfd >= 0)
		close(c->lockfd);
	jsonw__free(c->jw);
	free(c);
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

static int build_line(int argc, char **argv, char *line, size_t *len)
{
	size_t n = 0;
	int i;

	if (argc < 1 || !argv)
		return -EINVAL;
	if (argc > CONTROL_MAX_ARGS)
		return -E2BIG;
	for (i = 0; i < argc; i++) {
		const unsigned char *w = (const unsigned char *)argv[i];
		size_t wl, j;

		if (!w || !*w)
			return -EINVAL;
		wl = strlen(argv[i]);
		for (j = 0; j < wl; j++)
			if (w[j] <= 0x20 || w[j] == 0x7f)
				return -EINVAL;
		/* the word, then a space or the final '\n' */
		if (wl + 1 > CONTROL_MAX_LINE - n)
			return -E2BIG;
		memcpy(line + n, w, wl);
		n += wl;
		line[n++] = i + 1 < argc ? ' ' : '\n';
	}
	*len = n;
	return 0;
}

static int remaining_ms(uint64_t deadline)
{
	uint64_t now = now_ms();

	if (now >= deadline)
		return 0;
	return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

/*
 * A blocking unix connect() waits while the listener's backlog is full,
 * for at most SO_SNDTIMEO, and then fails with EAGAIN.
 */
static int connect_until(int fd, const struct sockaddr_un *sa, socklen_t salen, uint64_t deadline)
{
	for (;;) {
		int ms = remaining_ms(deadline);
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

		if (!ms)
			return -ETIMEDOUT;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
			return -errno;
		if (connect(fd, (const struct sockaddr *)sa, salen) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	}
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int ms = remaining_ms(deadline), r;

		if (!ms)
			return -ETIMEDOUT;
		r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int send_line(int fd, const char *line, size_t len, uint64_t deadline)
{
	size_t off = 0;
	int err;

	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n >= 0) {
			off += n;
			continue;
		}
		if (errno == EINTR)
			continue;
		/* The server refused us before reading (wrong uid, busy, an
		 * agent session) and closed: its reply is already queued for
		 * us, so go and read it. */
		if (errno == EPIPE || errno == ECONNRESET)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if ((err = wait_fd(fd, POLLOUT, deadline)))
			return err;
	}
	return 0;
}

static int recv_line(int fd, uint64_t deadline, char **reply)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nl;
	int err;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t want;
		ssize_t n;

		if (len + 1 >= cap && cap < CONTROL_MAX_REPLY + 1) {
			size_t ncap = cap * 2 > CONTROL_MAX_REPLY + 1 ? CONTROL_MAX_REPLY + 1 : cap * 2;
			char *nb = realloc(buf, ncap);

			if (!nb) {
				err = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		if (len >= CONTROL_MAX_REPLY) {
			err = -EMSGSIZE;
			goto fail;
		}
		want = cap - 1 - len;
		if (want > CONTROL_MAX_REPLY - len)
			want = CONTROL_MAX_REPLY - len;
		n = recv(fd, buf + len, want, MSG_DONTWAIT);
		if (n > 0) {
			nl = memchr(buf + len, '\n', n);
			if (memchr(buf + len, '\0', nl ? (size_t)(nl - (buf + len)) : (size_t)n)) {
				err = -EPROTO;
				goto fail;
			}
			if (nl) {
				*nl = '\0';
				*reply = buf;
				return 0;
			}
			len += n;
			continue;
		}
		if (n == 0 || errno == ECONNRESET) {
			err = -EPROTO;
			goto fail;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			err = -errno;
			goto fail;
		}
		if ((err = wait_fd(fd, POLLIN, deadline)))
			goto fail;
	}
fail:
	free(buf);
	return err;
}

int control_request(const char *path, int argc, char **argv, int timeout_ms, char **reply)
{
	char line[CONTROL_MAX_LINE];
	struct sockaddr_un sa;
	socklen_t salen;
	uint64_t deadline;
	size_t len;
	int fd, err;

	if (!reply)
		return -EINVAL;
	*reply = NULL;
	if ((err = build_line(argc, argv, line, &len)))
		return err;
	if ((err = fill_addr(path, &sa, &salen)))
		return err;
	if (timeout_ms <= 0)
		timeout_ms = CONTROL_DEFAULT_TIMEOUT_MS;
	deadline = now_ms() + timeout_ms;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = connect_until(fd, &sa, salen, deadline);
	if (!err)
		err = send_line(fd, line, len, deadline);
	if (!err)
		err = recv_line(fd, deadline, reply);
	close(fd);
	return err;
}

bool control_reply_ok(const char *reply)
{
	static const char pfx[] = "{\"ok\":true";

	return reply && !strncmp(reply, pfx, sizeof(pfx) - 1) &&
	       (reply[sizeof(pfx) - 1] == ',' || reply[sizeof(pfx) - 1] == '}');
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* One escape after the '\' at *pp: its bytes into b, their count, or 0 if
 * invalid.  Only what json.h writes: no surrogate pairs, since it passes
 * valid UTF-8 through unescaped. */
static size_t unescape(const char **pp, unsigned char b[4])
{
	const char *p = *pp;
	unsigned int cp = 0;
	int i, h;

	switch (*p) {
	case '"': case '\\': case '/': b[0] = *p; break;
	case 'b': b[0] = '\b'; break;
	case 'f': b[0] = '\f'; break;
	case 'n': b[0] = '\n'; break;
	case 'r': b[0] = '\r'; break;
	case 't': b[0] = '\t'; break;
	case 'u':
		for (i = 1; i <= 4; i++) {
			if ((h = hexval(p[i])) < 0)
				return 0;
			cp = cp << 4 | h;
		}
		*pp = p + 5;
		if (cp >= 0xdc80 && cp <= 0xdcff) {	/* surrogateescape: a raw byte */
			b[0] = cp & 0xff;
			return 1;
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			return 0;
		if (cp < 0x80) {
			b[0] = cp;
			return 1;
		}
		if (cp < 0x800) {
			b[0] = 0xc0 | cp >> 6;
			b[1] = 0x80 | (cp & 0x3f);
			return 2;
		}
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		return 3;
	default:
		return 0;
	}
	*pp = p + 1;
	return 1;
}

int control_reply_error(const char *reply, char *buf, size_t len)
{
	static const char pfx[] = "{\"ok\":false,\"error\":\"";
	const char *p;
	size_t o = 0;
	bool full = false;

	if (!reply || !buf || !len || strncmp(reply, pfx, sizeof(pfx) - 1))
		return -EINVAL;
	for (p = reply + sizeof(pfx) - 1; *p && *p != '"';) {
		unsigned char b[4];
		size_t k = 1;

		if (*p == '\\') {
			p++;
			if (!(k = unescape(&p, b)))
				return -EINVAL;
		} else if ((unsigned char)*p < 0x20) {
			return -EINVAL;
		} else {
			b[0] = *p++;
		}
		/* Whole sequences only, so truncation never splits one. */
		if (!full && o + k < len) {
			memcpy(buf + o, b, k);
			o += k;
		} else {
			full = true;
		}
	}
	buf[o] = '\0';
	if (*p != '"' || strcmp(p + 1, "}"))
		return -EINVAL;
	return 0;
}
