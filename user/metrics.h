/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `--metrics ADDR`: Prometheus metrics over HTTP from inside the collector's
 * single-threaded loop, and a builder for the text exposition format 0.0.4.
 *
 * Two halves:
 *
 *  1. prom_*: a writer for the text format into a growable buffer, with a
 *     sticky error like json.h.  It never writes invalid exposition: names
 *     are checked, label values and HELP text are escaped, and any misuse
 *     (a sample outside its family, a family declared twice, a bad name)
 *     sets the error, after which the server answers 500 instead of a
 *     partial body.
 *
 *  2. metrics__*: a tiny HTTP/1.x server that never blocks, built like
 *     control.h's: one epoll fd for the caller's poll(), bounded clients,
 *     bounded request size, deadlines for readers and writers.
 *
 * Integration into the collector loop (collector.c):
 *
 *     static int render(void *ctx, struct prom_buf *b)
 *     {
 *             prom__family(b, "agentwatch_events_total", PROM_COUNTER, "Events read.");
 *             prom__sample_u64(b, "agentwatch_events_total", NULL, c->events);
 *             ...
 *             return 0;
 *     }
 *
 *     metrics__open(o->metrics_addr, &c->metrics);         // once; -errno
 *     ...
 *     int mt = metrics__timeout_ms(c->metrics);            // each iteration
 *     pfd[nfd].fd = metrics__fd(c->metrics);
 *     pfd[nfd++].events = POLLIN;
 *     if (mt >= 0 && mt < timeout)
 *             timeout = mt;
 *     poll(...);
 *     metrics__process(c->metrics, render, c);             // every iteration
 *     ...
 *     metrics__free(c->metrics);
 *
 * Calling metrics__process() on every loop iteration, ready or not, is the
 * intended use: it costs a few non-blocking syscalls when idle.
 */
#ifndef AW_METRICS_H
#define AW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------ */
/* Exposition writer                                                   */
/* ------------------------------------------------------------------ */

#define PROM_MAX_LEN        (4u << 20)  /* output bytes; more is -E2BIG */
#define PROM_MAX_LABELS     16          /* label pairs per sample */
#define PROM_MAX_NAME       200         /* bytes of a metric or label name */
#define PROM_HIST_MAX_BUCKETS 32        /* finite bounds; +Inf is implicit */

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM, PROM_UNTYPED };

struct prom_buf;

struct prom_buf *prom__new(void);
void prom__free(struct prom_buf *b);		/* NULL ok */
void prom__reset(struct prom_buf *b);		/* empty, keep capacity, clear error */

/*
 * Start a family: "# HELP name help\n# TYPE name type\n".  Every sample
 * belongs to the family declared last, and a family may be declared only
 * once per output (the format requires its samples to be contiguous).
 * help is escaped (\\ and \n); NULL or "" writes no HELP line.
 */
void prom__family(struct prom_buf *b, const char *name, enum prom_type type, const char *help);

/*
 * One sample of the current counter, gauge or untyped family; name must be
 * the family's name.  labels is NULL or {k1, v1, k2, v2, ..., NULL}: names
 * [a-zA-Z_][a-zA-Z0-9_]* not starting "__", no name twice, at most
 * PROM_MAX_LABELS pairs; values are any bytes.
 *
 * Label values are escaped (\\, \", \n) and made valid UTF-8: each byte of
 * invalid UTF-8 and each other control byte (< 0x20, 0x7f) becomes U+FFFD.
 * That keeps the scrape parseable whatever the bytes, but two distinct raw
 * values can then map to one series: key series on values you control.
 *
 * Values: prom__sample() writes the shortest form that reads back the same
 * double, and NaN, +Inf, -Inf; prom__sample_u64() the exact integer (a
 * reader parses it as a double, exact up to 2^53).
 */
void prom__sample(struct prom_buf *b, const char *name, const char *const *labels, double v);
void prom__sample_u64(struct prom_buf *b, const char *name, const char *const *labels, uint64_t v);

/* The text so far, NUL-terminated ("" if nothing).  len may be NULL. */
const char *prom__data(const struct prom_buf *b, size_t *len);

