// SPDX-License-Identifier: GPL-2.0
/* Tests for user/auditlog.c: the tamper-evident audit log. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "auditlog.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fresh log directory inside a fresh temp dir (so the log creates it). */
static char *tmp_logdir(char *buf, size_t len)
{
	char base[] = "/tmp/aw-auditlog-XXXXXX";

	if (!mkdtemp(base))
		return NULL;
	snprintf(buf, len, "%s/log", base);
	return buf;
}

static void cleanup(const char *logdir)
{
	char base[256];
	char *slash;

	snprintf(base, sizeof(base), "%s", logdir);
	slash = strrchr(base, '/');
	if (slash)
		*slash = '\0';
	test__rmtree(base);
}

static int append_n(struct auditlog *l, int from, int to)
{
	char buf[96];
	int i, r;

	for (i = from; i < to; i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"exec\",\"n\":%d}", i);
		r = auditlog__append(l, buf, strlen(buf), i % 7 == 0);
		if (r)
			return r;
	}
	return 0;
}

static void seg_path(const char *dir, uint64_t k, bool gz, char *buf, size_t len)
{
	snprintf(buf, len, "%s/seg-%020llu.jsonl%s", dir, (unsigned long long)k, gz ? ".gz" : "");
}

static int count_files(const char *dir, const char *suffix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;
	size_t sl = strlen(suffix);

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > sl && !strcmp(de->d_name + l - sl, suffix))
			n++;
	}
	closedir(d);
	return n;
}

/* --- editing a plain segment as lines --- */

struct lines {
	char *buf;
	size_t len;
	char *line[256];
	size_t n;
};

static int lines__load(const char *path, struct lines *ls)
{
	FILE *f = fopen(path, "r");
	char *p;

	memset(ls, 0, sizeof(*ls));
	if (!f)
		return -errno;
	ls->buf = calloc(1, 1 << 20);
	ls->len = fread(ls->buf, 1, (1 << 20) - 1, f);
	fclose(f);
	for (p = ls->buf; *p && ls->n < 256; ) {
		char *nl = strchr(p, '\n');

		ls->line[ls->n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return 0;
}

static int lines__save(const char *path, const struct lines *ls)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (!f)
		return -errno;
	for (i = 0; i < ls->n; i++)
		if (ls->line[i])
			fprintf(f, "%s\n", ls->line[i]);
	fclose(f);
	return 0;
}

static int append_raw(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* A one-segment log: header + 10 records. */
static int make_small_log(const char *dir, char head[65])
{
	struct auditlog_opts o = { .dir = dir };
	struct auditlog *l;
	int r = auditlog__open(&o, &l);

	if (r)
		return r;
	r = append_n(l, 0, 10);
	auditlog__free(l);
	if (!r && head) {
		/* The head after free is the last line's chain; reopen to read it. */
		r = auditlog__open(&o, &l);
		if (!r) {
			snprintf(head, 65, "%s", auditlog__head(l));
			auditlog__free(l);
		}
	}
	return r;
}

/* Rotated log of several segments, closed ones left plain unless gz. */
static int make_rotated_log(const char *dir, bool gz, int records)
{
	struct auditlog_opts o = { .dir = dir, .segment_bytes = 600 };
	struct auditlog_stats st;
	struct auditlog *l;
	int r = auditlog__open(&o, &l), i;

	if (r)
		return r;
	r = append_n(l, 0, records);
	for (i = 0; gz && i < 64; i++) {
		uint64_t before;

		auditlog__stats(l, &st);
		before = st.compressed;
		auditlog__tick(l, now_ms());
		auditlog__stats(l, &st);
		if (st.compressed == before)
			break;
	}
	auditlog__free(l);
	return r;
}

void test_auditlog_append_verify(void)
{
	char dir[256], path[300], head[65];
	struct auditlog_verify v;
	struct stat st;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_small_log(dir, head), 0);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);
	ASSERT_NULL(v.kind);
	ASSERT_EQ_U64(v.records, 11);
	ASSERT_EQ_U64(v.segments, 1);
	ASSERT_EQ_INT(auditlog_verify_head(dir, head, &v), 0);
	ASSERT_EQ_INT(stat(dir, &st), 0);
	ASSERT_EQ_INT(st.st_mode & 0777, 0700);
	seg_path(dir, 1, false, path, sizeof(path));
	ASSERT_EQ_INT(stat(path, &st), 0);
	ASSERT_EQ_INT(st.st_mode & 0777, 0600);
	cleanup(dir);
}

