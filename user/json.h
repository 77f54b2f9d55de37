/* SPDX-License-Identifier: GPL-2.0 */
/*
 * JSON writer into a growable in-memory buffer, and an escaper for the
 * terminal view.
 *
 * argv, file names and cwd are attacker-controlled bytes, not text, so
 * strings are encoded deliberately and losslessly:
 *
 *  - '"' and '\' are escaped; every byte below 0x20 and 0x7f is escaped
 *    (\n \t \r \b \f where JSON has them, else \u00XX).  C1 controls
 *    (U+0080-U+009F, valid UTF-8 C2 80..C2 9F) are written as \u0080-\u009f
 *    too: the decoded string is the same, but a terminal that shows the raw
 *    line can't act on them.
 *  - Valid UTF-8 passes through unchanged.  Overlong forms, UTF-8 encoded
 *    surrogates (U+D800-U+DFFF) and anything above U+10FFFF are invalid.
 *  - Each byte that is not part of valid UTF-8 becomes a lone low surrogate
 *    escape, byte 0xNN -> "\udcNN" (0xff -> "\udcff"), the mapping of
 *    Python's "surrogateescape" error handler.  A reader recovers the exact
 *    original bytes with  json.loads(line)[...].encode('utf-8', 'surrogateescape').
 *    No valid UTF-8 input can produce such an escape (surrogates are invalid
 *    in UTF-8), so the mapping is unambiguous.
 *  - A NUL byte inside jsonw__strn() becomes "\u0000".
 *
 * Commas and colons are placed automatically.  Values written at the top
 * level (depth 0) are concatenated without separators: write one object,
 * take the data, reset.
 *
 * Errors are sticky: after the first one every call is a no-op and
 * jsonw__error() reports it.  jsonw__reset() clears it.
 */
#ifndef AW_JSON_H
#define AW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONW_MAX_DEPTH 32

struct jsonw;

struct jsonw *jsonw__new(void);
void jsonw__free(struct jsonw *w);		/* NULL ok */
void jsonw__reset(struct jsonw *w);		/* empty it, keep capacity, clear error */

void jsonw__obj_begin(struct jsonw *w);
void jsonw__obj_end(struct jsonw *w);
void jsonw__arr_begin(struct jsonw *w);
void jsonw__arr_end(struct jsonw *w);
void jsonw__key(struct jsonw *w, const char *key);

void jsonw__str(struct jsonw *w, const char *s);		/* NULL -> null */
void jsonw__strn(struct jsonw *w, const char *s, size_t n);	/* arbitrary bytes; NULL -> null */
void jsonw__u64(struct jsonw *w, uint64_t v);
void jsonw__i64(struct jsonw *w, int64_t v);
void jsonw__bool(struct jsonw *w, bool v);
void jsonw__null(struct jsonw *w);
void jsonw__raw(struct jsonw *w, const char *json);	/* pre-encoded value; NULL -> null */

/* The text so far, NUL-terminated ("" if nothing).  len may be NULL. */
const char *jsonw__data(const struct jsonw *w, size_t *len);

/*
 * 0, or the first error, sticky:
 *   -ENOMEM  the buffer could not grow (the output is incomplete)
 *   -E2BIG   nesting deeper than JSONW_MAX_DEPTH
 *   -EINVAL  misuse: an end without a begin or of the other kind, a key
 *            outside an object, two keys in a row, a value without a key
 *            inside an object
 */
int jsonw__error(const struct jsonw *w);

/*
 * Escape n bytes of s for a terminal: control bytes (< 0x20, 0x7f, so ESC
 * too), bytes of invalid UTF-8 and C1 controls (U+0080-U+009F, each of
 * their two bytes) become "\xNN", and '\' becomes "\\".  Valid printable
 * UTF-8 is copied.  Escapes and UTF-8 sequences are never cut in half.
 *
 * Always NUL-terminates out when outlen > 0.  Returns the length the whole
 * escaped string needs, NUL excluded (like snprintf): the result was
 * truncated iff the return value >= outlen.
 */
size_t text_escape(const char *s, size_t n, char *out, size_t outlen);

/*
 * Length of the valid UTF-8 sequence at s (n bytes available), or 0 if s
 * doesn't start one (or n is 0): RFC 3629, so overlongs, surrogates and
 * code points above U+10FFFF are invalid.  An ASCII byte, NUL and controls
 * included, is a sequence of 1.
 */
size_t utf8_seq_len(const void *s, size_t n);

#endif /* AW_JSON_H */
