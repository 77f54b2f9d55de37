/* SPDX-License-Identifier: GPL-2.0 */
/* `agentwatch doctor`: can this machine run the sensor, and what degrades. */
#ifndef AW_DOCTOR_H
#define AW_DOCTOR_H

#include <stdbool.h>

struct doctor_opts {
	bool json;
	const char *rules_dir, *log_dir, *state_dir, *pin_dir;
};

/* Prints the findings; 0 if nothing fails, 1 if something does. */
int doctor_run(const struct doctor_opts *o);

#endif