void test_auditlog_rejects_bad_objects(void)
{
	char dir[256];
	struct auditlog_opts o = { .dir = dir };
	struct auditlog *l;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
	ASSERT_EQ_INT(auditlog__append(l, "[1]", 3, false), -EINVAL);
	ASSERT_EQ_INT(auditlog__append(l, "{\"a\":\n1}", 8, false), -EINVAL);
	ASSERT_EQ_INT(auditlog__append(l, "{", 1, false), -EINVAL);
	ASSERT_EQ_INT(auditlog__append(l, "{}", 2, true), 0);
	auditlog__free(l);
	cleanup(dir);
}

struct collect {
	int next_n;
	int bad;
	int losses;
	uint64_t last_seq;
	bool have_seq;
};

static int collect_fn(const char *json, size_t len, void *ctx)
{
	struct collect *c = ctx;
	char buf[512];
	const char *p;
	int n;

	snprintf(buf, sizeof(buf), "%.*s", (int)len, json);
	p = strstr(buf, "\"seq\":");
	if (!p)
		c->bad++;
	else {
		uint64_t seq = strtoull(p + 6, NULL, 10);

		if (c->have_seq && seq != c->last_seq + 1)
			c->bad++;
		c->last_seq = seq;
		c->have_seq = true;
	}
	if (!strncmp(buf, "{\"type\":\"loss\"", 14))
		c->losses++;
	if (sscanf(buf, "{\"type\":\"exec\",\"n\":%d", &n) == 1) {
		if (n != c->next_n)
			c->bad++;
		c->next_n = n + 1;
	}
	return 0;
}

void test_auditlog_rotation_gzip_each(void)
{
	char dir[256];
	struct auditlog_verify v;
	struct collect c = { 0 };

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_rotated_log(dir, true, 60), 0);
	ASSERT_TRUE(count_files(dir, ".jsonl.gz") >= 3);
	ASSERT_EQ_INT(count_files(dir, ".jsonl"), 1);
	ASSERT_EQ_INT(count_files(dir, ".tmp"), 0);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);
	ASSERT_TRUE(v.segments >= 4);
	ASSERT_EQ_INT(auditlog_each(dir, collect_fn, &c), 0);
	ASSERT_EQ_INT(c.bad, 0);
	ASSERT_EQ_INT(c.next_n, 60);
	ASSERT_EQ_U64(c.last_seq + 1, v.records);
	cleanup(dir);
}

void test_auditlog_reopen_continues_chain(void)
{
	char dir[256];
	struct auditlog_opts o = { .dir = dir, .segment_bytes = 600 };
	struct auditlog_verify v;
	struct collect c = { 0 };
	struct auditlog *l;
	int i;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
		ASSERT_EQ_INT(append_n(l, i * 10, i * 10 + 10), 0);
		auditlog__tick(l, now_ms());
		auditlog__free(l);
	}
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);
	ASSERT_EQ_INT(auditlog_each(dir, collect_fn, &c), 0);
	ASSERT_EQ_INT(c.bad, 0);
	ASSERT_EQ_INT(c.next_n, 40);
	cleanup(dir);
}

static void check_torn(const char *garbage)
{
	char dir[256], path[300];
	struct auditlog_opts o = { .dir = dir };
	struct auditlog_verify v;
	struct auditlog_stats st;
	struct collect c = { 0 };
	struct auditlog *l;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_small_log(dir, NULL), 0);
	seg_path(dir, 1, false, path, sizeof(path));
	ASSERT_EQ_INT(append_raw(path, garbage), 0);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), -EBADMSG);
	ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
	auditlog__stats(l, &st);
	ASSERT_EQ_U64(st.torn_cut, 1);
	ASSERT_EQ_INT(append_n(l, 10, 15), 0);
	auditlog__free(l);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);
	ASSERT_EQ_U64(v.records, 16);
	ASSERT_EQ_INT(auditlog_each(dir, collect_fn, &c), 0);
	ASSERT_EQ_INT(c.bad, 0);
	ASSERT_EQ_INT(c.next_n, 15);
	cleanup(dir);
}

