// SPDX-License-Identifier: GPL-2.0
/* Prometheus text exposition writer and the non-blocking HTTP endpoint that
 * serves it; the contracts are in metrics.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "metrics.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Exposition writer                                                   */
/* ------------------------------------------------------------------ */

#define PROM_INIT_CAP 1024

#define METRICS_STR_(x) #x
#define METRICS_STR(x) METRICS_STR_(x)

struct prom_buf {
	char *buf;
	size_t len, cap;	/* buf[len] is always NUL once allocated */
	int err;
	bool in_family;
	enum prom_type type;
	char family[PROM_MAX_NAME + 1];
	char **seen;		/* families declared so far */
	size_t nseen, capseen;
};

const uint64_t prom_hist_latency_ns[PROM_HIST_LATENCY_N] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 25000000, 50000000, 100000000,
};

static const char *const type_names[] = {
	[PROM_COUNTER] = "counter",
	[PROM_GAUGE] = "gauge",
	[PROM_HISTOGRAM] = "histogram",
	[PROM_UNTYPED] = "untyped",
};

static void fail(struct prom_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

struct prom_buf *prom__new(void)
{
	return calloc(1, sizeof(struct prom_buf));
}

static void forget_families(struct prom_buf *b)
{
	size_t i;

	for (i = 0; i < b->nseen; i++)
		free(b->seen[i]);
	b->nseen = 0;
}

void prom__free(struct prom_buf *b)
{
	if (!b)
		return;
	forget_families(b);
	free(b->seen);
	free(b->buf);
	free(b);
}

void prom__reset(struct prom_buf *b)
{
	forget_families(b);
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
	b->err = 0;
	b->in_family = false;
	b->family[0] = '\0';
}

static bool reserve(struct prom_buf *b, size_t n)
{
	size_t need, cap;
	char *nb;

	if (b->err)
		return false;
	if (n > PROM_MAX_LEN - b->len) {
		fail(b, -E2BIG);
		return false;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : PROM_INIT_CAP;
	while (cap < need)
		cap *= 2;
	nb = realloc(b->buf, cap);
	if (!nb) {
		fail(b, -ENOMEM);
		return false;
	}
	b->buf = nb;
	b->cap = cap;
	return true;
}

static void put(struct prom_buf *b, const void *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void puts_(struct prom_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

const char *prom__data(const struct prom_buf *b, size_t *len)
{
	if (len)
		*len = b->buf ? b->len : 0;
	return b->buf ? b->buf : "";
}

int prom__error(const struct prom_buf *b)
{
	return b->err;
}

static bool name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (c == ':')
		return colon;
	return !first && c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (metric) or [a-zA-Z_][a-zA-Z0-9_]* (label). */
static bool valid_name(const char *s, bool colon)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++)
		if (i >= PROM_MAX_NAME || !name_char(s[i], i == 0, colon))
			return false;
	return true;
}

static bool valid_label_name(const char *s)
{
	return valid_name(s, false) && strncmp(s, "__", 2) != 0;
}

/*
 * Escape s for a label value (quote true: \\ \" \n) or a HELP text (\\ \n).
 * The rest of the output must be UTF-8 that a reader takes as it is, so
 * invalid UTF-8 and other control bytes become U+FFFD: the format has no
 * escape that could carry them.
 */
static void put_escaped(struct prom_buf *b, const char *s, bool quote)
{
	static const char repl[] = "\xef\xbf\xbd";	/* U+FFFD */
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, n = strlen(s), len;

	while (i < n) {
		unsigned char c = u[i];

		len = utf8_seq_len(u + i, n - i);
		if (len > 1 || (c >= 0x20 && c < 0x7f && c != '\\' && !(quote && c == '"'))) {
			i += len;
			continue;
		}
		put(b, s + run, i - run);
		if (c == '\\')
			put(b, "\\\\", 2);
		else if (c == '"')
			put(b, "\\\"", 2);
		else if (c == '\n')
			put(b, "\\n", 2);
		else
			put(b, repl, 3);
		run = ++i;
	}
	put(b, s + run, i - run);
}

/* labels as metrics.h describes them; "le" is also refused when the
 * caller is going to add its own (histograms). */
static bool valid_labels(struct prom_buf *b, const char *const *labels, bool has_le)
{
	size_t i, j;

	if (!labels)
		return true;
	for (i = 0; labels[2 * i]; i++) {
		const char *k = labels[2 * i];

		if (i >= PROM_MAX_LABELS) {
			fail(b, -E2BIG);
			return false;
		}
		if (!valid_label_name(k) || !labels[2 * i + 1] || (has_le && !strcmp(k, "le")))
			goto bad;
		for (j = 0; j < i; j++)
			if (!strcmp(labels[2 * j], k))
				goto bad;
	}
	return true;
bad:
	fail(b, -EINVAL);
	return false;
}

/* {k="v",...} with le="..." last if le is set; nothing if no labels. */
static void put_labels(struct prom_buf *b, const char *const *labels, const char *le)
{
	size_t i;
	bool any = false;

	for (i = 0; labels && labels[2 * i]; i++) {
		put(b, any ? "," : "{", 1);
		puts_(b, labels[2 * i]);
		put(b, "=\"", 2);
		put_escaped(b, labels[2 * i + 1], true);
		put(b, "\"", 1);
		any = true;
	}
	if (le) {
		put(b, any ? "," : "{", 1);
		put(b, "le=\"", 4);
		puts_(b, le);
		put(b, "\"", 1);
		any = true;
	}
	if (any)
		put(b, "}", 1);
}

/*
 * The shortest %g form that reads back as the same double (at most 17
 * digits always does), as Go's ParseFloat in Prometheus wants it.  The
 * collector never calls setlocale(), so the radix character is '.'.
 */
static void format_double(double v, char *out, size_t len)
{
	int prec;

	if (isnan(v)) {
		snprintf(out, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, len, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 15; prec < 17; prec++) {
		snprintf(out, len, "%.*g", prec, v);	/* <= 24 bytes, len is 32 */
		if (strtod(out, NULL) == v)
			return;
	}
	snprintf(out, len, "%.17g", v);
}

static bool seen_family(const struct prom_buf *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nseen; i++)
		if (!strcmp(b->seen[i], name))
			return true;
	return false;
}

static bool remember_family(struct prom_buf *b, const char *name)
{
	char *dup;

	if (b->nseen == b->capseen) {
		size_t cap = b->capseen ? 2 * b->capseen : 32;
		char **ns = realloc(b->seen, cap * sizeof(*ns));

		if (!ns)
			goto oom;
		b->seen = ns;
		b->capseen = cap;
	}
	if (!(dup = strdup(name)))
		goto oom;
	b->seen[b->nseen++] = dup;
	return true;
oom:
	fail(b, -ENOMEM);
	return false;
}

void prom__family(struct prom_buf *b, const char *name, enum prom_type type, const char *help)
{
	if (b->err)
		return;
	if (!valid_name(name, true) || (unsigned)type > PROM_UNTYPED || seen_family(b, name)) {
		fail(b, -EINVAL);
		return;
	}
	if (!remember_family(b, name))
		return;
	if (help && *help) {
		put(b, "# HELP ", 7);
		puts_(b, name);
		put(b, " ", 1);
		put_escaped(b, help, false);
		put(b, "\n", 1);
	}
	put(b, "# TYPE ", 7);
	puts_(b, name);
	put(b, " ", 1);
	puts_(b, type_names[type]);
	put(b, "\n", 1);
	b->in_family = true;
	b->type = type;
	snprintf(b->family, sizeof(b->family), "%s", name);	/* valid_name(): fits */
}

/* A sample line "name{labels} value\n". */
static void put_sample(struct prom_buf *b, const char *name, const char *suffix,
		       const char *const *labels, const char *le, const char *value)
{
	puts_(b, name);
	puts_(b, suffix);
	put_labels(b, labels, le);
	put(b, " ", 1);
	puts_(b, value);
	put(b, "\n", 1);
}

/* May a plain sample called name be written now? */
static bool sample_ok(struct prom_buf *b, const char *name, const char *const *labels)
{
	if (b->err)
		return false;
	if (!b->in_family || b->type == PROM_HISTOGRAM || !name || strcmp(name, b->family)) {
		fail(b, -EINVAL);
		return false;
	}
	return valid_labels(b, labels, false);
}

void prom__sample(struct prom_buf *b, const char *name, const char *const *labels, double v)
{
	char val[32];

	if (!sample_ok(b, name, labels))
		return;
	format_double(v, val, sizeof(val));
	put_sample(b, name, "", labels, NULL, val);
}

void prom__sample_u64(struct prom_buf *b, const char *name, const char *const *labels, uint64_t v)
{
	char val[24];

	if (!sample_ok(b, name, labels))
		return;
	snprintf(val, sizeof(val), "%" PRIu64, v);	/* <= 20 digits */
	put_sample(b, name, "", labels, NULL, val);
}

/* ------------------------------------------------------------------ */
/* Histogram                                                           */
/* ------------------------------------------------------------------ */

int prom_hist__init(struct prom_hist *h, const uint64_t *bound_ns, size_t n)
{
	size_t i;

	if (!h || !bound_ns || !n || n > PROM_HIST_MAX_BUCKETS)
		return -EINVAL;
	for (i = 1; i < n; i++)
		if (bound_ns[i] <= bound_ns[i - 1])
			return -EINVAL;
	memset(h, 0, sizeof(*h));
	memcpy(h->bound_ns, bound_ns, n * sizeof(*bound_ns));
	h->n = n;
	return 0;
}

void prom_hist__observe(struct prom_hist *h, uint64_t ns)
{
	size_t lo = 0, hi = h->n;

	/* The first bound >= ns, or n (+Inf). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->bound_ns[mid] < ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	h->counts[lo]++;
	h->count++;
	h->sum_ns = ns > UINT64_MAX - h->sum_ns ? UINT64_MAX : h->sum_ns + ns;
}

void prom__histogram(struct prom_buf *b, const char *name, const char *const *labels,
		     const struct prom_hist *h)
{
	char le[32], val[32];
	uint64_t cum = 0;
	size_t i;

	if (b->err)
		return;
	if (!b->in_family || b->type != PROM_HISTOGRAM || !name || strcmp(name, b->family) ||
	    !h || h->n > PROM_HIST_MAX_BUCKETS) {
		fail(b, -EINVAL);
		return;
	}
	if (!valid_labels(b, labels, true))
		return;
	for (i = 0; i <= h->n; i++) {
		cum += h->counts[i];
		if (i < h->n)
			format_double(h->bound_ns[i] / 1e9, le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		snprintf(val, sizeof(val), "%" PRIu64, cum);
		put_sample(b, name, "_bucket", labels, le, val);
	}
	format_double(h->sum_ns / 1e9, val, sizeof(val));
	put_sample(b, name, "_sum", labels, NULL, val);
	/* The +Inf bucket's value, not h->count: a reader requires them equal. */
	snprintf(val, sizeof(val), "%" PRIu64, cum);
	put_sample(b, name, "_count", labels, NULL, val);
}

/* ------------------------------------------------------------------ */
/* Address                                                             */
/* ------------------------------------------------------------------ */

static int addr_error(char *err, size_t errlen, const char *addr, const char *why)
{
	char shown[4 * METRICS_MAX_ADDR + 1];

	if (err && errlen) {
		/* argv bytes go to a terminal: escaped, and cut if long. */
		text_escape(addr, strnlen(addr, METRICS_MAX_ADDR), shown, sizeof(shown));
		if (snprintf(err, errlen, "bad metrics address '%s': %s", shown, why) >= (int)errlen)
			snprintf(err, errlen, "bad metrics address: %s", why);
	}
	return -EINVAL;
}

/* Decimal 0..65535, 1 to 5 digits, nothing else. */
static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i >= 5 || s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (!i || v > 65535)
		return false;
	*port = v;
	return true;
}

static int parse_host6(const char *addr, const char *host, size_t hlen, uint16_t port,
		       struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char h[INET6_ADDRSTRLEN];

	if (memchr(host, '%', hlen))
		return addr_error(err, errlen, addr, "scoped IPv6 addresses (%zone) are not supported");
	if (hlen >= sizeof(h))
		return addr_error(err, errlen, addr, "not an IPv6 address");
	memcpy(h, host, hlen);
	h[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, h, &s6->sin6_addr) != 1)
		return addr_error(err, errlen, addr, "not an IPv6 address");
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	*sslen = sizeof(*s6);
	return 0;
}

