// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the JSON reader on arbitrary bytes, and the writer/reader
 * round trip: any bytes written as a string read back identical. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "jsonr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jdoc *d = jsonr__parse((const char *)data, size, NULL, 0);
	struct jsonw *w;
	const char *s, *back;
	size_t len, blen;

	jsonr__free(d);
	w = jsonw__new();
	if (!w)
		return 0;
	jsonw__arr_begin(w);
	jsonw__strn(w, (const char *)data, size);
	jsonw__arr_end(w);
	s = jsonw__data(w, &len);
	d = jsonr__parse(s, len, NULL, 0);
	if (!jsonw__error(w)) {
		if (!d)
			abort();
		back = jnode__str(jsonr__root(d)->child, &blen);
		if (!back || blen != size || memcmp(back, data, size))
			abort();
	}
	jsonr__free(d);
	jsonw__free(w);
	return 0;
}
