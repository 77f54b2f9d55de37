// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the audit log reader.  The input becomes a segment file of a
 * log directory, which verify and each then read: a damaged or hostile log
 * must give a verdict, never a crash or an unbounded read.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "auditlog.h"

static int count_rec(const char *json, size_t len, void *ctx)
{
	(void)json;
	*(size_t *)ctx += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/aw-fuzz-log-XXXXXX", path[128];
	struct auditlog_verify v;
	size_t total = 0;
	int fd;

	if (!mkdtemp(dir))
		return 0;
	snprintf(path, sizeof(path), "%s/seg-%020d.jsonl", dir, 1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, data, size) == (ssize_t)size) {
			memset(&v, 0, sizeof(v));
			auditlog_verify(dir, &v);
			auditlog_each(dir, count_rec, &total);
		}
		close(fd);
	}
	unlink(path);
	rmdir(dir);
	return 0;
}
