// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the rule parser (input as a rules file), the argv tokenizer
 * and the matcher (input as an argv/env probe against the shipped rules,
 * run from the repo root as tests/fuzz/run.sh does).  The first byte picks
 * the mode.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "rules.h"

static struct ruleset *defaults;
static struct ratetab *rates;

static int count_gate(const char *name, void *ctx)
{
	if (!name[0] || strlen(name) > 63)
		abort(); /* the kernel key can't hold it */
	++*(size_t *)ctx;
	return 0;
}

static int count_path(const char *prefix, uint32_t ops, enum rule_action act, const char *id, void *ctx)
{
	if (prefix[0] != '/' || act < RA_PAUSE || !id[0])
		abort();
	++*(size_t *)ctx;
	return 0;
}

static int count_net(int family, const uint8_t *addr, int plen, uint16_t lo, uint16_t hi, int proto,
		     const char *id, void *ctx)
{
	if (plen < 0 || plen > 128 || lo > hi || !id[0])
		abort();
	++*(size_t *)ctx;
	return 0;
}

static void parse(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/aw-fuzz-rules-XXXXXX";
	char err[512];
	struct ruleset *rs = ruleset__new();
	struct match_result *m = malloc(sizeof(*m));
	size_t n = 0;
	int fd = mkstemp(path), passed, failed;

	if (fd < 0 || !rs || !m)
		goto out;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	if (ruleset__load_file(rs, path, err, sizeof(err)) == 0) {
		struct exec_ctx x = { 0 };

		ruleset__gated_binaries(rs, count_gate, &n);
		ruleset__protected_paths(rs, count_path, &n);
		ruleset__net_denies(rs, count_net, &n);
		/* inline tests exercise the matcher on what the input declared */
		if (ruleset__test_count(rs) < 64)
			ruleset__run_tests(rs, NULL, &passed, &failed);
		x.argv = "rm\0-rf\0/";
		x.argv_len = 9;
		x.cwd = "/";
		ruleset__match_exec(rs, NULL, &x, m);
	} else if (ruleset__count(rs) != 0) {
		abort(); /* a rejected file must add nothing */
	} else if (!strchr(err, ':')) {
		abort(); /* every error says where */
	}
out:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	free(m);
	ruleset__free(rs);
}

static void tokenize(const uint8_t *data, size_t size)
{
	static const char *const vopts[] = { "-n", "--namespace", "-name", "-C" };
	const struct cmd_valopts vo = { .v = vopts, .n = 4 };
	struct cmd_valopts pvo = vo;
	static const char *const specs[] = { "-r", "--force", "-delete", "--signal=K*", "-s=KILL" };
	struct cmdline c;
	size_t *idx, n, i;
	char *out;
	uint32_t *col;
	struct shword w[64];
	size_t ecol;
	const char *why;
	int r;

	if (cmdline_init(&c, (const char *)data, size))
		return;
	cmd_valopts_prepare(&pvo);
	idx = malloc((c.n + 1) * 2 * sizeof(*idx));
	if (idx) {
		n = cmdline_operands(&c, &vo, idx, c.n);
		if (n > c.n)
			abort();
		for (i = 0; i < n; i++)
			if (idx[i] == 0 || idx[i] >= c.n)
				abort();
		/* Prepared value options only decide faster. */
		if (cmdline_operands(&c, &pvo, idx + c.n + 1, c.n) != n ||
		    memcmp(idx, idx + c.n + 1, (n < c.n ? n : c.n) * sizeof(*idx)))
			abort();
	}
	free(idx);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct flagspec fs;

		if (cmdline_flagspec_parse(specs[i], &fs))
			abort();
		if (cmdline_has_flag(&c, &vo, &fs) != cmdline_has_flag(&c, &pvo, &fs))
			abort();
		cmdline_has_flag(&c, NULL, &fs);
	}
	cmdline_release(&c);
	/* the same bytes as a line of text */
	out = malloc(size + 1);
	col = malloc((size + 1) * sizeof(*col));
	if (out && col) {
		r = cmdline_split((const char *)data, size, true, out, col, w, 64, &ecol, &why);
		for (i = 0; r > 0 && i < (size_t)r; i++)
			if (w[i].off + w[i].len > size || w[i].col == 0 || w[i].col > size)
				abort();
	}
	free(out);
	free(col);
}

static void match(const uint8_t *data, size_t size)
{
	struct exec_ctx x = { 0 };
	struct match_result *m = malloc(sizeof(*m));
	const uint8_t *sep = memchr(data, '\n', size);
	static uint64_t now;

	if (!defaults) {
		char err[512];

		defaults = ruleset__new();
		rates = ratetab__new(64);
		if (!defaults || !rates || ruleset__load_dir(defaults, "rules", err, sizeof(err))) {
			fprintf(stderr, "fuzz_rules: %s\n", err);
			abort();
		}
	}
	if (!m)
		return;
	x.argv = (const char *)data;
	x.argv_len = sep ? (size_t)(sep - data) : size;
	if (sep) {
		x.env = (const char *)sep + 1;
		x.env_len = size - x.argv_len - 1;
	}
	x.exe = size && (data[0] & 1) ? "/usr/bin/git" : NULL;
	x.cwd = "/home/u/proj";
	x.workspace = "/home/u/proj";
	x.agent = "claude";
	x.argv_truncated = size && (data[0] & 2);
	x.session_id = 1;
	x.now_ns = now += 1000000;
	if (ruleset__match_exec(defaults, rates, &x, m) == 0 &&
	    (m->verdict > m->would || (m->n_hits == 0) != (m->would == RA_NONE)))
		abort();
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		parse(data + 1, size - 1);
		break;
	case 1:
		tokenize(data + 1, size - 1);
		break;
	default:
		match(data + 1, size - 1);
	}
	return 0;
}