static int parse_host4(const char *addr, const char *host, size_t hlen, uint16_t port,
		       struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char h[INET_ADDRSTRLEN];

	memset(ss, 0, sizeof(*ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*sslen = sizeof(*s4);
	if (!hlen || (hlen == 9 && !strncasecmp(host, "localhost", 9))) {
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return 0;
	}
	if (memchr(host, ':', hlen))
		return addr_error(err, errlen, addr, "an IPv6 address needs brackets, as in [::1]:9464");
	if (hlen >= sizeof(h))
		goto not_ip;
	memcpy(h, host, hlen);
	h[hlen] = '\0';
	/* inet_pton() takes only the dotted quad: no "127.1", no octal. */
	if (inet_pton(AF_INET, h, &s4->sin_addr) == 1)
		return 0;
not_ip:
	return addr_error(err, errlen, addr,
			  "not an IP address (host names other than localhost are not resolved)");
}

int metrics__parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen,
			char *err, size_t errlen)
{
	const char *host, *sep, *port_s;
	size_t hlen;
	uint16_t port;

	if (err && errlen)
		err[0] = '\0';
	if (!addr || !*addr)
		return addr_error(err, errlen, "", "expected HOST:PORT, as in 127.0.0.1:9464");
	if (strnlen(addr, METRICS_MAX_ADDR + 1) > METRICS_MAX_ADDR)
		return addr_error(err, errlen, addr, "longer than " METRICS_STR(METRICS_MAX_ADDR) " bytes");
	if (addr[0] == '[') {
		host = addr + 1;
		sep = strchr(host, ']');
		if (!sep)
			return addr_error(err, errlen, addr, "no ']' after the IPv6 address");
		hlen = sep - host;
		sep++;
		if (*sep != ':')
			return addr_error(err, errlen, addr, "expected :PORT after ']'");
	} else {
		host = addr;
		sep = strrchr(addr, ':');
		if (!sep)
			return addr_error(err, errlen, addr,
					  "no :PORT (127.0.0.1:9464, or :9464 for loopback)");
		hlen = sep - host;
	}
	port_s = sep + 1;
	if (!*port_s)
		return addr_error(err, errlen, addr, "no port after ':'");
	if (!parse_port(port_s, &port))
		return addr_error(err, errlen, addr, "the port must be a number from 0 to 65535");
	if (addr[0] == '[')
		return parse_host6(addr, host, hlen, port, ss, sslen, err, errlen);
	return parse_host4(addr, host, hlen, port, ss, sslen, err, errlen);
}

/* ------------------------------------------------------------------ */
/* Request parser                                                      */
/* ------------------------------------------------------------------ */

#define METHOD_MAX 32	/* longer is not a method anyone means */

/* RFC 9110 tchar: what a method or a header name is made of. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

static int answer(struct metrics_req *req, int status)
{
	req->status = status;
	if (status != 200)
		req->route = METRICS_ROUTE_NONE;
	return 1;
}

/* A request line or a header line as far as it has arrived: could it still
 * become valid?  Only bytes that never can are judged: NUL and controls
 * (but HTAB in a header, and a CR that may be a CRLF's first half), a
 * non-token first byte (a TLS hello starts 0x16), and for the request
 * line, which is ASCII, bytes >= 0x80. */
static bool prefix_ok(const unsigned char *p, size_t n, bool request_line)
{
	size_t i;

	if (n && (request_line ? !is_tchar(p[0]) : (p[0] == ' ' || p[0] == '\t')))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '\r' && i + 1 == n)
			continue;
		if (c == 0x7f || (c < 0x20 && (request_line || c != '\t')))
			return false;
		if (request_line && c >= 0x80)
			return false;
	}
	return true;
}

