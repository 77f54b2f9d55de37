/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A durable, tamper-evident JSON-lines audit log.
 *
 * Files, in one directory (created 0700, files 0600, all opened O_NOFOLLOW):
 *   seg-<20-digit K>.jsonl        the open (newest) segment, K = 1, 2, ...
 *   seg-<20-digit K>.jsonl.gz     a closed segment, gzip (zlib)
 *   *.tmp                         a compression in progress; removed on open
 * The zero-padded K makes the names sort in log order.
 *
 * Records.  One JSON object per line.  The caller's object gets two members
 * appended before its closing brace:
 *     {...caller...,"seq":N,"chain":"<64 hex>"}\n
 * seq counts every line of the log (headers and internal records too) from 0
 * and continues across segments.  chain is
 *     SHA-256(previous chain, 32 raw bytes || the line without ,"chain":"..."
 *             i.e. {...caller...,"seq":N} )
 * The genesis chain (before seq 0) is 32 zero bytes.
 *
 * Internal records, chained like any other:
 *   {"type":"segment","segment":K,"prev_segment_head":"<hex>","created_ms":T,...}
 *       the first line of every segment; prev_segment_head is the chain of
 *       the last line of segment K-1 (zeros for K = 1), so a deleted,
 *       swapped or reordered segment breaks the chain.
 *   {"type":"loss","dropped":N,"errno":E}
 *       written when writing works again after a failure (ENOSPC, EDQUOT,
 *       EIO, ...).  Records appended while writing failed were dropped
 *       before they entered the chain, so the chain stays intact and the loss
 *       is itself recorded and chained.
 *   {"type":"retention","deleted_through":K,"deleted":N,"bytes":B}
 *       written and fsynced before retention deletes segments <= K, so verify
 *       can tell retention from someone deleting old segments.
 *
 * Durability: appends are buffered and written by the next tick at most
 * flush_ms later (or when 64 KiB are pending); a durable append is written
 * and fdatasync'ed before it returns.  On open, a torn last record of the
 * newest segment (no newline, or its chain doesn't verify) is cut and
 * counted in torn_cut; a bad record in the middle is never cut (that is
 * evidence): the damaged segment is left alone and a new one is started.
 *
 * Not thread-safe: one thread owns a struct auditlog.
 */
#ifndef AW_AUDITLOG_H
#define AW_AUDITLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDITLOG_RECORD_MAX (1u << 20)	/* longest caller object accepted */

struct auditlog_opts {
	const char *dir;		/* log directory (created 0700) */
	size_t segment_bytes;		/* rotate at this size (0: 64 MiB) */
	uint64_t segment_age_s;		/* ... or age (0: 3600) */
	uint64_t retain_bytes;		/* delete oldest closed segments beyond this total (0: 1 GiB) */
	uint64_t retain_age_s;		/* ... or older than this (0: 30 days) */
	uint32_t flush_ms;		/* bound on the batching delay (0: 200) */
	bool gzip_thread;		/* gzip closed segments on a thread, not in tick */
};

struct auditlog;

/* Open or create the log and recover it (see above).  0 or -errno. */
int auditlog__open(const struct auditlog_opts *o, struct auditlog **out);

/*
 * Append one JSON object of len bytes: must start with '{', end with '}' and
 * hold no newline (-EINVAL), at most AUDITLOG_RECORD_MAX bytes (-E2BIG).
 * durable: written and fdatasync'ed before returning (kill/pause/deny).
 *
 * Never blocks on a full disk: if writing fails the error is returned
 * (-ENOSPC, -EIO, ...).  A record that had already entered the chain stays
 * buffered and is written when writing works again; records appended while
 * the log is failing are dropped (counted in enospc_dropped) and a loss
 * record is written on recovery.  Each append and tick retries.
 */
int auditlog__append(struct auditlog *l, const char *json, size_t len, bool durable);

/* Periodic work; now_ms is CLOCK_REALTIME in ms.  Flushes a batch older
 * than flush_ms, rotates by age, gzips closed segments (one per call; it can
 * take a while, so with gzip_thread it starts a thread and a later call
 * collects it), and applies retention. */
void auditlog__tick(struct auditlog *l, uint64_t now_ms);

/* Milliseconds until auditlog__tick() has something to do (a batch to
 * flush, a segment to rotate, housekeeping, a failing disk to retry: 0),
 * for a caller that sleeps in between.  -1 for a NULL log. */
int auditlog__timeout_ms(const struct auditlog *l, uint64_t now_ms);

struct auditlog_stats {
	uint64_t records;	/* caller records accepted into the chain */
	uint64_t bytes;		/* bytes written to segment files */
	uint64_t segments;	/* segment files now in the directory */
	uint64_t flushes;	/* write batches */
	uint64_t fsyncs;	/* fdatasync of segments and fsync of the directory */
	uint64_t enospc_dropped;	/* records dropped because writing failed (any errno) */
	uint64_t write_errors;	/* failed write/fsync/create calls */
	uint64_t torn_cut;	/* torn records cut at open */
	uint64_t compressed;	/* segments gzipped */
	uint64_t deleted;	/* segments deleted by retention */
};

void auditlog__stats(const struct auditlog *l, struct auditlog_stats *st);

/* Chain of the last record written to the segment file (64 hex), for export
 * off the host; check it later with auditlog_verify_head(). */
const char *auditlog__head(const struct auditlog *l);

/* Flush, fsync, close.  NULL ok. */
void auditlog__free(struct auditlog *l);

/* For tests: the next n write() calls on segment files fail with err. */
void auditlog__inject_write_errors(struct auditlog *l, int err, int n);

/*
 * Verification walks every segment in order (plain or .gz) and recomputes
 * the chain.  0 if intact; -EBADMSG if damaged (problem and the fields below
 * say where and what; the first damage found is reported); another -errno
 * if the directory can't be read.
 *
 * Detects: a modified record (kind "modified"), removed records
 * ("removed"), reordered records ("reordered"), a cut or torn line, or
 * records missing at the end of a segment that is followed by another
 * ("truncated"), a deleted segment, including old ones not covered by a
 * retention record ("segment-missing"), and a segment moved to another
 * position or replaced ("segment-swapped").
 *
 * Cannot detect by itself: whole records removed from the end of the newest
 * segment, the newest segments deleted whole, or a log rewritten from scratch
 * with a recomputed chain; nothing inside the log can.  For these, compare with a head exported off the host
 * earlier: auditlog_verify_head() (kind "head-missing").
 */
struct auditlog_verify {
	uint64_t records;	/* lines verified, headers and internal records included */
	uint64_t segments;	/* segment files verified */
	uint64_t retention_removed;	/* older segments deleted by retention */
	uint64_t bad_segment;	/* on damage: segment number (file name) */
	uint64_t bad_record;	/* ... and 1-based line number in it (0: the file) */
	const char *kind;	/* NULL if intact, else one of the kinds above */
	char problem[512];	/* human-readable account */
};

int auditlog_verify(const char *dir, struct auditlog_verify *out);

/* auditlog_verify(), and also the chain of some record must equal
 * expected_hex (a head exported earlier): else -EBADMSG, kind "head-missing"
 * (records after it removed, or log rewritten).  Retention deleting the
 * segment holding that head gives the same answer: compare with a recent
 * export. */
int auditlog_verify_head(const char *dir, const char *expected_hex, struct auditlog_verify *out);

/*
 * Call fn for every complete line in log order across segments (gz or not),
 * internal records included (filter on "type"), without the newline.
 * fn returning non-zero stops the walk and is returned.  0 or -errno.
 */
int auditlog_each(const char *dir, int (*fn)(const char *json, size_t len, void *ctx), void *ctx);

#endif /* AW_AUDITLOG_H */