void test_auditlog_torn_garbage_cut(void)
{
	check_torn("xyz garbage");
}

void test_auditlog_torn_half_record_cut(void)
{
	check_torn("{\"type\":\"exec\",\"n\":10,\"seq\":11,\"chain\":\"00ab");
}

/* A complete last line whose chain is wrong: a write torn inside the line
 * that happened to end in a newline.  Cut too. */
void test_auditlog_torn_bad_last_line_cut(void)
{
	check_torn("{\"type\":\"exec\",\"n\":10,\"seq\":11,\"chain\":"
		   "\"0000000000000000000000000000000000000000000000000000000000000000\"}\n");
}

/* A bad record in the middle is evidence: reopen must not cut it. */
void test_auditlog_reopen_keeps_middle_damage(void)
{
	char dir[256], path[300];
	struct auditlog_opts o = { .dir = dir };
	struct auditlog_verify v;
	struct auditlog_stats st;
	struct auditlog *l;
	struct lines ls;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_small_log(dir, NULL), 0);
	seg_path(dir, 1, false, path, sizeof(path));
	ASSERT_EQ_INT(lines__load(path, &ls), 0);
	strstr(ls.line[4], "\"n\":3")[4] = '8';
	ASSERT_EQ_INT(lines__save(path, &ls), 0);
	free(ls.buf);
	ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
	auditlog__stats(l, &st);
	ASSERT_EQ_U64(st.torn_cut, 0);
	ASSERT_EQ_INT(append_n(l, 10, 12), 0);
	auditlog__free(l);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), -EBADMSG);
	ASSERT_EQ_STR(v.kind, "modified");
	ASSERT_EQ_U64(v.bad_segment, 1);
	ASSERT_EQ_U64(v.bad_record, 5);
	ASSERT_EQ_INT(count_files(dir, ".jsonl"), 2);
	cleanup(dir);
}

/* Edit the lines of segment 1 of a small log, verify, expect kind/line. */
enum edit { EDIT_BYTE, EDIT_DELETE, EDIT_SWAP, EDIT_CUT_MID };

static void check_tamper(enum edit e, const char *kind, uint64_t line)
{
	char dir[256], path[300];
	struct auditlog_verify v;
	struct lines ls;
	char *tmp;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_small_log(dir, NULL), 0);
	seg_path(dir, 1, false, path, sizeof(path));
	ASSERT_EQ_INT(lines__load(path, &ls), 0);
	ASSERT_EQ_U64(ls.n, 11);
	switch (e) {
	case EDIT_BYTE:
		strstr(ls.line[5], "exec")[0] = 'E';
		break;
	case EDIT_DELETE:
		ls.line[5] = NULL;
		break;
	case EDIT_SWAP:
		tmp = ls.line[5];
		ls.line[5] = ls.line[6];
		ls.line[6] = tmp;
		break;
	case EDIT_CUT_MID:
		ls.line[10][20] = '\0';
		break;
	}
	ASSERT_EQ_INT(lines__save(path, &ls), 0);
	if (e == EDIT_CUT_MID)	/* drop the newline lines__save added */
		ASSERT_EQ_INT(truncate(path, (off_t)(ls.line[10] - ls.buf) + 20), 0);
	free(ls.buf);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), -EBADMSG);
	ASSERT_EQ_STR(v.kind, kind);
	ASSERT_EQ_U64(v.bad_segment, 1);
	ASSERT_EQ_U64(v.bad_record, line);
	ASSERT_TRUE(v.problem[0] != '\0');
	cleanup(dir);
}

void test_auditlog_verify_detects_edit(void)
{
	check_tamper(EDIT_BYTE, "modified", 6);
}

void test_auditlog_verify_detects_deletion(void)
{
	check_tamper(EDIT_DELETE, "removed", 6);
}

void test_auditlog_verify_detects_reorder(void)
{
	check_tamper(EDIT_SWAP, "reordered", 6);
}

