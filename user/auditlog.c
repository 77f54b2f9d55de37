// SPDX-License-Identifier: GPL-2.0
/* Durable, tamper-evident JSON-lines audit log; the format is in auditlog.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "auditlog.h"
#include "util.h"

#define DEF_SEGMENT_BYTES (64ull << 20)
#define DEF_SEGMENT_AGE_S 3600ull
#define DEF_RETAIN_BYTES (1ull << 30)
#define DEF_RETAIN_AGE_S (30ull * 24 * 3600)
#define DEF_FLUSH_MS 200u
#define HOUSEKEEP_MS 60000u	/* age-based retention is checked this often */

#define FLUSH_BYTES (64u << 10)		/* write a batch early once this much is pending */
#define LINE_CAP (AUDITLOG_RECORD_MAX + 256)	/* longest line a reader accepts */
#define NAME_MAX_LEN 64

/* Every line ends with  ,"chain":"<64 hex>"}  after  "seq":N */
#define CHAIN_KEY ",\"chain\":\""
#define CHAIN_KEY_LEN 10
#define SEQ_KEY "\"seq\":"
#define SEQ_KEY_LEN 6
#define TAIL_LEN (CHAIN_KEY_LEN + 64 + 2)

#define HDR_FMT "{\"type\":\"segment\",\"segment\":%" PRIu64 ",\"prev_segment_head\":\"%s\",\"created_ms\":%" PRIu64 "}"
#define RETENTION_PREFIX "{\"type\":\"retention\",\"deleted_through\":"

static uint64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- hashes --- */

static void hex_encode(const unsigned char h[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[64] = '\0';
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;	/* only lowercase: one spelling per chain value */
}

static int hex_decode(const char *s, unsigned char h[32])
{
	int i;

	for (i = 0; i < 32; i++) {
		int a = hex_nibble(s[2 * i]), b = hex_nibble(s[2 * i + 1]);

		if (a < 0 || b < 0)
			return -EINVAL;
		h[i] = (unsigned char)(a << 4 | b);
	}
	return 0;
}

/* out = SHA-256(prev || p[0..n) || "}"): p is the line up to and including
 * "seq":N, so the hash covers the record as it reads without its chain. */
/*
 * SHA-256, fetched once: with OpenSSL 3 every EVP_DigestInit_ex(md,
 * EVP_sha256()) looks the implementation up again, a fifth of the cost of
 * chaining a record.  The fetched object lives as long as the process.
 */
static const EVP_MD *sha256(void)
{
	static EVP_MD *md;

	if (!md)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return md ? md : EVP_sha256();
}

static int chain__next(EVP_MD_CTX *md, const unsigned char prev[32], const char *p, size_t n,
		       unsigned char out[32])
{
	unsigned int len = 0;

	if (EVP_DigestInit_ex(md, sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, prev, 32) != 1 || EVP_DigestUpdate(md, p, n) != 1 ||
	    EVP_DigestUpdate(md, "}", 1) != 1 || EVP_DigestFinal_ex(md, out, &len) != 1 || len != 32)
		return -EIO;
	return 0;
}

/* --- records --- */

struct rec {
	uint64_t seq;
	unsigned char chain[32];
	size_t hashed;		/* bytes covered by the chain (before ,"chain") */
};

/* Parse the seq and chain members from the end of a line (the caller's own
 * members may be named alike, the log's are always last). */
static int record__parse(const char *s, size_t n, struct rec *r)
{
	size_t end, i;
	uint64_t seq = 0;

	if (n < 1 + SEQ_KEY_LEN + 1 + TAIL_LEN || s[0] != '{' || s[n - 1] != '}' || s[n - 2] != '"')
		return -EINVAL;
	end = n - TAIL_LEN;
	if (memcmp(s + end, CHAIN_KEY, CHAIN_KEY_LEN) || hex_decode(s + end + CHAIN_KEY_LEN, r->chain))
		return -EINVAL;
	for (i = end; i > 0 && isdigit((unsigned char)s[i - 1]); i--)
		;
	if (i == end || end - i > 19 || i < 1 + SEQ_KEY_LEN || memcmp(s + i - SEQ_KEY_LEN, SEQ_KEY, SEQ_KEY_LEN))
		return -EINVAL;
	for (; i < end; i++)
		seq = seq * 10 + (uint64_t)(s[i] - '0');
	r->seq = seq;
	r->hashed = end;
	return 0;
}

/* Parse and check the line's chain against prev. */
static int record__check(EVP_MD_CTX *md, const unsigned char prev[32], const char *s, size_t n,
			 struct rec *r)
{
	unsigned char h[32];

	if (record__parse(s, n, r) || chain__next(md, prev, s, r->hashed, h))
		return -EINVAL;
	return memcmp(h, r->chain, 32) ? -EBADMSG : 0;
}

struct hdr {
	uint64_t k, created_ms;
	unsigned char prev[32];
};

static int header__parse(const char *s, size_t n, struct hdr *h)
{
	unsigned long long k, ms;
	char buf[256], hex[65];
	int used = 0;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (sscanf(buf, "{\"type\":\"segment\",\"segment\":%llu,\"prev_segment_head\":\"%64[0-9a-f]\","
		   "\"created_ms\":%llu,%n", &k, hex, &ms, &used) != 3 || !used ||
	    strlen(hex) != 64 || hex_decode(hex, h->prev))
		return -EINVAL;
	h->k = k;
	h->created_ms = ms;
	return 0;
}

/* --- segment files --- */

struct seg {
	uint64_t k;
	bool gz;
	bool plain_too;		/* a crash between rename and unlink left both */
};

static void seg__name(uint64_t k, bool gz, char *buf, size_t len)
{
	snprintf(buf, len, "seg-%020" PRIu64 ".jsonl%s", k, gz ? ".gz" : "");
}

static bool seg__parse_name(const char *name, struct seg *s)
{
	uint64_t k = 0;
	int i;

	if (strncmp(name, "seg-", 4))
		return false;
	for (i = 4; i < 24; i++) {
		if (!isdigit((unsigned char)name[i]))
			return false;
		k = k * 10 + (uint64_t)(name[i] - '0');
	}
	if (!strcmp(name + 24, ".jsonl"))
		s->gz = false;
	else if (!strcmp(name + 24, ".jsonl.gz"))
		s->gz = true;
	else
		return false;
	s->k = k;
	s->plain_too = false;
	return k > 0;
}

static int seg__cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return (int)x->gz - (int)y->gz;
}

