/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket between `agentwatch run` (server, inside the
 * collector's single-threaded loop) and the CLI (client): pending verdicts,
 * allow/deny, status, reload.
 *
 * Protocol: a unix stream socket, one request per connection.  The client
 * sends one line
 *
 *     COMMAND [ARG...]\n
 *
 * of words separated by spaces or tabs (a trailing '\r' is dropped), at most
 * CONTROL_MAX_LINE bytes with its '\n', at most CONTROL_MAX_ARGS words, no
 * other control bytes (< 0x20, 0x7f).  Bytes after the '\n' are ignored.  The
 * server answers with exactly one JSON object on one line, then closes:
 *
 *     {"ok":true,...}\n
 *     {"ok":false,"error":"text"}\n
 *
 * "ok" is always the first member.  JSON strings never hold a raw newline
 * (json.h escapes it), so a reader stops at the first '\n' and can ignore
 * what follows, including ECONNRESET: closing a unix stream socket with
 * unread input resets the peer after the data already queued.
 *
 * Who may talk to it.  The socket is 0600 in a directory that only its
 * owner can write, and every connection is checked again in the server:
 *
 *  1. SO_PEERCRED uid must be 0 or the server's own effective uid (the same
 *     thing in production, where agentwatch runs as root to load BPF; the
 *     second case only lets the unit tests run unprivileged).  Anyone else
 *     gets an error reply before anything is read.
 *  2. allow(ctx, peer, NULL) right after accept: may this peer use the
 *     socket at all?  The collector refuses every process inside an agent
 *     session, root or not, so an agent can never approve its own block and
 *     can't fill the connection slots either.
 *  3. allow(ctx, peer, argv[0]) once the line is read: may it run this
 *     command (the collector may allow `status` more widely than `allow`)?
 *
 * The pid the callback checks is the SO_PEERCRED pid, taken at connect().
 * The session map is keyed by tgid and inherited at fork, so a connector
 * that forks children is judged by its own session, which its children
 * share.  A connector that EXITS is refused instead: its session entry is
 * deleted at exit (bpf/proc.bpf.c), so after that "no session" proves
 * nothing, and once it is reaped its pid can be reused.  So after each
 * allow() that says yes, the server checks that the peer had not started
 * exiting: /proc/PID/stat shows neither PF_EXITING (set before the exit
 * tracepoint deletes the entry) nor a zombie, and then the peer's pidfd
 * (SO_PEERPIDFD, Linux 6.5+; else pidfd_open() at accept) shows that it
 * still has not exited, so that stat was the connector's and not a pid
 * reuser's.  Without any pidfd (Linux < 5.3) the pid-reuse window between
 * connect and the check remains.  The real CLI waits for its reply, so it
 * is never refused by this.
 *
 * The server never blocks the loop: non-blocking accept, reads and writes;
 * each connection has CONTROL_READ_TIMEOUT_MS from accept to deliver its
 * line and CONTROL_WRITE_TIMEOUT_MS to take its reply; at most
 * CONTROL_MAX_CLIENTS at once (the next one gets a "busy" reply and is
 * closed).  Only the handler itself may take time.
 */
#ifndef AW_CONTROL_H
#define AW_CONTROL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONTROL_DEFAULT_PATH     "/run/agentwatch/control.sock"
#define CONTROL_MAX_LINE         4096          /* request bytes, '\n' included */
#define CONTROL_MAX_ARGS         64            /* words in a request */
#define CONTROL_MAX_CLIENTS      32
#define CONTROL_MAX_FDS          (CONTROL_MAX_CLIENTS + 1)
#define CONTROL_READ_TIMEOUT_MS  1000
#define CONTROL_WRITE_TIMEOUT_MS 5000
#define CONTROL_MAX_REPLY        (16u << 20)   /* reply bytes, '\n' included */
#define CONTROL_ERR_MAX          512           /* errbuf size given to handlers */
#define CONTROL_DEFAULT_TIMEOUT_MS 5000        /* control_request(timeout_ms <= 0) */

#define CONTROL_REFUSED_SESSION \
	"refused: requests from inside an agent session are not accepted"

struct control;
struct jsonw;

struct control_peer {
	pid_t pid;      /* SO_PEERCRED: the connecting process, at connect() */
	uid_t uid;
	gid_t gid;
};

/*
 * A request handler.  argv[0] is the command, argc >= 1, argv[argc] is
 * NULL; the strings live only during the call.
 *
 * Reply contract.  Before the call the server has written
 *
 *     {"ok":true
 *
 * into reply: the writer is inside the top-level object, and "ok" is its
 * first member.  On success the handler adds zero or more members at that
 * level (jsonw__key() then exactly one value; nested objects and arrays
 * fully closed), must not close the top-level object nor write an "ok" or
 * "error" key, and returns 0.  The server closes the object and sends it.
 *
 * On failure the handler returns a negative errno.  It may write a
 * NUL-terminated message into errbuf (errlen is CONTROL_ERR_MAX; errbuf
 * starts empty, and an empty one becomes strerror(-ret)).  Whatever it
 * wrote into reply is discarded and the client gets
 *
 *     {"ok":false,"error":"<errbuf>"}
 *
 * A reply the handler left unbalanced, a writer error (jsonw__error(),
 * e.g. -ENOMEM) or a reply over CONTROL_MAX_REPLY becomes an error reply
 * too ("internal error: ...").  The handler runs inside control__process()
 * and must not call control__process() or control__free().
 */
