// SPDX-License-Identifier: GPL-2.0
/*
 * Tests for user/slog.c: the RFC 5424 formatter against golden strings, and
 * the transports against real receivers on loopback and in a mkdtemp
 * directory.  Every wait is bounded (recv_until()); reconnect backoff is
 * skipped by handing slog__tick() a clock that runs ahead of the real one.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "slog.h"
#include "util.h"

#define WAIT_MS 3000

static int open_unix(const char *path, struct slog **s);
static bool unix_bind(int fd, const char *path);

static uint64_t mono_ms(void)
{
	return now_ns(CLOCK_MONOTONIC) / 1000000;
}

/* 2026-01-02T03:04:05.123456789Z */
#define T0_NS (1767323045ull * 1000000000ull + 123456789ull)

static const struct slog_param golden_params[] = {
	{ "type", "exec" }, { "session", "00000000deadbeef" }, { "verdict", "kill" },
};

static struct slog_header golden_header(void)
{
	return (struct slog_header){
		.facility = SLOG_FAC_AUTHPRIV, .severity = SLOG_SEV_WARNING, .time_ns = T0_NS,
		.hostname = "host1.example.com", .app = "agentwatch", .procid = "4242",
		.msgid = "exec", .sd_id = SLOG_DEFAULT_SD_ID, .params = golden_params,
		.nparams = 3, .bom = true,
	};
}

/* ------------------------------------------------------------------ */
/* Formatter                                                           */
/* ------------------------------------------------------------------ */

void test_slog_format_golden(void)
{
	struct slog_header h = golden_header();
	const char *msg = "{\"type\":\"exec\"}";
	char buf[512];
	bool trunc = true;
	int n;

	n = slog__format(buf, sizeof(buf), &h, msg, strlen(msg), &trunc);
	ASSERT_EQ_STR(buf, "<84>1 2026-01-02T03:04:05.123456Z host1.example.com agentwatch 4242 exec "
		      "[agentwatch@32473 type=\"exec\" session=\"00000000deadbeef\" verdict=\"kill\"] "
		      "\xef\xbb\xbf{\"type\":\"exec\"}");
	ASSERT_EQ_INT(n, strlen(buf));
	ASSERT_FALSE(trunc);

	h.bom = false;
	h.facility = SLOG_FAC_LOCAL7;
	h.severity = SLOG_SEV_DEBUG;
	slog__format(buf, sizeof(buf), &h, msg, strlen(msg), NULL);
	ASSERT_EQ_STR(buf, "<191>1 2026-01-02T03:04:05.123456Z host1.example.com agentwatch 4242 exec "
		      "[agentwatch@32473 type=\"exec\" session=\"00000000deadbeef\" verdict=\"kill\"] "
		      "{\"type\":\"exec\"}");
}

void test_slog_format_nil_values(void)
{
	struct slog_header h = { 0 };
	struct slog_param none[] = { { "a", NULL }, { "b", NULL } };
	char buf[128];

	ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL), 16);
	ASSERT_EQ_STR(buf, "<0>1 - - - - - -");
	/* An SD-ID but no params with a value: no empty element. */
	h.sd_id = "x@1";
	h.params = none;
	h.nparams = 2;
	h.hostname = "";
	h.msgid = "";
	slog__format(buf, sizeof(buf), &h, "m", 1, NULL);
	ASSERT_EQ_STR(buf, "<0>1 - - - - - - m");
	/* BOM only in front of a MSG. */
	h.bom = true;
	slog__format(buf, sizeof(buf), &h, NULL, 0, NULL);
	ASSERT_EQ_STR(buf, "<0>1 - - - - - -");
}

void test_slog_format_sd_escaping(void)
{
	struct slog_header h = golden_header();
	struct slog_param p[] = {
		{ "rule", "a\"b\\c]d[e=f g" },
		{ "ctl", "x\ny\x1b\x7fz" },
		{ "bad", "\xff\xc3(\xe2\x82" },
		{ "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
		{ "empty", "" },
	};
	char buf[512];

	h.params = p;
	h.nparams = 5;
	h.bom = false;
	ASSERT_TRUE(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL) > 0);
	ASSERT_EQ_STR(strchr(buf, '['),
		      "[agentwatch@32473 rule=\"a\\\"b\\\\c\\]d[e=f g\" ctl=\"x?y?" "?z\" bad=\"?" "?(?" "?\""
		      " utf8=\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\" empty=\"\"]");
}

/* A value is kept to SLOG_VALUE_MAX bytes, not cutting a character. */
void test_slog_format_value_cap(void)
{
	struct slog_header h = golden_header();
	struct slog_param p[1] = { { "v", NULL } };
	char val[SLOG_VALUE_MAX + 64], buf[2048], want[SLOG_VALUE_MAX + 64];
	const char *v;

	/* 'a' then 2-byte characters: one straddles the cap. */
	val[0] = 'a';
	for (size_t i = 1; i + 1 < sizeof(val) - 1; i += 2)
		memcpy(val + i, "\xc3\xa9", 2);
	val[sizeof(val) - 2] = '\0';
	p[0].value = val;
	h.params = p;
	h.nparams = 1;
	ASSERT_TRUE(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL) > 0);
	v = strstr(buf, "v=\"");
	ASSERT_NOT_NULL(v);
	memcpy(want, val, SLOG_VALUE_MAX - 1);	/* 1 + 127 * 2 = 255 bytes */
	strcpy(want + SLOG_VALUE_MAX - 1, "\"]");
	ASSERT_EQ_STR(v + 3, want);
}

