// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "procscan.h"
#include "procsig.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static int read_stat(const char *proc_root, uint32_t pid, struct proc_stat *st)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/stat", proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	return procscan__parse_stat(buf, n, st);
}

int procsig_send(const char *proc_root, uint32_t pid, uint64_t start_ns, uint64_t tick_ns, int sig)
{
	uint64_t sent;
	int pfd, err;

	/* Pin the process first, then check it is the one we mean: once the
	 * pidfd is open, the pid can't be handed to anyone else under us. */
	pfd = procsig_pidfd(pid);
	if (pfd < 0)
		return pfd;
	err = procsig_check_start(proc_root, pid, start_ns, tick_ns);
	if (!err)
		err = procsig_send_pidfd(pfd, sig, &sent);
	close(pfd);
	return err;
}

int procsig_check_start(const char *proc_root, uint32_t pid, uint64_t start_ns, uint64_t tick_ns)
{
	long ticks_per_s = sysconf(_SC_CLK_TCK);
	struct proc_stat st;
	uint64_t got;
	int err;

	if (!start_ns)
		return 0;
	err = read_stat(proc_root, pid, &st);
	if (err)
		return err;
	got = st.start_ticks * (1000000000ull / (ticks_per_s > 0 ? ticks_per_s : 100));
	return got - got % tick_ns == start_ns ? 0 : -ESRCH;
}

int procsig_pidfd(uint32_t pid)
{
	int pfd;

	if (pid <= 1)
		return -EPERM; /* never init, never a process group */
	pfd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	return pfd;
}

int procsig_send_pidfd(int pfd, int sig, uint64_t *sent_ns)
{
	struct timespec ts;

	*sent_ns = 0;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0))
		return -errno;
	*sent_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

/* A stderr that is a socket (Gemini CLI runs its shell with stdout and
 * stderr on unix sockets) cannot be opened through /proc: take a copy of
 * the process's own descriptor with pidfd_getfd(2) and send on it without
 * blocking. */
static int tell_socket(uint32_t pid, const char *line, size_t len)
{
	int pfd, fd, err = 0;
	ssize_t n;

	pfd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return -errno;
	fd = syscall(SYS_pidfd_getfd, pfd, 2, 0);
	if (fd < 0) {
		err = -errno;
		close(pfd);
		return err;
	}
	n = send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EAGAIN;
	close(fd);
	close(pfd);
	return err;
}

int procsig_tell(const char *proc_root, uint32_t pid, const char *line, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/fd/2", proc_root, pid);
	fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_APPEND);
	if (fd < 0) {
		if (errno == ENXIO && !strcmp(proc_root, "/proc"))
			return tell_socket(pid, line, len);
		return -errno;
	}
	n = write(fd, line, len);
	close(fd);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EAGAIN;
}

int procsig_is_stopped(const char *proc_root, uint32_t pid)
{
	struct proc_stat st;
	int err = read_stat(proc_root, pid, &st);

	if (err)
		return err;
	return st.state == 'T' || st.state == 't';
}

bool procsig_is_gone(const char *proc_root, uint32_t pid)
{
	struct proc_stat st;

	if (read_stat(proc_root, pid, &st))
		return true;
	return st.state == 'Z' || st.state == 'X';
}