void test_auditlog_verify_detects_cut_mid_record(void)
{
	check_tamper(EDIT_CUT_MID, "truncated", 11);
}

/* Whole records cut from the end of the newest segment: only a head
 * exported earlier shows it. */
void test_auditlog_verify_head_detects_tail_truncation(void)
{
	char dir[256], path[300], head[65];
	struct auditlog_verify v;
	struct lines ls;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_small_log(dir, head), 0);
	seg_path(dir, 1, false, path, sizeof(path));
	ASSERT_EQ_INT(lines__load(path, &ls), 0);
	ls.line[9] = ls.line[10] = NULL;
	ASSERT_EQ_INT(lines__save(path, &ls), 0);
	free(ls.buf);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);	/* documented limit */
	ASSERT_EQ_INT(auditlog_verify_head(dir, head, &v), -EBADMSG);
	ASSERT_EQ_STR(v.kind, "head-missing");
	cleanup(dir);
}

/* Records cut from the end of a segment that has a successor. */
void test_auditlog_verify_detects_segment_tail_truncation(void)
{
	char dir[256], path[300];
	struct auditlog_verify v;
	struct lines ls;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_rotated_log(dir, false, 40), 0);
	seg_path(dir, 2, false, path, sizeof(path));
	ASSERT_EQ_INT(lines__load(path, &ls), 0);
	ASSERT_TRUE(ls.n > 2);
	ls.line[ls.n - 1] = NULL;
	ASSERT_EQ_INT(lines__save(path, &ls), 0);
	free(ls.buf);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), -EBADMSG);
	ASSERT_EQ_STR(v.kind, "truncated");
	ASSERT_EQ_U64(v.bad_segment, 2);
	cleanup(dir);
}

void test_auditlog_verify_detects_deleted_segment(void)
{
	char dir[256], path[300];
	struct auditlog_verify v;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_rotated_log(dir, true, 60), 0);
	seg_path(dir, 2, true, path, sizeof(path));
	ASSERT_EQ_INT(unlink(path), 0);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), -EBADMSG);
	ASSERT_EQ_STR(v.kind, "segment-missing");
	ASSERT_EQ_U64(v.bad_segment, 3);
	/* The oldest one, with no retention record to explain it. */
	seg_path(dir, 1, true, path, sizeof(path));
	ASSERT_EQ_INT(unlink(path), 0);
	seg_path(dir, 3, true, path, sizeof(path));
	ASSERT_EQ_INT(unlink(path), 0);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), -EBADMSG);
	ASSERT_EQ_STR(v.kind, "segment-missing");
	cleanup(dir);
}

void test_auditlog_verify_detects_swapped_segments(void)
{
	char dir[256], a[300], b[300], t[300];
	struct auditlog_verify v;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_rotated_log(dir, true, 60), 0);
	seg_path(dir, 2, true, a, sizeof(a));
	seg_path(dir, 3, true, b, sizeof(b));
	snprintf(t, sizeof(t), "%s/x", dir);
	ASSERT_EQ_INT(rename(a, t), 0);
	ASSERT_EQ_INT(rename(b, a), 0);
	ASSERT_EQ_INT(rename(t, b), 0);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), -EBADMSG);
	ASSERT_EQ_STR(v.kind, "segment-swapped");
	ASSERT_EQ_U64(v.bad_segment, 2);
	cleanup(dir);
}

/* A corrupted .gz is reported, not crashed on. */
void test_auditlog_verify_detects_cut_gzip(void)
{
	char dir[256], path[300];
	struct auditlog_verify v;
	struct stat st;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_rotated_log(dir, true, 60), 0);
	seg_path(dir, 2, true, path, sizeof(path));
	ASSERT_EQ_INT(stat(path, &st), 0);
	ASSERT_EQ_INT(truncate(path, st.st_size - 12), 0);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), -EBADMSG);
	ASSERT_EQ_U64(v.bad_segment, 2);
	cleanup(dir);
}