/* Length of the line at p ending at the '\n' at nl, without CRLF or LF. */
static size_t line_len(const char *p, const char *nl)
{
	return nl > p && nl[-1] == '\r' ? (size_t)(nl - p - 1) : (size_t)(nl - p);
}

/* "HTTP/1.1" -> 200, "HTTP/2.0" -> 505, anything else 400. */
static int check_version(const char *v, size_t n)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
	    v[7] < '0' || v[7] > '9')
		return 400;
	return v[5] == '1' ? 200 : 505;
}

static int check_target(const char *t, size_t n, struct metrics_req *req)
{
	const char *q = memchr(t, '?', n);
	size_t plen = q ? (size_t)(q - t) : n;

	if (t[0] != '/')
		return 400;	/* absolute-form and "*" are for proxies and OPTIONS */
	if (plen == 8 && !memcmp(t, "/metrics", 8))
		req->route = METRICS_ROUTE_METRICS;
	else if (plen == 1)
		req->route = METRICS_ROUTE_ROOT;
	else
		return 404;
	return 200;
}

/*
 * METHOD SP TARGET SP HTTP/D.D, single spaces, all visible ASCII.  The
 * status a complete, well-formed request would get: 400 for bad syntax,
 * then in order 505, 405, 400 (target form), 404.
 */
