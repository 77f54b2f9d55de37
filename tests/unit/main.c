// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test runner: runs every test found by gen-tests.sh, or those whose
 * name contains argv[1], and ends with the line "N passed, N failed".
 */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "test.h"
#include "tests.inc"

bool test__failed;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

void test__rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Failure output shows at most this many bytes of a string or buffer, so
 * one failing 1 MiB comparison doesn't bury the rest of the run. */
#define SHOW_MAX 256

void test__fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	test__failed = true;
}

/* Strings under test often hold control bytes on purpose; print them
 * escaped so they can't garble the report. */
static void show_str(const char *s)
{
	size_t i;

	if (!s) {
		fputs("NULL", stderr);
		return;
	}
	fputc('"', stderr);
	for (i = 0; s[i] && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fputc('"', stderr);
	if (s[i])
		fprintf(stderr, "... (%zu bytes)", strlen(s));
}

void test__fail_str(const char *file, int line, const char *expr,
		    const char *actual, const char *expected)
{
	fprintf(stderr, "    %s:%d: %s\n      got      ", file, line, expr);
	show_str(actual);
	fputs("\n      expected ", stderr);
	show_str(expected);
	fputc('\n', stderr);
	test__failed = true;
}

static void show_mem(const unsigned char *p, size_t from, size_t to)
{
	size_t i;

	if (!p) {
		fputs("NULL", stderr);
		return;
	}
	for (i = from; i < to; i++)
		fprintf(stderr, "%02x%s", p[i], i + 1 < to ? " " : "");
}

void test__fail_mem(const char *file, int line, const char *expr,
		    const void *actual, const void *expected, size_t n)
{
	const unsigned char *a = actual, *b = expected;
	size_t off = 0, from, to;

	if (a && b)
		while (off < n && a[off] == b[off])
			off++;
	from = off > 8 ? off - 8 : 0;
	to = n - from > 24 ? from + 24 : n;
	fprintf(stderr, "    %s:%d: %s (%zu bytes): first difference at offset %zu\n"
		"      got      [%zu..%zu) ", file, line, expr, n, off, from, to);
	show_mem(a, from, to);
	fprintf(stderr, "\n      expected [%zu..%zu) ", from, to);
	show_mem(b, from, to);
	fputc('\n', stderr);
	test__failed = true;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	const struct unit_test *t;
	int passed = 0, failed = 0;

	/* Unbuffered so a crash under ASan still shows which test ran. */
	setvbuf(stdout, NULL, _IONBF, 0);
	for (t = unit_tests; t->name; t++) {
		if (filter && !strstr(t->name, filter))
			continue;
		test__failed = false;
		t->fn();
		printf("%-4s %s\n", test__failed ? "FAIL" : "ok", t->name);
		if (test__failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