/* The segments in log order, one entry per number (the .gz when both). */
static int segs__list(int dirfd, struct seg **out, size_t *count)
{
	struct seg *v = NULL, s;
	size_t n = 0, cap = 0, i, j;
	struct dirent *de;
	DIR *d;
	int fd;

	*out = NULL;
	*count = 0;
	/* A fresh open file description: readdir must not move dirfd's offset. */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!seg__parse_name(de->d_name, &s))
			continue;
		if (n == cap) {
			struct seg *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = s;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), seg__cmp);
	for (i = 0, j = 0; i < n; i++) {
		if (j && v[j - 1].k == v[i].k) {
			v[j - 1] = v[i];
			v[j - 1].plain_too = true;
			continue;
		}
		v[j++] = v[i];
	}
	*out = v;
	*count = j;
	return 0;
}

/* --- reading lines from a plain or gzipped segment --- */

struct reader {
	gzFile gz;
	char *buf;
	size_t len, cap, pos;
	uint64_t off;		/* uncompressed offset after the last line returned */
	bool eof;
};

static int reader__open(struct reader *r, int dirfd, uint64_t k, bool gz)
{
	char name[NAME_MAX_LEN];
	int fd;

	memset(r, 0, sizeof(*r));
	seg__name(k, gz, name, sizeof(name));
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* gzread passes a plain file through unchanged: one path for both. */
	r->gz = gzdopen(fd, "rb");
	if (!r->gz) {
		close(fd);
		return -ENOMEM;
	}
	gzbuffer(r->gz, 128 << 10);
	return 0;
}

