/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit test harness.  A test is any function defined at the start of a line
 * as `void test_NAME(void)` in tests/unit/ (any .c); gen-tests.sh finds them, so a
 * test cannot be forgotten by leaving it out of a list.
 *
 * A failing ASSERT_* prints file:line with the actual and the expected value,
 * marks the current test failed and returns from the calling function, so the
 * rest of the run goes on.  Use them in functions returning void.
 */
#ifndef AW_UNIT_TEST_H
#define AW_UNIT_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

/* Set by a failing assertion; main.c clears it before each test. */
extern bool test__failed;

void test__fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void test__fail_str(const char *file, int line, const char *expr,
		    const char *actual, const char *expected);
void test__fail_mem(const char *file, int line, const char *expr,
		    const void *actual, const void *expected, size_t n);

#define ASSERT_TRUE(x) do {						\
	if (!(x)) {							\
		test__fail(__FILE__, __LINE__, "%s: got false, expected true", #x); \
		return;							\
	}								\
} while (0)

#define ASSERT_FALSE(x) do {						\
	if (x) {							\
		test__fail(__FILE__, __LINE__, "%s: got true, expected false", #x); \
		return;							\
	}								\
} while (0)

#define ASSERT_EQ_INT(a, b) do {					\
	int64_t test_a__ = (int64_t)(a), test_b__ = (int64_t)(b);	\
	if (test_a__ != test_b__) {					\
		test__fail(__FILE__, __LINE__, "%s == %s: got %" PRId64	\
			   ", expected %" PRId64, #a, #b, test_a__, test_b__); \
		return;							\
	}								\
} while (0)

#define ASSERT_EQ_U64(a, b) do {					\
	uint64_t test_a__ = (uint64_t)(a), test_b__ = (uint64_t)(b);	\
	if (test_a__ != test_b__) {					\
		test__fail(__FILE__, __LINE__, "%s == %s: got %" PRIu64	\
			   " (%#" PRIx64 "), expected %" PRIu64 " (%#" PRIx64 ")", \
			   #a, #b, test_a__, test_a__, test_b__, test_b__); \
		return;							\
	}								\
} while (0)

/* Either side may be NULL; two NULLs are equal. */
#define ASSERT_EQ_STR(a, b) do {					\
	const char *test_a__ = (a), *test_b__ = (b);			\
	if (test_a__ != test_b__ && (!test_a__ || !test_b__ ||		\
				     strcmp(test_a__, test_b__) != 0)) {	\
		test__fail_str(__FILE__, __LINE__, #a " == " #b,	\
			       test_a__, test_b__);			\
		return;							\
	}								\
} while (0)

#define ASSERT_EQ_MEM(a, b, n) do {					\
	const void *test_a__ = (a), *test_b__ = (b);			\
	size_t test_n__ = (n);						\
	if (test_n__ && (!test_a__ || !test_b__ ||			\
			 memcmp(test_a__, test_b__, test_n__) != 0)) {	\
		test__fail_mem(__FILE__, __LINE__, #a " == " #b,	\
			       test_a__, test_b__, test_n__);		\
		return;							\
	}								\
} while (0)

#define ASSERT_NULL(x) do {						\
	const void *test_p__ = (x);					\
	if (test_p__) {							\
		test__fail(__FILE__, __LINE__, "%s: got %p, expected NULL", \
			   #x, test_p__);				\
		return;							\
	}								\
} while (0)

#define ASSERT_NOT_NULL(x) do {						\
	if (!(x)) {							\
		test__fail(__FILE__, __LINE__, "%s: got NULL, expected non-NULL", #x); \
		return;							\
	}								\
} while (0)

/* Remove a directory tree a test made (nftw, depth first, no symlinks followed). */
void test__rmtree(const char *dir);

#endif /* AW_UNIT_TEST_H */