static int parse_request_line(const char *p, size_t n, struct metrics_req *req)
{
	const char *sp1, *sp2, *t;
	size_t mlen, tlen, i;
	int st;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 ? p[i] != ' ' : (unsigned char)p[i] >= 0x7f)
			return 400;
	sp1 = memchr(p, ' ', n);
	if (!sp1)
		return 400;
	mlen = sp1 - p;
	t = sp1 + 1;
	sp2 = memchr(t, ' ', n - (t - p));
	if (!sp2)
		return 400;
	tlen = sp2 - t;
	if (!mlen || mlen > METHOD_MAX || !tlen)
		return 400;
	for (i = 0; i < mlen; i++)
		if (!is_tchar(p[i]))
			return 400;
	if ((st = check_version(sp2 + 1, n - (sp2 + 1 - p))) != 200)
		return st;
	if (mlen == 4 && !memcmp(p, "HEAD", 4))
		req->head = true;
	else if (mlen != 3 || memcmp(p, "GET", 3))
		return 405;
	return check_target(t, tlen, req);
}

/* NAME ":" VALUE with NAME a token (no space before the colon, RFC 9112
 * 5.1) and VALUE visible bytes, spaces, tabs and obs-text. */
static bool header_ok(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar(p[i]))
		i++;
	if (!i || i == n || p[i] != ':')
		return false;
	for (i++; i < n; i++)
		if (p[i] == 0x7f || (p[i] < 0x20 && p[i] != '\t'))
			return false;
	return true;
}

