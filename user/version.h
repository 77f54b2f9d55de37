/* SPDX-License-Identifier: GPL-2.0 */
#ifndef AW_VERSION_H
#define AW_VERSION_H

#define AGENTWATCH_VERSION "0.2.0"

#endif
