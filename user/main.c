// SPDX-License-Identifier: GPL-2.0
/*
 * agentwatch: kernel-level audit sensor for AI coding agents.
 * Noun-verb CLI dispatched from one table; every command has a help entry.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "agentwatch.h"
#include "auditlog.h"
#include "collector.h"
#include "control.h"
#include "json.h"
#include "jsonr.h"
#include "logquery.h"
#include "paths.h"
#include "probe.h"
#include "procpath.h"
#include "procscan.h"
#include "rules.h"
#include "watch.h"
#include "sensor.h"
#include "util.h"

#include "doctor.h"
#include "metrics.h"
#include "slog.h"
#include "version.h"
#define DEFAULT_STATE_DIR "/run/agentwatch"
#define DEFAULT_LOG_DIR "/var/lib/agentwatch/log"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
};

static int cmd_help(int argc, char **argv);

/* The default signatures: next to the binary (a source checkout), then the
 * installed locations. */
static const char *default_agents_file(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("AGENTWATCH_RULES_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(path, sizeof(path), "%s/agents.conf", env);
		return path;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(path, sizeof(path), "%s/rules/agents.conf", exe) < (int)sizeof(path) &&
			    access(path, R_OK) == 0)
				return path;
		}
	}
	if (access("/etc/agentwatch/agents.conf", R_OK) == 0)
		return "/etc/agentwatch/agents.conf";
	return "/usr/share/agentwatch/agents.conf";
}

/* The default rules directory: where the default signatures are, or its
 * rules.d (the installed layout, /etc/agentwatch/rules.d). */
static const char *default_rules_dir(void)
{
	static char dir[PATH_MAX];
	const char *f = default_agents_file();
	const char *slash = strrchr(f, '/');
	struct stat st;
	size_t n;

	if (!slash || (size_t)(slash - f) + sizeof("/rules.d") > sizeof(dir))
		return "rules";
	n = slash - f;
	memcpy(dir, f, n);
	memcpy(dir + n, "/rules.d", sizeof("/rules.d"));
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return dir;
	dir[n] = '\0';
	return dir;
}

/* ---- run ------------------------------------------------------------------ */

enum {
	OPT_AGENTS_FILE = 256, OPT_NO_DEFAULT_AGENTS, OPT_SESSION_ROOT, OPT_FORMAT, OPT_PIN_DIR,
	OPT_STATE_DIR, OPT_MAX_PROCS, OPT_RINGBUF_MB, OPT_NO_NETWORK, OPT_FORKS, OPT_DURATION,
	OPT_NO_COLOR, OPT_JSON, OPT_PROC_ROOT, OPT_RULES, OPT_NO_RULES, OPT_MODE,
	OPT_PAUSE_TIMEOUT, OPT_FALLBACK, OPT_CONTROL, OPT_NO_NET_ENFORCE, OPT_BREAKER, OPT_LOG_DIR,
	OPT_NO_LOG, OPT_METRICS, OPT_SYSLOG, OPT_SYSLOG_FACILITY, OPT_SYSLOG_FORMAT, OPT_SYSLOG_CHAIN,
	OPT_SYSLOG_NO_BOM, OPT_DEGRADED, OPT_WITHIN,
};

static const struct option run_opts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "all", no_argument, NULL, 'a' },
	{ "agent", required_argument, NULL, 'A' },
	{ "agents-file", required_argument, NULL, OPT_AGENTS_FILE },
	{ "no-default-agents", no_argument, NULL, OPT_NO_DEFAULT_AGENTS },
	{ "session-root", required_argument, NULL, OPT_SESSION_ROOT },
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "max-procs", required_argument, NULL, OPT_MAX_PROCS },
	{ "ringbuf-mb", required_argument, NULL, OPT_RINGBUF_MB },
	{ "no-network", no_argument, NULL, OPT_NO_NETWORK },
	{ "forks", no_argument, NULL, OPT_FORKS },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "no-rules", no_argument, NULL, OPT_NO_RULES },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "pause-timeout", required_argument, NULL, OPT_PAUSE_TIMEOUT },
	{ "fallback", required_argument, NULL, OPT_FALLBACK },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "breaker", required_argument, NULL, OPT_BREAKER },
	{ "log-dir", required_argument, NULL, OPT_LOG_DIR },
	{ "no-log", no_argument, NULL, OPT_NO_LOG },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "syslog", required_argument, NULL, OPT_SYSLOG },
	{ "syslog-facility", required_argument, NULL, OPT_SYSLOG_FACILITY },
	{ "syslog-format", required_argument, NULL, OPT_SYSLOG_FORMAT },
	{ "syslog-chain-interval", required_argument, NULL, OPT_SYSLOG_CHAIN },
	{ "syslog-no-bom", no_argument, NULL, OPT_SYSLOG_NO_BOM },
	{ "degraded", required_argument, NULL, OPT_DEGRADED },
	{ "within", required_argument, NULL, OPT_WITHIN },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static const char run_usage[] =
