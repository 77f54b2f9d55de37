/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Probes of what this kernel gives the sensor, each by trying the real
 * thing (a map is created, a program loaded, a tracepoint looked up), never
 * by the kernel version.  `agentwatch doctor` runs them all; `agentwatch
 * run` runs them only when its full load failed, to learn what to leave
 * out, so a kernel with everything pays for none.
 *
 * AGENTWATCH_TEST_DISABLE=name,... (see features.h for the names) makes
 * the named probes fail, and the sensor's own load or attach of what needs
 * them fail the same way, as on a kernel without them: the tests of reduced
 * mode run the same code a real reduced kernel does.
 */
#ifndef AW_PROBE_H
#define AW_PROBE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "featureset.h"

/* What a probe returns for a feature AGENTWATCH_TEST_DISABLE names. */
#define PROBE_DISABLED (-ECANCELED)

/* Read AGENTWATCH_TEST_DISABLE once; -1 (and err) if it names an unknown
 * feature. */
int probe__init_from_env(char *err, size_t errlen);
void probe__set_disabled(uint32_t mask);
bool probe__disabled(enum feature f);
/* "AGENTWATCH_TEST_DISABLE=..." as given, for messages ("" if unset). */
const char *probe__disabled_env(void);

/* 0 if the kernel has f, else a negative errno and why (a sentence). */
int probe_feature(enum feature f, char *why, size_t len);

/* Is a filesystem of this type mounted?  where (if given) gets the first
 * mount point. */
bool probe_mounted(const char *type, char *where, size_t len);

/* The tracefs directory libbpf uses for tracepoint ids. */
const char *probe_tracefs(void);

#endif
