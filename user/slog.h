/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An RFC 5424 syslog exporter: a copy of every record, and periodically the
 * audit log's chain head, off the host.  (slog, not syslog: <syslog.h>.)
 *
 * Destinations (slog__parse_dest()):
 *     udp://HOST[:PORT]     one message per datagram (RFC 5426)
 *     tcp://HOST[:PORT]     octet-counting framing, "LEN SP MSG" (RFC 6587
 *                           3.4.1), what rsyslog's imtcp and syslog-ng take
 *     unix:///PATH, unix:PATH
 *                           SOCK_DGRAM, one message per datagram; if the
 *                           socket is a stream one (connect() says
 *                           EPROTOTYPE), SOCK_STREAM with each message
 *                           followed by a NUL, as glibc's syslog() does
 * HOST is an IPv4 address, [IPv6] in brackets, or a name resolved with
 * getaddrinfo() once, at open; PORT defaults to 514.  No TLS (RFC 5425).
 *
 * One message:
 *     <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID p="v"...] BOM MSG
 * PRI = facility * 8 + severity; TIMESTAMP is UTC with microseconds
 * (2026-01-02T03:04:05.123456Z); PROCID is the collector's pid; MSGID the
 * record type.  Absent fields are the NILVALUE "-".  The SD-ELEMENT holds
 * the caller's key fields, for filtering at the receiver; the JSON record in
 * MSG is the authoritative copy.  Its SD-ID defaults to "agentwatch@32473":
 * 32473 is the enterprise number RFC 5612 reserves for documentation and
 * examples, so a site with its own IANA enterprise number should set sd_id.
 *
 * Never blocks.  Sockets are non-blocking (connect too), sends use
 * MSG_DONTWAIT | MSG_NOSIGNAL.  Every message goes through a bounded queue
 * (messages and bytes) that slog__send() and slog__tick() drain as far as
 * the socket takes it; while the receiver is slow or down messages wait
 * there, and once it is full new ones are dropped and counted.  A lost
 * connection is retried from slog__tick() with exponential backoff
 * (SLOG_BACKOFF_MIN_MS doubling to SLOG_BACKOFF_MAX_MS).  Opening succeeds
 * even if the receiver is down: a syslog server restarting must not stop
 * the collector.
 *
 * Delivery is best effort, as with any plain syslog transport: UDP may
 * lose datagrams silently, and a TCP message the kernel accepted is lost
 * if the connection dies before the peer read it (only RELP acknowledges).
 * A half-sent TCP frame is resent whole on the next connection.  Drops we
 * know of are counted in struct slog_stats.
 *
 * Not thread-safe: one thread owns a struct slog.
 */
#ifndef AW_SLOG_H
#define AW_SLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLOG_DEFAULT_PORT        "514"
#define SLOG_DEFAULT_APP         "agentwatch"
#define SLOG_DEFAULT_SD_ID       "agentwatch@32473"
#define SLOG_DEFAULT_MSG_MAX     8192          /* bytes of one message, framing excluded */
#define SLOG_MSG_MIN             480           /* RFC 5426 3.2: every receiver takes this */
#define SLOG_MSG_LIMIT           (1u << 20)    /* largest msg_max accepted */
#define SLOG_DEFAULT_QUEUE_BYTES (4u << 20)
#define SLOG_DEFAULT_QUEUE_MSGS  8192
#define SLOG_QUEUE_MSGS_LIMIT    (1u << 20)
#define SLOG_INPUT_MAX           (1u << 20)    /* longest MSG accepted by slog__send() */
#define SLOG_MAX_PARAMS          32            /* SD-PARAMs in one message */
#define SLOG_VALUE_MAX           256           /* PARAM-VALUE bytes kept, before escaping */
#define SLOG_BACKOFF_MIN_MS      500
#define SLOG_BACKOFF_MAX_MS      30000
#define SLOG_CONNECT_TIMEOUT_MS  5000          /* a TCP connect still pending is abandoned */

/* RFC 5424 6.2.1 numeric facilities (not <syslog.h>'s shifted LOG_*). */
enum slog_facility {
	SLOG_FAC_USER = 1, SLOG_FAC_DAEMON = 3, SLOG_FAC_AUTH = 4, SLOG_FAC_AUTHPRIV = 10,
	SLOG_FAC_AUDIT = 13, SLOG_FAC_LOCAL0 = 16, SLOG_FAC_LOCAL7 = 23,
};