"usage: agentwatch run [options]\n"
"Watch AI agent sessions and print one record per event.\n"
"  -a, --all                  also report execs of processes outside any session\n"
"  -A, --agent NAME:PATTERN   add an agent signature (glob on exe basename, or on\n"
"                             the exe path if PATTERN has a '/'); repeatable\n"
"      --agents-file FILE     signatures to load instead of rules/agents.conf\n"
"      --no-default-agents    load no signature file (only --agent ones)\n"
"      --session-root PID[:NAME]  declare a running process an agent root\n"
"      --within PID           open sessions only for PID and its descendants (a\n"
"                             test or a sandbox: agents elsewhere are left alone)\n"
"  -o, --output FILE          append records to FILE instead of stdout\n"
"      --format text|json|ocsf  default: text on a terminal, JSON lines otherwise;\n"
"                             ocsf: OCSF 1.7 events (docs/ocsf.md)\n"
"      --json                 same as --format json\n"
"      --no-color             no ANSI colors in text output\n"
"      --forks                also report forks of session processes\n"
"      --pin-dir DIR          bpffs dir for pinned maps (default " SENSOR_DEFAULT_PIN_DIR ")\n"
"      --state-dir DIR        where status.json is kept (default " DEFAULT_STATE_DIR ")\n"
"      --max-procs N          process table bound (default 131072)\n"
"      --ringbuf-mb N         kernel ring buffer size, power of two (default 2)\n"
"      --no-network           don't attach the cgroup network hooks\n"
"      --duration SECONDS     stop after this long (for tests and benchmarks)\n"
"      --rules DIR            rules to enforce (default: the rules/ directory next to\n"
"                             the binary, or /etc/agentwatch)\n"
"      --no-rules             record only; gate nothing\n"
"      --mode enforce|monitor monitor: report what rules would do, never act\n"
"      --pause-timeout SECONDS  how long a paused command waits for a human when its\n"
"                             rule names no timeout (default 120)\n"
"      --fallback kill|allow  what the kernel does with a gated exec when the\n"
"                             collector stops answering (default kill)\n"
"      --control PATH         control socket (default " CONTROL_DEFAULT_PATH ")\n"
"      --log-dir DIR          durable, hash-chained audit log (default " DEFAULT_LOG_DIR ")\n"
"      --no-log               no durable log\n"
"      --breaker N/MS|off     stop a session process at its Nth file deleted within MS\n"
"                             milliseconds (default 25/1000)\n"
"      --degraded keep|freeze|gate  a session whose records were lost (ring buffer\n"
"                             full): keep going (default), freeze it for a human,\n"
"                             or stop every exec in it for a verdict\n"
"      --metrics ADDR         serve Prometheus metrics on http://ADDR/metrics;\n"
"                             ADDR is [HOST]:PORT, HOST defaults to 127.0.0.1\n"
"      --syslog DEST          also send every record to syslog as RFC 5424:\n"
"                             udp://HOST[:PORT], tcp://HOST[:PORT] (octet-counted)\n"
"                             or unix:PATH (e.g. unix:/dev/log)\n"
"      --syslog-facility NAME authpriv (default), auth, daemon, local0..local7, ...\n"
"      --syslog-format json|ocsf  the message body (default json: the native record)\n"
"      --syslog-chain-interval SECONDS  send the audit log's chain head every\n"
"                             SECONDS (default 60; 0: only at start and stop)\n"
"      --syslog-no-bom        no UTF-8 BOM before the message (RFC 5424 wants it;\n"
"                             rsyslog keeps it in %msg%, which upsets JSON parsers)\n"
"  -v, --verbose              libbpf debug output and verifier logs\n";

static int add_opt(const char **arr, size_t *n, const char *v, const char *what)
{
	if (*n >= COLLECTOR_MAX_CLI) {
		fprintf(stderr, "agentwatch: too many %s options (max %d)\n", what, COLLECTOR_MAX_CLI);
		return -E2BIG;
	}
	arr[(*n)++] = v;
	return 0;
}

/*
 * AGENTWATCH_TEST_DISABLE=name,...: behave as on a kernel without those
 * features (user/probe.h).  For the tests of reduced mode, and for an
 * operator who needs to see what agentwatch does on a kernel they don't
 * have.  Not in --help: it is not a way to configure the sensor.
 */