void test_slog_format_rejects(void)
{
	static const char *const bad_names[] = {
		"", "a b", "a=b", "a]", "a\"b", "\x7f", "\xc3\xa9",
		"abcdefghijklmnopqrstuvwxyz0123456",	/* 33 */
	};
	struct slog_header h = golden_header();
	struct slog_param p[SLOG_MAX_PARAMS + 1];
	char buf[512];
	size_t i;

	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		struct slog_param one = { bad_names[i], "v" };

		h = golden_header();
		h.params = &one;
		h.nparams = 1;
		ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, "m", 1, NULL), -EINVAL);
	}
	/* 32 is fine. */
	{
		struct slog_param one = { "abcdefghijklmnopqrstuvwxyz012345", "v" };

		h.params = &one;
		ASSERT_TRUE(slog__format(buf, sizeof(buf), &h, "m", 1, NULL) > 0);
	}
	h = golden_header();
	h.msgid = "abcdefghijklmnopqrstuvwxyz0123456";
	ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL), -EINVAL);
	h.msgid = "a b";
	ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL), -EINVAL);
	h = golden_header();
	h.hostname = "h\xc3\xa9";
	ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL), -EINVAL);
	h = golden_header();
	h.app = "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklm";	/* 49 */
	ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL), -EINVAL);
	h = golden_header();
	h.facility = 24;
	ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL), -EINVAL);
	h = golden_header();
	h.severity = 8;
	ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL), -EINVAL);
	h = golden_header();
	h.sd_id = "a b@1";
	ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL), -EINVAL);
	h = golden_header();
	ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, "a\0b", 3, NULL), -EINVAL);
	for (i = 0; i < SLOG_MAX_PARAMS + 1; i++)
		p[i] = (struct slog_param){ "k", "v" };
	h.params = p;
	h.nparams = SLOG_MAX_PARAMS + 1;
	ASSERT_EQ_INT(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL), -EINVAL);
	h.nparams = SLOG_MAX_PARAMS;
	ASSERT_TRUE(slog__format(buf, sizeof(buf), &h, NULL, 0, NULL) > 0);
	/* Header and SD over the buffer: refused, not cut. */
	h = golden_header();
	ASSERT_EQ_INT(slog__format(buf, 40, &h, "m", 1, NULL), -EMSGSIZE);
}

void test_slog_format_truncates_at_utf8_boundary(void)
{
	struct slog_header h = golden_header();
	char msg[600], buf[200];
	const char *body;
	bool trunc = false;
	size_t i, blen;
	int n;

	/* "{" then 3-byte characters (U+20AC): only the first byte is ASCII. */
	msg[0] = '{';
	for (i = 1; i + 3 <= sizeof(msg); i += 3)
		memcpy(msg + i, "\xe2\x82\xac", 3);
	n = slog__format(buf, sizeof(buf), &h, msg, i, &trunc);
	ASSERT_TRUE(n > 0);
	ASSERT_TRUE(trunc);
	ASSERT_TRUE((size_t)n <= sizeof(buf) - 1);
	ASSERT_EQ_INT(strlen(buf), n);
	ASSERT_NOT_NULL(strstr(buf, " truncated=\"598\"]"));
	body = strstr(buf, "] \xef\xbb\xbf");
	ASSERT_NOT_NULL(body);
	body += 5;
	blen = buf + n - body;
	ASSERT_TRUE(blen > 3);
	ASSERT_EQ_INT((blen - 1) % 3, 0);
	ASSERT_TRUE(slog__utf8_valid(body, blen));
	ASSERT_EQ_MEM(body, msg, blen);
	/* A full buffer is used as far as whole characters allow. */
	ASSERT_TRUE((size_t)n >= sizeof(buf) - 1 - 2);
}

void test_slog_bom_only_for_valid_utf8(void)
{
	struct slog_header h = golden_header();
	char buf[512];

	slog__format(buf, sizeof(buf), &h, "caf\xc3\xa9", 5, NULL);
	ASSERT_NOT_NULL(strstr(buf, "] \xef\xbb\xbf" "caf\xc3\xa9"));
	slog__format(buf, sizeof(buf), &h, "caf\xe9", 4, NULL);
	ASSERT_NOT_NULL(strstr(buf, "] caf\xe9"));
	ASSERT_NULL(strstr(buf, "\xef\xbb\xbf"));
}