static void reader__close(struct reader *r)
{
	if (r->gz)
		gzclose(r->gz);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

static int reader__fill(struct reader *r)
{
	int got, zerr;

	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64 << 10;
		char *nb;

		if (r->cap >= LINE_CAP)
			return -E2BIG;
		nb = realloc(r->buf, ncap);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = ncap;
	}
	got = gzread(r->gz, r->buf + r->len, (unsigned int)(r->cap - r->len));
	gzerror(r->gz, &zerr);
	/* A cut or corrupt .gz ends in an error, not a clean end of file. */
	if (got < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
		return -EIO;
	if (got == 0)
		r->eof = true;
	r->len += (size_t)got;
	return 0;
}

/* 1: a line in *p, *n (complete: it ended with '\n', not included);
 * 0: end of file; -errno. */
static int reader__next(struct reader *r, const char **p, size_t *n, bool *complete)
{
	for (;;) {
		char *nl = r->len > r->pos ? memchr(r->buf + r->pos, '\n', r->len - r->pos) : NULL;
		int err;

		if (nl || (r->eof && r->len > r->pos)) {
			*p = r->buf + r->pos;
			*n = nl ? (size_t)(nl - *p) : r->len - r->pos;
			*complete = nl != NULL;
			r->pos += *n + (nl != NULL);
			r->off += *n + (nl != NULL);
			return 1;
		}
		if (r->eof)
			return 0;
		err = reader__fill(r);
		if (err)
			return err;
	}
}

/* --- the writer --- */

struct auditlog {
	struct auditlog_opts o;
	char *dir;
	int dirfd, fd;
	EVP_MD_CTX *md;

	uint64_t seg_k, seg_bytes, seg_lines, seg_created_ms;
	bool housekeep;			/* a segment closed: gzip and retention due */
	uint64_t next_housekeep_ms;	/* ... and at least this often anyway */
	uint64_t seq;			/* seq of the next line */
	unsigned char chain[32];	/* chain of the last line queued */
	char head[65];			/* chain of the last line written */

	char *out;			/* queued lines: [off, len) not yet written */
	size_t out_off, out_len, out_cap;
	uint64_t out_since_ms;

	bool failing;			/* the last write failed: drop, retry */
	int fail_err;
	uint64_t dropped;		/* since the failure; goes into the loss record */

	int inject_err, inject_n;
	struct auditlog_stats st;

	struct {			/* the compression thread (gzip_thread) */
		pthread_t th;
		_Atomic int state;	/* GZ_IDLE, GZ_RUNNING, GZ_DONE */
		uint64_t k;		/* set before it starts, read after it is done: */
		int err;		/* ... its result */
		uint64_t fsyncs;
	} gz;
};

enum { GZ_IDLE, GZ_RUNNING, GZ_DONE };

static int out__reserve(struct auditlog *l, size_t more)
{
	size_t ncap;
	char *nb;

	if (l->out_off && l->out_off == l->out_len)
		l->out_off = l->out_len = 0;
	if (l->out_len + more <= l->out_cap)
		return 0;
	if (l->out_off) {
		memmove(l->out, l->out + l->out_off, l->out_len - l->out_off);
		l->out_len -= l->out_off;
		l->out_off = 0;
		if (l->out_len + more <= l->out_cap)
			return 0;
	}
	ncap = l->out_cap ? l->out_cap * 2 : 2 * FLUSH_BYTES;
	if (ncap < l->out_len + more)
		ncap = l->out_len + more;
	nb = realloc(l->out, ncap);
	if (!nb)
		return -ENOMEM;
	l->out = nb;
	l->out_cap = ncap;
	return 0;
}

/* Give the object its seq and chain, and queue the line: from here on it is
 * part of the chain and must reach the file. */
static int log__queue(struct auditlog *l, const char *json, size_t len)
{
	unsigned char h[32];
	char hex[65], *start, *p;
	bool empty = true;
	size_t i;
	int r;

	for (i = 1; i + 1 < len; i++)
		if (!isspace((unsigned char)json[i])) {
			empty = false;
			break;
		}
	r = out__reserve(l, len + 128);
	if (r)
		return r;
	start = p = l->out + l->out_len;
	memcpy(p, json, len - 1);
	p += len - 1;
	p += sprintf(p, "%s" SEQ_KEY "%" PRIu64, empty ? "" : ",", l->seq);
	r = chain__next(l->md, l->chain, start, (size_t)(p - start), h);
	if (r)
		return r;
	hex_encode(h, hex);
	p += sprintf(p, CHAIN_KEY "%s\"}\n", hex);
	if (l->out_off == l->out_len)
		l->out_since_ms = realtime_ms();
	l->out_len += (size_t)(p - start);
	l->seg_bytes += (uint64_t)(p - start);
	l->seg_lines++;
	l->seq++;
	memcpy(l->chain, h, 32);
	return 0;
}

static ssize_t log__write(struct auditlog *l, const void *p, size_t n)
{
	if (l->inject_n > 0) {
		l->inject_n--;
		errno = l->inject_err;
		return -1;
	}
	return write(l->fd, p, n);
}

static int log__failed(struct auditlog *l, int err)
{
	l->st.write_errors++;
	l->failing = true;
	l->fail_err = err;
	return err;
}

/*
 * A write that stopped partway (the disk filled up) left half a line at the
 * end of the file.  Cut the file back to the last whole line and keep that
 * line queued from its start: if the disk stays full until we exit (or
 * crash), the file still ends on a record boundary and verifies, instead of
 * looking truncated.  Shrinking a file needs no free space.
 */
static void log__rewind_partial(struct auditlog *l)
{
	size_t keep = l->out_off;
	off_t end;

	while (keep > 0 && l->out[keep - 1] != '\n')
		keep--;
	if (keep == l->out_off)
		return; /* nothing half-written */
	end = lseek(l->fd, 0, SEEK_END);
	if (end < 0 || (size_t)end < l->out_off - keep)
		return;
	if (ftruncate(l->fd, end - (off_t)(l->out_off - keep)) == 0) {
		l->st.bytes -= l->out_off - keep;
		l->out_off = keep;
	}
}

/* Write what is queued; a partial write keeps the rest queued, so the file
 * only ever grows by a prefix of the chained lines. */
static int log__flush(struct auditlog *l, bool sync)
{
	bool wrote = l->out_off < l->out_len;

	while (l->out_off < l->out_len) {
		ssize_t n = log__write(l, l->out + l->out_off, l->out_len - l->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			log__rewind_partial(l);
			return log__failed(l, err);
		}
		l->out_off += (size_t)n;
		l->st.bytes += (uint64_t)n;
	}
	l->out_off = l->out_len = 0;
	if (wrote) {
		l->st.flushes++;
		hex_encode(l->chain, l->head);
	}
	if (sync) {
		if (fdatasync(l->fd))
			return log__failed(l, -errno);
		l->st.fsyncs++;
	}
	return 0;
}

/* Queue an internal record and make it durable. */
static int log__internal(struct auditlog *l, const char *json)
{
	int r = log__queue(l, json, strlen(json));

	return r ? r : log__flush(l, true);
}

/* While failing, appends are dropped; once the queued bytes are out, a loss
 * record puts the gap into the chain itself, so verify still passes and the
 * loss is on record. */
static int log__retry(struct auditlog *l)
{
	char loss[192], ts[48];
	int r;

	if (!l->failing)
		return 0;
	r = log__flush(l, false);
	if (r)
		return r;
	l->failing = false;
	if (!l->dropped)
		return 0;
	format_rfc3339_ns(now_ns(CLOCK_REALTIME), ts, sizeof(ts));
	snprintf(loss, sizeof(loss), "{\"type\":\"loss\",\"source\":\"log\",\"time\":\"%s\","
		 "\"dropped\":%" PRIu64 ",\"errno\":%d}", ts, l->dropped, -l->fail_err);
	l->dropped = 0;
	return log__internal(l, loss);
}

static int dir__sync(struct auditlog *l)
{
	if (fsync(l->dirfd))
		return -errno;
	l->st.fsyncs++;
	return 0;
}

/* Make k the open segment, starting with its chained header. */
static int log__start_segment(struct auditlog *l, uint64_t k, uint64_t now_ms)
{
	char name[NAME_MAX_LEN], hdr[256], prev[65];
	int fd;

	seg__name(k, false, name, sizeof(name));
	fd = openat(l->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		l->st.write_errors++;
		return -errno;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	dir__sync(l);
	l->seg_k = k;
	l->seg_bytes = l->seg_lines = 0;
	l->seg_created_ms = now_ms;
	l->st.segments++;
	hex_encode(l->chain, prev);
	snprintf(hdr, sizeof(hdr), HDR_FMT, k, prev, now_ms);
	return log__internal(l, hdr);
}

/* The old segment is fsynced before the new one starts; if the new one
 * can't be created, keep writing to the old one and try again later. */
static int log__rotate(struct auditlog *l, uint64_t now_ms)
{
	int r = log__flush(l, true);

	l->housekeep = true;
	return r ? r : log__start_segment(l, l->seg_k + 1, now_ms);
}

int auditlog__append(struct auditlog *l, const char *json, size_t len, bool durable)
{
	int r;

	if (!json || len < 2 || json[0] != '{' || json[len - 1] != '}' || memchr(json, '\n', len))
		return -EINVAL;
	if (len > AUDITLOG_RECORD_MAX)
		return -E2BIG;
	log__retry(l);
	if (l->failing) {
		l->dropped++;
		l->st.enospc_dropped++;
		return l->fail_err;
	}
	r = log__queue(l, json, len);
	if (r) {
		l->st.enospc_dropped++;
		return r;
	}
	l->st.records++;
	if (durable || l->out_len - l->out_off >= FLUSH_BYTES) {
		r = log__flush(l, durable);
		if (r)
			return r;
	}
	/* The record is stored: a rotation that fails (no room for a new file)
	 * is counted and retried on the next append, not reported as its loss. */
	if (l->seg_bytes >= l->o.segment_bytes)
		log__rotate(l, realtime_ms());
	return 0;
}

/* --- recovery --- */

/* seq and chain after the last good-looking line of segment s (taken as
 * claimed; verify judges them). Genesis if there is none. */
static void seg__tail_state(struct auditlog *l, const struct seg *s)
{
	struct reader rd;
	const char *p;
	size_t n;
	bool complete;
	struct rec rec;

	memset(l->chain, 0, 32);
	l->seq = 0;
	if (reader__open(&rd, l->dirfd, s->k, s->gz))
		return;
	while (reader__next(&rd, &p, &n, &complete) == 1) {
		if (complete && !record__parse(p, n, &rec)) {
			memcpy(l->chain, rec.chain, 32);
			l->seq = rec.seq + 1;
		}
	}
	reader__close(&rd);
}

enum resume { RESUMED, REDO_SEGMENT, NEXT_SEGMENT };

/*
 * Scan the newest plain segment.  A torn end (an unterminated line and/or
 * one last complete line that doesn't verify) is cut; anything worse is
 * evidence, left alone, and a new segment follows it.
 */
static int log__resume_plain(struct auditlog *l, const struct seg *s, enum resume *how)
{
	uint64_t good_end = 0, lines = 0, created = 0, bad = 0, seq = 0;
	unsigned char chain[32];
	char name[NAME_MAX_LEN];
	struct reader rd;
	struct hdr h;
	struct rec rec;
	const char *p;
	bool complete;
	size_t n;
	int r;

	r = reader__open(&rd, l->dirfd, s->k, false);
	if (r)
		return r;
	while ((r = reader__next(&rd, &p, &n, &complete)) == 1) {
		if (!complete)
			break;
		if (bad) {
			bad++;
			continue;
		}
		if (!lines) {
			if (header__parse(p, n, &h) || h.k != s->k) {
				bad++;
				continue;
			}
			memcpy(chain, h.prev, 32);
			created = h.created_ms;
		}
		if (record__check(l->md, chain, p, n, &rec) || (lines && rec.seq != seq)) {
			bad++;
			continue;
		}
		memcpy(chain, rec.chain, 32);
		seq = rec.seq + 1;
		lines++;
		good_end = rd.off;
	}
	reader__close(&rd);
	if (r < 0)
		bad = 2;	/* unreadable (a line too long): not a torn write */

	seg__name(s->k, false, name, sizeof(name));
	if (bad > 1) {
		*how = NEXT_SEGMENT;
	} else if (!lines) {
		/* Crashed before the header was written: start the segment over. */
		if (unlinkat(l->dirfd, name, 0))
			return -errno;
		l->st.segments--;
		*how = REDO_SEGMENT;
		return 0;
	} else {
		l->fd = openat(l->dirfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
		if (l->fd < 0)
			return -errno;
		if ((uint64_t)lseek(l->fd, 0, SEEK_END) > good_end) {
			if (ftruncate(l->fd, (off_t)good_end) || fdatasync(l->fd))
				return -errno;
			l->st.torn_cut++;
		}
		*how = RESUMED;
	}
	if (lines) {
		memcpy(l->chain, chain, 32);
		l->seq = seq;
		hex_encode(chain, l->head);
	}
	l->seg_k = s->k;
	l->seg_bytes = good_end;
	l->seg_lines = lines;
	l->seg_created_ms = created;
	return 0;
}

/* Remove what a crash can leave behind: partial .gz temp files, and the
 * plain copy of a segment whose .gz was already complete and renamed. */
static void log__cleanup(struct auditlog *l, const struct seg *segs, size_t n)
{
	char name[NAME_MAX_LEN];
	struct dirent *de;
	size_t i, len;
	DIR *d;
	int fd;

	for (i = 0; i < n; i++) {
		if (!segs[i].plain_too)
			continue;
		seg__name(segs[i].k, false, name, sizeof(name));
		unlinkat(l->dirfd, name, 0);
	}
	fd = openat(l->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (!strncmp(de->d_name, "seg-", 4) && len > 4 && !strcmp(de->d_name + len - 4, ".tmp"))
			unlinkat(l->dirfd, de->d_name, 0);
	}
	closedir(d);
}

static int log__recover(struct auditlog *l)
{
	enum resume how = NEXT_SEGMENT;
	struct seg *segs;
	uint64_t k = 1;
	size_t n;
	int r;

	r = segs__list(l->dirfd, &segs, &n);
	if (r)
		return r;
	log__cleanup(l, segs, n);
	l->st.segments = n;
	if (n && !segs[n - 1].gz) {
		r = log__resume_plain(l, &segs[n - 1], &how);
		if (r)
			goto out;
		k = segs[n - 1].k;
		/* No usable header of its own: continue from the segment before. */
		if (how != RESUMED && l->seg_lines == 0 && n > 1)
			seg__tail_state(l, &segs[n - 2]);
		if (how == NEXT_SEGMENT)
			k++;
	} else if (n) {
		seg__tail_state(l, &segs[n - 1]);
		k = segs[n - 1].k + 1;
	}
	if (how != RESUMED)
		r = log__start_segment(l, k, realtime_ms());
out:
	free(segs);
	return r;
}

int auditlog__open(const struct auditlog_opts *o, struct auditlog **out)
{
	struct auditlog *l;
	struct stat st;
	int r;

	*out = NULL;
	if (!o || !o->dir || !*o->dir)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->fd = l->dirfd = -1;
	l->o = *o;
	l->o.segment_bytes = o->segment_bytes ? o->segment_bytes : DEF_SEGMENT_BYTES;
	l->o.segment_age_s = o->segment_age_s ? o->segment_age_s : DEF_SEGMENT_AGE_S;
	l->o.retain_bytes = o->retain_bytes ? o->retain_bytes : DEF_RETAIN_BYTES;
	l->o.retain_age_s = o->retain_age_s ? o->retain_age_s : DEF_RETAIN_AGE_S;
	l->o.flush_ms = o->flush_ms ? o->flush_ms : DEF_FLUSH_MS;
	l->dir = strdup(o->dir);
	l->md = EVP_MD_CTX_new();
	hex_encode(l->chain, l->head);
	if (!l->dir || !l->md) {
		r = -ENOMEM;
		goto fail;
	}
	l->o.dir = l->dir;
	if (mkdir_p(l->dir, 0700)) {
		r = -errno;
		goto fail;
	}
	l->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (l->dirfd < 0) {
		r = -errno;
		goto fail;
	}
	/* Events name files and commands of other users: owner only. */
	if (!fstat(l->dirfd, &st) && (st.st_mode & 077))
		fchmod(l->dirfd, 0700);
	r = log__recover(l);
	if (r)
		goto fail;
	*out = l;
	return 0;
fail:
	auditlog__free(l);
	return r;
}

/* --- tick: compression and retention --- */

/* gzip a closed segment: temp file, fsync, rename, then unlink the plain
 * one, so a crash at any point leaves one complete copy.  Touches nothing
 * but the directory, so it can run on the compression thread; *fsyncs
 * counts its fsyncs.  0 when the plain segment is gone and the .gz stays. */
static int seg__gzip(int dirfd, uint64_t k, uint64_t *fsyncs)
{
	char plain[NAME_MAX_LEN], gzname[NAME_MAX_LEN], tmp[NAME_MAX_LEN + 8], buf[64 << 10];
	int src, dst = -1, r = 0;
	gzFile gz = NULL;
	ssize_t n;

	seg__name(k, false, plain, sizeof(plain));
	seg__name(k, true, gzname, sizeof(gzname));
	snprintf(tmp, sizeof(tmp), "%s.tmp", gzname);
	src = openat(dirfd, plain, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0)
		return -errno;
	dst = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dst < 0) {
		r = -errno;
		goto out;
	}
	/* gzclose closes its fd; keep dst to fsync after it. */
	r = dup(dst);
	gz = r < 0 ? NULL : gzdopen(r, "wb6");
	if (!gz) {
		if (r >= 0)
			close(r);
		r = -ENOMEM;
		goto out;
	}
	r = 0;
	while ((n = read(src, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || gzwrite(gz, buf, (unsigned int)n) != (int)n) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
	}
	if (gzclose(gz) != Z_OK && !r)
		r = -EIO;
	if (!r && fsync(dst))
		r = -errno;
	if (!r)
		++*fsyncs;
	if (!r && renameat(dirfd, tmp, dirfd, gzname))
		r = -errno;
	if (!r && fsync(dirfd))
		r = -errno;
	if (!r) {
		++*fsyncs;
		if (unlinkat(dirfd, plain, 0))
			r = -errno;
		else if (!fsync(dirfd))
			++*fsyncs;
	}
out:
	if (dst >= 0)
		close(dst);
	close(src);
	if (r)
		unlinkat(dirfd, tmp, 0);
	return r;
}

/* What one gzip did, into the log's stats. */
static void gz__account(struct auditlog *l, int r, uint64_t fsyncs)
{
	l->st.fsyncs += fsyncs;
	if (r)
		l->st.write_errors++;
	else
		l->st.compressed++;
}

static void *gz__thread(void *arg)
{
	struct auditlog *l = arg;

	l->gz.err = seg__gzip(l->dirfd, l->gz.k, &l->gz.fsyncs);
	atomic_store_explicit(&l->gz.state, GZ_DONE, memory_order_release);
	return NULL;
}

/*
 * gzip segment k.  With gzip_thread, on a thread of its own: a 64 MiB
 * segment takes a second or more, and the collector's loop (which
 * releases gated processes and drains the ring buffer) must not wait on
 * it.  Retention waits instead (auditlog__tick), so it never deletes a
 * segment under the compressor.  Inline when the option is off or no
 * thread can be had.
 */
static void seg__compress(struct auditlog *l, uint64_t k)
{
	uint64_t fsyncs = 0;
	int r;

	if (l->o.gzip_thread) {
		l->gz.k = k;
		l->gz.err = 0;
		l->gz.fsyncs = 0;
		atomic_store_explicit(&l->gz.state, GZ_RUNNING, memory_order_relaxed);
		if (!pthread_create(&l->gz.th, NULL, gz__thread, l))
			return;
		atomic_store_explicit(&l->gz.state, GZ_IDLE, memory_order_relaxed);
	}
	r = seg__gzip(l->dirfd, k, &fsyncs);
	gz__account(l, r, fsyncs);
}

/* The compression thread, if it has finished (or wait: waiting for it). */
static void gz__reap(struct auditlog *l, bool wait)
{
	int st = atomic_load_explicit(&l->gz.state, memory_order_acquire);

	if (st == GZ_IDLE || (st == GZ_RUNNING && !wait))
		return;
	pthread_join(l->gz.th, NULL);
	gz__account(l, l->gz.err, l->gz.fsyncs);
	atomic_store_explicit(&l->gz.state, GZ_IDLE, memory_order_relaxed);
}

/* gzip the oldest closed plain segment; true if there was one. */
static bool log__compress_one(struct auditlog *l, const struct seg *segs, size_t n)
{
	size_t i;

	for (i = 0; i < n && segs[i].k < l->seg_k; i++)
		if (!segs[i].gz) {
			seg__compress(l, segs[i].k);
			return true;
		}
	return false;
}

/*
 * Delete the oldest closed segments while the total is over retain_bytes
 * or they are older than retain_age_s.  The retention record is fsynced
 * before anything is deleted: a crash in between leaves segments the record
 * already names, never an unexplained gap.
 */
static void log__retention(struct auditlog *l, const struct seg *segs, size_t n, uint64_t now_ms)
{
	uint64_t total = 0, bytes = 0, through = 0, now_s = now_ms / 1000;
	char name[NAME_MAX_LEN], rec[160];
	struct stat st;
	size_t i, count = 0;
	uint64_t *sizes, *mtimes;

	if (l->failing || !n)
		return;
	sizes = calloc(n, sizeof(*sizes));
	mtimes = calloc(n, sizeof(*mtimes));
	if (!sizes || !mtimes)
		goto out;
	for (i = 0; i < n; i++) {
		seg__name(segs[i].k, segs[i].gz, name, sizeof(name));
		if (!fstatat(l->dirfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
			sizes[i] = (uint64_t)st.st_size;
			mtimes[i] = (uint64_t)st.st_mtime;
		}
		total += sizes[i];
	}
	for (i = 0; i < n && segs[i].k < l->seg_k; i++) {
		if (total - bytes <= l->o.retain_bytes && mtimes[i] + l->o.retain_age_s >= now_s)
			break;
		bytes += sizes[i];
		through = segs[i].k;
		count++;
	}
	if (!count)
		goto out;
	snprintf(rec, sizeof(rec), RETENTION_PREFIX "%" PRIu64 ",\"deleted\":%zu,\"bytes\":%" PRIu64 "}",
		 through, count, bytes);
	if (log__internal(l, rec))
		goto out;
	for (i = 0; i < count; i++) {
		seg__name(segs[i].k, segs[i].gz, name, sizeof(name));
		if (!unlinkat(l->dirfd, name, 0)) {
			l->st.deleted++;
			l->st.segments--;
		}
	}
	dir__sync(l);
out:
	free(sizes);
	free(mtimes);
}

int auditlog__timeout_ms(const struct auditlog *l, uint64_t now_ms)
{
	uint64_t due;

	if (!l)
		return -1;
	switch (atomic_load_explicit(&l->gz.state, memory_order_acquire)) {
	case GZ_DONE:
		return 0;
	case GZ_RUNNING:
		return 20;	/* look back soon: the next segment and retention wait */
	}
	if (l->housekeep || l->failing)
		return 0;
	due = l->next_housekeep_ms;
	if (l->out_off < l->out_len && l->out_since_ms + l->o.flush_ms < due)
		due = l->out_since_ms + l->o.flush_ms;
	if (l->seg_lines > 1 && l->seg_created_ms + l->o.segment_age_s * 1000ull < due)
		due = l->seg_created_ms + l->o.segment_age_s * 1000ull;
	if (due <= now_ms)
		return 0;
	return due - now_ms > INT_MAX ? INT_MAX : (int)(due - now_ms);
}

void auditlog__tick(struct auditlog *l, uint64_t now_ms)
{
	struct seg *segs;
	size_t n;

	log__retry(l);
	if (!l->failing && l->out_off < l->out_len && now_ms >= l->out_since_ms + l->o.flush_ms)
		log__flush(l, false);
	/* An idle segment holding only its header is not worth rotating. */
	if (!l->failing && l->seg_lines > 1 && now_ms >= l->seg_created_ms + l->o.segment_age_s * 1000)
		log__rotate(l, now_ms);
	/* The directory is listed only when there is something to do: after
	 * a rotation (one segment to gzip per call), and once a minute for
	 * age-based retention.  Listing it twice per collector wakeup was a
	 * measurable share of the gate's latency. */
	if (atomic_load_explicit(&l->gz.state, memory_order_acquire) == GZ_RUNNING)
		return;
	if (atomic_load_explicit(&l->gz.state, memory_order_relaxed) == GZ_DONE) {
		gz__reap(l, false);
		l->housekeep = true;	/* the next one, then retention */
	}
	if (!l->housekeep && now_ms < l->next_housekeep_ms)
		return;
	l->next_housekeep_ms = now_ms + HOUSEKEEP_MS;
	if (segs__list(l->dirfd, &segs, &n))
		return;
	l->housekeep = log__compress_one(l, segs, n);
	free(segs);
	/* Retention once the thread is done with the segment it took. */
	if (atomic_load_explicit(&l->gz.state, memory_order_relaxed) != GZ_IDLE)
		return;
	/* List again: compression renamed a file. */
	if (segs__list(l->dirfd, &segs, &n))
		return;
	log__retention(l, segs, n, now_ms);
	free(segs);
}

void auditlog__stats(const struct auditlog *l, struct auditlog_stats *st)
{
	*st = l->st;
}

const char *auditlog__head(const struct auditlog *l)
{
	return l->head;
}

void auditlog__inject_write_errors(struct auditlog *l, int err, int n)
{
	l->inject_err = err;
	l->inject_n = n;
}

void auditlog__free(struct auditlog *l)
{
	if (!l)
		return;
	gz__reap(l, true);
	if (l->fd >= 0) {
		l->failing = false;
		log__flush(l, true);
		close(l->fd);
	}
	if (l->dirfd >= 0)
		close(l->dirfd);
	EVP_MD_CTX_free(l->md);
	free(l->out);
	free(l->dir);
	free(l);
}

/* --- verification and reading --- */

struct vstate {
	EVP_MD_CTX *md;
	int dirfd;
	struct auditlog_verify *v;
	const char *want;
	bool found, started;
	unsigned char chain[32];
	uint64_t seq, first_k, prev_k, deleted_through;
};

__attribute__((format(printf, 5, 6)))
static int verify__bad(struct auditlog_verify *v, const char *kind, uint64_t k, uint64_t line,
		       const char *fmt, ...)
{
	va_list ap;

	v->kind = kind;
	v->bad_segment = k;
	v->bad_record = line;
	va_start(ap, fmt);
	vsnprintf(v->problem, sizeof(v->problem), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* Does seq appear later in segment s?  Tells a reorder from a removal. */
static bool seg__has_seq(struct vstate *vs, const struct seg *s, uint64_t seq)
{
	struct reader rd;
	struct rec rec;
	const char *p;
	bool complete, found = false;
	size_t n;

	if (reader__open(&rd, vs->dirfd, s->k, s->gz))
		return false;
	while (!found && reader__next(&rd, &p, &n, &complete) == 1)
		found = complete && !record__parse(p, n, &rec) && rec.seq == seq;
	reader__close(&rd);
	return found;
}

/* The first line: a header naming this segment and continuing the chain. */
static int verify__header(struct vstate *vs, const struct seg *s, const char *p, size_t n,
			  const struct rec *rec)
{
	struct auditlog_verify *v = vs->v;
	static const unsigned char zero[32];
	struct hdr h;

	if (header__parse(p, n, &h))
		return verify__bad(v, "modified", s->k, 1, "segment %" PRIu64 ": first line is not a segment header", s->k);
	if (h.k != s->k)
		return verify__bad(v, "segment-swapped", s->k, 1,
				   "file of segment %" PRIu64 " holds segment %" PRIu64 ": segments swapped or renamed",
				   s->k, h.k);
	if (!vs->started) {
		/* The oldest segment left: the chain starts from its header. */
		if (s->k == 1 && (memcmp(h.prev, zero, 32) || rec->seq != 0))
			return verify__bad(v, "modified", s->k, 1, "segment 1 does not start at the genesis");
		memcpy(vs->chain, h.prev, 32);
		vs->seq = rec->seq;
		vs->first_k = s->k;
		vs->started = true;
		return 0;
	}
	if (rec->seq > vs->seq)
		return verify__bad(v, "truncated", vs->prev_k, 0,
				   "segment %" PRIu64 " lost its last %" PRIu64 " record(s) (seq %" PRIu64 "..%" PRIu64
				   "): segment %" PRIu64 " starts at seq %" PRIu64, vs->prev_k, rec->seq - vs->seq,
				   vs->seq, rec->seq - 1, s->k, rec->seq);
	if (rec->seq < vs->seq || memcmp(h.prev, vs->chain, 32))
		return verify__bad(v, "segment-swapped", s->k, 1,
				   "segment %" PRIu64 " does not continue segment %" PRIu64
				   " (prev_segment_head or seq differ): segment replaced or reordered", s->k, vs->prev_k);
	return 0;
}

static int verify__line(struct vstate *vs, const struct seg *s, uint64_t line, const char *p, size_t n)
{
	struct auditlog_verify *v = vs->v;
	unsigned long long through;
	unsigned char h[32];
	struct rec rec;
	int r;

	if (record__parse(p, n, &rec))
		return verify__bad(v, "modified", s->k, line, "segment %" PRIu64 " line %" PRIu64
				   ": not a chained record (damaged)", s->k, line);
	if (line == 1) {
		r = verify__header(vs, s, p, n, &rec);
		if (r)
			return r;
	}
	if (rec.seq < vs->seq || (rec.seq > vs->seq && seg__has_seq(vs, s, vs->seq)))
		return verify__bad(v, "reordered", s->k, line, "segment %" PRIu64 " line %" PRIu64
				   ": seq %" PRIu64 " where %" PRIu64 " belongs: records reordered",
				   s->k, line, rec.seq, vs->seq);
	if (rec.seq > vs->seq)
		return verify__bad(v, "removed", s->k, line, "segment %" PRIu64 " line %" PRIu64
				   ": %" PRIu64 " record(s) removed before it (seq %" PRIu64 "..%" PRIu64 ")",
				   s->k, line, rec.seq - vs->seq, vs->seq, rec.seq - 1);
	if (chain__next(vs->md, vs->chain, p, rec.hashed, h))
		return -EIO;
	if (memcmp(h, rec.chain, 32))
		return verify__bad(v, "modified", s->k, line, "segment %" PRIu64 " line %" PRIu64
				   " (seq %" PRIu64 "): chain does not match: record modified",
				   s->k, line, rec.seq);
	memcpy(vs->chain, h, 32);
	vs->seq++;
	v->records++;
	if (vs->want) {
		char hex[65];

		hex_encode(h, hex);
		if (!strcmp(hex, vs->want))
			vs->found = true;
	}
	if (n > strlen(RETENTION_PREFIX) && !memcmp(p, RETENTION_PREFIX, strlen(RETENTION_PREFIX)) &&
	    sscanf(p + strlen(RETENTION_PREFIX), "%llu", &through) == 1 && through > vs->deleted_through)
		vs->deleted_through = through;
	return 0;
}

static int verify__segment(struct vstate *vs, const struct seg *s)
{
	struct auditlog_verify *v = vs->v;
	struct reader rd;
	uint64_t line = 0;
	const char *p;
	bool complete;
	size_t n;
	int r;

	r = reader__open(&rd, vs->dirfd, s->k, s->gz);
	if (r)
		return verify__bad(v, "modified", s->k, 0, "segment %" PRIu64 ": cannot open: %s", s->k, strerror(-r));
	while ((r = reader__next(&rd, &p, &n, &complete)) == 1) {
		line++;
		if (!complete) {
			r = verify__bad(v, "truncated", s->k, line, "segment %" PRIu64 " line %" PRIu64
					": cut mid-record (torn write or truncation)", s->k, line);
			break;
		}
		r = verify__line(vs, s, line, p, n);
		if (r)
			break;
	}
	reader__close(&rd);
	if (r < 0 && r != -EBADMSG)
		return verify__bad(v, "truncated", s->k, line + 1, "segment %" PRIu64 ": unreadable after line %"
				   PRIu64 ": %s (cut or corrupt gzip?)", s->k, line, strerror(-r));
	if (!r && !line)
		return verify__bad(v, "truncated", s->k, 0, "segment %" PRIu64 " is empty", s->k);
	if (!r)
		v->segments++;
	return r;
}

static int verify__run(const char *dir, const char *want, struct auditlog_verify *v)
{
	struct vstate vs = { .v = v, .want = want };
	struct seg *segs = NULL;
	size_t n = 0, i;
	int r;

	memset(v, 0, sizeof(*v));
	vs.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (vs.dirfd < 0)
		return -errno;
	vs.md = EVP_MD_CTX_new();
	r = vs.md ? segs__list(vs.dirfd, &segs, &n) : -ENOMEM;
	for (i = 0; !r && i < n; i++) {
		if (vs.started && segs[i].k != vs.prev_k + 1)
			r = verify__bad(v, "segment-missing", segs[i].k, 0, "segment(s) %" PRIu64 "..%" PRIu64
					" missing before segment %" PRIu64, vs.prev_k + 1, segs[i].k - 1, segs[i].k);
		else
			r = verify__segment(&vs, &segs[i]);
		vs.prev_k = segs[i].k;
	}
	/* Old segments may be gone only if a chained retention record says so. */
	if (!r && vs.first_k > 1) {
		if (vs.deleted_through + 1 >= vs.first_k)
			v->retention_removed = vs.first_k - 1;
		else
			r = verify__bad(v, "segment-missing", vs.first_k, 0, "segment(s) 1..%" PRIu64
					" missing and no retention record covers them (retention deleted through %" PRIu64 ")",
					vs.first_k - 1, vs.deleted_through);
	}
	if (!r && want && !vs.found)
		r = verify__bad(v, "head-missing", vs.prev_k, 0, "exported head %.64s is not in the log: records "
				"after it removed (tail truncated), log rewritten, or its segment aged out", want);
	if (!r && !v->problem[0]) {
		if (v->retention_removed)
			snprintf(v->problem, sizeof(v->problem), "intact; %" PRIu64
				 " older segment(s) removed by retention", v->retention_removed);
	}
	EVP_MD_CTX_free(vs.md);
	free(segs);
	close(vs.dirfd);
	return r;
}

int auditlog_verify(const char *dir, struct auditlog_verify *out)
{
	return verify__run(dir, NULL, out);
}

int auditlog_verify_head(const char *dir, const char *expected_hex, struct auditlog_verify *out)
{
	if (!expected_hex || strlen(expected_hex) != 64)
		return -EINVAL;
	return verify__run(dir, expected_hex, out);
}

int auditlog_each(const char *dir, int (*fn)(const char *json, size_t len, void *ctx), void *ctx)
{
	struct seg *segs = NULL;
	struct reader rd;
	const char *p;
	bool complete;
	size_t n = 0, i, len;
	int dirfd, r;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	r = segs__list(dirfd, &segs, &n);
	for (i = 0; !r && i < n; i++) {
		r = reader__open(&rd, dirfd, segs[i].k, segs[i].gz);
		if (r)
			break;
		while ((r = reader__next(&rd, &p, &len, &complete)) == 1) {
			if (!complete)
				continue;
			r = fn(p, len, ctx);
			if (r)
				break;
		}
		reader__close(&rd);
	}
	free(segs);
	close(dirfd);
	return r;
}