static int disable_from_env(void)
{
	char err[256];

	if (probe__init_from_env(err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "agentwatch: AGENTWATCH_TEST_DISABLE: %s\n", err);
	return -1;
}

static int cmd_run(int argc, char **argv)
{
	struct collector_opts o = {0};
	uint64_t v;
	int c, err;

	o.sensor.pin_dir = SENSOR_DEFAULT_PIN_DIR;
	o.state_dir = DEFAULT_STATE_DIR;
	o.max_procs = 131072;
	o.proc_root = "/proc";
	o.color = !getenv("NO_COLOR");
	o.rules_dir = default_rules_dir();
	o.pause_timeout_s = 120;
	o.control_path = CONTROL_DEFAULT_PATH;
	o.sensor.gate_fallback = AW_FALLBACK_KILL;
	o.sensor.net_enforce = true;
	o.log_dir = DEFAULT_LOG_DIR;
	o.syslog_chain_s = 60;
	o.sensor.breaker_n = 25;
	o.sensor.breaker_window_ns = 1000000000ull;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vaA:o:h", run_opts, NULL)) != -1) {
		switch (c) {
		case 'v': o.sensor.verbose = true; break;
		case 'a': o.sensor.all_execs = true; break;
		case 'A':
			if ((err = add_opt(o.cli_agents, &o.n_cli_agents, optarg, "--agent")))
				return 2;
			break;
		case OPT_AGENTS_FILE: o.agents_file = optarg; break;
		case OPT_NO_DEFAULT_AGENTS: o.no_default_agents = true; break;
		case OPT_SESSION_ROOT:
			if ((err = add_opt(o.session_roots, &o.n_session_roots, optarg, "--session-root")))
				return 2;
			break;
		case 'o': o.output = optarg; break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				o.format = OUT_JSON;
			else if (!strcmp(optarg, "text"))
				o.format = OUT_TEXT;
			else if (!strcmp(optarg, "ocsf"))
				o.format = OUT_OCSF;
			else {
				fprintf(stderr, "agentwatch: --format takes text, json or ocsf, not %s\n",
					optarg);
				return 2;
			}
			break;
		case OPT_JSON: o.format = OUT_JSON; break;
		case OPT_NO_COLOR: o.color = false; break;
		case OPT_PIN_DIR: o.sensor.pin_dir = optarg; break;
		case OPT_STATE_DIR: o.state_dir = optarg; break;
		case OPT_MAX_PROCS:
			if (parse_u64(optarg, &v) || v < 16 || v > 100000000) {
				fprintf(stderr, "agentwatch: --max-procs takes 16..100000000\n");
				return 2;
			}
			o.max_procs = v;
			break;
		case OPT_RINGBUF_MB:
			if (parse_u64(optarg, &v) || v < 1 || v > 1024 || (v & (v - 1))) {
				fprintf(stderr, "agentwatch: --ringbuf-mb takes a power of two, 1..1024\n");
				return 2;
			}
			o.sensor.ringbuf_bytes = v << 20;
			break;
		case OPT_NO_NETWORK: o.sensor.no_network = true; break;
		case OPT_FORKS: o.show_forks = true; break;
		case OPT_DURATION:
			if (parse_u64(optarg, &v) || v > 86400 * 365) {
				fprintf(stderr, "agentwatch: --duration takes seconds\n");
				return 2;
			}
			o.duration_s = v;
			break;
		case OPT_RULES: o.rules_dir = optarg; break;
		case OPT_NO_RULES: o.rules_dir = NULL; break;
		case OPT_MODE:
			if (!strcmp(optarg, "monitor"))
				o.monitor = true;
			else if (!strcmp(optarg, "enforce"))
				o.monitor = false;
			else {
				fprintf(stderr, "agentwatch: --mode takes enforce or monitor\n");
				return 2;
			}
			break;
		case OPT_PAUSE_TIMEOUT:
			if (parse_u64(optarg, &v) || v < 1 || v > 86400) {
				fprintf(stderr, "agentwatch: --pause-timeout takes 1..86400 seconds\n");
				return 2;
			}
			o.pause_timeout_s = v;
			break;
		case OPT_FALLBACK:
			if (!strcmp(optarg, "kill"))
				o.sensor.gate_fallback = AW_FALLBACK_KILL;
			else if (!strcmp(optarg, "allow"))
				o.sensor.gate_fallback = AW_FALLBACK_ALLOW;
			else {
				fprintf(stderr, "agentwatch: --fallback takes kill or allow\n");
				return 2;
			}
			break;
		case OPT_CONTROL: o.control_path = optarg; break;
		case OPT_LOG_DIR: o.log_dir = optarg; break;
		case OPT_NO_LOG: o.log_dir = NULL; break;
		case OPT_METRICS: {
			struct sockaddr_storage ss;
			socklen_t sl;
			char merr[256];

			if (metrics__parse_addr(optarg, &ss, &sl, merr, sizeof(merr))) {
				fprintf(stderr, "agentwatch: --metrics: %s\n", merr);
				return 2;
			}
			o.metrics_addr = optarg;
			break;
		}
		case OPT_SYSLOG: {
			struct slog_dest d;
			char serr[256];

			if (slog__parse_dest(optarg, &d, serr, sizeof(serr))) {
				fprintf(stderr, "agentwatch: --syslog: %s\n", serr);
				return 2;
			}
			o.syslog_dest = optarg;
			break;
		}
		case OPT_SYSLOG_FACILITY:
			o.syslog_facility = slog__facility_from_name(optarg);
			if (o.syslog_facility < 0) {
				fprintf(stderr, "agentwatch: --syslog-facility: unknown facility %s\n", optarg);
				return 2;
			}
			break;
		case OPT_SYSLOG_FORMAT:
			if (strcmp(optarg, "json") && strcmp(optarg, "ocsf")) {
				fprintf(stderr, "agentwatch: --syslog-format takes json or ocsf, not %s\n", optarg);
				return 2;
			}
			o.syslog_ocsf = !strcmp(optarg, "ocsf");
			break;
		case OPT_SYSLOG_NO_BOM: o.syslog_no_bom = true; break;
		case OPT_WITHIN:
			if (parse_u64(optarg, &v) || v < 2 || v > UINT32_MAX || kill((pid_t)v, 0)) {
				fprintf(stderr, "agentwatch: --within takes the pid of a running process\n");
				return 2;
			}
			o.sensor.scope_tgid = (uint32_t)v;
			break;
		case OPT_DEGRADED:
			if (!strcmp(optarg, "keep"))
				o.degraded = DEGRADED_KEEP;
			else if (!strcmp(optarg, "freeze"))
				o.degraded = DEGRADED_FREEZE;
			else if (!strcmp(optarg, "gate"))
				o.degraded = DEGRADED_GATE;
			else {
				fprintf(stderr, "agentwatch: --degraded takes keep, freeze or gate\n");
				return 2;
			}
			break;
		case OPT_SYSLOG_CHAIN:
			if (parse_u64(optarg, &v) || v > 86400) {
				fprintf(stderr, "agentwatch: --syslog-chain-interval takes 0..86400 seconds\n");
				return 2;
			}
			o.syslog_chain_s = v;
			break;
		case OPT_BREAKER: {
			char nbuf[32], *slash;
			uint64_t ms;

			if (!strcmp(optarg, "off")) {
				o.sensor.breaker_n = 0;
				break;
			}
			copy_str(nbuf, sizeof(nbuf), optarg);
			slash = strchr(nbuf, '/');
			if (!slash || (*slash = '\0', parse_u64(nbuf, &v)) || parse_u64(slash + 1, &ms) ||
			    v < 2 || v > 1000000 || ms < 1 || ms > 3600000) {
				fprintf(stderr, "agentwatch: --breaker takes N/MS (N >= 2) or off\n");
				return 2;
			}
			o.sensor.breaker_n = v;
			o.sensor.breaker_window_ns = ms * 1000000ull;
			break;
		}
		case 'h': fputs(run_usage, stdout); return 0;
		default: fputs(run_usage, stderr); return 2;
		}
	}
	/* In monitor mode the kernel reports what a deny rule would refuse. */
	o.sensor.net_enforce = !o.monitor;
	if (optind < argc) {
		fprintf(stderr, "agentwatch run: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "agentwatch: run needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)\n");
		return 1;
	}
	if (disable_from_env())
		return 2;
	err = collector_run(&o, default_agents_file());
	return err ? 1 : 0;
}

