/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Queries over the audit log (user/auditlog.c): `agentwatch log sessions`,
 * `log show`, `log tree`, `log timeline`.  They read every segment, plain or
 * gzipped, through auditlog_each().
 */
#ifndef AW_LOGQUERY_H
#define AW_LOGQUERY_H

#include <stdbool.h>
#include <stdio.h>

struct log_filter {
	const char *session, *agent, *since, *until, *rule, *type;
	long long pid;            /* -1: any */
};

int logquery_sessions(const char *dir, bool json, FILE *out);
/* How `log show` writes what it finds. */
enum lq_format {
	LQ_TEXT,        /* one readable line per record */
	LQ_JSON,        /* the records as they are in the log */
	LQ_OCSF,        /* each converted to an OCSF event (user/ocsf.h); bookkeeping skipped */
};

int logquery_show(const char *dir, const struct log_filter *f, enum lq_format fmt, FILE *out);
int logquery_tree(const char *dir, const char *session, bool json, FILE *out);
int logquery_timeline(const char *dir, const char *session, bool json, FILE *out);

#endif
