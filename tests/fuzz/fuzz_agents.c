// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the agent signature parser (input as a signature file) and the
 * matcher (input as an argv/env probe against the default signatures, run
 * from the repo root as tests/fuzz/run.sh does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agents.h"

static struct agentset *defaults;

static int count_entry(const char *name, uint32_t prefix_bytes, uint32_t sig_id, uint32_t flags,
		       const char *agent, void *ctx)
{
	(void)name; (void)sig_id; (void)flags; (void)agent;
	if (prefix_bytes == 0 || prefix_bytes > 64)
		abort(); /* the kernel key can't hold it */
	++*(size_t *)ctx;
	return 0;
}

static void parse(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/aw-fuzz-agents-XXXXXX";
	char err[512];
	struct agentset *s = agentset__new();
	size_t n = 0;
	int fd = mkstemp(path);

	if (fd < 0 || !s)
		goto out;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	if (agentset__load_file(s, path, err, sizeof(err)) == 0) {
		agentset__kernel_entries(s, count_entry, &n);
	} else if (agentset__count(s) != 0) {
		abort(); /* a rejected file must add nothing */
	}
out:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	agentset__free(s);
}

static void match(const uint8_t *data, size_t size)
{
	struct agent_probe p = {0};
	const uint8_t *sep = memchr(data, '\n', size);
	uint32_t sig;

	if (!defaults) {
		char err[512];

		defaults = agentset__new();
		if (!defaults || agentset__load_file(defaults, "rules/agents.conf", err, sizeof(err))) {
			fprintf(stderr, "fuzz_agents: %s\n", err);
			abort();
		}
	}
	p.exe = "/usr/bin/node";
	p.argv = (const char *)data;
	p.argv_len = sep ? (size_t)(sep - data) : size;
	if (sep) {
		p.env = (const char *)sep + 1;
		p.env_len = size - p.argv_len - 1;
	}
	p.cwd = "/home/u/proj";
	if (agentset__match(defaults, &p, &sig) == 1 && sig >= agentset__count(defaults))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		parse(data + 1, size - 1);
	else
		match(data + 1, size - 1);
	return 0;
}