/*
 * The default facility.  authpriv because these are security records that
 * carry command lines, paths and environment-derived data: the usual
 * configurations send authpriv to a root-only file (/var/log/auth.log,
 * /var/log/secure) and keep it out of the world-readable catch-alls
 * (Debian: "*.*;auth,authpriv.none -/var/log/syslog"), which local0..7
 * would land in.
 */
#define SLOG_DEFAULT_FACILITY SLOG_FAC_AUTHPRIV

enum slog_severity {
	SLOG_SEV_EMERG = 0, SLOG_SEV_ALERT, SLOG_SEV_CRIT, SLOG_SEV_ERR,
	SLOG_SEV_WARNING, SLOG_SEV_NOTICE, SLOG_SEV_INFO, SLOG_SEV_DEBUG,
};

enum slog_transport { SLOG_UDP = 1, SLOG_TCP, SLOG_UNIX };

/* One SD-PARAM.  name: 1-32 printable ASCII but '=', ']', '"' (RFC 5424
 * SD-NAME), else the message is refused (-EINVAL).  value: any bytes; a
 * param with a NULL value is left out. */
struct slog_param {
	const char *name;
	const char *value;
};

struct slog_opts {
	const char *dest;            /* see above; required */
	int facility;                /* 1..23; 0: SLOG_DEFAULT_FACILITY (0, kern, is the
				      * kernel's, so like glibc we take 0 as "default") */
	const char *hostname;        /* NULL: gethostname(), sanitized */
	const char *app;             /* NULL: SLOG_DEFAULT_APP */
	const char *sd_id;           /* NULL: SLOG_DEFAULT_SD_ID; must be NAME@DIGITS */
	bool no_bom;                 /* leave out the UTF-8 BOM before MSG (see below) */
	size_t msg_max;              /* 0: SLOG_DEFAULT_MSG_MAX; SLOG_MSG_MIN..SLOG_MSG_LIMIT */
	size_t max_queue_bytes;      /* 0: SLOG_DEFAULT_QUEUE_BYTES; >= msg_max */
	size_t max_queue_msgs;       /* 0: SLOG_DEFAULT_QUEUE_MSGS; <= SLOG_QUEUE_MSGS_LIMIT */
};

/*
 * The BOM.  RFC 5424 6.4: a MSG encoded in UTF-8 MUST start with the BOM,
 * so it is on by default: we claim RFC 5424 and the JSON is UTF-8.  Some
 * receivers keep those three bytes in the message text (rsyslog's %msg%
 * does), which breaks a JSON parser downstream; no_bom turns it off and
 * the MSG is then MSG-ANY, still valid.  A MSG that is not valid UTF-8 never
 * gets a BOM.
 */

/* Counters for status and metrics; nothing is dropped without a count. */
struct slog_stats {
	bool connected;              /* a socket is up (UDP: connect()ed, no handshake) */
	uint64_t sent;               /* messages handed whole to the kernel */
	uint64_t sent_bytes;         /* ... their bytes, framing included */
	uint64_t dropped;            /* the sum of the dropped_* below */
	uint64_t dropped_queue_full; /* the queue was at its bound */
	uint64_t dropped_invalid;    /* refused by the formatter (bad MSGID, param name,
				      * NUL in MSG, header and SD over msg_max) */
	uint64_t dropped_send;       /* a datagram the kernel refused (EMSGSIZE, ...) */
	uint64_t truncated;          /* MSG cut to fit msg_max */
	uint64_t errors;             /* failed socket calls (EAGAIN not counted) */
	uint64_t blocked;            /* sends that met a full socket (EAGAIN) */
	uint64_t connects;           /* connections established */
	uint64_t disconnects;        /* connections lost or failed */
	uint64_t queued;             /* messages waiting now */
	uint64_t queued_bytes;       /* ... and their bytes */
	int last_error;              /* errno of the last error, 0 if none */
};

struct slog;

/*
 * Parse the destination, resolve it, and try to connect (not waiting for
 * it).  0, or -errno with err saying what is wrong ("syslog destination
 * 'x': ..."): -EINVAL for a bad destination or option, the getaddrinfo()
 * failure as -EHOSTUNREACH, -ENOMEM.  *out is NULL on failure.
 */
int slog__open(const struct slog_opts *o, struct slog **out, char *err, size_t errlen);

/*
 * Queue one message and send what the socket takes now.  severity 0..7
 * (slog__severity_for_verdict() for records with a verdict); msgid the
 * record type, 1-32 printable ASCII, NULL for "-"; params the key fields
 * (at most SLOG_MAX_PARAMS); msg the JSON record, len bytes (at most
 * SLOG_INPUT_MAX, no NUL byte); time_ns CLOCK_REALTIME ns, 0 for now.
 * 0 if queued (the send may still come later), or -errno if dropped:
 * -EINVAL (bad argument), -EMSGSIZE (header and SD over msg_max), -ENOBUFS
 * (queue full), -ENOMEM.  Every drop is counted; the caller can ignore
 * the return value.
 */