void test_auditlog_retention(void)
{
	char dir[256], path[300];
	struct auditlog_opts o = { .dir = dir, .segment_bytes = 600, .retain_bytes = 1500 };
	struct auditlog_verify v;
	struct auditlog_stats st;
	struct auditlog *l;
	int i;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ_INT(append_n(l, i * 20, i * 20 + 20), 0);
		auditlog__tick(l, now_ms());
	}
	auditlog__stats(l, &st);
	auditlog__free(l);
	ASSERT_TRUE(st.deleted > 0);
	seg_path(dir, 1, true, path, sizeof(path));
	ASSERT_TRUE(access(path, F_OK) != 0);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);
	ASSERT_TRUE(v.retention_removed > 0);
	ASSERT_TRUE(strstr(v.problem, "retention") != NULL);

	/* By age: everything closed is "old" a year from now. */
	ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
	ASSERT_EQ_INT(append_n(l, 200, 240), 0);
	auditlog__tick(l, now_ms() + 365ull * 24 * 3600 * 1000);
	auditlog__free(l);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);
	ASSERT_EQ_INT(count_files(dir, ".gz") + count_files(dir, ".jsonl"), 1);
	cleanup(dir);
}

void test_auditlog_rotation_by_age_and_flush_by_tick(void)
{
	char dir[256], path[300];
	struct auditlog_opts o = { .dir = dir, .segment_age_s = 10, .flush_ms = 50 };
	struct auditlog_verify v;
	struct auditlog *l;
	struct stat st1, st2;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
	seg_path(dir, 1, false, path, sizeof(path));
	ASSERT_EQ_INT(stat(path, &st1), 0);
	ASSERT_EQ_INT(auditlog__append(l, "{\"a\":1}", 7, false), 0);
	auditlog__tick(l, now_ms());	/* too early: still batched */
	ASSERT_EQ_INT(stat(path, &st2), 0);
	ASSERT_EQ_INT(st2.st_size, st1.st_size);
	auditlog__tick(l, now_ms() + 100);
	ASSERT_EQ_INT(stat(path, &st2), 0);
	ASSERT_TRUE(st2.st_size > st1.st_size);
	auditlog__tick(l, now_ms() + 11000);
	auditlog__free(l);
	ASSERT_EQ_INT(count_files(dir, ".jsonl.gz"), 1);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);
	ASSERT_EQ_U64(v.segments, 2);
	cleanup(dir);
}

void test_auditlog_enospc(void)
{
	char dir[256];
	struct auditlog_opts o = { .dir = dir };
	struct auditlog_verify v;
	struct auditlog_stats st;
	struct collect c = { 0 };
	struct auditlog *l;
	static const char *a = "{\"type\":\"exec\",\"n\":0}", *b = "{\"type\":\"exec\",\"n\":1}",
		*x = "{\"type\":\"exec\",\"n\":99}", *e = "{\"type\":\"exec\",\"n\":2}";

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
	auditlog__inject_write_errors(l, ENOSPC, 3);
	ASSERT_EQ_INT(auditlog__append(l, a, strlen(a), false), 0);
	/* The verdict's fsync fails: reported, not blocking; kept queued. */
	ASSERT_EQ_INT(auditlog__append(l, b, strlen(b), true), -ENOSPC);
	ASSERT_EQ_INT(auditlog__append(l, x, strlen(x), false), -ENOSPC);
	ASSERT_EQ_INT(auditlog__append(l, x, strlen(x), true), -ENOSPC);
	auditlog__stats(l, &st);
	ASSERT_EQ_U64(st.enospc_dropped, 2);
	ASSERT_EQ_U64(st.write_errors, 3);
	/* Space is back. */
	ASSERT_EQ_INT(auditlog__append(l, e, strlen(e), true), 0);
	auditlog__free(l);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);
	ASSERT_EQ_INT(auditlog_each(dir, collect_fn, &c), 0);
	ASSERT_EQ_INT(c.bad, 0);
	ASSERT_EQ_INT(c.next_n, 3);
	ASSERT_EQ_INT(c.losses, 1);

	/* EIO counts the same way, and tick alone recovers. */
	ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
	auditlog__inject_write_errors(l, EIO, 1);
	ASSERT_EQ_INT(auditlog__append(l, x, strlen(x), true), -EIO);
	auditlog__tick(l, now_ms() + 1000);
	ASSERT_EQ_INT(auditlog__append(l, x, strlen(x), true), 0);
	auditlog__free(l);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);
	cleanup(dir);
}

