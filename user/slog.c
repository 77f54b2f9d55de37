// SPDX-License-Identifier: GPL-2.0
/* RFC 5424 syslog exporter: formatter, destinations, non-blocking transport.
 * The format, the transports and the delivery guarantees are in slog.h. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "slog.h"
#include "util.h"

#define SLOG_MAX_ADDRS 8
#define NILVALUE "-"
#define BOM "\xef\xbb\xbf"

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */
/* ------------------------------------------------------------------ */

bool slog__utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t k = utf8_seq_len(p + i, len - i);

		if (!k)
			return false;
		i += k;
	}
	return true;
}

size_t slog__utf8_cut(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i;

	if (len <= max)
		return len;
	/* Back up over continuation bytes to a sequence start; at most 3,
	 * so invalid input (a run of them) is cut at max. */
	for (n = max, i = 0; n > 0 && i < 3 && (p[n] & 0xc0) == 0x80; i++)
		n--;
	if ((p[n] & 0xc0) == 0x80)
		return max;
	return n;
}

/* ------------------------------------------------------------------ */
/* Formatter                                                           */
/* ------------------------------------------------------------------ */

struct out {
	char *p;
	size_t cap;	/* usable bytes, the NUL's excluded */
	size_t len;
	bool over;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static bool printusascii(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= max || s[i] < 33 || s[i] > 126)
			return false;
	return true;
}

/* RFC 5424 SD-NAME: 1*32 PRINTUSASCII except '=', SP, ']', '"'. */
static bool sd_name_ok(const char *s)
{
	if (!s || !*s || !printusascii(s, 32))
		return false;
	return !strpbrk(s, "=]\"");
}

/* A header field: NILVALUE for NULL or "", else max PRINTUSASCII. */
static int put_field(struct out *o, const char *s, size_t max)
{
	if (!s || !*s) {
		puts_(o, NILVALUE);
		return 0;
	}
	if (!printusascii(s, max))
		return -EINVAL;
	puts_(o, s);
	return 0;
}

/* RFC 3339 as RFC 5424 6.2.3 restricts it: UTC, at most 6 fraction digits. */
static void put_time(struct out *o, uint64_t ns)
{
	time_t sec = ns / 1000000000ull;
	char b[40];
	struct tm tm;
	int n;

	if (!ns || !gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999) {
		puts_(o, NILVALUE);
		return;
	}
	n = snprintf(b, sizeof(b), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (unsigned int)(ns % 1000000000ull / 1000));
	if (n < 0 || (size_t)n >= sizeof(b)) {
		puts_(o, NILVALUE);
		return;
	}
	put(o, b, n);
}

/*
 * PARAM-VALUE (RFC 5424 6.3.3): '"', '\' and ']' MUST be escaped with '\'.
 * Control bytes would survive the ABNF but not every receiver (rsyslog
 * rewrites them as #ooo, a line-based reader splits on '\n'), and the
 * value is only a summary for filtering: they become '?', as do bytes of
 * invalid UTF-8 (the value is UTF-8-STRING).
 */
static void put_value(struct out *o, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t len = slog__utf8_cut(v, strnlen(v, SLOG_VALUE_MAX + 1), SLOG_VALUE_MAX);
	size_t i = 0;

	while (i < len) {
		size_t k = utf8_seq_len(p + i, len - i);

		if (!k || p[i] < 0x20 || p[i] == 0x7f) {
			put(o, "?", 1);
			i++;
			continue;
		}
		if (p[i] == '"' || p[i] == '\\' || p[i] == ']')
			put(o, "\\", 1);
		put(o, v + i, k);
		i += k;
	}
}

static int put_param(struct out *o, const char *name, const char *value)
{
	if (!sd_name_ok(name))
		return -EINVAL;
	put(o, " ", 1);
	puts_(o, name);
	put(o, "=\"", 2);
	put_value(o, value);
	put(o, "\"", 1);
	return 0;
}

static size_t count_params(const struct slog_header *h)
{
	size_t i, n = 0;

	for (i = 0; i < h->nparams; i++)
		if (h->params[i].value)
			n++;
	return n;
}

/* STRUCTURED-DATA: one SD-ELEMENT, or NILVALUE.  trunc: the original MSG
 * length to note, 0 for none. */