void test_slog_utf8_helpers(void)
{
	ASSERT_TRUE(slog__utf8_valid("", 0));
	ASSERT_TRUE(slog__utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
	ASSERT_FALSE(slog__utf8_valid("\xc0\xaf", 2));		/* overlong '/' */
	ASSERT_FALSE(slog__utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	ASSERT_FALSE(slog__utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	ASSERT_FALSE(slog__utf8_valid("\xe2\x82", 2));		/* cut short */
	ASSERT_FALSE(slog__utf8_valid("\x80", 1));
	ASSERT_EQ_U64(slog__utf8_cut("abc", 3, 5), 3);
	ASSERT_EQ_U64(slog__utf8_cut("a\xe2\x82\xac", 4, 3), 1);
	ASSERT_EQ_U64(slog__utf8_cut("a\xe2\x82\xac" "b", 5, 4), 4);
	ASSERT_EQ_U64(slog__utf8_cut("a\xe2\x82\xac", 4, 2), 1);
	ASSERT_EQ_U64(slog__utf8_cut("\xf0\x9f\x98\x80", 4, 3), 0);
	/* A run of continuation bytes (invalid) is cut where asked. */
	ASSERT_EQ_U64(slog__utf8_cut("\x80\x80\x80\x80\x80\x80", 6, 5), 5);
}

void test_slog_names(void)
{
	ASSERT_EQ_INT(slog__facility_from_name("authpriv"), 10);
	ASSERT_EQ_INT(slog__facility_from_name("auth"), 4);
	ASSERT_EQ_INT(slog__facility_from_name("local0"), 16);
	ASSERT_EQ_INT(slog__facility_from_name("local7"), 23);
	ASSERT_EQ_INT(slog__facility_from_name("daemon"), 3);
	ASSERT_EQ_INT(slog__facility_from_name("user"), 1);
	ASSERT_EQ_INT(slog__facility_from_name("13"), 13);
	ASSERT_EQ_INT(slog__facility_from_name("kern"), -EINVAL);
	ASSERT_EQ_INT(slog__facility_from_name("0"), -EINVAL);
	ASSERT_EQ_INT(slog__facility_from_name("24"), -EINVAL);
	ASSERT_EQ_INT(slog__facility_from_name("local8"), -EINVAL);
	ASSERT_EQ_INT(slog__facility_from_name(""), -EINVAL);
	ASSERT_EQ_INT(slog__facility_from_name(NULL), -EINVAL);
	ASSERT_EQ_STR(slog__facility_name(10), "authpriv");
	ASSERT_EQ_STR(slog__facility_name(0), "?");

	ASSERT_EQ_INT(slog__severity_for_verdict("kill"), SLOG_SEV_WARNING);
	ASSERT_EQ_INT(slog__severity_for_verdict("kill-session"), SLOG_SEV_WARNING);
	ASSERT_EQ_INT(slog__severity_for_verdict("deny"), SLOG_SEV_WARNING);
	ASSERT_EQ_INT(slog__severity_for_verdict("freeze"), SLOG_SEV_WARNING);
	ASSERT_EQ_INT(slog__severity_for_verdict("alert"), SLOG_SEV_WARNING);
	ASSERT_EQ_INT(slog__severity_for_verdict("pause"), SLOG_SEV_NOTICE);
	ASSERT_EQ_INT(slog__severity_for_verdict("allow"), SLOG_SEV_INFO);
	ASSERT_EQ_INT(slog__severity_for_verdict("log"), SLOG_SEV_INFO);
	ASSERT_EQ_INT(slog__severity_for_verdict(NULL), SLOG_SEV_INFO);
}

/* ------------------------------------------------------------------ */
/* Destinations                                                        */
/* ------------------------------------------------------------------ */

void test_slog_parse_dest_good(void)
{
	static const struct {
		const char *in;
		enum slog_transport t;
		const char *host, *port, *path;
	} cases[] = {
		{ "udp://127.0.0.1:514", SLOG_UDP, "127.0.0.1", "514", "" },
		{ "udp://logs.example.com", SLOG_UDP, "logs.example.com", "514", "" },
		{ "tcp://10.1.2.3:6514", SLOG_TCP, "10.1.2.3", "6514", "" },
		{ "tcp://[::1]:1514", SLOG_TCP, "::1", "1514", "" },
		{ "tcp://[fe80::1%eth0]", SLOG_TCP, "fe80::1%eth0", "514", "" },
		{ "udp://h:00514", SLOG_UDP, "h", "514", "" },
		{ "unix:///dev/log", SLOG_UNIX, "", "", "/dev/log" },
		{ "unix:/dev/log", SLOG_UNIX, "", "", "/dev/log" },
		{ "unix:relative.sock", SLOG_UNIX, "", "", "relative.sock" },
	};
	struct slog_dest d;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ASSERT_EQ_INT(slog__parse_dest(cases[i].in, &d, err, sizeof(err)), 0);
		ASSERT_EQ_STR(err, "");
		ASSERT_EQ_INT(d.transport, cases[i].t);
		ASSERT_EQ_STR(d.host, cases[i].host);
		ASSERT_EQ_STR(d.port, cases[i].port);
		ASSERT_EQ_STR(d.path, cases[i].path);
	}
}

void test_slog_parse_dest_bad(void)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
		{ "", "empty" },
		{ "127.0.0.1:514", "unknown scheme" },
		{ "http://h:80", "unknown scheme" },
		{ "UDP://h", "unknown scheme" },
		{ "udp://", "missing host" },
		{ "udp://:514", "missing host" },
		{ "udp://h:0", "bad port" },
		{ "udp://h:65536", "bad port" },
		{ "udp://h:", "bad port" },
		{ "udp://h:+5", "bad port" },
		{ "udp://h:5x", "bad port" },
		{ "udp://h:514/x", "bad port" },
		{ "tcp://::1:514", "brackets" },
		{ "tcp://[::1", "unterminated" },
		{ "tcp://[::1]x", "junk after" },
		{ "tcp://[]:514", "bad IPv6" },
		{ "tcp://[h$]:514", "bad IPv6" },
		{ "tcp://h h:514", "bad character" },
		{ "tcp://user@h:514", "bad character" },
		{ "unix:", "missing socket path" },
		{ "unix://", "expected unix:///PATH" },
		{ "unix://host/dev/log", "expected unix:///PATH" },
		{ "unix:/tmp/a\nb", "control character" },
	};
	char longpath[200], longhost[300];
	struct slog_dest d;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ASSERT_EQ_INT(slog__parse_dest(cases[i].in, &d, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].why) || strncmp(err, "syslog destination '", 20))
			ASSERT_EQ_STR(err, cases[i].why);
		ASSERT_EQ_INT(d.transport, 0);
	}
	snprintf(longpath, sizeof(longpath), "unix:/%0150d", 0);
	ASSERT_EQ_INT(slog__parse_dest(longpath, &d, err, sizeof(err)), -EINVAL);
	ASSERT_NOT_NULL(strstr(err, "too long"));
	memset(longhost, 'a', sizeof(longhost));
	memcpy(longhost, "udp://", 6);
	longhost[sizeof(longhost) - 1] = '\0';
	ASSERT_EQ_INT(slog__parse_dest(longhost, &d, err, sizeof(err)), -EINVAL);
	ASSERT_NOT_NULL(strstr(err, "too long"));
	ASSERT_EQ_INT(slog__parse_dest(NULL, &d, err, sizeof(err)), -EINVAL);
}