/* ---- exec ------------------------------------------------------------------ */

static const char exec_usage[] =
"usage: agentwatch exec [--agent NAME] [--pin-dir DIR] -- COMMAND [ARG]...\n"
"Run COMMAND as a declared agent session root under a running `agentwatch run`.\n";

static int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'A' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *agent = "declared", *pin_dir = SENSOR_DEFAULT_PIN_DIR;
	struct aw_session s = {0};
	struct procinfo pi;
	__u32 me = getpid();
	int c, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+A:h", opts, NULL)) != -1) {
		switch (c) {
		case 'A': agent = optarg; break;
		case 'P': pin_dir = optarg; break;
		case 'h': fputs(exec_usage, stdout); return 0;
		default: fputs(exec_usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(exec_usage, stderr);
		return 2;
	}
	if (strlen(agent) >= AW_AGENT_LEN) {
		fprintf(stderr, "agentwatch exec: agent name longer than %d bytes\n", AW_AGENT_LEN - 1);
		return 2;
	}
	fd = sensor_pinned_sessions_fd(pin_dir);
	if (fd < 0) {
		fprintf(stderr, "agentwatch exec: no running agentwatch (no pinned sessions map in %s: %s)\n",
			pin_dir, strerror(-fd));
		return 1;
	}
	s.id = now_ns(CLOCK_BOOTTIME);
	s.root_tgid = me;
	s.reason = AW_REASON_DECLARED_EXEC;
	s.flags = AW_SESS_UNANNOUNCED;
	s.sig_id = UINT32_MAX;
	copy_str(s.agent, sizeof(s.agent), agent);
	if (procscan__one("/proc", me, false, &pi) == 0) {
		s.root_start = pi.start_ns;
		procinfo__release(&pi);
	}
	if (bpf_map_update_elem(fd, &me, &s, BPF_ANY)) {
		fprintf(stderr, "agentwatch exec: failed to declare the session: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	/* Our own exec below is the session's first event: the kernel sees the
	 * map entry we just wrote for our tgid. */
	execvp(argv[optind], &argv[optind]);
	fprintf(stderr, "agentwatch exec: %s: %s\n", argv[optind], strerror(errno));
	return 127;
}

/* ---- status ------------------------------------------------------------------ */

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'S' },
		{ "control", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *state_dir = DEFAULT_STATE_DIR, *ctl = CONTROL_DEFAULT_PATH;
	char path[PATH_MAX], *buf = NULL, *reply = NULL;
	char *req[] = { "status", NULL };
	bool json = false;
	size_t len;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S': state_dir = optarg; break;
		case 'j': json = true; break;
		case 'C': ctl = optarg; break;
		case 'h': puts("usage: agentwatch status [--control PATH] [--state-dir DIR] [--json]");
			  return 0;
		default: return 2;
		}
	}
	/* Fresh from the running collector if it answers; else the status.json
	 * it last wrote (which says "running": false after a clean stop). */
	static const char pfx[] = "{\"ok\":true,\"status\":";
	if (control_request(ctl, 1, req, 2000, &reply) == 0 && !strncmp(reply, pfx, strlen(pfx)) &&
	    strlen(reply) > strlen(pfx) + 1) {
		len = strlen(reply) - strlen(pfx) - 1; /* drop the closing brace */
		buf = malloc(len + 1);
		if (buf) {
			memcpy(buf, reply + strlen(pfx), len);
			buf[len] = '\0';
		}
	}
	free(reply);
	err = 0;
	if (!buf) {
		snprintf(path, sizeof(path), "%s/status.json", state_dir);
		err = read_file_capped(path, 4 << 20, &buf, &len);
	}
	if (err) {
		if (json)
			printf("{\"error\":\"no status: %s\"}\n", strerror(-err));
		else
			fprintf(stderr, "agentwatch: no status at %s (%s): is `agentwatch run` running?\n",
				path, strerror(-err));
		return 1;
	}
	/* status.json is written by the collector once a second; it is already
	 * the JSON form.  The text form is the same content, one field a line. */
	if (json) {
		fputs(buf, stdout);
		if (len && buf[len - 1] != '\n')
			putchar('\n');
	} else {
		size_t i;
		int depth = 0;
		bool in_str = false;

		for (i = 0; i < len; i++) {
			char ch = buf[i];

			if (in_str) {
				putchar(ch);
				if (ch == '\\' && i + 1 < len)
					putchar(buf[++i]);
				else if (ch == '"')
					in_str = false;
				continue;
			}
			switch (ch) {
			case '"': in_str = true; putchar(ch); break;
			case '{': case '[': depth++; putchar(ch); printf("\n%*s", depth * 2, ""); break;
			case '}': case ']': depth--; printf("\n%*s%c", depth * 2, "", ch); break;
			case ',': printf(",\n%*s", depth * 2, ""); break;
			case ':': fputs(": ", stdout); break;
			default: putchar(ch);
			}
		}
	}
	free(buf);
	return 0;
}

