// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: ring buffer records as the collector decodes them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "decode.h"

static void sink(const char *arg, size_t n, void *ctx)
{
	volatile size_t *total = ctx;

	if (n)
		*total += (unsigned char)arg[n - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct aw_event_hdr *h;
	struct dexec d;
	struct dfile f;
	volatile size_t total = 0;
	/* The ring buffer hands out 8-byte aligned records. */
	void *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (decode_hdr(buf, size, &h) == 0) {
		switch (h->type) {
		case AW_EV_EXEC:
			if (decode_exec(buf, size, &d) == 0) {
				argv_each(d.argv.s, d.argv.len, sink, (void *)&total);
				if (d.cwd.s && d.cwd.len)
					total += (unsigned char)d.cwd.s[d.cwd.len - 1];
				if (d.exe.s && d.exe.len)
					total += (unsigned char)d.exe.s[d.exe.len - 1];
			}
			break;
		case AW_EV_FILE:
			if (decode_file(buf, size, &f) == 0 && f.dir2.s && f.dir2.len)
				total += (unsigned char)f.dir2.s[f.dir2.len - 1];
			break;
		default:
			decode_fixed(buf, size, h->type);
		}
	}
	free(buf);
	return 0;
}
