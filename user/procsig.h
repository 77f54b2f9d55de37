/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Signals to a process named by (pid, start time), never to whoever holds
 * the pid now: a pidfd pins the process, and its start time is checked
 * against the one the event carried before anything is sent.
 */
#ifndef AW_PROCSIG_H
#define AW_PROCSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* start_ns: the process start time as the collector keys it (ns since
 * boot, rounded down to a clock tick); 0 skips the check.  tick_ns is the
 * rounding.  0, -ESRCH (gone, or the pid now belongs to another process),
 * or another -errno. */
int procsig_send(const char *proc_root, uint32_t pid, uint64_t start_ns, uint64_t tick_ns, int sig);

/* procsig_send, and *sent_ns = CLOCK_BOOTTIME just before the signal is
 * sent (0 if it wasn't): the moment a SIGCONT makes the process runnable.
 * Measured after the call it would include the time the woken process
 * spends running on the caller's CPU before the caller gets it back. */
int procsig_send_at(const char *proc_root, uint32_t pid, uint64_t start_ns, uint64_t tick_ns,
		    int sig, uint64_t *sent_ns);

/* The two halves, for a caller with its own proof of identity: a pidfd
 * for pid (-EPERM for pid <= 1, -ESRCH, -errno), and a signal through it
 * with *sent_ns as above. */
int procsig_pidfd(uint32_t pid);
int procsig_send_pidfd(int pfd, int sig, uint64_t *sent_ns);

/* Write one line to the process's own stderr (reopened through
 * /proc/PID/fd/2, so a pipe, file or terminal all work; a socket through a
 * copy of the descriptor), without blocking.  0 or -errno. */
int procsig_tell(const char *proc_root, uint32_t pid, const char *line, size_t len);

/* Is the process stopped (state T in /proc/PID/stat)?  1, 0 or -errno. */
int procsig_is_stopped(const char *proc_root, uint32_t pid);

/* Has the process exited (no /proc entry, or a zombie)?  A signal sent to
 * it as it exited changed nothing: there is nothing left to hold. */
bool procsig_is_gone(const char *proc_root, uint32_t pid);

#endif
