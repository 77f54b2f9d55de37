/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Literals that a regular expression's every match must contain: a cheap
 * test that rules most strings out before regexec(3) runs.
 *
 * relit_extract() reads a POSIX extended regular expression (as regcomp
 * with REG_EXTENDED takes it, glibc's backslash extensions included) and
 * finds, for each top-level alternative, the longest run of plain
 * characters that a match of that alternative contains.  A string that
 * contains none of them cannot match.  It errs one way only: where it is
 * unsure (groups, brackets, quantifiers, escapes such as \w) it breaks the
 * run or gives up, never joins.
 */
#ifndef AW_RELIT_H
#define AW_RELIT_H

#include <stdbool.h>
#include <stddef.h>

/* A shorter literal rules out too little to pay for the search. */
#define RELIT_MIN 3

/*
 * Write the literals to out as "lit\0lit\0...\0" (a final empty string
 * ends the list) and return how many there are; 0 when some alternative
 * has no literal of RELIT_MIN bytes, the expression is one this reader
 * does not follow, or out is too small.  Then only the regex can tell.
 */
size_t relit_extract(const char *ere, char *out, size_t outlen);

/* Does s contain one of the literals of a list from relit_extract()?
 * icase: ASCII letters match either case (REG_ICASE in the C locale). */
bool relit_any(const char *lits, const char *s, bool icase);

#endif /* AW_RELIT_H */
