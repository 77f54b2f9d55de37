// SPDX-License-Identifier: GPL-2.0
/* Tests for user/logquery.c over a log written with user/auditlog.c. */
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "auditlog.h"
#include "logquery.h"

/* Write recs (one JSON object each) into a fresh log under a temp dir. */
static int write_log(char *dir, size_t len, const char *const *recs, size_t n)
{
	char base[] = "/tmp/aw-logquery-XXXXXX";
	struct auditlog_opts o = {0};
	struct auditlog *l;
	int r = 0;

	if (!mkdtemp(base))
		return -1;
	snprintf(dir, len, "%s/log", base);
	o.dir = dir;
	if (auditlog__open(&o, &l))
		return -1;
	for (size_t i = 0; i < n && !r; i++)
		r = auditlog__append(l, recs[i], strlen(recs[i]), false);
	auditlog__free(l);
	return r;
}

static void drop_log(const char *dir)
{
	char base[256];

	snprintf(base, sizeof(base), "%s", dir);
	*strrchr(base, '/') = '\0';
	test__rmtree(base);
}

#define EXEC(t, s, pid) "{\"type\":\"exec\",\"time\":\"" t "\",\"pid\":" #pid ",\"session\":\"" s \
	"\",\"agent\":\"a\",\"argv\":[\"x\"],\"session_start\":false}"

/* Sensor losses are charged to every session alive when they happened,
 * and only to those. */
void test_logquery_sessions_charge_losses_by_time(void)
{
	const char *recs[] = {
		EXEC("2026-01-01T10:00:00.000000000Z", "00000000000000a1", 10),
		EXEC("2026-01-01T10:00:05.000000000Z", "00000000000000b2", 20),
		"{\"type\":\"loss\",\"source\":\"sensor\",\"time\":\"2026-01-01T10:00:06.000000000Z\","
		"\"dropped\":7}",
		EXEC("2026-01-01T10:00:09.000000000Z", "00000000000000a1", 11),
		"{\"type\":\"loss\",\"source\":\"log\",\"time\":\"2026-01-01T10:00:20.000000000Z\","
		"\"dropped\":3}",
		EXEC("2026-01-01T10:00:30.000000000Z", "00000000000000c3", 30),
	};
	char dir[256], *buf = NULL;
	size_t blen = 0;
	FILE *f;

	ASSERT_EQ_INT(write_log(dir, sizeof(dir), recs, sizeof(recs) / sizeof(recs[0])), 0);
	f = open_memstream(&buf, &blen);
	ASSERT_NOT_NULL(f);
	ASSERT_EQ_INT(logquery_sessions(dir, true, f), 0);
	fclose(f);
	drop_log(dir);
	/* a1 ran 10:00:00-10:00:09 (the 10:00:06 loss), b2 only at 10:00:05,
	 * c3 after both losses. */
	ASSERT_NOT_NULL(strstr(buf, "\"session\":\"00000000000000a1\""));
	ASSERT_NOT_NULL(strstr(strstr(buf, "00000000000000a1"), "\"losses\":7}"));
	ASSERT_NOT_NULL(strstr(strstr(buf, "00000000000000b2"), "\"losses\":0}"));
	ASSERT_NOT_NULL(strstr(strstr(buf, "00000000000000c3"), "\"losses\":0}"));
	free(buf);
}

/* A loss record that names its sessions is charged exactly, to them only. */
void test_logquery_sessions_exact_losses(void)
{
	const char *recs[] = {
		EXEC("2026-01-01T10:00:00.000000000Z", "00000000000000a1", 10),
		EXEC("2026-01-01T10:00:01.000000000Z", "00000000000000b2", 20),
		"{\"type\":\"loss\",\"source\":\"sensor\",\"time\":\"2026-01-01T10:00:02.000000000Z\","
		"\"dropped\":9,\"sessions\":[{\"session\":\"00000000000000b2\",\"agent\":\"a\",\"lost\":4}]}",
		EXEC("2026-01-01T10:00:03.000000000Z", "00000000000000a1", 11),
		EXEC("2026-01-01T10:00:04.000000000Z", "00000000000000b2", 21),
	};
	char dir[256], *buf = NULL;
	size_t blen = 0;
	FILE *f;

	ASSERT_EQ_INT(write_log(dir, sizeof(dir), recs, sizeof(recs) / sizeof(recs[0])), 0);
	f = open_memstream(&buf, &blen);
	ASSERT_NOT_NULL(f);
	ASSERT_EQ_INT(logquery_sessions(dir, true, f), 0);
	fclose(f);
	drop_log(dir);
	/* both ran at 10:00:02, only b2 lost records: no time-window guess */
	ASSERT_NOT_NULL(strstr(strstr(buf, "00000000000000a1"), "\"losses\":0}"));
	ASSERT_NOT_NULL(strstr(strstr(buf, "00000000000000b2"), "\"losses\":4}"));
	free(buf);
}