/*
 * 0, or the first error, sticky:
 *   -EINVAL  a bad metric or label name, a NULL label value, a sample
 *            before any family or under another family's name, a family
 *            declared twice, an unknown type, prom__histogram() on a
 *            non-histogram family or prom__sample() on a histogram one,
 *            a label named "le" on a histogram
 *   -E2BIG   more than PROM_MAX_LEN bytes or PROM_MAX_LABELS pairs
 *   -ENOMEM  out of memory
 */
int prom__error(const struct prom_buf *b);

/*
 * A fixed-bucket histogram of durations, observed in nanoseconds (integer
 * work on the hot path) and rendered in seconds (Prometheus' base unit:
 * name the family *_seconds).  counts[i] holds observations <= bound_ns[i]
 * and not <= any lower bound; counts[n] those above every bound.
 */
struct prom_hist {
	size_t n;				/* finite bounds */
	uint64_t bound_ns[PROM_HIST_MAX_BUCKETS];	/* strictly ascending */
	uint64_t counts[PROM_HIST_MAX_BUCKETS + 1];	/* not cumulative */
	uint64_t count;				/* observations */
	uint64_t sum_ns;			/* saturates at UINT64_MAX */
};

/* 1us, 2.5us, 5us, 10us, ... 100ms: for rule evaluation time. */
#define PROM_HIST_LATENCY_N 16
extern const uint64_t prom_hist_latency_ns[PROM_HIST_LATENCY_N];

/* Zero h and set its bounds.  0, or -EINVAL if n is 0 or over
 * PROM_HIST_MAX_BUCKETS or the bounds are not strictly ascending. */
int prom_hist__init(struct prom_hist *h, const uint64_t *bound_ns, size_t n);
void prom_hist__observe(struct prom_hist *h, uint64_t ns);

/*
 * The samples of one histogram of the current PROM_HISTOGRAM family named
 * name: name_bucket{labels...,le="B"} for each bound (cumulative) and
 * le="+Inf", then name_sum (seconds) and name_count.  Call it once per
 * label set.
 */
void prom__histogram(struct prom_buf *b, const char *name, const char *const *labels,
		     const struct prom_hist *h);

/* ------------------------------------------------------------------ */
/* Address                                                             */
/* ------------------------------------------------------------------ */

#define METRICS_MAX_ADDR 128		/* bytes of an ADDR argument */

/*
 * ADDR is HOST:PORT:
 *
 *     127.0.0.1:9464   an IPv4 address
 *     [::1]:9464       an IPv6 address in brackets
 *     localhost:9464   127.0.0.1 (not resolved: no DNS, no /etc/hosts)
 *     :9464            127.0.0.1 too
 *
 * Loopback is the default on purpose.  The endpoint has no authentication,
 * and other exporters read ":PORT" as every interface; here listening on
 * every interface must be spelled out: 0.0.0.0:9464 (IPv4) or [::]:9464
 * (IPv6 only: IPV6_V6ONLY is set so that the sysctl bindv6only can't widen
 * it to IPv4 behind the user's back).  Other host names are refused rather
 * than resolved, so startup never waits on DNS.
 *
 * PORT is decimal 0..65535; 0 binds an ephemeral port (metrics__port()).
 * 0, or -EINVAL with a message in err ("" on success); err may be NULL.
 */
int metrics__parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen,
			char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Request parser (pure; factored out for the fuzzer)                  */
/* ------------------------------------------------------------------ */

#define METRICS_MAX_REQUEST 8192	/* bytes of request line + headers */

enum metrics_route { METRICS_ROUTE_NONE, METRICS_ROUTE_METRICS, METRICS_ROUTE_ROOT };

struct metrics_req {
	int status;			/* the HTTP status to answer with */
	bool head;			/* HEAD: headers only */
	enum metrics_route route;	/* what to serve when status is 200 */
};

