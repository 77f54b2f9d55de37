/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small JSON reader for agentwatch's own replies (`agentwatch watch` reads
 * the collector's records through the control socket).  It parses a whole
 * document into a tree; strings are decoded to bytes, and a lone low
 * surrogate escape "\udcNN" (NN >= 80) becomes the raw byte NN again, the
 * inverse of json.h's encoding of invalid UTF-8.  Depth is capped, and
 * every error is reported, never guessed around.
 */
#ifndef AW_JSONR_H
#define AW_JSONR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONR_MAX_DEPTH 64

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
	enum jtype t;
	char *key;              /* member name inside an object, else NULL */
	size_t key_len;
	char *s;                /* J_STR: decoded bytes, NUL-terminated */
	size_t s_len;
	double num;             /* J_NUM */
	bool is_u64;            /* J_NUM written as a plain integer 0..2^64-1 */
	uint64_t u64;           /* ... its exact value (num rounds above 2^53) */
	bool b;                 /* J_BOOL */
	struct jnode *child;    /* J_ARR / J_OBJ: first element */
	struct jnode *next;     /* next sibling */
};

struct jdoc;

/* NULL on error (err says where: "offset N: expected ..."). */
struct jdoc *jsonr__parse(const char *text, size_t len, char *err, size_t errlen);
void jsonr__free(struct jdoc *d);   /* NULL ok */
const struct jnode *jsonr__root(const struct jdoc *d);

/* Member of an object by name, or NULL. */
const struct jnode *jnode__get(const struct jnode *obj, const char *key);
/* The string (NULL if n is not a string); len may be NULL. */
const char *jnode__str(const struct jnode *n, size_t *len);
/* The number as an integer, or dflt if n is not a number. */
int64_t jnode__int(const struct jnode *n, int64_t dflt);
bool jnode__bool(const struct jnode *n);
/* The exact value of a plain non-negative integer, or dflt if n is not one. */
uint64_t jnode__u64(const struct jnode *n, uint64_t dflt);

#endif