/* ---- control socket clients ------------------------------------------------- */

static const char *control_path_opt(int *argc, char ***argv, bool *json)
{
	const char *path = CONTROL_DEFAULT_PATH;
	int i, o = 1;

	*json = false;
	for (i = 1; i < *argc; i++) {
		if (!strcmp((*argv)[i], "--json")) {
			*json = true;
			continue;
		}
		if (!strcmp((*argv)[i], "--control") && i + 1 < *argc) {
			path = (*argv)[++i];
			continue;
		}
		(*argv)[o++] = (*argv)[i];
	}
	*argc = o;
	return path;
}

/* Send one request; print the reply as JSON (--json) or through show().
 * In JSON mode stdout is always one JSON object, errors included. */
static int control_cmd(const char *path, int argc, char **argv, bool json,
		       void (*show)(const char *reply))
{
	char *reply = NULL, ebuf[512];
	int err = control_request(path, argc, argv, 0, &reply);

	if (err) {
		const char *why = err == -ENOENT || err == -ECONNREFUSED ?
			"is agentwatch run running?" : "";

		if (json)
			printf("{\"ok\":false,\"error\":\"%s: %s\"}\n", path, strerror(-err));
		else
			fprintf(stderr, "agentwatch: %s: %s %s\n", path, strerror(-err), why);
		return 1;
	}
	if (json) {
		puts(reply);
	} else if (!control_reply_ok(reply)) {
		if (control_reply_error(reply, ebuf, sizeof(ebuf)))
			copy_str(ebuf, sizeof(ebuf), reply);
		fprintf(stderr, "agentwatch: %s\n", ebuf);
	} else if (show) {
		show(reply);
	} else {
		puts(reply);
	}
	err = control_reply_ok(reply) ? 0 : 1;
	free(reply);
	return err;
}

/* A reply's fields, through the JSON reader (text mode only; --json hands
 * the reply over untouched). */
static const char *reply_str(const struct jnode *n, const char *key, char *buf, size_t len)
{
	size_t l;
	const char *v = jnode__str(jnode__get(n, key), &l);

	if (!v)
		return "";
	text_escape(v, l, buf, len);
	return buf;
}

static void show_pending(const char *reply)
{
	struct jdoc *d = jsonr__parse(reply, strlen(reply), NULL, 0);
	const struct jnode *list = jnode__get(jsonr__root(d), "pending"), *p;
	int n = 0;

	for (p = list ? list->child : NULL; p; p = p->next) {
		char agent[64], rule[96], cmd[600], dflt[16];
		const struct jnode *tmo = jnode__get(p, "timeout_ms");

		reply_str(p, "agent", agent, sizeof(agent));
		reply_str(p, "rule", rule, sizeof(rule));
		reply_str(p, "command", cmd, sizeof(cmd));
		reply_str(p, "default", dflt, sizeof(dflt));
		printf("#%-4lld pid %-7lld %-10s %-28s %6.1fs waiting, ", (long long)jnode__int(jnode__get(p, "id"), 0),
		       (long long)jnode__int(jnode__get(p, "pid"), 0), agent, rule,
		       jnode__int(jnode__get(p, "age_ms"), 0) / 1000.0);
		if (tmo && tmo->t == J_NUM)
			printf("%s at timeout", dflt);
		else
			printf("no timeout");
		printf("  %s\n", cmd);
		n++;
	}
	if (!n)
		puts("no pending verdicts");
	jsonr__free(d);
}

static void show_verdict(const char *reply)
{
	struct jdoc *d = jsonr__parse(reply, strlen(reply), NULL, 0);
	const struct jnode *r = jsonr__root(d);
	const char *v = jnode__str(jnode__get(r, "verdict"), NULL);

	printf("#%lld (pid %lld): %s\n", (long long)jnode__int(jnode__get(r, "id"), 0),
	       (long long)jnode__int(jnode__get(r, "pid"), 0),
	       v && !strcmp(v, "allow") ? "allowed, resumed" : "denied, killed");
	jsonr__free(d);
}

static void show_message(const char *reply)
{
	struct jdoc *d = jsonr__parse(reply, strlen(reply), NULL, 0);
	char msg[1024];

	puts(reply_str(jsonr__root(d), "message", msg, sizeof(msg)));
	jsonr__free(d);
}

static int cmd_pending(int argc, char **argv)
{
	bool json;
	const char *path = control_path_opt(&argc, &argv, &json);
	char *req[] = { "pending", NULL };

	if (argc != 1) {
		fputs("usage: agentwatch pending [--json] [--control PATH]\n", stderr);
		return 2;
	}
	return control_cmd(path, 1, req, json, show_pending);
}

static int cmd_decide(int argc, char **argv, const char *verb)
{
	bool json;
	const char *path = control_path_opt(&argc, &argv, &json);
	char *req[] = { (char *)verb, NULL, NULL };

	if (argc != 2) {
		fprintf(stderr, "usage: agentwatch %s ID [--json] [--control PATH]\n", verb);
		return 2;
	}
	req[1] = argv[1];
	return control_cmd(path, 2, req, json, show_verdict);
}

static int cmd_watch(int argc, char **argv)
{
	const char *path = CONTROL_DEFAULT_PATH;
	bool once = false, color = !getenv("NO_COLOR");
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--control") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--once"))
			once = true;
		else if (!strcmp(argv[i], "--no-color"))
			color = false;
		else {
			fputs("usage: agentwatch watch [--control PATH] [--once] [--no-color]\n", stderr);
			return 2;
		}
	}
	return watch_run(path, once, color && !once);
}

static int cmd_allow(int argc, char **argv)
{
	return cmd_decide(argc, argv, "allow");
}