void test_slog_open_rejects_bad_options(void)
{
	struct slog_opts o = { .dest = "udp://127.0.0.1:9" };
	struct slog *s = (struct slog *)&o;
	char err[256];

	o.facility = 24;
	ASSERT_EQ_INT(slog__open(&o, &s, err, sizeof(err)), -EINVAL);
	ASSERT_NULL(s);
	ASSERT_NOT_NULL(strstr(err, "facility"));
	o.facility = 0;
	o.msg_max = 479;
	ASSERT_EQ_INT(slog__open(&o, &s, err, sizeof(err)), -EINVAL);
	o.msg_max = 4096;
	o.max_queue_bytes = 4095;
	ASSERT_EQ_INT(slog__open(&o, &s, err, sizeof(err)), -EINVAL);
	o.max_queue_bytes = 0;
	o.hostname = "a b";
	ASSERT_EQ_INT(slog__open(&o, &s, err, sizeof(err)), -EINVAL);
	o.hostname = NULL;
	o.sd_id = "agentwatch";		/* private SD-IDs need @PEN */
	ASSERT_EQ_INT(slog__open(&o, &s, err, sizeof(err)), -EINVAL);
	ASSERT_NOT_NULL(strstr(err, "SD-ID"));
	o.sd_id = "agentwatch@x1";
	ASSERT_EQ_INT(slog__open(&o, &s, err, sizeof(err)), -EINVAL);
	o.sd_id = NULL;
	o.app = "";
	ASSERT_EQ_INT(slog__open(&o, &s, err, sizeof(err)), -EINVAL);
	o.app = NULL;
	o.dest = "ftp://x";
	ASSERT_EQ_INT(slog__open(&o, &s, err, sizeof(err)), -EINVAL);
	ASSERT_NOT_NULL(strstr(err, "unknown scheme"));
	o.dest = "udp://127.0.0.1:9";
	ASSERT_EQ_INT(slog__open(&o, &s, err, sizeof(err)), 0);
	ASSERT_NOT_NULL(s);
	slog__free(s);
	slog__free(NULL);
}

/* ------------------------------------------------------------------ */
/* Transports                                                          */
/* ------------------------------------------------------------------ */

static int inet_socket(int type, uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(sa);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons(*port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type == SOCK_STREAM && listen(fd, 8)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &l)) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Wait up to WAIT_MS for fd to be readable, ticking s meanwhile. */
static bool wait_readable(int fd, struct slog *s, uint64_t *clock)
{
	uint64_t end = mono_ms() + WAIT_MS;

	while (mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (s)
			slog__tick(s, clock ? *clock : mono_ms());
		if (poll(&p, 1, 10) > 0)
			return true;
	}
	return false;
}

static int open_to(const char *scheme, uint16_t port, struct slog_opts *o, struct slog **s)
{
	char dest[64], err[256];
	int r;

	snprintf(dest, sizeof(dest), "%s://127.0.0.1:%u", scheme, port);
	o->dest = dest;
	o->hostname = "testhost";
	r = slog__open(o, s, err, sizeof(err));
	if (r)
		fprintf(stderr, "    slog__open: %s\n", err);
	o->dest = NULL;
	return r;
}

/* The MSG of a message: after six header fields and the SD. */
static const char *after_sd(const char *m)
{
	const char *p = m;
	int i;

	for (i = 0; i < 6 && p; i++)
		if ((p = strchr(p, ' ')))
			p++;
	if (!p)
		return "";
	if (*p == '-')
		return p[1] == ' ' ? p + 2 : "";
	p = strstr(p, "] ");
	return p ? p + 2 : "";
}

void test_slog_udp_loopback(void)
{
	struct slog_opts o = { .no_bom = true };
	struct slog_param p[] = { { "type", "file" }, { "pid", "77" } };
	struct slog_stats st;
	struct slog *s = NULL;
	char buf[9000], want[128];
	uint16_t port = 0;
	ssize_t n;
	int fd;

	fd = inet_socket(SOCK_DGRAM, &port);
	ASSERT_TRUE(fd >= 0);
	if (open_to("udp", port, &o, &s)) {
		close(fd);
		ASSERT_TRUE(false);
	}
	ASSERT_EQ_INT(slog__send(s, SLOG_SEV_INFO, "file", p, 2, "{\"a\":1}", 7, T0_NS), 0);
	ASSERT_EQ_INT(slog__send(s, SLOG_SEV_NOTICE, "verdict", NULL, 0, "{\"b\":2}", 7, T0_NS), 0);
	slog__stats(s, &st);
	ASSERT_TRUE(st.connected);
	ASSERT_EQ_U64(st.sent, 2);
	ASSERT_EQ_U64(st.queued, 0);
	n = wait_readable(fd, NULL, NULL) ? recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT) : -1;
	ASSERT_TRUE(n > 0);
	buf[n] = '\0';
	snprintf(want, sizeof(want), "<86>1 2026-01-02T03:04:05.123456Z testhost agentwatch %d file "
		 "[agentwatch@32473 type=\"file\" pid=\"77\"] {\"a\":1}", (int)getpid());
	ASSERT_EQ_STR(buf, want);
	n = wait_readable(fd, NULL, NULL) ? recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT) : -1;
	ASSERT_TRUE(n > 0);
	buf[n] = '\0';
	snprintf(want, sizeof(want), "<85>1 2026-01-02T03:04:05.123456Z testhost agentwatch %d verdict "
		 "- {\"b\":2}", (int)getpid());
	ASSERT_EQ_STR(buf, want);
	slog__free(s);
	close(fd);
}

