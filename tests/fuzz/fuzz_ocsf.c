// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: the OCSF export on arbitrary bytes.  It returns one of its
 * documented values; an event it writes is valid JSON with a consistent
 * type_uid; a skip or an error leaves the writer empty. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "jsonr.h"
#include "ocsf.h"

static void check_event(const char *s, size_t len)
{
	struct jdoc *d = jsonr__parse(s, len, NULL, 0);
	const struct jnode *root = jsonr__root(d);
	int64_t cls, act;

	if (!d || root->t != J_OBJ)
		abort();
	cls = jnode__int(jnode__get(root, "class_uid"), -1);
	act = jnode__int(jnode__get(root, "activity_id"), -1);
	if (cls < 0 || act < 0 || jnode__int(jnode__get(root, "type_uid"), -1) != cls * 100 + act)
		abort();
	if (!jnode__get(root, "time") || !jnode__get(root, "metadata"))
		abort();
	jsonr__free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ocsf_opts o = { .product_version = "fuzz", .hostname = "h" };
	struct jsonw *w = jsonw__new();
	const char *s;
	size_t len;
	int ret;

	if (!w)
		return 0;
	ret = ocsf__from_record((const char *)data, size, w, &o);
	s = jsonw__data(w, &len);
	if (ret == 1)
		check_event(s, len);
	else if (ret != 0 && ret != -EINVAL && ret != -E2BIG && ret != -ENOMEM)
		abort();
	else if (len)
		abort();
	jsonw__free(w);
	return 0;
}
