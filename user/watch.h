/* SPDX-License-Identifier: GPL-2.0 */
/* `agentwatch watch`: a live terminal view of a running collector. */
#ifndef AW_WATCH_H
#define AW_WATCH_H

#include <stdbool.h>

/* Runs until q or Ctrl-C.  With once, prints one snapshot and returns
 * (for scripts; needs no terminal).  0, or 1 on error. */
int watch_run(const char *control_path, bool once, bool color);

#endif