typedef int (*control_handler_fn)(void *ctx, const struct control_peer *peer,
				  int argc, char **argv, struct jsonw *reply,
				  char *errbuf, size_t errlen);

/*
 * May this peer use the socket (command == NULL, called right after accept,
 * before anything is read) or run this command (command == argv[0])?  The
 * collector returns false for any peer inside an agent session, even root;
 * the client then gets {"ok":false,"error":CONTROL_REFUSED_SESSION}.
 */
typedef bool (*control_peer_fn)(void *ctx, const struct control_peer *peer,
				const char *command);

/* Counters for status; nothing is dropped without being counted. */
struct control_stats {
	uint64_t accepted;       /* connections taken into a slot */
	uint64_t requests;       /* lines handed to the handler */
	uint64_t handler_errors; /* ... that it answered with an error */
	uint64_t refused_uid;    /* peer uid not allowed */
	uint64_t refused_peer;   /* allow() said no, or the peer had exited */
	uint64_t busy;           /* turned away: all slots in use */
	uint64_t timed_out;      /* no complete line within the read deadline */
	uint64_t bad_requests;   /* oversize, control bytes, empty, EOF mid-line */
	uint64_t internal_errors;/* unbalanced or oversize reply, out of memory */
	uint64_t write_failed;   /* reply not delivered (peer gone, write deadline) */
	uint64_t accept_errors;  /* accept() or SO_PEERCRED failed */
};

/*
 * Create the socket at path (CONTROL_DEFAULT_PATH normally):
 *  - the parent directory is created 0700 if missing; an existing one must
 *    be a directory owned by our euid that group and others can't write;
 *  - an exclusive flock on "<path>.lock" (kept, never unlinked) makes two
 *    servers on one path exclusive without a check-then-unlink race;
 *  - a socket already at path is removed only if nobody accepts on it; if
 *    something answers (another agentwatch, or anything else) -EADDRINUSE;
 *    a non-socket file at path is left alone: -EEXIST;
 *  - bound under umask 0177, so the socket is 0600 from its creation.
 * fn and allow are required.  0 or -errno; *out is NULL on failure.
 */
int control__open(const char *path, control_handler_fn fn, control_peer_fn allow,
		  void *ctx, struct control **out);

/*
 * One fd for the caller's poll/epoll: readable whenever control__process()
 * has something to do.  It is an epoll set holding the listening socket and
 * every client (POLLIN while reading, POLLOUT while replying), so it is not
 * the listening socket itself.
 */
int control__fd(const struct control *c);

/*
 * Or poll the raw fds: the listening socket plus each client, with the
 * events wanted.  Fills at most max entries (CONTROL_MAX_FDS is always
 * enough) and returns how many.
 */
int control__fds(const struct control *c, struct pollfd *fds, int max);

/*
 * Milliseconds until the nearest client deadline (0 if one has passed), or
 * -1 if there are no clients: the longest the caller may sleep before the
 * next control__process() so that idle clients are dropped on time.
 */
int control__timeout_ms(const struct control *c);

/*
 * Do whatever is ready without blocking: accept, read, dispatch, write
 * replies, drop clients past their deadline.  Call it when control__fd()
 * (or any of control__fds()) is ready, and at least every
 * control__timeout_ms().  Calling it spuriously is harmless.
 */
void control__process(struct control *c);

void control__stats(const struct control *c, struct control_stats *st);

/* Closes every client and the socket, and unlinks it; NULL ok. */
void control__free(struct control *c);

/*
 * Client: connect to path, send argv as one request line, and read the
 * reply line into a new heap string (*reply, without its '\n', for the
 * caller to free).  The whole exchange takes at most timeout_ms
 * (CONTROL_DEFAULT_TIMEOUT_MS if <= 0).  0, or:
 *   -EINVAL        argc < 1, an empty word, or a word with a space or a
 *                  control byte
 *   -E2BIG         the line would be over CONTROL_MAX_LINE
 *   -ENAMETOOLONG  path doesn't fit a sockaddr_un
 *   -ENOENT, -ECONNREFUSED  no server (no socket / a stale one)
 *   -EACCES        not allowed to connect (the socket is root-only)
 *   -ETIMEDOUT     no complete reply in time
 *   -EPROTO        the server closed before a complete line, or sent a NUL
 *   -EMSGSIZE      the reply is over CONTROL_MAX_REPLY
 * A reply with "ok":false is still a 0 return: see control_reply_ok().
 */
int control_request(const char *path, int argc, char **argv, int timeout_ms, char **reply);

/* Does this reply line start {"ok":true? (The server always writes "ok" first.) */
bool control_reply_ok(const char *reply);

/*
 * The decoded "error" text of an error reply as the server writes it
 * ({"ok":false,"error":"..."}), NUL-terminated in buf and truncated to fit.
 * The text is not escaped for a terminal (see text_escape()); a "\udcNN"
 * escape becomes the raw byte NN again.  0, or -EINVAL if reply is not
 * in that form.
 */
int control_reply_error(const char *reply, char *buf, size_t len);

#endif /* AW_CONTROL_H */
