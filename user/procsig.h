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

/*
 * The three steps of procsig_send, for a caller that can prove who a
 * pidfd is some other way (the gate's own entry, user/sensor.h
 * sensor__gate_take) and so skips the /proc read:
 * - a pidfd for pid: -EPERM for pid <= 1, -ESRCH, -errno;
 * - is pid (pinned by a pidfd the caller holds) the process started at
 *   start_ns?  0 (also for start_ns 0), -ESRCH, -errno;
 * - the signal through the pidfd, *sent_ns = CLOCK_BOOTTIME just before it
 *   is sent (0 if it wasn't): the moment a SIGCONT makes the process
 *   runnable.  Taken after the call, it would include the time the woken
 *   process runs on the caller's CPU before the caller gets it back.
 */
int procsig_pidfd(uint32_t pid);
int procsig_check_start(const char *proc_root, uint32_t pid, uint64_t start_ns, uint64_t tick_ns);
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