int slog__send(struct slog *s, int severity, const char *msgid, const struct slog_param *params,
	       size_t n, const char *msg, size_t len, uint64_t time_ns);

/*
 * Periodic work, call it every loop: finish a pending connect, reconnect
 * when the backoff is over, send what is queued, notice a peer that
 * closed.  now_ms is CLOCK_MONOTONIC in ms (the backoff must not jump with
 * the wall clock).
 */
void slog__tick(struct slog *s, uint64_t now_ms);

/* Nothing queued and no connection in progress: slog__tick() can wait
 * (a reconnect after a failure is due no sooner than its backoff). */
bool slog__idle(const struct slog *s);

/* For shutdown: tick until the queue is empty or timeout_ms have passed.
 * This one waits (poll), so not from the enforcement path.  0, or -ETIMEDOUT
 * with messages still queued. */
int slog__drain(struct slog *s, int timeout_ms);

void slog__stats(const struct slog *s, struct slog_stats *st);

/* Closes the socket; what is still queued is lost (slog__drain() first,
 * and report slog_stats.queued).  NULL ok. */
void slog__free(struct slog *s);

/* "authpriv", "local3", "daemon", or a number "0".."23" -> 1..23; -EINVAL
 * for anything else, "kern" too (the kernel's own). */
int slog__facility_from_name(const char *name);
const char *slog__facility_name(int facility);	/* "?" if unknown */

/*
 * Severity for a record from its verdict (rule_action_name() of the action
 * carried out, or NULL for a plain event):
 *   deny, kill, kill-session, freeze, alert  -> warning: a policy hit that
 *       was acted on or must be seen.  Not err: in syslog err means
 *       something malfunctioned, and we keep it for agentwatch's own
 *       failures (a "loss" record) so alerting on err+ pages for breakage.
 *   pause                                    -> notice: waits for a human
 *   allow, log, NULL, anything else          -> info
 */
int slog__severity_for_verdict(const char *verdict);

/* ---- pure parts, exposed for the tests and the fuzzer ---------------- */

struct slog_dest {
	enum slog_transport transport;
	char host[256];              /* without brackets; SLOG_UDP, SLOG_TCP */
	char port[6];
	char path[108];              /* SLOG_UNIX: sizeof(sun_path) */
};

/* 0, or -EINVAL with err saying why. */
int slog__parse_dest(const char *dest, struct slog_dest *d, char *err, size_t errlen);

struct slog_header {
	int facility;                /* 0..23 */
	int severity;                /* 0..7 */
	uint64_t time_ns;            /* CLOCK_REALTIME ns; 0: NILVALUE */
	const char *hostname;        /* NULL or "": NILVALUE; else 1-255 printable ASCII */
	const char *app;             /* ... 1-48 */
	const char *procid;          /* ... 1-128 */
	const char *msgid;           /* ... 1-32 */
	const char *sd_id;           /* SD-NAME; NULL: no SD-ELEMENT */
	const struct slog_param *params;
	size_t nparams;              /* no params (all NULL values): STRUCTURED-DATA is "-" */
	bool bom;
};

/*
 * Format one message into buf: at most cap - 1 bytes and a NUL.  If the
 * whole MSG doesn't fit, it is cut at a UTF-8 character boundary, a
 * truncated="<original length>" param is added to the SD-ELEMENT (when
 * there is one), and *truncated is set (may be NULL).  PARAM-VALUEs have
 * '"', '\' and ']' escaped with '\' (RFC 5424 6.3.3), control bytes and
 * bytes of invalid UTF-8 replaced by '?', and are cut to SLOG_VALUE_MAX
 * bytes.  Returns the length, or -EINVAL (a field outside its ABNF, NUL in
 * msg, too many params) or -EMSGSIZE (the header and SD alone don't fit).
 */
int slog__format(char *buf, size_t cap, const struct slog_header *h, const char *msg,
		 size_t len, bool *truncated);

/* The longest prefix of s[0..len) of at most max bytes that doesn't end
 * inside a UTF-8 sequence. */
size_t slog__utf8_cut(const char *s, size_t len, size_t max);

/* Is s[0..len) valid UTF-8 (RFC 3629: no overlongs, surrogates, > U+10FFFF)? */
bool slog__utf8_valid(const char *s, size_t len);

#endif /* AW_SLOG_H */