int metrics__parse_request(const char *buf, size_t len, struct metrics_req *req)
{
	size_t n = len > METRICS_MAX_REQUEST ? METRICS_MAX_REQUEST : len;
	const char *end = buf + n, *p, *nl;
	int st;

	memset(req, 0, sizeof(*req));
	nl = memchr(buf, '\n', n);
	if (!nl) {
		if (!prefix_ok((const unsigned char *)buf, n, true))
			return answer(req, 400);
		return n == METRICS_MAX_REQUEST ? answer(req, 414) : 0;
	}
	st = parse_request_line(buf, line_len(buf, nl), req);
	if (st == 400)
		return answer(req, 400);
	for (p = nl + 1;; p = nl + 1) {
		size_t l;

		nl = memchr(p, '\n', end - p);
		if (!nl) {
			if (!prefix_ok((const unsigned char *)p, end - p, false))
				return answer(req, 400);
			return n == METRICS_MAX_REQUEST ? answer(req, 431) : 0;
		}
		l = line_len(p, nl);
		if (!l)
			return answer(req, st);
		if (!header_ok((const unsigned char *)p, l))
			return answer(req, 400);
	}
}

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

#define METRICS_LINGER_MAX   (64u << 10)	/* bytes discarded while lingering */
#define METRICS_ACCEPT_PAUSE_MS 100		/* after EMFILE and the like */
#define METRICS_HDR_MAX      256

enum mstate { MC_FREE = 0, MC_READ, MC_WRITE, MC_LINGER };

/* A rendered /metrics body, shared by every client sending it, so that
 * slow scrapers hold one copy between them, not one each. */
struct body {
	size_t refs;
	size_t len;
	char data[];
};

struct mclient {
	enum mstate state;
	int fd;
	uint64_t deadline_ms;	/* CLOCK_MONOTONIC */
	size_t len;		/* request bytes read */
	char req[METRICS_MAX_REQUEST];
	char hdr[METRICS_HDR_MAX];
	size_t hdr_len;
	const char *body;	/* static text, or blob->data */
	size_t body_len;
	struct body *blob;
	size_t off;		/* bytes of hdr then body sent */
	size_t discarded;	/* MC_LINGER */
};

struct metrics {
	int lfd, epfd;
	struct sockaddr_storage ss;	/* as bound */
	uint64_t accept_paused_until;	/* 0: the listening socket is in epfd */
	struct prom_buf *pb;
	struct body *cached;		/* NULL with have_cached: the render failed */
	bool have_cached;
	uint64_t cached_ms;
	struct metrics_stats st;
	struct mclient cl[METRICS_MAX_CLIENTS];
};

static const char root_page[] =
	"<html><head><title>agentwatch</title></head><body>"
	"<h1>agentwatch</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

static uint64_t now_ms(void)
{
	return now_ns(CLOCK_MONOTONIC) / 1000000;
}

static void body_put(struct body *b)
{
	if (b && !--b->refs)
		free(b);
}

static struct body *body_get(struct body *b)
{
	if (b)
		b->refs++;
	return b;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default:  return "Error";
	}
}