static int put_sd(struct out *o, const struct slog_header *h, size_t trunc)
{
	char num[24];
	size_t i;
	int err;

	if (!h->sd_id || (!count_params(h) && !trunc)) {
		puts_(o, NILVALUE);
		return 0;
	}
	put(o, "[", 1);
	puts_(o, h->sd_id);
	for (i = 0; i < h->nparams; i++) {
		if (!h->params[i].value)
			continue;
		if ((err = put_param(o, h->params[i].name, h->params[i].value)))
			return err;
	}
	if (trunc) {
		snprintf(num, sizeof(num), "%zu", trunc);	/* fits: 20 digits */
		put_param(o, "truncated", num);
	}
	put(o, "]", 1);
	return 0;
}

/* HEADER SP STRUCTURED-DATA. */
static int put_head(struct out *o, const struct slog_header *h, size_t trunc)
{
	char pri[16];
	int err;

	snprintf(pri, sizeof(pri), "<%d>1 ", h->facility * 8 + h->severity);	/* <= "<191>1 " */
	puts_(o, pri);
	put_time(o, h->time_ns);
	put(o, " ", 1);
	if ((err = put_field(o, h->hostname, 255)))
		return err;
	put(o, " ", 1);
	if ((err = put_field(o, h->app, 48)))
		return err;
	put(o, " ", 1);
	if ((err = put_field(o, h->procid, 128)))
		return err;
	put(o, " ", 1);
	if ((err = put_field(o, h->msgid, 32)))
		return err;
	put(o, " ", 1);
	return put_sd(o, h, trunc);
}

static int check_header(const struct slog_header *h, const char *msg, size_t len)
{
	if (h->facility < 0 || h->facility > 23 || h->severity < 0 || h->severity > 7)
		return -EINVAL;
	if (h->nparams > SLOG_MAX_PARAMS || (h->nparams && !h->params))
		return -EINVAL;
	if (h->sd_id && !sd_name_ok(h->sd_id))
		return -EINVAL;
	if (len && (!msg || memchr(msg, '\0', len)))
		return -EINVAL;
	return 0;
}

int slog__format(char *buf, size_t cap, const struct slog_header *h, const char *msg,
		 size_t len, bool *truncated)
{
	struct out o = { .p = buf, .cap = cap ? cap - 1 : 0 };
	size_t room, cut;
	bool bom;
	int err;

	if (truncated)
		*truncated = false;
	if (!buf || !cap || !h)
		return -EINVAL;
	buf[0] = '\0';
	if ((err = check_header(h, msg, len)))
		return err;
	bom = h->bom && len && slog__utf8_valid(msg, len);
	if ((err = put_head(&o, h, 0)))
		return err;
	if (o.over)
		return -EMSGSIZE;
	room = o.cap - o.len;
	if (len && 1 + (bom ? 3 : 0) + len > room) {
		/* Again, with the truncated param: the SD grows a little. */
		o.len = 0;
		put_head(&o, h, len);
		if (o.over || o.cap - o.len < 1 + (bom ? 3 : 0) + 1)
			return -EMSGSIZE;
		room = o.cap - o.len - 1 - (bom ? 3 : 0);
		cut = slog__utf8_cut(msg, len, room);
		if (!cut)
			return -EMSGSIZE;
		len = cut;
		if (truncated)
			*truncated = true;
	}
	if (len) {
		put(&o, " ", 1);
		if (bom)
			put(&o, BOM, 3);
		put(&o, msg, len);
	}
	buf[o.len] = '\0';
	return (int)o.len;
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static const char *const facility_names[24] = {
	[1] = "user", [2] = "mail", [3] = "daemon", [4] = "auth", [5] = "syslog", [6] = "lpr",
	[7] = "news", [8] = "uucp", [9] = "cron", [10] = "authpriv", [11] = "ftp", [12] = "ntp",
	[13] = "audit", [14] = "alert", [15] = "clock",
	[16] = "local0", [17] = "local1", [18] = "local2", [19] = "local3",
	[20] = "local4", [21] = "local5", [22] = "local6", [23] = "local7",
};

int slog__facility_from_name(const char *name)
{
	uint64_t v;
	int i;

	if (!name)
		return -EINVAL;
	if (!parse_u64(name, &v))
		return v >= 1 && v <= 23 ? (int)v : -EINVAL;
	for (i = 1; i < 24; i++)
		if (!strcmp(name, facility_names[i]))
			return i;
	return -EINVAL;
}

const char *slog__facility_name(int facility)
{
	return facility >= 1 && facility < 24 ? facility_names[facility] : "?";
}

int slog__severity_for_verdict(const char *verdict)
{
	static const char *const warn[] = { "deny", "kill", "kill-session", "freeze", "alert" };
	size_t i;

	if (!verdict)
		return SLOG_SEV_INFO;
	for (i = 0; i < sizeof(warn) / sizeof(warn[0]); i++)
		if (!strcmp(verdict, warn[i]))
			return SLOG_SEV_WARNING;
	if (!strcmp(verdict, "pause"))
		return SLOG_SEV_NOTICE;
	return SLOG_SEV_INFO;
}

/* ------------------------------------------------------------------ */
/* Destinations                                                        */
/* ------------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *dest, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "syslog destination '%.200s': %s", dest, why);
}

static int parse_port(const char *s, char *out)
{
	uint64_t v;

	if (!*s || strlen(s) > 5 || parse_u64(s, &v) || v < 1 || v > 65535)
		return -EINVAL;
	snprintf(out, 6, "%u", (unsigned int)v);	/* fits: <= 5 digits */
	return 0;
}