void test_auditlog_symlinked_segment_refused(void)
{
	char dir[256], path[300];
	struct auditlog_opts o = { .dir = dir };
	struct auditlog *l;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	ASSERT_EQ_INT(make_small_log(dir, NULL), 0);
	seg_path(dir, 1, false, path, sizeof(path));
	ASSERT_EQ_INT(unlink(path), 0);
	ASSERT_EQ_INT(symlink("/etc/passwd", path), 0);
	ASSERT_EQ_INT(auditlog__open(&o, &l), -ELOOP);
	cleanup(dir);
}

/* The collector sleeps until the log has work: a batch to flush within
 * flush_ms, nothing sooner than housekeeping once flushed. */
void test_auditlog_timeout_ms(void)
{
	struct auditlog_opts o = { .flush_ms = 200, .segment_age_s = 3600 };
	struct auditlog *l;
	char dir[256];
	uint64_t t;
	int ms;

	ASSERT_EQ_INT(auditlog__timeout_ms(NULL, 0), -1);
	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	o.dir = dir;
	ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
	t = now_ms();
	auditlog__tick(l, t);
	ASSERT_EQ_INT(auditlog__append(l, "{\"a\":1}", 7, false), 0);
	ms = auditlog__timeout_ms(l, now_ms());
	ASSERT_TRUE(ms >= 0 && ms <= 200);
	ASSERT_EQ_INT(auditlog__timeout_ms(l, t + 1000), 0);
	auditlog__tick(l, t + 1000);
	/* Flushed: next is housekeeping (a minute) or the age rotation. */
	ms = auditlog__timeout_ms(l, t + 1000);
	ASSERT_TRUE(ms > 1000);
	auditlog__free(l);
	cleanup(dir);
}

/*
 * gzip_thread (the collector's setting): tick starts a thread and returns;
 * appends go on while it runs; a later tick collects it, takes the next
 * segment, and only then applies retention.  The log stays one valid
 * chain, every closed segment ends up gzipped, no temp file is left, and
 * freeing the log mid-compression waits for it.
 */
void test_auditlog_gzip_thread(void)
{
	char dir[256];
	struct auditlog_opts o = { .segment_bytes = 600, .retain_bytes = 1000, .gzip_thread = true };
	struct auditlog_verify v;
	struct auditlog_stats st;
	struct collect c = { 0 };
	struct auditlog *l;
	int i;

	ASSERT_NOT_NULL(tmp_logdir(dir, sizeof(dir)));
	o.dir = dir;
	ASSERT_EQ_INT(auditlog__open(&o, &l), 0);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ_INT(append_n(l, i * 20, i * 20 + 20), 0);
		auditlog__tick(l, now_ms());
	}
	/* Bounded: until every closed segment is gzipped and retention has
	 * run after the last one, at most 10 s. */
	for (i = 0; i < 2000; i++) {
		struct timespec ts = { 0, 5000000 };

		auditlog__tick(l, now_ms());
		auditlog__stats(l, &st);
		if (count_files(dir, ".jsonl") == 1 && st.deleted)
			break;
		nanosleep(&ts, NULL);
	}
	ASSERT_EQ_INT(count_files(dir, ".jsonl"), 1);
	ASSERT_TRUE(st.compressed >= 3);
	ASSERT_TRUE(st.deleted > 0);
	ASSERT_EQ_U64(st.write_errors, 0);
	/* One more rotation, then free while its gzip may still run. */
	ASSERT_EQ_INT(append_n(l, 200, 230), 0);
	auditlog__tick(l, now_ms());
	auditlog__free(l);
	ASSERT_EQ_INT(count_files(dir, ".tmp"), 0);
	ASSERT_EQ_INT(auditlog_verify(dir, &v), 0);
	ASSERT_TRUE(v.retention_removed > 0);
	ASSERT_EQ_INT(auditlog_each(dir, collect_fn, &c), 0);
	/* One jump, where retention cut the oldest records; none after. */
	ASSERT_EQ_INT(c.bad, 1);
	ASSERT_EQ_INT(c.next_n, 230);
	cleanup(dir);
}