/* The whole answer's head into buf; its length, or 0 if it didn't fit. */
static size_t format_head(char *buf, size_t len, int status, const char *type, size_t body_len)
{
	const char *extra = status == 405 ? "Allow: GET, HEAD\r\n" :
			    status == 503 ? "Retry-After: 1\r\n" : "";
	int n = snprintf(buf, len,
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "%sCache-Control: no-store\r\nConnection: close\r\n\r\n",
			 status, reason(status), type, body_len, extra);

	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

static void drop(struct metrics *m, struct mclient *cl)
{
	if (cl->fd >= 0) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
		close(cl->fd);
	}
	body_put(cl->blob);
	memset(cl, 0, sizeof(*cl));
	cl->state = MC_FREE;
	cl->fd = -1;
}

static void watch(struct metrics *m, struct mclient *cl, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = cl->fd };

	/* Only the caller's wakeups depend on it: metrics__process() tries
	 * every client anyway. */
	epoll_ctl(m->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
}

/*
 * The /metrics body: the one rendered less than METRICS_RENDER_REUSE_MS
 * ago, or a new one.  A scrape flood thus costs at most one render per
 * interval on the loop that enforces verdicts.  NULL: the render failed
 * (that is reused too).
 */
static struct body *get_body(struct metrics *m, metrics_render_fn fn, void *ctx, uint64_t now)
{
	const char *s;
	size_t len;
	int err;

	if (m->have_cached && now - m->cached_ms < METRICS_RENDER_REUSE_MS)
		return m->cached;
	body_put(m->cached);
	m->cached = NULL;
	m->have_cached = true;
	m->cached_ms = now;
	prom__reset(m->pb);
	m->st.renders++;
	err = fn ? fn(ctx, m->pb) : -EINVAL;
	if (!err)
		err = prom__error(m->pb);
	s = prom__data(m->pb, &len);
	if (!err && (m->cached = malloc(sizeof(*m->cached) + len)) != NULL) {
		m->cached->refs = 1;
		m->cached->len = len;
		memcpy(m->cached->data, s, len);
	}
	if (!m->cached)
		m->st.render_errors++;
	return m->cached;
}

static void client_write(struct metrics *m, struct mclient *cl, uint64_t now);

/* Answer with status (and the body that goes with it), then write. */
static void respond(struct metrics *m, struct mclient *cl, const struct metrics_req *req,
		    metrics_render_fn fn, void *ctx, uint64_t now)
{
	const char *type = "text/plain; charset=utf-8", *body = NULL;
	int status = req->status;
	size_t blen;

	if (status == 200 && req->route == METRICS_ROUTE_METRICS) {
		cl->blob = body_get(get_body(m, fn, ctx, now));
		if (cl->blob) {
			type = PROM_CONTENT_TYPE;
			body = cl->blob->data;
			blen = cl->blob->len;
		} else {
			status = 500;
		}
	} else if (status == 200) {
		type = "text/html; charset=utf-8";
		body = root_page;
		blen = sizeof(root_page) - 1;
	}
	if (!body) {
		/* "404 Not Found\n", into the request buffer, which is done
		 * with: the status line says it all. */
		int n = snprintf(cl->req, sizeof(cl->req), "%d %s\n", status, reason(status));

		body = cl->req;
		blen = n > 0 && (size_t)n < sizeof(cl->req) ? (size_t)n : 0;
	}
	cl->hdr_len = format_head(cl->hdr, sizeof(cl->hdr), status, type, blen);
	cl->body = body;
	cl->body_len = req->head ? 0 : blen;
	cl->off = 0;
	cl->state = MC_WRITE;
	cl->deadline_ms = now + METRICS_WRITE_TIMEOUT_MS;
	if (!cl->hdr_len) {	/* can't happen: the head is a few fixed strings */
		m->st.write_failed++;
		drop(m, cl);
		return;
	}
	watch(m, cl, EPOLLOUT);
	client_write(m, cl, now);
}

/* Answered: say we're done (FIN), then read what the client still sends
 * until it closes.  Closing with unread input would make the kernel send
 * a RST, which can destroy the answer before the client has read it. */
static void start_linger(struct metrics *m, struct mclient *cl, uint64_t now)
{
	body_put(cl->blob);
	cl->blob = NULL;
	cl->body = NULL;
	shutdown(cl->fd, SHUT_WR);
	cl->state = MC_LINGER;
	cl->deadline_ms = now + METRICS_LINGER_MS;
	cl->discarded = 0;
	watch(m, cl, EPOLLIN);
}