/* HOST[:PORT] where HOST is a name, IPv4, or [IPv6]. */
static const char *parse_hostport(const char *s, struct slog_dest *d)
{
	const char *end, *port;
	size_t hl;

	if (*s == '[') {
		if (!(end = strchr(s, ']')))
			return "unterminated '[' in the host";
		s++;
		hl = end - s;
		port = end[1] == ':' ? end + 2 : end[1] ? "" : NULL;
		if (end[1] && end[1] != ':')
			return "junk after ']' (expected ':PORT')";
		/* Hex, ':' and '.', and a zone after '%' (fe80::1%eth0). */
		if (!hl || strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ:.%_-") < hl)
			return "bad IPv6 address in brackets";
	} else {
		end = strchr(s, ':');
		hl = end ? (size_t)(end - s) : strlen(s);
		port = end ? end + 1 : NULL;
		if (end && strchr(end + 1, ':'))
			return "an IPv6 address must be in brackets: [::1]:514";
		if (!hl)
			return "missing host";
		if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") < hl)
			return "bad character in the host name";
	}
	if (hl >= sizeof(d->host))
		return "host name too long";
	memcpy(d->host, s, hl);
	d->host[hl] = '\0';
	if (!port) {
		strcpy(d->port, SLOG_DEFAULT_PORT);
		return NULL;
	}
	if (parse_port(port, d->port))
		return "bad port (expected 1-65535)";
	return NULL;
}

static const char *parse_unix(const char *path, struct slog_dest *d)
{
	if (!*path)
		return "missing socket path";
	if (strlen(path) >= sizeof(d->path))
		return "socket path too long";
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "control character in the socket path";
	strcpy(d->path, path);
	return NULL;
}

int slog__parse_dest(const char *dest, struct slog_dest *d, char *err, size_t errlen)
{
	const char *why = NULL;

	memset(d, 0, sizeof(*d));
	if (!dest || !*dest) {
		set_err(err, errlen, "", "empty (expected udp://HOST:PORT, tcp://HOST:PORT or unix:PATH)");
		return -EINVAL;
	}
	if (strlen(dest) > 512) {
		set_err(err, errlen, dest, "too long");
		return -EINVAL;
	}
	if (!strncmp(dest, "udp://", 6) || !strncmp(dest, "tcp://", 6)) {
		d->transport = dest[0] == 'u' ? SLOG_UDP : SLOG_TCP;
		why = parse_hostport(dest + 6, d);
	} else if (!strncmp(dest, "unix://", 7)) {
		d->transport = SLOG_UNIX;
		/* unix:///dev/log: the authority is empty, the path absolute. */
		why = dest[7] != '/' ? "expected unix:///PATH (empty authority) or unix:PATH"
				     : parse_unix(dest + 7, d);
	} else if (!strncmp(dest, "unix:", 5)) {
		d->transport = SLOG_UNIX;
		why = parse_unix(dest + 5, d);
	} else {
		why = "unknown scheme (expected udp://HOST:PORT, tcp://HOST:PORT or unix:PATH)";
	}
	if (why) {
		set_err(err, errlen, dest, why);
		memset(d, 0, sizeof(*d));
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The exporter                                                        */
/* ------------------------------------------------------------------ */

enum conn_state { ST_DOWN, ST_CONNECTING, ST_UP };

struct frame {
	char *data;
	size_t len;
};

struct slog {
	struct slog_dest dest;
	struct sockaddr_storage addr[SLOG_MAX_ADDRS];
	socklen_t addrlen[SLOG_MAX_ADDRS];
	int naddr, next_addr;
	int fd, sotype;
	enum conn_state state;
	uint64_t now_ms;		/* CLOCK_MONOTONIC, last tick (or open) */
	uint64_t retry_at_ms, connect_deadline_ms;
	uint32_t backoff_ms;
	int facility;
	bool bom;
	char hostname[256], app[49], sd_id[33], procid[16];
	size_t msg_max, max_bytes, max_msgs;
	struct frame *q;		/* ring of max_msgs */
	size_t qhead, qcount, qbytes;
	size_t qoff;			/* stream: bytes of the head frame already sent */
	char *buf;			/* msg_max + 1 */
	struct slog_stats st;
};

static uint64_t mono_ms(void)
{
	return now_ns(CLOCK_MONOTONIC) / 1000000;
}

static void note_error(struct slog *s, int e)
{
	s->st.errors++;
	s->st.last_error = e;
}

static void close_fd(struct slog *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* The connection failed or broke: retry after the backoff, doubled. */
static void go_down(struct slog *s, int e)
{
	if (e)
		note_error(s, e);
	close_fd(s);
	s->state = ST_DOWN;
	s->st.disconnects++;
	s->retry_at_ms = s->now_ms + s->backoff_ms;
	s->backoff_ms = s->backoff_ms >= SLOG_BACKOFF_MAX_MS / 2 ? SLOG_BACKOFF_MAX_MS
								 : s->backoff_ms * 2;
	/* A half-sent frame is resent whole on the next connection. */
	s->qoff = 0;
}

static void go_up(struct slog *s)
{
	s->state = ST_UP;
	s->st.connects++;
	s->backoff_ms = SLOG_BACKOFF_MIN_MS;
}

static int unix_connect(struct slog *s, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	memcpy(sa.sun_path, s->dest.path, strlen(s->dest.path) + 1);	/* fits: parse_unix */
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A unix connect never waits: a stream listener with a full backlog
	 * says EAGAIN, retried like any failure. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		return -e;
	}
	s->fd = fd;
	s->sotype = type;
	return 0;
}

/* glibc's openlog() order: a datagram socket, or a stream one if the
 * listener is of that type (connect() then fails with EPROTOTYPE). */
static int start_unix(struct slog *s)
{
	int err = unix_connect(s, SOCK_DGRAM);

	if (err == -EPROTOTYPE)
		err = unix_connect(s, SOCK_STREAM);
	if (err)
		return err;
	go_up(s);
	return 0;
}

/* Addresses are tried in turn, one per attempt. */
static int start_inet(struct slog *s)
{
	int i = s->next_addr++ % s->naddr, type = s->dest.transport == SLOG_TCP ? SOCK_STREAM
										 : SOCK_DGRAM;
	int fd, one = 1;

	fd = socket(s->addr[i].ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	s->fd = fd;
	s->sotype = type;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (!connect(fd, (struct sockaddr *)&s->addr[i], s->addrlen[i])) {
		go_up(s);
		return 0;
	}
	if (errno == EINPROGRESS) {
		s->state = ST_CONNECTING;
		s->connect_deadline_ms = s->now_ms + SLOG_CONNECT_TIMEOUT_MS;
		return 0;
	}
	return -errno;
}

static void try_connect(struct slog *s)
{
	int err;

	close_fd(s);
	err = s->dest.transport == SLOG_UNIX ? start_unix(s) : start_inet(s);
	if (err)
		go_down(s, -err);
}

/* A non-blocking connect finished when the socket is writable; SO_ERROR
 * says how. */
static void check_connecting(struct slog *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLOUT };
	socklen_t l = sizeof(int);
	int e = 0;

	if (poll(&p, 1, 0) <= 0) {
		if (s->now_ms >= s->connect_deadline_ms)
			go_down(s, ETIMEDOUT);
		return;
	}
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &l))
		e = errno;
	if (e)
		go_down(s, e);
	else
		go_up(s);
}

/*
 * A syslog receiver never writes to us, so a readable stream socket means
 * the peer closed it or reset it.  Noticed here instead of by the next
 * send: the first send after a FIN still succeeds, and that message would
 * be lost.
 */
static void check_peer(struct slog *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN | POLLRDHUP };
	char junk[512];
	int i;

	if (poll(&p, 1, 0) <= 0)
		return;
	if (p.revents & (POLLERR | POLLHUP | POLLRDHUP)) {
		go_down(s, 0);
		return;
	}
	for (i = 0; i < 8; i++) {
		ssize_t n = recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		go_down(s, n < 0 ? errno : 0);
		return;
	}
}