static int cmd_deny(int argc, char **argv)
{
	return cmd_decide(argc, argv, "deny");
}

static int cmd_reload(int argc, char **argv)
{
	bool json;
	const char *path = control_path_opt(&argc, &argv, &json);
	char *req[] = { "reload", NULL };

	return control_cmd(path, 1, req, json, show_message);
}

/* ---- rules ---------------------------------------------------------------- */

static struct ruleset *load_ruleset(const char *dir, bool json)
{
	struct ruleset *rs = ruleset__new();
	char err[1024];
	struct stat st;
	int r;

	if (!rs)
		return NULL;
	r = stat(dir, &st) == 0 && S_ISREG(st.st_mode) ?
		ruleset__load_file(rs, dir, err, sizeof(err)) :
		ruleset__load_dir(rs, dir, err, sizeof(err));
	if (r) {
		if (json) {
			struct jsonw *w = jsonw__new();

			jsonw__obj_begin(w);
			jsonw__key(w, "ok"); jsonw__bool(w, false);
			jsonw__key(w, "error"); jsonw__str(w, err);
			jsonw__obj_end(w);
			puts(jsonw__data(w, NULL));
			jsonw__free(w);
		} else {
			fprintf(stderr, "%s\n", err);
		}
		ruleset__free(rs);
		return NULL;
	}
	return rs;
}

static int rules_check(int argc, char **argv, bool json)
{
	const char *dir = argc > 1 ? argv[1] : default_rules_dir();
	struct ruleset *rs = load_ruleset(dir, json);

	if (!rs)
		return 1;
	if (json)
		printf("{\"ok\":true,\"rules\":%zu,\"tests\":%zu}\n", ruleset__count(rs),
		       ruleset__test_count(rs));
	else
		printf("%s: %zu rules, %zu inline tests, ok\n", dir, ruleset__count(rs),
		       ruleset__test_count(rs));
	ruleset__free(rs);
	return 0;
}

static int rules_test(int argc, char **argv, bool json)
{
	const char *dir = argc > 1 ? argv[1] : default_rules_dir();
	struct ruleset *rs = load_ruleset(dir, json);
	int passed = 0, failed = 0;

	if (!rs)
		return 1;
	ruleset__run_tests(rs, json ? NULL : stdout, &passed, &failed);
	if (json)
		printf("{\"ok\":%s,\"passed\":%d,\"failed\":%d}\n", failed ? "false" : "true", passed,
		       failed);
	else
		printf("%d passed, %d failed\n", passed, failed);
	ruleset__free(rs);
	return failed ? 1 : 0;
}

static int rules_match_resolve(void *ctx, const char *cwd, const char *path, unsigned flags,
			       char *out, size_t len, bool *last_link)
{
	return procpath__resolve(ctx, cwd, path, flags, out, len, last_link);
}

static int rules_match(int argc, char **argv, bool json)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "cwd", required_argument, NULL, 'c' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "agent", required_argument, NULL, 'a' },
		{ "env", required_argument, NULL, 'e' },
		{ "exe", required_argument, NULL, 'x' },
		{ 0 },
	};
	const char *dir = default_rules_dir(), *cwd = NULL, *ws = NULL, *agent = NULL, *exe = NULL;
	char envbuf[16384], argvbuf[AW_ARGV_MAX], cwdbuf[PATH_MAX], cwdres[PATH_MAX], wsres[PATH_MAX];
	struct procpath pp;
	size_t envlen = 0, argvlen = 0, i;
	struct match_result res;
	struct exec_ctx x = {0};
	struct ruleset *rs;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'r': dir = optarg; break;
		case 'c': cwd = optarg; break;
		case 'w': ws = optarg; break;
		case 'a': agent = optarg; break;
		case 'x': exe = optarg; break;
		case 'e': {
			size_t n = strlen(optarg) + 1;

			if (!strchr(optarg, '=') || envlen + n > sizeof(envbuf)) {
				fprintf(stderr, "agentwatch rules match: --env NAME=VALUE\n");
				return 2;
			}
			memcpy(envbuf + envlen, optarg, n);
			envlen += n;
			break;
		}
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		fputs("usage: agentwatch rules match [--rules DIR] [--cwd DIR] [--workspace DIR] "
		      "[--agent NAME] [--env NAME=VALUE]... [--json] -- ARGV...\n", stderr);
		return 2;
	}
	for (i = optind; i < (size_t)argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (argvlen + n > sizeof(argvbuf)) {
			fputs("agentwatch rules match: argv longer than what the sensor captures\n", stderr);
			return 2;
		}
		memcpy(argvbuf + argvlen, argv[i], n);
		argvlen += n;
	}
	if (!cwd)
		cwd = getcwd(cwdbuf, sizeof(cwdbuf)) ? cwdbuf : "/";
	rs = load_ruleset(dir, json);
	if (!rs)
		return 1;
	/* As the collector would see this command run here: the kernel
	 * names the cwd and the workspace without symlinks, and operands
	 * are resolved on this machine's filesystem. */
	procpath__init(&pp, "/proc", (uint32_t)getpid());
	if (cwd[0] == '/' && procpath__resolve(&pp, NULL, cwd, PATH_RESOLVE_FOLLOW, cwdres,
					       sizeof(cwdres), NULL) >= 0)
		cwd = cwdres;
	if (ws && ws[0] == '/' && procpath__resolve(&pp, NULL, ws, PATH_RESOLVE_FOLLOW, wsres,
						    sizeof(wsres), NULL) >= 0)
		ws = wsres;
	x.resolve = rules_match_resolve;
	x.resolve_ctx = &pp;
	x.exe = exe ? exe : argv[optind];
	x.filename = argv[optind];
	x.argv = argvbuf;
	x.argv_len = argvlen;
	x.cwd = cwd;
	x.workspace = ruleset__workspace(rs) ? ruleset__workspace(rs) : ws ? ws : cwd;
	x.agent = agent ? agent : "the agent";
	x.env = envlen ? envbuf : NULL;
	x.env_len = envlen;
	ruleset__match_exec(rs, NULL, &x, &res);
	procpath__release(&pp);
	if (json) {
		struct jsonw *w = jsonw__new();
		size_t n = res.n_hits < RULE_HITS_MAX ? res.n_hits : RULE_HITS_MAX;

		jsonw__obj_begin(w);
		jsonw__key(w, "verdict"); jsonw__str(w, rule_action_name(res.verdict));
		jsonw__key(w, "would"); jsonw__str(w, rule_action_name(res.would));
		jsonw__key(w, "rules");
		jsonw__arr_begin(w);
		for (i = 0; i < n; i++) {
			jsonw__obj_begin(w);
			jsonw__key(w, "id"); jsonw__str(w, res.hits[i].id);
			jsonw__key(w, "severity"); jsonw__str(w, res.hits[i].severity);
			jsonw__key(w, "action"); jsonw__str(w, rule_action_name(res.hits[i].action));
			jsonw__key(w, "mode"); jsonw__str(w, rule_mode_name(res.hits[i].mode));
			jsonw__key(w, "message"); jsonw__str(w, res.hits[i].message);
			jsonw__key(w, "origin"); jsonw__str(w, res.hits[i].origin);
			jsonw__obj_end(w);
		}
		jsonw__arr_end(w);
		jsonw__key(w, "workspace"); jsonw__str(w, x.workspace);
		jsonw__key(w, "cwd"); jsonw__str(w, x.cwd);
		jsonw__obj_end(w);
		puts(jsonw__data(w, NULL));
		jsonw__free(w);
	} else {
		size_t n = res.n_hits < RULE_HITS_MAX ? res.n_hits : RULE_HITS_MAX;

		printf("verdict: %s", rule_action_name(res.verdict));
		if (res.would != res.verdict)
			printf(" (would %s: monitor mode)", rule_action_name(res.would));
		putchar('\n');
		for (i = 0; i < n; i++)
			printf("  %-32s %-8s %-6s %s  (%s)\n", res.hits[i].id, rule_action_name(res.hits[i].action),
			       res.hits[i].severity, res.hits[i].message, res.hits[i].origin);
		if (!n)
			puts("  no rule fires");
	}
	ruleset__free(rs);
	return 0;
}