void test_slog_udp_truncation(void)
{
	struct slog_opts o = { .msg_max = 480 };
	struct slog_param p[] = { { "type", "exec" } };
	struct slog_stats st;
	struct slog *s = NULL;
	char msg[2000], buf[4096];
	const char *body;
	uint16_t port = 0;
	ssize_t n = -1;
	size_t i;
	int fd;

	msg[0] = '{';
	for (i = 1; i + 2 <= sizeof(msg); i += 2)
		memcpy(msg + i, "\xc3\xa9", 2);
	fd = inet_socket(SOCK_DGRAM, &port);
	ASSERT_TRUE(fd >= 0);
	if (!open_to("udp", port, &o, &s)) {
		slog__send(s, SLOG_SEV_INFO, "exec", p, 1, msg, i, T0_NS);
		if (wait_readable(fd, NULL, NULL))
			n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		slog__stats(s, &st);
	}
	slog__free(s);
	close(fd);
	ASSERT_TRUE(n > 0);
	ASSERT_TRUE(n <= 480);
	ASSERT_TRUE(n >= 478);		/* as full as whole characters allow */
	buf[n] = '\0';
	ASSERT_NOT_NULL(strstr(buf, " truncated=\"1999\"]"));
	body = after_sd(buf);
	ASSERT_EQ_MEM(body, "\xef\xbb\xbf{", 4);
	ASSERT_TRUE(slog__utf8_valid(body + 3, buf + n - body - 3));
	ASSERT_EQ_U64(st.truncated, 1);
	ASSERT_EQ_U64(st.sent, 1);
}

/* A closed UDP port: ICMP errors are counted, nothing else changes. */
void test_slog_udp_refused_is_counted(void)
{
	struct slog_opts o = { 0 };
	struct slog_stats st;
	struct slog *s = NULL;
	uint16_t port = 0;
	int fd, i;

	fd = inet_socket(SOCK_DGRAM, &port);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	ASSERT_EQ_INT(open_to("udp", port, &o, &s), 0);
	for (i = 0; i < 20; i++) {
		slog__send(s, SLOG_SEV_INFO, "exec", NULL, 0, "{}", 2, 0);
		usleep(1000);
	}
	slog__tick(s, mono_ms());
	slog__stats(s, &st);
	slog__free(s);
	ASSERT_TRUE(st.errors > 0);
	ASSERT_EQ_INT(st.last_error, ECONNREFUSED);
	ASSERT_EQ_U64(st.sent + st.queued + st.dropped, 20);
	ASSERT_TRUE(st.sent >= 10);
}

#define FRAME_MAX 4096

/* Read octet-counted frames "LEN SP MSG" from a stream until want frames
 * are in msgs (each NUL-terminated, shorter than FRAME_MAX) or the time is
 * up.  Returns the number read, or -1 on a framing error. */
static int read_frames(int fd, struct slog *s, uint64_t *clock, char msgs[][FRAME_MAX], int want)
{
	static char acc[1 << 20];
	size_t len = 0;
	int got = 0;
	uint64_t end = mono_ms() + WAIT_MS;

	while (got < want && mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (s)
			slog__tick(s, clock ? *clock : mono_ms());
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = recv(fd, acc + len, sizeof(acc) - len, MSG_DONTWAIT);
		if (n <= 0)
			return got;
		len += n;
		for (;;) {
			char *sp = memchr(acc, ' ', len), *end_num;
			unsigned long fl;

			if (!sp)
				break;
			fl = strtoul(acc, &end_num, 10);
			if (end_num != sp || acc[0] < '1' || acc[0] > '9' || fl >= FRAME_MAX)
				return -1;
			if (len < (size_t)(sp + 1 - acc) + fl)
				break;
			memcpy(msgs[got], sp + 1, fl);
			msgs[got][fl] = '\0';
			got++;
			len -= (sp + 1 - acc) + fl;
			memmove(acc, sp + 1 + fl, len);
			if (got == want)
				break;
		}
	}
	return got;
}