static void pop(struct slog *s)
{
	struct frame *f = &s->q[s->qhead];

	s->qbytes -= f->len;
	free(f->data);
	f->data = NULL;
	s->qhead = (s->qhead + 1) % s->max_msgs;
	s->qcount--;
	s->qoff = 0;
}

/* Stream framing around the head frame: TCP "LEN SP" before it (RFC 6587
 * octet counting), unix stream a NUL after it (glibc). */
static size_t frame_iov(const struct slog *s, const struct frame *f, char *pfx, size_t pfxcap,
			struct iovec iov[3])
{
	size_t n = 0;

	if (s->dest.transport == SLOG_TCP) {
		int k = snprintf(pfx, pfxcap, "%zu ", f->len);	/* fits: 21 digits and SP */

		iov[n++] = (struct iovec){ pfx, (size_t)k };
	}
	iov[n++] = (struct iovec){ f->data, f->len };
	if (s->dest.transport == SLOG_UNIX)
		iov[n++] = (struct iovec){ "\0", 1 };
	return n;
}

static size_t iov_total(const struct iovec *iov, size_t n)
{
	size_t t = 0, i;

	for (i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Skip the first off bytes of iov. */
static size_t iov_skip(struct iovec *iov, size_t n, size_t off)
{
	size_t i = 0, j;

	while (i < n && off >= iov[i].iov_len)
		off -= iov[i++].iov_len;
	if (i < n) {
		iov[i].iov_base = (char *)iov[i].iov_base + off;
		iov[i].iov_len -= off;
	}
	for (j = 0; i < n; )
		iov[j++] = iov[i++];
	return j;
}

/* 1 sent whole, 0 try later (socket full), -1 stop (connection gone). */
static int send_stream(struct slog *s)
{
	struct frame *f = &s->q[s->qhead];
	struct iovec iov[3];
	struct msghdr mh = { .msg_iov = iov };
	char pfx[24];
	size_t n = frame_iov(s, f, pfx, sizeof(pfx), iov), total = iov_total(iov, n);
	ssize_t w;

	mh.msg_iovlen = iov_skip(iov, n, s->qoff);
	w = sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0) {
		if (errno == EINTR)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			s->st.blocked++;
			return 0;
		}
		go_down(s, errno);
		return -1;
	}
	s->qoff += w;
	if (s->qoff < total) {
		s->st.blocked++;
		return 0;
	}
	s->st.sent++;
	s->st.sent_bytes += total;
	pop(s);
	return 1;
}