static void client_linger(struct metrics *m, struct mclient *cl)
{
	char scratch[4096];

	for (;;) {
		ssize_t n = recv(cl->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n > 0) {
			cl->discarded += n;
			if (cl->discarded > METRICS_LINGER_MAX)
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;	/* EOF, or an error: either way, done */
	}
	drop(m, cl);
}

static void client_write(struct metrics *m, struct mclient *cl, uint64_t now)
{
	size_t total = cl->hdr_len + cl->body_len;

	while (cl->off < total) {
		struct iovec iov[2];
		struct msghdr msg = { .msg_iov = iov };
		ssize_t n;

		if (cl->off < cl->hdr_len) {
			iov[0] = (struct iovec){ cl->hdr + cl->off, cl->hdr_len - cl->off };
			iov[1] = (struct iovec){ (void *)cl->body, cl->body_len };
			msg.msg_iovlen = 2;
		} else {
			size_t bo = cl->off - cl->hdr_len;

			iov[0] = (struct iovec){ (void *)(cl->body + bo), cl->body_len - bo };
			msg.msg_iovlen = 1;
		}
		n = sendmsg(cl->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			m->st.write_failed++;
			drop(m, cl);
			return;
		}
		cl->off += n;
	}
	start_linger(m, cl, now);
	client_linger(m, cl);
}

static void client_read(struct metrics *m, struct mclient *cl, metrics_render_fn fn, void *ctx,
			uint64_t now)
{
	struct metrics_req req;

	for (;;) {
		ssize_t n = recv(cl->fd, cl->req + cl->len, sizeof(cl->req) - cl->len, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				drop(m, cl);
			return;
		}
		if (n == 0) {
			/* Gone without a byte (a port probe): nothing to say. */
			if (!cl->len) {
				drop(m, cl);
				return;
			}
			req = (struct metrics_req){ .status = 400 };
			break;
		}
		cl->len += n;
		/* The buffer is METRICS_MAX_REQUEST long, so a full one always
		 * gets an answer here (414 or 431 at worst). */
		if (metrics__parse_request(cl->req, cl->len, &req))
			break;
	}
	m->st.requests++;
	if (req.status != 200)
		m->st.bad_requests++;
	respond(m, cl, &req, fn, ctx, now);
}

/* All slots taken: one non-blocking try to say so, then close.  The answer
 * is small and the socket's send buffer empty, so the try fails only if
 * the client is already gone.  Leaving the connection queued instead would
 * keep the listening socket readable and spin the caller's poll(). */
static void say_busy(struct metrics *m, int fd)
{
	static const char body[] = "503 Service Unavailable\n";
	char buf[METRICS_HDR_MAX + sizeof(body)];
	size_t n = format_head(buf, METRICS_HDR_MAX, 503, "text/plain; charset=utf-8",
			       sizeof(body) - 1);

	m->st.busy++;
	if (n) {
		memcpy(buf + n, body, sizeof(body) - 1);
		n += sizeof(body) - 1;
		if (send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n)
			m->st.write_failed++;
	}
	close(fd);
}

static struct mclient *free_slot(struct metrics *m)
{
	int i;

	for (i = 0; i < METRICS_MAX_CLIENTS; i++)
		if (m->cl[i].state == MC_FREE)
			return &m->cl[i];
	return NULL;
}

static void admit(struct metrics *m, int fd, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	struct mclient *cl = free_slot(m);

	if (!cl) {
		say_busy(m, fd);
		return;
	}
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		m->st.accept_errors++;
		close(fd);
		return;
	}
	cl->fd = fd;
	cl->state = MC_READ;
	cl->len = 0;
	cl->deadline_ms = now + METRICS_READ_TIMEOUT_MS;
	m->st.accepted++;
}

/*
 * Out of fds or memory, accept() fails and leaves the connection queued:
 * the listening socket stays readable and the caller's poll() would return
 * at once, forever.  So it leaves the epoll set for a while.
 */
static void pause_accept(struct metrics *m, uint64_t now)
{
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->lfd, NULL);
	m->accept_paused_until = now + METRICS_ACCEPT_PAUSE_MS;
}

static bool resume_accept(struct metrics *m, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = m->lfd };

	if (!m->accept_paused_until)
		return true;
	if (now < m->accept_paused_until)
		return false;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->lfd, &ev) && errno != EEXIST)
		return false;
	m->accept_paused_until = 0;
	return true;
}

static void accept_new(struct metrics *m, uint64_t now)
{
	int i;

	if (!resume_accept(m, now))
		return;
	/* Bounded, so a connect flood can't keep us from the ring buffer. */
	for (i = 0; i < 2 * METRICS_MAX_CLIENTS; i++) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			admit(m, fd, now);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		m->st.accept_errors++;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			pause_accept(m, now);
		return;
	}
}

