// SPDX-License-Identifier: GPL-2.0
/* Ring buffer record decoding: every length is checked against the record. */
#include <errno.h>
#include "test.h"
#include "decode.h"
#include "util.h"

/* A record buffer: the event struct with room for data[] after it. */
struct exec_rec {
	_Alignas(8) char raw[sizeof(struct aw_exec_event) + 256];
};

#define EV(r) ((struct aw_exec_event *)(r)->raw)

static size_t build_exec(struct exec_rec *r, const char *argv, size_t argv_len,
			 const char *fname, const char *exe, const char *cwd)
{
	size_t off = 0;

	struct aw_exec_event *ev = EV(r);

	memset(r, 0, sizeof(*r));
	ev->hdr.type = AW_EV_EXEC;
	memcpy(ev->data + off, argv, argv_len);
	off += argv_len;
	ev->argv_len = argv_len;
	ev->filename_len = strlen(fname) + 1;
	memcpy(ev->data + off, fname, ev->filename_len);
	off += ev->filename_len;
	ev->exe_len = strlen(exe) + 1;
	memcpy(ev->data + off, exe, ev->exe_len);
	off += ev->exe_len;
	ev->cwd_len = strlen(cwd) + 1;
	memcpy(ev->data + off, cwd, ev->cwd_len);
	off += ev->cwd_len;
	ev->hdr.size = sizeof(*ev) + off;
	return ev->hdr.size;
}

void test_decode_exec_fields(void)
{
	struct exec_rec r;
	struct dexec d;
	size_t n = build_exec(&r, "rm\0-rf\0/tmp/x\0", 14, "/bin/rm", "/usr/bin/rm", "/home/a");

	ASSERT_EQ_INT(decode_exec(&r, n, &d), 0);
	ASSERT_EQ_U64(d.argv.len, 14);
	ASSERT_EQ_MEM(d.argv.s, "rm\0-rf\0/tmp/x\0", 14);
	ASSERT_EQ_U64(d.filename.len, 7);
	ASSERT_EQ_MEM(d.filename.s, "/bin/rm", 7);
	ASSERT_EQ_U64(d.exe.len, 11);
	ASSERT_EQ_MEM(d.exe.s, "/usr/bin/rm", 11);
	ASSERT_EQ_U64(d.cwd.len, 7);
	ASSERT_EQ_MEM(d.cwd.s, "/home/a", 7);
}

void test_decode_exec_rejects_overlong_lengths(void)
{
	struct exec_rec r;
	struct dexec d;
	size_t n = build_exec(&r, "a\0", 2, "/a", "/a", "/");

	EV(&r)->cwd_len += 1; /* claims one byte past the record */
	ASSERT_EQ_INT(decode_exec(&r, n, &d), -EINVAL);
	build_exec(&r, "a\0", 2, "/a", "/a", "/");
	EV(&r)->argv_len = AW_ARGV_MAX + 1;
	ASSERT_EQ_INT(decode_exec(&r, n, &d), -EINVAL);
	build_exec(&r, "a\0", 2, "/a", "/a", "/");
	EV(&r)->hdr.size = n + 1; /* header says more than we were given */
	ASSERT_EQ_INT(decode_exec(&r, n, &d), -EINVAL);
	ASSERT_EQ_INT(decode_exec(&r, sizeof(struct aw_exec_event) - 1, &d), -EINVAL);
}

void test_decode_exec_unterminated_strings_stay_in_bounds(void)
{
	struct exec_rec r;
	struct dexec d;
	size_t n = build_exec(&r, "x", 1, "/f", "/e", "/c");

	/* Overwrite the last NUL, and put a byte after the record: cwd now
	 * runs to the record end and stops there, not at the next NUL. */
	r.raw[n - 1] = 'Z';
	r.raw[n] = 'Y';
	ASSERT_EQ_INT(decode_exec(&r, n, &d), 0);
	ASSERT_EQ_U64(d.cwd.len, 3);
	ASSERT_EQ_MEM(d.cwd.s, "/cZ", 3);
}

void test_decode_hdr_types_and_sizes(void)
{
	struct aw_exit_event ex = { .hdr = { .type = AW_EV_EXIT, .size = sizeof(ex) } };
	const struct aw_event_hdr *h;

	ASSERT_EQ_INT(decode_hdr(&ex, sizeof(ex), &h), 0);
	ASSERT_EQ_INT(decode_fixed(&ex, sizeof(ex), AW_EV_EXIT), 0);
	ASSERT_EQ_INT(decode_fixed(&ex, sizeof(ex) - 1, AW_EV_EXIT), -EINVAL);
	ASSERT_EQ_INT(decode_fixed(&ex, sizeof(ex), AW_EV_NET), -EINVAL);
	ex.hdr.type = AW_EV_TYPE_MAX;
	ASSERT_EQ_INT(decode_hdr(&ex, sizeof(ex), &h), -EINVAL);
	ex.hdr.type = 0;
	ASSERT_EQ_INT(decode_hdr(&ex, sizeof(ex), &h), -EINVAL);
	ex.hdr.type = AW_EV_EXIT;
	ex.hdr.size = 8;
	ASSERT_EQ_INT(decode_hdr(&ex, sizeof(ex), &h), -EINVAL);
	ASSERT_EQ_INT(decode_hdr(&ex, 4, &h), -EINVAL);
}