/*
 * Look at the first len bytes a client sent.  0: not complete yet, read
 * more.  1: *req holds the answer, which is one of
 *
 *   200  GET or HEAD of /metrics or / (a query string is ignored)
 *   400  not HTTP/1.x syntax: a bad request line, header line, a bare CR,
 *        a NUL or control byte, a folded header line
 *   404  another path          405  another method (answer with Allow:)
 *   414  no end of the request line within METRICS_MAX_REQUEST bytes
 *   431  no end of the headers within METRICS_MAX_REQUEST bytes
 *   505  HTTP/2 and up on the request line
 *
 * Bad syntax is reported as soon as it is seen, not when the request ends,
 * so garbage (a TLS hello, say) is answered at once.  Lines end with CRLF
 * or a bare LF.  A request body is not read (GET and HEAD have none; the
 * server closes the connection after one answer anyway).  Never reads
 * beyond len, and looks at no more than METRICS_MAX_REQUEST bytes.
 */
int metrics__parse_request(const char *buf, size_t len, struct metrics_req *req);

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

#define METRICS_MAX_CLIENTS       8
#define METRICS_READ_TIMEOUT_MS   2000	/* accept -> complete request */
#define METRICS_WRITE_TIMEOUT_MS  5000	/* first byte -> last byte of the answer */
#define METRICS_LINGER_MS         500	/* after the answer, wait for the client's FIN */
#define METRICS_RENDER_REUSE_MS   100	/* a body this fresh is served again */

struct metrics;

/*
 * Fill b with the exposition (prom__*), return 0 or -errno.  The server
 * resets b before the call and answers 500 if the call fails or leaves
 * prom__error(b) set.  Runs inside metrics__process(); must not call
 * metrics__process() or metrics__free().
 */
typedef int (*metrics_render_fn)(void *ctx, struct prom_buf *b);

/* Counters, for the collector to export or log. */
struct metrics_stats {
	uint64_t accepted;	/* connections taken into a slot */
	uint64_t busy;		/* turned away with 503: all slots in use */
	uint64_t requests;	/* complete requests answered, any status */
	uint64_t renders;	/* calls of the render function */
	uint64_t render_errors;	/* ... that failed: answered 500 */
	uint64_t bad_requests;	/* answered 4xx/5xx for the request itself */
	uint64_t timed_out;	/* no complete request within the read deadline */
	uint64_t write_failed;	/* answer not delivered: peer gone, write deadline */
	uint64_t accept_errors;	/* accept() failed other than EAGAIN */
};

/*
 * Listen on addr (see metrics__parse_addr()): a TCP socket, non-blocking,
 * close-on-exec, SO_REUSEADDR (a restart is not refused while the previous
 * run's connections sit in TIME_WAIT).  0 or -errno: -EINVAL for a bad
 * addr (call metrics__parse_addr() first, at option parsing, for the
 * message), -EADDRINUSE, -EADDRNOTAVAIL, -EACCES from bind.  *out is NULL
 * on failure.
 */
int metrics__open(const char *addr, struct metrics **out);

/*
 * One fd for the caller's poll/epoll, readable when metrics__process() has
 * something to do: an epoll set of the listening socket and the clients.
 */
int metrics__fd(const struct metrics *m);

/*
 * Milliseconds until the nearest client deadline (0 if one has passed), or
 * -1 with no clients: the longest the caller may sleep before the next
 * metrics__process() for deadlines to be kept.
 */
int metrics__timeout_ms(const struct metrics *m);

/*
 * Do whatever is ready without blocking: accept (at most
 * 2 * METRICS_MAX_CLIENTS per call; the rest next call), read requests,
 * answer them, write what the socket takes, drop clients past their
 * deadline.  fn renders the /metrics body; it is called at most once per
 * METRICS_RENDER_REUSE_MS however many scrapes arrive, and only when a
 * scrape (GET or HEAD /metrics) needs it.  Spurious calls are harmless.
 */
void metrics__process(struct metrics *m, metrics_render_fn fn, void *ctx);

/* The bound port (the real one after port 0), 0 for NULL. */
uint16_t metrics__port(const struct metrics *m);

/* The bound address as HOST:PORT ("127.0.0.1:9464", "[::1]:9464") for a
 * log line; "" for NULL.  Always NUL-terminated when len > 0. */
void metrics__addr(const struct metrics *m, char *buf, size_t len);

void metrics__stats(const struct metrics *m, struct metrics_stats *st);

/* Closes every client and the socket; NULL ok. */
void metrics__free(struct metrics *m);

#endif /* AW_METRICS_H */
