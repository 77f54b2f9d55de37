// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the literals relit_extract() finds are in every string the
 * regex matches.  Input: flags byte, regex, '\n', subject. */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "relit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ere[256], subject[512], lits[512];
	const uint8_t *sep;
	size_t el, sl, n, pos = 0;
	bool icase;
	regex_t re;

	if (size < 2)
		return 0;
	icase = data[0] & 1;
	data++;
	size--;
	sep = memchr(data, '\n', size);
	if (!sep)
		return 0;
	el = (size_t)(sep - data);
	sl = size - el - 1;
	if (el >= sizeof(ere) || sl >= sizeof(subject) || memchr(data, '\0', size))
		return 0;
	memcpy(ere, data, el);
	ere[el] = '\0';
	memcpy(subject, sep + 1, sl);
	subject[sl] = '\0';
	n = relit_extract(ere, lits, sizeof(lits));
	/* glibc's regcomp takes gigabytes for "e+++...+" and for "g{1,21692}":
	 * few quantifiers, one interval at most, and no count over 99. */
	for (size_t k = 0, q = 0, braces = 0, digits = 0; ere[k]; k++) {
		if (strchr("*+?{", ere[k]) && ++q > 8)
			return 0;
		if (ere[k] == '{' && ++braces > 1)
			return 0;
		/* digits after the '{' (the counts), wherever its '}' is */
		digits = braces && ere[k] >= '0' && ere[k] <= '9' ? digits + 1 : 0;
		if (digits > 2)
			return 0;
	}
	/* The list is well formed: n strings of RELIT_MIN or more, then "". */
	for (size_t k = 0; k < n; k++) {
		size_t l = strlen(lits + pos);

		if (l < RELIT_MIN)
			abort();
		pos += l + 1;
	}
	if (n && lits[pos])
		abort();
	if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0)))
		return 0;
	if (n && regexec(&re, subject, 0, NULL, 0) == 0 && !relit_any(lits, subject, icase))
		abort();
	regfree(&re);
	return 0;
}