/*
 * A datagram is all or nothing.  ECONNREFUSED on UDP is the ICMP error of
 * an earlier datagram, reported now and consumed: this one was not sent,
 * so it is tried once more.  On a unix socket it means the receiver is
 * gone (syslogd restarting): reconnect later, keep the message.
 */
static int send_dgram(struct slog *s)
{
	struct frame *f = &s->q[s->qhead];
	int tries;

	for (tries = 0; tries < 2; tries++) {
		ssize_t w = send(s->fd, f->data, f->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w >= 0) {
			s->st.sent++;
			s->st.sent_bytes += f->len;
			pop(s);
			return 1;
		}
		if (errno == EINTR)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			s->st.blocked++;
			return 0;
		}
		if (errno == ENOBUFS) {
			note_error(s, errno);
			return 0;
		}
		if (errno == ECONNREFUSED && s->dest.transport == SLOG_UDP) {
			note_error(s, errno);
			continue;
		}
		break;
	}
	if (errno == ECONNREFUSED || errno == ENOTCONN || errno == ENOENT ||
	    errno == EDESTADDRREQ || errno == EPIPE || errno == ECONNRESET) {
		go_down(s, errno);
		return -1;
	}
	/* EMSGSIZE and the like: this datagram will never go. */
	note_error(s, errno);
	s->st.dropped_send++;
	s->st.dropped++;
	pop(s);
	return 1;
}

