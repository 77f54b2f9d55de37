// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the JSON string encoder and the terminal escaper on arbitrary
 * bytes.  Checks, not just crashes: the output has no raw control byte, and
 * escaping for the terminal never reports a length it did not write.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonw *w = jsonw__new();
	char small[64];
	const char *out;
	size_t len, i, need;

	if (!w)
		return 0;
	jsonw__obj_begin(w);
	jsonw__key(w, "argv");
	jsonw__arr_begin(w);
	jsonw__strn(w, (const char *)data, size);
	jsonw__arr_end(w);
	jsonw__obj_end(w);
	out = jsonw__data(w, &len);
	if (!jsonw__error(w))
		for (i = 0; i < len; i++)
			if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
				abort();
	jsonw__free(w);

	need = text_escape((const char *)data, size, small, sizeof(small));
	if (strlen(small) > need || strlen(small) >= sizeof(small))
		abort();
	for (i = 0; small[i]; i++)
		if ((unsigned char)small[i] < 0x20 || small[i] == 0x7f)
			abort();
	return 0;
}
