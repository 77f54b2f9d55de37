// SPDX-License-Identifier: GPL-2.0
/* Tests for user/procsig.c: the explanation line reaches a blocked process's
 * stderr whatever that stderr is (a pipe, a file, a unix socket), and never
 * blocks the collector. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "procsig.h"

/* A child whose stderr is fd, stopped as a gated exec would be. */
static pid_t stopped_child(int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		dup2(fd, 2);
		raise(SIGSTOP);
		_exit(0);
	}
	if (pid > 0) {
		int st;

		waitpid(pid, &st, WUNTRACED);
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void tell_through(int wfd, int rfd, bool nonblocking_reader)
{
	static const char line[] = "agentwatch: blocked by rule x: y\n";
	char buf[128] = {0};
	pid_t pid = stopped_child(wfd);
	ssize_t n;

	ASSERT_TRUE(pid > 0);
	ASSERT_EQ_INT(procsig_tell("/proc", pid, line, sizeof(line) - 1), 0);
	if (nonblocking_reader)
		fcntl(rfd, F_SETFL, O_NONBLOCK);
	n = read(rfd, buf, sizeof(buf) - 1);
	reap(pid);
	ASSERT_EQ_INT(n, (int)sizeof(line) - 1);
	ASSERT_EQ_STR(buf, line);
}

void test_procsig_tell_pipe(void)
{
	int p[2];

	ASSERT_EQ_INT(pipe(p), 0);
	tell_through(p[1], p[0], true);
	close(p[0]);
	close(p[1]);
}

void test_procsig_tell_socket(void)
{
	int sv[2];

	ASSERT_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	tell_through(sv[1], sv[0], true);
	close(sv[0]);
	close(sv[1]);
}

/* A regular file is appended to, not overwritten from offset 0. */
void test_procsig_tell_file_appends(void)
{
	char path[] = "/tmp/aw-procsig-XXXXXX", buf[128] = {0};
	int fd = mkstemp(path), rfd;
	pid_t pid;

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ_INT(write(fd, "before\n", 7), 7);
	pid = stopped_child(fd);
	ASSERT_EQ_INT(procsig_tell("/proc", pid, "told\n", 5), 0);
	reap(pid);
	rfd = open(path, O_RDONLY);
	unlink(path);
	close(fd);
	ASSERT_TRUE(rfd >= 0);
	ASSERT_EQ_INT(read(rfd, buf, sizeof(buf) - 1), 12);
	close(rfd);
	ASSERT_EQ_STR(buf, "before\ntold\n");
}

/* A full pipe or socket: the line is dropped (-EAGAIN), the caller never
 * waits for the reader. */
void test_procsig_tell_full_never_blocks(void)
{
	int sv[2], p[2];
	char fill[4096];
	pid_t pid;

	memset(fill, 'x', sizeof(fill));
	ASSERT_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (write(sv[1], fill, sizeof(fill)) > 0)
		;
	fcntl(sv[1], F_SETFL, 0);   /* the agent's own end stays blocking */
	pid = stopped_child(sv[1]);
	ASSERT_EQ_INT(procsig_tell("/proc", pid, "x\n", 2), -EAGAIN);
	reap(pid);
	ASSERT_EQ_INT(fcntl(sv[1], F_GETFL) & O_NONBLOCK, 0);
	close(sv[0]);
	close(sv[1]);

	ASSERT_EQ_INT(pipe(p), 0);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	while (write(p[1], fill, sizeof(fill)) > 0)
		;
	fcntl(p[1], F_SETFL, 0);
	pid = stopped_child(p[1]);
	ASSERT_EQ_INT(procsig_tell("/proc", pid, "x\n", 2), -EAGAIN);
	reap(pid);
	close(p[0]);
	close(p[1]);
}

/* A zombie and a reaped process are gone; a stopped one is not. */
void test_procsig_is_gone(void)
{
	int p[2];
	pid_t pid;

	ASSERT_EQ_INT(pipe(p), 0);
	pid = stopped_child(p[1]);
	ASSERT_TRUE(pid > 0);
	ASSERT_FALSE(procsig_is_gone("/proc", pid));
	kill(pid, SIGKILL);
	waitid(P_PID, pid, NULL, WEXITED | WNOWAIT);   /* a zombie, not reaped */
	ASSERT_TRUE(procsig_is_gone("/proc", pid));
	waitpid(pid, NULL, 0);
	ASSERT_TRUE(procsig_is_gone("/proc", pid));
	close(p[0]);
	close(p[1]);
}

/* The gate's fast resume: a pidfd, then SIGCONT through it, stamped with
 * CLOCK_BOOTTIME just before it is sent; never pid 0 or 1. */
void test_procsig_send_pidfd_resumes_and_stamps(void)
{
	struct timespec a, b;
	uint64_t sent = 1, lo, hi;
	int p[2], pfd, st;
	pid_t pid;

	ASSERT_EQ_INT(procsig_pidfd(1), -EPERM);
	ASSERT_EQ_INT(procsig_pidfd(0), -EPERM);
	ASSERT_EQ_INT(pipe(p), 0);
	pid = stopped_child(p[1]);
	ASSERT_TRUE(pid > 0);
	pfd = procsig_pidfd(pid);
	ASSERT_TRUE(pfd >= 0);
	clock_gettime(CLOCK_BOOTTIME, &a);
	ASSERT_EQ_INT(procsig_send_pidfd(pfd, SIGCONT, &sent), 0);
	clock_gettime(CLOCK_BOOTTIME, &b);
	lo = (uint64_t)a.tv_sec * 1000000000ull + a.tv_nsec;
	hi = (uint64_t)b.tv_sec * 1000000000ull + b.tv_nsec;
	ASSERT_TRUE(sent >= lo && sent <= hi);
	/* Resumed: it runs on to _exit(0). */
	ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Reaped: the pidfd still names it, and the signal finds nobody. */
	ASSERT_EQ_INT(procsig_send_pidfd(pfd, SIGCONT, &sent), -ESRCH);
	ASSERT_EQ_U64(sent, 0);
	close(pfd);
	close(p[0]);
	close(p[1]);
}
