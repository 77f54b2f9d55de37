// SPDX-License-Identifier: GPL-2.0
/*
 * agentwatch: kernel-level audit sensor for AI coding agents.
 * Noun-verb CLI dispatched from one table; every command has a help entry.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "agentwatch.h"
#include "collector.h"
#include "procscan.h"
#include "sensor.h"
#include "util.h"

#define AGENTWATCH_VERSION "0.1.0"
#define DEFAULT_STATE_DIR "/run/agentwatch"

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

/* ---- run ------------------------------------------------------------------ */

enum {
	OPT_AGENTS_FILE = 256, OPT_NO_DEFAULT_AGENTS, OPT_SESSION_ROOT, OPT_FORMAT, OPT_PIN_DIR,
	OPT_STATE_DIR, OPT_MAX_PROCS, OPT_RINGBUF_MB, OPT_NO_NETWORK, OPT_FORKS, OPT_DURATION,
	OPT_NO_COLOR, OPT_JSON, OPT_PROC_ROOT,
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
"  -o, --output FILE          append records to FILE instead of stdout\n"
"      --format text|json     default: text on a terminal, JSON lines otherwise\n"
"      --json                 same as --format json\n"
"      --no-color             no ANSI colors in text output\n"
"      --forks                also report forks of session processes\n"
"      --pin-dir DIR          bpffs dir for pinned maps (default " SENSOR_DEFAULT_PIN_DIR ")\n"
"      --state-dir DIR        where status.json is kept (default " DEFAULT_STATE_DIR ")\n"
"      --max-procs N          process table bound (default 131072)\n"
"      --ringbuf-mb N         kernel ring buffer size, power of two (default 16)\n"
"      --no-network           don't attach the cgroup network hooks\n"
"      --duration SECONDS     stop after this long (for tests and benchmarks)\n"
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
			else {
				fprintf(stderr, "agentwatch: --format takes text or json, not %s\n", optarg);
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
		case 'h': fputs(run_usage, stdout); return 0;
		default: fputs(run_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "agentwatch run: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "agentwatch: run needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)\n");
		return 1;
	}
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
	struct timespec ts;
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
	clock_gettime(CLOCK_BOOTTIME, &ts);
	s.id = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
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
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *state_dir = DEFAULT_STATE_DIR;
	char path[PATH_MAX], *buf = NULL;
	bool json = false;
	size_t len;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S': state_dir = optarg; break;
		case 'j': json = true; break;
		case 'h': puts("usage: agentwatch status [--state-dir DIR] [--json]"); return 0;
		default: return 2;
		}
	}
	snprintf(path, sizeof(path), "%s/status.json", state_dir);
	err = read_file_capped(path, 4 << 20, &buf, &len);
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

static int cmd_version(int argc, char **argv)
{
	printf("agentwatch %s\n", AGENTWATCH_VERSION);
	return 0;
}

static const struct cmd cmds[] = {
	{ "run", cmd_run, "[options]", "watch agent sessions and print events (root)" },
	{ "exec", cmd_exec, "[--agent NAME] -- CMD...", "run CMD as a declared agent session" },
	{ "status", cmd_status, "[--json]", "counters, sessions and health of the running collector" },
	{ "version", cmd_version, "", "print the version" },
	{ "help", cmd_help, "", "this list" },
};

static int cmd_help(int argc, char **argv)
{
	size_t i;

	puts("usage: agentwatch COMMAND [ARGS]\n"
	     "Kernel-level audit sensor for AI coding agents.\n\ncommands:");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		printf("  %-8s %-28s %s\n", cmds[i].name, cmds[i].args, cmds[i].help);
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
