/* SPDX-License-Identifier: GPL-2.0 */
/* `agentwatch watch`: a live terminal view of a running collector. */
#ifndef AW_WATCH_H
#define AW_WATCH_H

#include <stdbool.h>
#include <stddef.h>

struct jnode;

/* Runs until q or Ctrl-C.  With once, prints one snapshot and returns
 * (for scripts; needs no terminal).  0, or 1 on error. */
int watch_run(const char *control_path, bool once, bool color);

/* One record (a parsed JSON line) as one readable line: time, agent, type,
 * pid, and what happened; agent-controlled bytes escaped. */
void render_record_line(const struct jnode *r, bool color, char *line, size_t cap);

#endif
