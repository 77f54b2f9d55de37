/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The collector: reads sensor events, keeps the process table and the agent
 * sessions, and writes one record per event (JSON lines or text).
 */
#ifndef AW_COLLECTOR_H
#define AW_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sensor.h"

enum out_format {
	OUT_AUTO = 0,   /* text on a TTY, JSON otherwise */
	OUT_JSON,
	OUT_TEXT,
	OUT_OCSF,       /* OCSF events, one JSON object per line (docs/ocsf.md) */
};

#define COLLECTOR_MAX_CLI 64

struct collector_opts {
	struct sensor_opts sensor;
	const char *agents_file;          /* NULL: the default signatures */
	bool no_default_agents;
	const char *cli_agents[COLLECTOR_MAX_CLI];   /* --agent NAME:PATTERN */
	size_t n_cli_agents;
	const char *session_roots[COLLECTOR_MAX_CLI]; /* --session-root PID[:NAME] */
	size_t n_session_roots;
	const char *output;               /* NULL or "-": stdout */
	enum out_format format;
	bool color;                       /* text: ANSI colors (auto on a TTY) */
	bool show_forks;                  /* emit fork records too */
	size_t max_procs;                 /* process table bound */
	const char *state_dir;            /* status.json goes here */
	const char *proc_root;            /* normally /proc */
	int duration_s;                   /* 0: until signalled */

	/* rules and enforcement */
	const char *rules_dir;            /* NULL: no rules (monitor only) */
	bool monitor;                     /* --mode monitor: report, never act */
	uint32_t pause_timeout_s;         /* pause default when a rule names none */
	const char *control_path;         /* "" or NULL: no control socket */

	/* audit log (user/auditlog.c) */
	const char *log_dir;              /* NULL: no durable log */
	uint64_t log_segment_bytes;       /* 0: default */
	uint64_t log_retain_bytes;        /* 0: default */

	/* a session that lost records (user/collector.c degrade()) */
	enum degraded_policy {
		DEGRADED_KEEP = 0,        /* mark it, go on */
		DEGRADED_FREEZE,          /* stop the whole session for a human */
		DEGRADED_GATE,            /* stop every exec in it for a verdict */
	} degraded;

	/* export */
	const char *metrics_addr;         /* --metrics ADDR: Prometheus endpoint */
	const char *syslog_dest;          /* --syslog udp://|tcp://|unix: (user/slog.h) */
	int syslog_facility;              /* 0: authpriv */
	bool syslog_ocsf;                 /* MSG is the OCSF event, not the native record */
	bool syslog_no_bom;               /* no UTF-8 BOM before MSG (receivers that keep it) */
	uint32_t syslog_chain_s;          /* chain head to syslog every N s; 0: only at stop */
};

int collector_run(const struct collector_opts *opts, const char *default_agents);

#endif
