/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Export of agentwatch records as OCSF events, so a SIEM (Splunk,
 * OpenSearch, Vector, Fluent Bit) ingests them without a custom parser.
 *
 * One native record (one JSON line as the collector and the audit log
 * write it) becomes one OCSF event.  The mapping, field by field, is in
 * docs/ocsf.md:
 *   exec, fork, exit, verdict  -> Process Activity (1007)
 *   file                       -> File System Activity (1001)
 *   net                        -> Network Activity (4001)
 *   gap                        -> Application Lifecycle (6002)
 * Every native member without an exact OCSF home is copied, as it was,
 * under "unmapped", so nothing is lost.  Bytes that are not UTF-8 (argv,
 * paths) survive exactly: jsonr decodes json.h's "\udcNN" escapes back to
 * the raw byte and jsonw writes the same escape again.
 */
#ifndef AW_OCSF_H
#define AW_OCSF_H

#include <stddef.h>

struct jsonw;

#define OCSF_SCHEMA_VERSION "1.7.0"
/* The longest record accepted: the audit log's cap plus its seq/chain tail. */
#define OCSF_RECORD_MAX ((1u << 20) + 4096)

struct ocsf_opts {
	const char *product_version;	/* metadata.product.version; NULL: left out */
	const char *hostname;		/* device.hostname; NULL: left out */
};

/*
 * Convert one native record of len bytes into one OCSF event, written into
 * w (reset first).  o may be NULL.  Returns
 *    1        an event was written;
 *    0        the record has no OCSF counterpart (audit log bookkeeping:
 *             segment, retention and loss records, or a record type this
 *             version does not know): skip it; w is empty;
 *   -EINVAL   rec is not a JSON object, or has no "type" string, or a mapped
 *             record has no valid "time", or nests deeper than the writer
 *             allows;
 *   -E2BIG    len > OCSF_RECORD_MAX;
 *   -ENOMEM   out of memory.
 * After an error, w holds no usable event.
 */
int ocsf__from_record(const char *rec, size_t len, struct jsonw *w, const struct ocsf_opts *o);

/*
 * "2026-11-29T19:09:10.395551748Z" (RFC 3339, UTC, the collector's format)
 * to milliseconds since the epoch.  0 or -EINVAL.
 */
int ocsf__parse_time_ms(const char *s, size_t n, long long *ms);

#endif /* AW_OCSF_H */