static void expire(struct metrics *m, struct mclient *cl, metrics_render_fn fn, void *ctx,
		   uint64_t now)
{
	struct metrics_req req = { .status = 408 };

	switch (cl->state) {
	case MC_READ:
		m->st.timed_out++;
		respond(m, cl, &req, fn, ctx, now);
		break;
	case MC_WRITE:
		m->st.write_failed++;
		drop(m, cl);
		break;
	default:
		drop(m, cl);
		break;
	}
}

void metrics__process(struct metrics *m, metrics_render_fn fn, void *ctx)
{
	uint64_t now;
	int i;

	if (!m)
		return;
	now = now_ms();
	accept_new(m, now);
	for (i = 0; i < METRICS_MAX_CLIENTS; i++) {
		struct mclient *cl = &m->cl[i];
		enum mstate was = cl->state;

		if (cl->state == MC_READ)
			client_read(m, cl, fn, ctx, now);
		else if (cl->state == MC_WRITE)
			client_write(m, cl, now);
		else if (cl->state == MC_LINGER)
			client_linger(m, cl);
		/* A state entered just now has a fresh deadline. */
		if (cl->state != MC_FREE && cl->state == was && now >= cl->deadline_ms)
			expire(m, cl, fn, ctx, now);
	}
}

static int listen_on(struct metrics *m, const struct sockaddr_storage *ss, socklen_t sslen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t l = sizeof(m->ss);
	int one = 1;

	m->lfd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0)
		return -errno;
	if (setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		return -errno;
	/* [::] means IPv6 only, whatever net.ipv6.bindv6only says. */
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(m->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		return -errno;
	if (bind(m->lfd, (const struct sockaddr *)ss, sslen))
		return -errno;
	if (listen(m->lfd, 2 * METRICS_MAX_CLIENTS))
		return -errno;
	if (getsockname(m->lfd, (struct sockaddr *)&m->ss, &l))
		return -errno;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0)
		return -errno;
	ev.data.fd = m->lfd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->lfd, &ev))
		return -errno;
	return 0;
}

int metrics__open(const char *addr, struct metrics **out)
{
	struct sockaddr_storage ss;
	struct metrics *m = NULL;
	socklen_t sslen;
	int err, i;

	if (out)
		*out = NULL;
	if (!out)
		return -EINVAL;
	if ((err = metrics__parse_addr(addr, &ss, &sslen, NULL, 0)))
		return err;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->lfd = m->epfd = -1;
	for (i = 0; i < METRICS_MAX_CLIENTS; i++)
		m->cl[i].fd = -1;
	m->pb = prom__new();
	if (!m->pb) {
		err = -ENOMEM;
		goto cleanup;
	}
	if ((err = listen_on(m, &ss, sslen)))
		goto cleanup;
	*out = m;
	return 0;
cleanup:
	metrics__free(m);
	return err;
}

int metrics__fd(const struct metrics *m)
{
	return m ? m->epfd : -1;
}

int metrics__timeout_ms(const struct metrics *m)
{
	uint64_t now = now_ms(), best = UINT64_MAX;
	int i;

	if (!m)
		return -1;
	if (m->accept_paused_until)
		best = m->accept_paused_until;
	for (i = 0; i < METRICS_MAX_CLIENTS; i++)
		if (m->cl[i].state != MC_FREE && m->cl[i].deadline_ms < best)
			best = m->cl[i].deadline_ms;
	if (best == UINT64_MAX)
		return -1;
	if (best <= now)
		return 0;
	return best - now > INT_MAX ? INT_MAX : (int)(best - now);
}

uint16_t metrics__port(const struct metrics *m)
{
	if (!m)
		return 0;
	if (m->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&m->ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&m->ss)->sin_port);
}

void metrics__addr(const struct metrics *m, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "";

	if (!len)
		return;
	buf[0] = '\0';
	if (!m)
		return;
	if (m->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&m->ss)->sin6_addr, host,
			  sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, metrics__port(m));
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&m->ss)->sin_addr, host,
			  sizeof(host));
		snprintf(buf, len, "%s:%u", host, metrics__port(m));
	}
}

void metrics__stats(const struct metrics *m, struct metrics_stats *st)
{
	if (m)
		*st = m->st;
	else
		memset(st, 0, sizeof(*st));
}

void metrics__free(struct metrics *m)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < METRICS_MAX_CLIENTS; i++)
		if (m->cl[i].state != MC_FREE)
			drop(m, &m->cl[i]);
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->epfd >= 0)
		close(m->epfd);
	body_put(m->cached);
	prom__free(m->pb);
	free(m);
}
