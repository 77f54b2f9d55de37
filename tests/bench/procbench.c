// SPDX-License-Identifier: GPL-2.0
/*
 * procbench N [distinct]: the collector's process table holding N processes of an
 * agent session (fork, exec with its own argv and cwd, exit), as an exec
 * storm leaves it; with "distinct", every command line differs (the worst
 * case for the table's string interning).  Prints the resident memory the table added, per
 * process, and the cost of an insert.  `make bench` adds the collector's
 * own baseline RSS to compare with the 32 MiB goal for 100,000 processes.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proctable.h"
#include "util.h"

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

/* Commands an agent runs, with their argv as the kernel reports it. */
static const char *const cmds[] = {
	"git\0status\0--porcelain", "npm\0test", "rg\0-n\0TODO\0src/components",
	"python3\0-m\0pytest\0-q\0tests/test_api.py", "ls\0-la", "cat\0package.json",
	"bash\0-c\0cd /home/dev/project && npm run build 2>&1 | tail -20",
	"sed\0-n\0100,160p\0src/server/routes.ts",
};

int main(int argc, char **argv)
{
	uint64_t n = 100000, t0, t1, ts = 1;
	struct proctable_stats st;
	struct proctable *pt;
	long before, after;
	char cwd[64], buf[256];
	bool distinct = argc > 2 && !strcmp(argv[2], "distinct");

	if (argc > 1 && parse_u64(argv[1], &n))
		return 2;
	pt = proctable__new(131072);
	if (!pt)
		return 1;
	before = rss_kib();
	/* the agent root and its shell */
	proctable__exec(pt, 1000, 1, 1, 0, 42, "/usr/bin/node", "/home/dev/project",
			"node\0/usr/lib/node_modules/claude/cli.js", 40, ts++);
	t0 = now_ns(CLOCK_MONOTONIC);
	for (uint64_t i = 0; i < n; i++) {
		uint32_t pid = 2000 + (uint32_t)i;
		const char *a = cmds[i % (sizeof(cmds) / sizeof(cmds[0]))];
		size_t alen = 0;

		/* argv blob: NUL-separated, ends at the double NUL */
		while (a[alen] || a[alen + 1])
			alen++;
		alen++;
		if (distinct) {
			/* the same command, and one argument of its own */
			int k = snprintf(buf, sizeof(buf), "file-%" PRIu64 ".txt", i);

			memcpy(buf + k + 1, a, alen);
			a = buf;
			alen += k + 1;
		}
		snprintf(cwd, sizeof(cwd), "/home/dev/project/pkg-%" PRIu64, i % 97);
		proctable__fork(pt, pid, 1000 + i, 1000, 1, 42, ts++);
		proctable__exec(pt, pid, 1000 + i, 1000, 1, 42, "/usr/bin/git", cwd, a,
				(uint32_t)alen, ts++);
		proctable__exit(pt, pid, 1000 + i, 0, ts++);
	}
	t1 = now_ns(CLOCK_MONOTONIC);
	after = rss_kib();
	proctable__stats(pt, &st);
	printf("procbench: %" PRIu64 " processes%s: table holds %zu (%zu evicted), RSS +%.1f MiB "
	       "(%ld bytes/process; the table counts %zu bytes), %.0f ns per fork+exec+exit\n",
	       n, distinct ? " (every command line distinct)" : "", st.total, st.evicted, (after - before) / 1024.0,
	       n ? (after - before) * 1024 / (long)n : 0, st.bytes, (double)(t1 - t0) / (double)n);
	proctable__free(pt);
	return 0;
}
