// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "decode.h"

int decode_hdr(const void *data, size_t size, const struct aw_event_hdr **hdr)
{
	const struct aw_event_hdr *h = data;

	if (!data || size < sizeof(*h))
		return -EINVAL;
	if (h->size > size || h->size < sizeof(*h))
		return -EINVAL;
	if (h->type == 0 || h->type >= AW_EV_TYPE_MAX)
		return -EINVAL;
	*hdr = h;
	return 0;
}

/* Take the next len bytes of [*p, end) as a string; strip one trailing NUL. */
static int take(const char **p, const char *end, size_t len, struct dstr *out)
{
	out->s = NULL;
	out->len = 0;
	if (len == 0)
		return 0;
	if ((size_t)(end - *p) < len)
		return -EINVAL;
	out->s = *p;
	out->len = strnlen(*p, len);
	*p += len;
	return 0;
}

int decode_exec(const void *data, size_t size, struct dexec *out)
{
	const struct aw_exec_event *ev = data;
	const char *p, *end;

	memset(out, 0, sizeof(*out));
	if (size < sizeof(*ev) || ev->hdr.type != AW_EV_EXEC || ev->hdr.size > size ||
	    ev->hdr.size < sizeof(*ev))
		return -EINVAL;
	if (ev->argv_len > AW_ARGV_MAX || ev->filename_len > AW_PATH_MAX ||
	    ev->exe_len > AW_PATH_MAX || ev->cwd_len > AW_PATH_MAX)
		return -EINVAL;
	p = ev->data;
	end = (const char *)data + ev->hdr.size;
	out->ev = ev;
	/* argv keeps its inner NULs: its length is the byte count, not strnlen. */
	if ((size_t)(end - p) < ev->argv_len)
		return -EINVAL;
	out->argv.s = ev->argv_len ? p : NULL;
	out->argv.len = ev->argv_len;
	p += ev->argv_len;
	if (take(&p, end, ev->filename_len, &out->filename) ||
	    take(&p, end, ev->exe_len, &out->exe) ||
	    take(&p, end, ev->cwd_len, &out->cwd))
		return -EINVAL;
	return 0;
}

int decode_file(const void *data, size_t size, struct dfile *out)
{
	const struct aw_file_event *ev = data;
	const char *p, *end;

	memset(out, 0, sizeof(*out));
	if (size < sizeof(*ev) || ev->hdr.type != AW_EV_FILE || ev->hdr.size > size ||
	    ev->hdr.size < sizeof(*ev))
		return -EINVAL;
	if (ev->op == 0 || ev->op >= AW_FILE_OP_MAX)
		return -EINVAL;
	p = ev->data;
	end = (const char *)data + ev->hdr.size;
	out->ev = ev;
	if (take(&p, end, ev->path_len, &out->path) || take(&p, end, ev->dir_len, &out->dir) ||
	    take(&p, end, ev->path2_len, &out->path2) || take(&p, end, ev->dir2_len, &out->dir2))
		return -EINVAL;
	return 0;
}

int decode_fixed(const void *data, size_t size, uint32_t type)
{
	const struct aw_event_hdr *h = data;
	size_t want;

	switch (type) {
	case AW_EV_FORK: want = sizeof(struct aw_fork_event); break;
	case AW_EV_EXIT: want = sizeof(struct aw_exit_event); break;
	case AW_EV_NET: want = sizeof(struct aw_net_event); break;
	case AW_EV_TAMPER: want = sizeof(struct aw_tamper_event); break;
	default: return -EINVAL;
	}
	if (size < want || h->type != type || h->size < want || h->size > size)
		return -EINVAL;
	return 0;
}

void argv_each(const char *blob, size_t len, void (*fn)(const char *arg, size_t n, void *ctx),
	       void *ctx)
{
	size_t i = 0;

	while (i < len) {
		size_t n = strnlen(blob + i, len - i);

		fn(blob + i, n, ctx);
		i += n + 1;
	}
}

const char *file_op_name(uint32_t op)
{
	static const char *const names[AW_FILE_OP_MAX] = {
		[AW_FILE_UNLINK] = "unlink",
		[AW_FILE_UNLINKAT] = "unlinkat",
		[AW_FILE_RMDIR] = "rmdir",
		[AW_FILE_RENAME] = "rename",
		[AW_FILE_RENAMEAT] = "renameat",
		[AW_FILE_RENAMEAT2] = "renameat2",
		[AW_FILE_TRUNCATE] = "truncate",
		[AW_FILE_OPEN_TRUNC] = "open_trunc",
	};

	return op < AW_FILE_OP_MAX && names[op] ? names[op] : "unknown";
}

const char *event_type_name(uint32_t type)
{
	switch (type) {
	case AW_EV_EXEC: return "exec";
	case AW_EV_FORK: return "fork";
	case AW_EV_EXIT: return "exit";
	case AW_EV_NET: return "net";
	case AW_EV_FILE: return "file";
	case AW_EV_TAMPER: return "tamper";
	default: return "unknown";
	}
}