void test_decode_file_paths(void)
{
	_Alignas(8) char raw[sizeof(struct aw_file_event) + 64];
	struct aw_file_event *ev = (struct aw_file_event *)raw;
	struct dfile d;

	memset(raw, 0, sizeof(raw));
	ev->hdr.type = AW_EV_FILE;
	ev->op = AW_FILE_RENAMEAT;
	memcpy(ev->data, "a\0/d\0b\0", 7);
	ev->path_len = 2;
	ev->dir_len = 3;
	ev->path2_len = 2;
	ev->hdr.size = sizeof(*ev) + 7;
	ASSERT_EQ_INT(decode_file(raw, sizeof(raw), &d), 0);
	ASSERT_EQ_MEM(d.path.s, "a", 1);
	ASSERT_EQ_MEM(d.dir.s, "/d", 2);
	ASSERT_EQ_MEM(d.path2.s, "b", 1);
	ASSERT_NULL(d.dir2.s);
	ASSERT_EQ_STR(file_op_name(ev->op), "renameat");
	ev->op = AW_FILE_OP_MAX;
	ASSERT_EQ_INT(decode_file(raw, sizeof(raw), &d), -EINVAL);
	ev->op = AW_FILE_UNLINK;
	ev->dir2_len = 60;
	ASSERT_EQ_INT(decode_file(raw, sizeof(raw), &d), -EINVAL);
}

struct collect {
	char out[256];
	size_t n;
	int count;
};

static void collect_arg(const char *arg, size_t n, void *ctx)
{
	struct collect *c = ctx;

	memcpy(c->out + c->n, arg, n);
	c->n += n;
	c->out[c->n++] = '|';
	c->count++;
}

void test_argv_each_handles_truncated_tail(void)
{
	struct collect c = {0};

	argv_each("ls\0-l\0/tm", 9, collect_arg, &c);
	ASSERT_EQ_INT(c.count, 3);
	ASSERT_EQ_MEM(c.out, "ls|-l|/tm|", 10);
	memset(&c, 0, sizeof(c));
	argv_each("a\0\0b\0", 5, collect_arg, &c); /* an empty argument is kept */
	ASSERT_EQ_INT(c.count, 3);
	ASSERT_EQ_MEM(c.out, "a||b|", 5);
}

void test_util_copy_str_and_parse(void)
{
	char b[4];
	uint64_t v;

	ASSERT_TRUE(copy_str(b, sizeof(b), "abc"));
	ASSERT_FALSE(copy_str(b, sizeof(b), "abcd"));
	ASSERT_EQ_STR(b, "abc");
	ASSERT_EQ_INT(parse_u64("42", &v), 0);
	ASSERT_EQ_U64(v, 42);
	ASSERT_EQ_INT(parse_u64("-1", &v), -EINVAL);
	ASSERT_EQ_INT(parse_u64("4x", &v), -EINVAL);
	ASSERT_EQ_INT(parse_u64("", &v), -EINVAL);
	ASSERT_EQ_INT(parse_u64("99999999999999999999999", &v), -EINVAL);
}

void test_util_rfc3339(void)
{
	char b[48];

	format_rfc3339_ns(1795968124123456789ull, b, sizeof(b));
	ASSERT_EQ_STR(b, "2026-11-29T16:02:04.123456789Z");
	format_rfc3339_ns(5, b, sizeof(b));
	ASSERT_EQ_STR(b, "1970-01-01T00:00:00.000000005Z");
	/* The date part is cached per second: the same second again, the
	 * next one, and back. */
	format_rfc3339_ns(999999999ull, b, sizeof(b));
	ASSERT_EQ_STR(b, "1970-01-01T00:00:00.999999999Z");
	format_rfc3339_ns(1000000000ull, b, sizeof(b));
	ASSERT_EQ_STR(b, "1970-01-01T00:00:01.000000000Z");
	format_rfc3339_ns(1795968124123456789ull, b, sizeof(b));
	ASSERT_EQ_STR(b, "2026-11-29T16:02:04.123456789Z");
	/* A short buffer is cut and terminated, like snprintf. */
	format_rfc3339_ns(5, b, 11);
	ASSERT_EQ_STR(b, "1970-01-01");
	b[0] = 'x';
	format_rfc3339_ns(5, b, 1);
	ASSERT_EQ_STR(b, "");
}