static int accept_within(int lfd, struct slog *s, uint64_t *clock)
{
	if (!wait_readable(lfd, s, clock))
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void send_n(struct slog *s, int from, int n)
{
	char m[64];
	int i;

	for (i = from; i < from + n; i++) {
		int k = snprintf(m, sizeof(m), "{\"n\":%d}", i);

		slog__send(s, SLOG_SEV_INFO, "exec", NULL, 0, m, k, T0_NS);
	}
}

static bool frame_is(const char *frame, int i)
{
	char want[64];

	snprintf(want, sizeof(want), "\xef\xbb\xbf{\"n\":%d}", i);
	return !strcmp(after_sd(frame), want);
}

/*
 * TCP: frames arrive octet-counted; the server goes away (the peer close is
 * noticed, messages wait in the queue, reconnects fail and back off); a new
 * server on the same port gets the queued messages, in order.
 */
void test_slog_tcp_frames_and_reconnect(void)
{
	static char msgs[8][FRAME_MAX];
	struct slog_opts o = { 0 };
	struct slog_stats st;
	struct slog *s = NULL;
	uint16_t port = 0;
	uint64_t clock = mono_ms();
	int lfd, cfd = -1, got, i;
	bool ok = false;

	lfd = inet_socket(SOCK_STREAM, &port);
	ASSERT_TRUE(lfd >= 0);
	if (open_to("tcp", port, &o, &s))
		goto out;
	cfd = accept_within(lfd, s, NULL);
	if (cfd < 0)
		goto out;
	send_n(s, 0, 3);
	got = read_frames(cfd, s, NULL, msgs, 3);
	if (got != 3 || !frame_is(msgs[0], 0) || !frame_is(msgs[1], 1) || !frame_is(msgs[2], 2)) {
		fprintf(stderr, "    got %d frames: [%s]\n", got, got > 0 ? msgs[0] : "");
		goto out;
	}
	slog__stats(s, &st);
	if (!st.connected || st.sent != 3 || st.connects != 1)
		goto out;

	/* The server goes away. */
	close(cfd);
	cfd = -1;
	close(lfd);
	lfd = -1;
	for (i = 0; i < 100 && (slog__stats(s, &st), st.connected); i++) {
		slog__tick(s, clock);
		usleep(1000);
	}
	if (st.connected || st.disconnects != 1) {
		fprintf(stderr, "    peer close not noticed\n");
		goto out;
	}
	send_n(s, 3, 4);
	/* Retries fail (nobody listens) and the backoff grows. */
	for (i = 0; i < 3; i++) {
		clock += SLOG_BACKOFF_MAX_MS;
		slog__tick(s, clock);
		slog__tick(s, clock);
	}
	slog__stats(s, &st);
	if (st.connected || st.queued != 4 || st.dropped || st.disconnects < 3) {
		fprintf(stderr, "    while down: connected %d queued %" PRIu64 " dropped %" PRIu64
			" disconnects %" PRIu64 "\n", st.connected, st.queued, st.dropped,
			st.disconnects);
		goto out;
	}

	/* A new server on the same port gets the queue, in order. */
	lfd = inet_socket(SOCK_STREAM, &port);
	if (lfd < 0)
		goto out;
	clock += SLOG_BACKOFF_MAX_MS;
	cfd = accept_within(lfd, s, &clock);
	if (cfd < 0)
		goto out;
	got = read_frames(cfd, s, &clock, msgs, 4);
	if (got != 4)
		goto out;
	for (i = 0; i < 4; i++)
		if (!frame_is(msgs[i], 3 + i))
			goto out;
	slog__stats(s, &st);
	ok = st.connected && st.queued == 0 && st.sent == 7 && st.connects == 2 && !st.dropped;
out:
	slog__free(s);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	ASSERT_TRUE(ok);
}

/*
 * A receiver that accepts nothing and reads nothing: the socket buffers
 * fill, the queue reaches its bound, and then every send is a counted drop
 * that returns at once.
 */
void test_slog_tcp_queue_bound_never_blocks(void)
{
	struct slog_opts o = { .msg_max = 4096, .max_queue_bytes = 64 * 1024, .max_queue_msgs = 100 };
	struct slog_stats st;
	struct slog *s = NULL;
	static char msg[4000];
	uint16_t port = 0;
	uint64_t t0, worst = 0;
	int lfd, i, rcv = 4096, n = 2000;

	memset(msg, 'x', sizeof(msg));
	lfd = inet_socket(SOCK_STREAM, &port);
	ASSERT_TRUE(lfd >= 0);
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (open_to("tcp", port, &o, &s)) {
		close(lfd);
		ASSERT_TRUE(false);
	}
	for (i = 0; i < n; i++) {
		uint64_t a = now_ns(CLOCK_MONOTONIC), d;

		slog__send(s, SLOG_SEV_INFO, "exec", NULL, 0, msg, sizeof(msg), 0);
		slog__tick(s, mono_ms());
		d = now_ns(CLOCK_MONOTONIC) - a;
		if (d > worst)
			worst = d;
	}
	t0 = worst;
	slog__stats(s, &st);
	slog__free(s);
	close(lfd);
	ASSERT_TRUE(st.connected);
	ASSERT_TRUE(st.dropped_queue_full > 0);
	ASSERT_EQ_U64(st.dropped, st.dropped_queue_full);
	ASSERT_TRUE(st.queued_bytes <= 64 * 1024);
	ASSERT_TRUE(st.queued <= 100);
	ASSERT_EQ_U64(st.sent + st.queued + st.dropped, n);
	ASSERT_TRUE(st.blocked > 0);
	/* No call waited: 50 ms is generous for ASan on a loaded machine. */
	ASSERT_TRUE(t0 < 50ull * 1000000);
}

/*
 * A connection lost with a frame half sent: the next connection gets that
 * frame whole, not its tail.  Peer: accepts, reads nothing (so the socket
 * buffers fill and a frame is cut), then closes with data unread (RST).
 */
void test_slog_tcp_half_sent_frame_resent_whole(void)
{
	static char msgs[64][FRAME_MAX], m[3100];
	struct slog_opts o = { .no_bom = true };
	struct slog_stats st;
	struct slog *s = NULL;
	uint64_t clock = mono_ms(), sent_at_loss = 0;
	uint16_t port = 0;
	int lfd, cfd = -1, i, got = 0, want, first = -1, rcv = 4096;
	bool ok = false;

	memset(m, 'p', sizeof(m));
	lfd = inet_socket(SOCK_STREAM, &port);
	ASSERT_TRUE(lfd >= 0);
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (open_to("tcp", port, &o, &s) || (cfd = accept_within(lfd, s, NULL)) < 0)
		goto out;
	/* Until the socket is full (its buffer autotunes to megabytes). */
	for (i = 0; i < 20000 && (slog__stats(s, &st), st.queued < 4); i++) {
		int k = snprintf(m, 32, "{\"n\":%d,\"p\":\"", i);

		m[k] = 'p';
		memcpy(m + sizeof(m) - 2, "\"}", 2);
		slog__send(s, SLOG_SEV_INFO, "exec", NULL, 0, m, sizeof(m), T0_NS);
	}
	if (!st.queued || !st.blocked)
		goto out;
	close(cfd);
	cfd = -1;
	for (i = 0; i < 200 && (slog__stats(s, &st), st.connected); i++) {
		slog__tick(s, clock);
		usleep(1000);
	}
	clock += SLOG_BACKOFF_MAX_MS;
	if (st.connected || (cfd = accept_within(lfd, s, &clock)) < 0)
		goto out;
	/* What was queued at the loss, the half-sent frame first. */
	want = (int)st.queued;
	sent_at_loss = st.sent;
	got = want <= 64 ? read_frames(cfd, s, &clock, msgs, want) : -1;
	if (got < 1 || got != want)
		goto out;
	for (i = 0; i < got; i++) {
		const char *b = after_sd(msgs[i]);
		int n;

		if (strlen(b) != sizeof(m) || sscanf(b, "{\"n\":%d,", &n) != 1 ||
		    memcmp(b + sizeof(m) - 2, "\"}", 2))
			goto out;
		if (first < 0)
			first = n;
		/* n counts from 0: the first is the one after the last sent whole. */
		if (n != first + i || (uint64_t)first != sent_at_loss)
			goto out;
	}
	ok = true;
out:
	if (!ok) {
		slog__stats(s, &st);
		fprintf(stderr, "    %d frames after the reconnect, first n=%d; connected %d sent %"
			PRIu64 " queued %" PRIu64 " blocked %" PRIu64 " disconnects %" PRIu64 "\n",
			got, first, st.connected, st.sent, st.queued, st.blocked, st.disconnects);
	}
	slog__free(s);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	ASSERT_TRUE(ok);
}

/* Tick at t - 1 and at t: did only the second try to connect (and fail)? */
static bool attempt_due_at(struct slog *s, uint64_t t)
{
	struct slog_stats a, b, c;

	slog__stats(s, &a);
	slog__tick(s, t - 1);
	slog__stats(s, &b);
	slog__tick(s, t);
	slog__stats(s, &c);
	return b.disconnects == a.disconnects && c.disconnects == a.disconnects + 1;
}

/* Reconnect attempts wait SLOG_BACKOFF_MIN_MS, doubling to the max, and
 * the wait starts again from the minimum once a connection worked. */
void test_slog_backoff(void)
{
	char dir[] = "/tmp/aw-slog-XXXXXX", path[128];
	struct slog_stats st = { 0 };
	struct slog *s = NULL;
	/* The failure at open waited the minimum; the first tick's, double. */
	uint64_t t = mono_ms() + 1000, wait = 2 * SLOG_BACKOFF_MIN_MS;
	int i = 0, fd = -1;
	bool reset = false;

	ASSERT_NOT_NULL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	/* No socket yet: every connect fails at once with ENOENT. */
	if (open_unix(path, &s))
		goto out;
	slog__tick(s, t);
	for (i = 0; i < 10 && attempt_due_at(s, t + wait); i++) {
		t += wait;
		wait = wait * 2 > SLOG_BACKOFF_MAX_MS ? SLOG_BACKOFF_MAX_MS : wait * 2;
	}
	slog__stats(s, &st);
	/* A receiver appears; then goes: the next wait is the minimum again. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || !unix_bind(fd, path))
		goto out;
	t += wait;
	slog__tick(s, t);
	close(fd);
	fd = -1;
	unlink(path);
	slog__send(s, SLOG_SEV_INFO, "exec", NULL, 0, "{}", 2, 0);	/* ECONNREFUSED */
	reset = attempt_due_at(s, t + SLOG_BACKOFF_MIN_MS);
out:
	slog__free(s);
	if (fd >= 0)
		close(fd);
	unlink(path);
	rmdir(dir);
	ASSERT_EQ_INT(i, 10);
	ASSERT_EQ_U64(wait, SLOG_BACKOFF_MAX_MS);
	ASSERT_EQ_INT(st.last_error, ENOENT);
	ASSERT_FALSE(st.connected);
	ASSERT_TRUE(reset);
}

/* Nobody listening at all: connect fails, messages queue, then drop. */
void test_slog_tcp_down_at_open(void)
{
	struct slog_opts o = { .max_queue_msgs = 5 };
	struct slog_stats st;
	struct slog *s = NULL;
	uint16_t port = 0;
	int fd, i, nobufs = 0, drained;

	fd = inet_socket(SOCK_STREAM, &port);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	ASSERT_EQ_INT(open_to("tcp", port, &o, &s), 0);
	for (i = 0; i < 8; i++) {
		if (slog__send(s, SLOG_SEV_INFO, "exec", NULL, 0, "{}", 2, 0) == -ENOBUFS)
			nobufs++;
		slog__tick(s, mono_ms());
	}
	slog__stats(s, &st);
	drained = slog__drain(s, 100);
	slog__free(s);
	ASSERT_EQ_INT(drained, -ETIMEDOUT);
	ASSERT_EQ_INT(nobufs, 3);
	ASSERT_FALSE(st.connected);
	ASSERT_EQ_U64(st.queued, 5);
	ASSERT_EQ_U64(st.dropped_queue_full, 3);
	ASSERT_EQ_U64(st.sent, 0);
	ASSERT_TRUE(st.disconnects >= 1);
	ASSERT_EQ_INT(st.last_error, ECONNREFUSED);
}

static bool unix_bind(int fd, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	return !bind(fd, (struct sockaddr *)&sa, sizeof(sa));
}

static int open_unix(const char *path, struct slog **s)
{
	struct slog_opts o = { .hostname = "testhost" };
	char dest[160], err[256];
	int r;

	snprintf(dest, sizeof(dest), "unix:%s", path);
	o.dest = dest;
	r = slog__open(&o, s, err, sizeof(err));
	if (r)
		fprintf(stderr, "    slog__open: %s\n", err);
	return r;
}

/* A datagram receiver that restarts: the message waits and arrives. */
void test_slog_unix_dgram(void)
{
	char dir[] = "/tmp/aw-slog-XXXXXX", path[128], buf[1024];
	struct slog_stats st;
	struct slog *s = NULL;
	uint64_t clock = mono_ms();
	ssize_t n = -1, n2 = -1;
	int fd, fd2 = -1;

	ASSERT_NOT_NULL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && unix_bind(fd, path) && !open_unix(path, &s)) {
		slog__send(s, SLOG_SEV_INFO, "exec", NULL, 0, "{\"u\":1}", 7, T0_NS);
		if (wait_readable(fd, s, NULL))
			n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n > 0)
			buf[n] = '\0';
		/* The receiver goes and comes back (a syslogd restart). */
		close(fd);
		fd = -1;
		unlink(path);
		slog__send(s, SLOG_SEV_INFO, "exec", NULL, 0, "{\"u\":2}", 7, T0_NS);
		fd2 = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		clock += SLOG_BACKOFF_MAX_MS;
		if (fd2 >= 0 && unix_bind(fd2, path) && wait_readable(fd2, s, &clock))
			n2 = recv(fd2, buf + n + 1, sizeof(buf) - n - 2, MSG_DONTWAIT);
		if (n2 > 0)
			buf[n + 1 + n2] = '\0';
	}
	slog__stats(s, &st);
	slog__free(s);
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	unlink(path);
	rmdir(dir);
	ASSERT_TRUE(n > 0);
	ASSERT_EQ_STR(after_sd(buf), "\xef\xbb\xbf{\"u\":1}");
	ASSERT_EQ_INT(strncmp(buf, "<86>1 2026-01-02T03:04:05.123456Z testhost agentwatch ", 54), 0);
	ASSERT_TRUE(n2 > 0);
	ASSERT_EQ_STR(after_sd(buf + n + 1), "\xef\xbb\xbf{\"u\":2}");
	ASSERT_EQ_U64(st.sent, 2);
	ASSERT_EQ_U64(st.disconnects, 1);
	ASSERT_EQ_U64(st.connects, 2);
}