/* Send what the socket takes; bounded by the queue length. */
static void flush(struct slog *s)
{
	size_t budget = s->qcount;

	if (s->state == ST_CONNECTING)
		check_connecting(s);
	if (s->state != ST_UP)
		return;
	if (s->sotype == SOCK_STREAM)
		check_peer(s);
	while (s->state == ST_UP && s->qcount && budget--) {
		int r = s->sotype == SOCK_STREAM ? send_stream(s) : send_dgram(s);

		if (r <= 0)
			return;
	}
}

static void drop(struct slog *s, uint64_t *why)
{
	(*why)++;
	s->st.dropped++;
}

static int enqueue(struct slog *s, const char *data, size_t len)
{
	struct frame *f;

	if (s->qcount == s->max_msgs || len > s->max_bytes - s->qbytes) {
		drop(s, &s->st.dropped_queue_full);
		return -ENOBUFS;
	}
	f = &s->q[(s->qhead + s->qcount) % s->max_msgs];
	f->data = malloc(len);
	if (!f->data) {
		drop(s, &s->st.dropped_queue_full);
		return -ENOMEM;
	}
	memcpy(f->data, data, len);
	f->len = len;
	s->qcount++;
	s->qbytes += len;
	return 0;
}

int slog__send(struct slog *s, int severity, const char *msgid, const struct slog_param *params,
	       size_t n, const char *msg, size_t len, uint64_t time_ns)
{
	struct slog_header h = {
		.severity = severity, .time_ns = time_ns ? time_ns : now_ns(CLOCK_REALTIME),
		.msgid = msgid, .params = params, .nparams = n,
	};
	bool trunc;
	int r;

	if (!s)
		return -EINVAL;
	h.facility = s->facility;
	h.hostname = s->hostname;
	h.app = s->app;
	h.procid = s->procid;
	h.sd_id = s->sd_id;
	h.bom = s->bom;
	if (len > SLOG_INPUT_MAX) {
		drop(s, &s->st.dropped_invalid);
		return -EINVAL;
	}
	r = slog__format(s->buf, s->msg_max + 1, &h, msg, len, &trunc);
	if (r < 0) {
		drop(s, &s->st.dropped_invalid);
		return r;
	}
	if (trunc)
		s->st.truncated++;
	r = enqueue(s, s->buf, (size_t)r);
	flush(s);
	return r;
}

bool slog__idle(const struct slog *s)
{
	return !s || (!s->qcount && s->state != ST_CONNECTING);
}

void slog__tick(struct slog *s, uint64_t now_ms)
{
	if (!s)
		return;
	s->now_ms = now_ms;
	if (s->state == ST_DOWN && now_ms >= s->retry_at_ms)
		try_connect(s);
	if (s->state == ST_CONNECTING)
		check_connecting(s);
	if (s->state == ST_UP && s->sotype == SOCK_STREAM && !s->qcount)
		check_peer(s);
	flush(s);
}

int slog__drain(struct slog *s, int timeout_ms)
{
	uint64_t deadline;

	if (!s)
		return 0;
	deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		uint64_t now = mono_ms();
		struct pollfd p = { .fd = s->fd, .events = POLLOUT };

		slog__tick(s, now);
		if (!s->qcount)
			return 0;
		if (now >= deadline)
			return -ETIMEDOUT;
		/* Wait for room, or a little while for a reconnect. */
		poll(&p, s->state == ST_UP || s->state == ST_CONNECTING ? 1 : 0,
		     deadline - now > 50 ? 50 : (int)(deadline - now));
	}
}

void slog__stats(const struct slog *s, struct slog_stats *st)
{
	if (!s) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = s->st;
	st->connected = s->state == ST_UP;
	st->queued = s->qcount;
	st->queued_bytes = s->qbytes;
}