static int cmd_rules(int argc, char **argv)
{
	bool json = false;
	int i, o = 1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		argv[o++] = argv[i];
	}
	for (; i < argc; i++)
		argv[o++] = argv[i];
	argc = o;
	argv[argc] = NULL;
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return rules_check(argc - 1, argv + 1, json);
	if (argc >= 2 && !strcmp(argv[1], "test"))
		return rules_test(argc - 1, argv + 1, json);
	if (argc >= 2 && !strcmp(argv[1], "match"))
		return rules_match(argc - 1, argv + 1, json);
	fputs("usage: agentwatch rules check [DIR] | test [DIR] | match [options] -- ARGV...\n"
	      "  check  validate a rules directory (default: the one `run` loads)\n"
	      "  test   run every rule's inline block/allow tests\n"
	      "  match  which rules fire for one command, and the verdict\n", stderr);
	return 2;
}

/* ---- log ------------------------------------------------------------------------- */

static int log_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log-dir", required_argument, NULL, 'd' },
		{ "head", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	};
	const char *dir = DEFAULT_LOG_DIR, *head = NULL;
	struct auditlog_verify v;
	bool json = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'H': head = optarg; break;
		case 'j': json = true; break;
		default:
			fputs("usage: agentwatch log verify [--log-dir DIR] [--head HEX] [--json]\n", stderr);
			return 2;
		}
	}
	memset(&v, 0, sizeof(v));
	r = head ? auditlog_verify_head(dir, head, &v) : auditlog_verify(dir, &v);
	if (json) {
		struct jsonw *w = jsonw__new();

		jsonw__obj_begin(w);
		jsonw__key(w, "ok"); jsonw__bool(w, r == 0);
		jsonw__key(w, "records"); jsonw__u64(w, v.records);
		jsonw__key(w, "segments"); jsonw__u64(w, v.segments);
		jsonw__key(w, "problem"); jsonw__str(w, r ? v.problem : NULL);
		jsonw__obj_end(w);
		puts(jsonw__data(w, NULL));
		jsonw__free(w);
	} else if (r == 0) {
		printf("%s: intact: %llu records in %llu segments\n", dir,
		       (unsigned long long)v.records, (unsigned long long)v.segments);
	} else {
		printf("%s: %s\n", dir, v.problem[0] ? v.problem : strerror(-r));
	}
	return r ? 1 : 0;
}

static const char log_usage[] =
"usage: agentwatch log COMMAND [--log-dir DIR] [--json]\n"
"  (show also takes --format text|json|ocsf; ocsf: OCSF 1.7 events, docs/ocsf.md)\n"
"  verify [--head HEX]     recompute the hash chain; report the first damage\n"
"  sessions                the agent sessions: agent, root command, times, counts\n"
"  show [--session S] [--agent A] [--since T] [--until T] [--rule R] [--pid P] [--type T]\n"
"                          records matching every filter (T: RFC 3339, or a prefix)\n"
"  tree SESSION            the session's process tree with exits, verdicts, files, network\n"
"  timeline SESSION        the session, one line per action, in order\n";