/* A stream listener: glibc's fallback, messages end with a NUL. */
void test_slog_unix_stream_fallback(void)
{
	char dir[] = "/tmp/aw-slog-XXXXXX", path[128], buf[1024];
	struct slog *s = NULL;
	size_t len = 0;
	int lfd, cfd = -1;
	char *nul = NULL;

	ASSERT_NOT_NULL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd >= 0 && unix_bind(lfd, path) && !listen(lfd, 4) && !open_unix(path, &s)) {
		cfd = accept_within(lfd, s, NULL);
		send_n(s, 0, 2);
		while (cfd >= 0 && wait_readable(cfd, s, NULL) && len < sizeof(buf) - 1) {
			ssize_t n = recv(cfd, buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT);

			if (n <= 0)
				break;
			len += n;
			if ((nul = memchr(buf, '\0', len)) && memchr(nul + 1, '\0', buf + len - nul - 1))
				break;
		}
	}
	slog__free(s);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	unlink(path);
	rmdir(dir);
	ASSERT_NOT_NULL(nul);
	ASSERT_TRUE(frame_is(buf, 0));
	ASSERT_TRUE(nul + 1 < buf + len);
	ASSERT_TRUE(frame_is(nul + 1, 1));
	ASSERT_EQ_INT(buf[len - 1], '\0');
}

