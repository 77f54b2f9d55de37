/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoding of ring buffer records.  The kernel is trusted to follow
 * include/agentwatch.h, but the decoder still checks every length against
 * the record size: a mismatch (an old BPF object, a bug) must show up as a
 * counted decode error, never as a read past the record.
 */
#ifndef AW_DECODE_H
#define AW_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include "agentwatch.h"

/* A string inside a record: not necessarily NUL-terminated in the record,
 * len excludes any NUL.  s == NULL when absent. */
struct dstr {
	const char *s;
	size_t len;
};

struct dexec {
	const struct aw_exec_event *ev;
	struct dstr argv;       /* NUL-separated; may end without a NUL if truncated */
	struct dstr filename, exe, cwd;
};

struct dfile {
	const struct aw_file_event *ev;
	struct dstr path, dir, path2, dir2;
};

/* 0 or -EINVAL (malformed).  type is read from the header. */
int decode_hdr(const void *data, size_t size, const struct aw_event_hdr **hdr);
int decode_exec(const void *data, size_t size, struct dexec *out);
int decode_file(const void *data, size_t size, struct dfile *out);
int decode_fixed(const void *data, size_t size, uint32_t type);  /* fork, exit, net */

/* Split a NUL-separated argv blob: calls fn for each argument. */
void argv_each(const char *blob, size_t len, void (*fn)(const char *arg, size_t n, void *ctx),
	       void *ctx);

const char *file_op_name(uint32_t op);
const char *event_type_name(uint32_t type);

#endif