static int log_query(int argc, char **argv, const char *what)
{
	static const struct option opts[] = {
		{ "log-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "session", required_argument, NULL, 's' },
		{ "agent", required_argument, NULL, 'a' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "rule", required_argument, NULL, 'r' },
		{ "pid", required_argument, NULL, 'p' },
		{ "type", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'f' },
		{ 0 },
	};
	struct log_filter f = { .pid = -1 };
	const char *dir = DEFAULT_LOG_DIR;
	enum lq_format fmt = LQ_TEXT;
	bool json = false;
	uint64_t v;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = true; fmt = LQ_JSON; break;
		case 'f':
			if (!strcmp(optarg, "json")) {
				fmt = LQ_JSON;
			} else if (!strcmp(optarg, "text")) {
				fmt = LQ_TEXT;
			} else if (!strcmp(optarg, "ocsf") && !strcmp(what, "show")) {
				fmt = LQ_OCSF;
			} else {
				fprintf(stderr, "agentwatch log %s: --format takes text or json%s, not %s\n",
					what, strcmp(what, "show") ? "" : " or ocsf", optarg);
				return 2;
			}
			json = fmt == LQ_JSON;
			break;
		case 's': f.session = optarg; break;
		case 'a': f.agent = optarg; break;
		case 'S': f.since = optarg; break;
		case 'U': f.until = optarg; break;
		case 'r': f.rule = optarg; break;
		case 't': f.type = optarg; break;
		case 'p':
			if (parse_u64(optarg, &v)) {
				fputs(log_usage, stderr);
				return 2;
			}
			f.pid = v;
			break;
		default:
			fputs(log_usage, stderr);
			return 2;
		}
	}
	if (!strcmp(what, "sessions"))
		err = logquery_sessions(dir, json, stdout);
	else if (!strcmp(what, "show"))
		err = logquery_show(dir, &f, fmt, stdout);
	else if (optind + 1 != argc) {
		fputs(log_usage, stderr);
		return 2;
	} else if (!strcmp(what, "tree"))
		err = logquery_tree(dir, argv[optind], json, stdout);
	else
		err = logquery_timeline(dir, argv[optind], json, stdout);
	if (err && err != -ENOENT)
		fprintf(stderr, "agentwatch log %s: %s: %s\n", what, dir, strerror(-err));
	return err ? 1 : 0;
}

static int cmd_log(int argc, char **argv)
{
	static const char *const queries[] = { "sessions", "show", "tree", "timeline" };
	size_t i;

	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return log_verify(argc - 1, argv + 1);
	for (i = 0; argc >= 2 && i < sizeof(queries) / sizeof(queries[0]); i++)
		if (!strcmp(argv[1], queries[i]))
			return log_query(argc - 1, argv + 1, queries[i]);
	fputs(log_usage, stderr);
	return 2;
}

static int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "rules", required_argument, NULL, 'r' },
		{ "log-dir", required_argument, NULL, 'l' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct doctor_opts o = {
		.rules_dir = default_rules_dir(), .log_dir = DEFAULT_LOG_DIR,
		.state_dir = DEFAULT_STATE_DIR, .pin_dir = SENSOR_DEFAULT_PIN_DIR,
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 'r': o.rules_dir = optarg; break;
		case 'l': o.log_dir = optarg; break;
		case 's': o.state_dir = optarg; break;
		case 'p': o.pin_dir = optarg; break;
		default:
			fputs("usage: agentwatch doctor [--json] [--rules DIR] [--log-dir DIR] "
			      "[--state-dir DIR] [--pin-dir DIR]\n"
			      "Check the kernel, mounts, capabilities, rules and log directory; say what\n"
			      "to fix and what degrades without each.  Exit 1 if something fails.\n",
			      c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (disable_from_env())
		return 2;
	return doctor_run(&o);
}

static int cmd_version(int argc, char **argv)
{
	printf("agentwatch %s\n", AGENTWATCH_VERSION);
	return 0;
}

static const struct cmd cmds[] = {
	{ "run", cmd_run, "[options]", "watch agent sessions and print events (root)" },
	{ "exec", cmd_exec, "[--agent NAME] -- CMD...", "run CMD as a declared agent session" },
	{ "status", cmd_status, "[--json]", "counters, sessions and health of the running collector" },
	{ "watch", cmd_watch, "[--once]", "live view: events, and single-key verdicts on paused commands" },
	{ "pending", cmd_pending, "[--json]", "commands paused for a human verdict" },
	{ "allow", cmd_allow, "ID", "let a paused command run" },
	{ "deny", cmd_deny, "ID", "kill a paused command" },
	{ "reload", cmd_reload, "", "reload the rules (a failed reload keeps the old ones)" },
	{ "rules", cmd_rules, "check|test|match ...", "validate, test, and try the rules" },
	{ "log", cmd_log, "verify|sessions|show|tree|timeline", "the audit log: verify it, and ask it what happened" },
	{ "doctor", cmd_doctor, "[--json]", "can this machine run agentwatch? what to fix, what degrades" },
	{ "version", cmd_version, "", "print the version" },
	{ "help", cmd_help, "", "this list" },
};

static int cmd_help(int argc, char **argv)
{
	size_t i;

	puts("usage: agentwatch COMMAND [ARGS]\n"
	     "Kernel-level audit sensor for AI coding agents.\n\ncommands:");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		printf("  %-8s %-26s %s\n", cmds[i].name, cmds[i].args, cmds[i].help);
	puts("\n`agentwatch COMMAND --help` for a command's options.");
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return cmd_help(0, NULL), 2;
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return cmd_help(0, NULL);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "agentwatch: unknown command '%s' (try agentwatch help)\n", argv[1]);
	return 2;
}