/* Invalid input is a counted drop, never a crash or a send. */
void test_slog_send_invalid_is_counted(void)
{
	struct slog_opts o = { 0 };
	struct slog_param bad = { "a b", "v" };
	struct slog_stats st;
	struct slog *s = NULL;
	uint16_t port = 0;
	int fd;

	fd = inet_socket(SOCK_DGRAM, &port);
	ASSERT_TRUE(fd >= 0);
	if (open_to("udp", port, &o, &s)) {
		close(fd);
		ASSERT_TRUE(false);
	}
	ASSERT_EQ_INT(slog__send(s, SLOG_SEV_INFO, "exec", &bad, 1, "{}", 2, 0), -EINVAL);
	ASSERT_EQ_INT(slog__send(s, 9, "exec", NULL, 0, "{}", 2, 0), -EINVAL);
	ASSERT_EQ_INT(slog__send(s, SLOG_SEV_INFO, "a b", NULL, 0, "{}", 2, 0), -EINVAL);
	ASSERT_EQ_INT(slog__send(s, SLOG_SEV_INFO, "x", NULL, 0, "{}", SLOG_INPUT_MAX + 1, 0),
		      -EINVAL);
	ASSERT_EQ_INT(slog__send(NULL, SLOG_SEV_INFO, "x", NULL, 0, "{}", 2, 0), -EINVAL);
	slog__stats(s, &st);
	slog__free(s);
	close(fd);
	ASSERT_EQ_U64(st.dropped_invalid, 4);
	ASSERT_EQ_U64(st.dropped, 4);
	ASSERT_EQ_U64(st.sent, 0);
}