void slog__free(struct slog *s)
{
	if (!s)
		return;
	while (s->q && s->qcount)
		pop(s);
	close_fd(s);
	free(s->q);
	free(s->buf);
	free(s);
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

static int resolve(struct slog *s, char *err, size_t errlen, const char *dest)
{
	struct addrinfo hints = {
		.ai_socktype = s->dest.transport == SLOG_TCP ? SOCK_STREAM : SOCK_DGRAM,
		.ai_flags = AI_NUMERICSERV,
	}, *res = NULL, *ai;
	char why[400];
	int r;

	r = getaddrinfo(s->dest.host, s->dest.port, &hints, &res);
	if (r) {
		snprintf(why, sizeof(why), "cannot resolve '%.255s': %.100s", s->dest.host,
			 r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		set_err(err, errlen, dest, why);
		return -EHOSTUNREACH;
	}
	for (ai = res; ai && s->naddr < SLOG_MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(s->addr[0]))
			continue;
		memcpy(&s->addr[s->naddr], ai->ai_addr, ai->ai_addrlen);
		s->addrlen[s->naddr++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (!s->naddr) {
		set_err(err, errlen, dest, "no usable address");
		return -EHOSTUNREACH;
	}
	return 0;
}

/* gethostname(), made a valid HOSTNAME: bytes outside PRINTUSASCII
 * become '_'.  RFC 5424 prefers the FQDN, but finding it means a DNS
 * query, and a hung resolver must not hold up the collector. */
static void default_hostname(char *h, size_t len)
{
	size_t i;

	if (gethostname(h, len - 1))
		h[0] = '\0';
	h[len - 1] = '\0';
	for (i = 0; h[i]; i++)
		if (h[i] < 33 || h[i] > 126)
			h[i] = '_';
}

static bool private_sd_id(const char *id)
{
	const char *at;

	if (!sd_name_ok(id) || !(at = strchr(id, '@')) || at == id || !at[1])
		return false;
	return strspn(at + 1, "0123456789") == strlen(at + 1);
}

static const char *apply_opts(struct slog *s, const struct slog_opts *o)
{
	const char *app = o->app ? o->app : SLOG_DEFAULT_APP;
	const char *sd = o->sd_id ? o->sd_id : SLOG_DEFAULT_SD_ID;

	s->facility = o->facility ? o->facility : SLOG_DEFAULT_FACILITY;
	if (s->facility < 1 || s->facility > 23)
		return "facility must be 1..23";
	s->bom = !o->no_bom;
	s->msg_max = o->msg_max ? o->msg_max : SLOG_DEFAULT_MSG_MAX;
	if (s->msg_max < SLOG_MSG_MIN || s->msg_max > SLOG_MSG_LIMIT)
		return "message size limit must be 480..1048576 bytes";
	s->max_bytes = o->max_queue_bytes ? o->max_queue_bytes : SLOG_DEFAULT_QUEUE_BYTES;
	if (s->max_bytes < s->msg_max)
		return "queue byte limit is below the message size limit";
	s->max_msgs = o->max_queue_msgs ? o->max_queue_msgs : SLOG_DEFAULT_QUEUE_MSGS;
	if (s->max_msgs > SLOG_QUEUE_MSGS_LIMIT)
		return "queue message limit too large";
	if (!*app || !printusascii(app, 48))
		return "APP-NAME must be 1-48 printable ASCII characters";
	strcpy(s->app, app);
	if (!private_sd_id(sd))
		return "SD-ID must be NAME@ENTERPRISE-NUMBER, at most 32 printable characters";
	strcpy(s->sd_id, sd);
	if (o->hostname) {
		if (!*o->hostname || !printusascii(o->hostname, 255))
			return "HOSTNAME must be 1-255 printable ASCII characters";
		strcpy(s->hostname, o->hostname);
	} else {
		default_hostname(s->hostname, sizeof(s->hostname));
	}
	snprintf(s->procid, sizeof(s->procid), "%d", (int)getpid());	/* fits */
	return NULL;
}

int slog__open(const struct slog_opts *o, struct slog **out, char *err, size_t errlen)
{
	struct slog *s = NULL;
	const char *why;
	int r;

	if (out)
		*out = NULL;
	if (!o || !out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->backoff_ms = SLOG_BACKOFF_MIN_MS;
	s->now_ms = mono_ms();
	if ((r = slog__parse_dest(o->dest, &s->dest, err, errlen)))
		goto cleanup;
	if ((why = apply_opts(s, o))) {
		set_err(err, errlen, o->dest, why);
		r = -EINVAL;
		goto cleanup;
	}
	s->q = calloc(s->max_msgs, sizeof(*s->q));
	s->buf = malloc(s->msg_max + 1);
	if (!s->q || !s->buf) {
		set_err(err, errlen, o->dest, strerror(ENOMEM));
		r = -ENOMEM;
		goto cleanup;
	}
	if (s->dest.transport != SLOG_UNIX && (r = resolve(s, err, errlen, o->dest)))
		goto cleanup;
	try_connect(s);
	*out = s;
	s = NULL;
cleanup:
	slog__free(s);
	return r;
}
