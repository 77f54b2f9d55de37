// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

bool copy_str(char *dst, size_t len, const char *src)
{
	size_t n;

	if (!len)
		return false;
	n = strnlen(src, len);
	if (n == len) {
		memcpy(dst, src, len - 1);
		dst[len - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

int mkdir_p(const char *path, unsigned int mode)
{
	char tmp[PATH_MAX];
	char *p;

	if (!copy_str(tmp, sizeof(tmp), path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -1;
	return 0;
}

int read_file_capped(const char *path, size_t cap, char **buf, size_t *len)
{
	size_t used = 0, size = 4096;
	char *b = NULL;
	int fd, err = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (!b || used + 1 >= size) {
			char *nb;

			if (b)
				size *= 2;
			nb = realloc(b, size);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
		}
		if (used >= cap)
			break;
		n = read(fd, b + used, (size - 1 - used) < (cap - used) ? (size - 1 - used) : (cap - used));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		used += n;
	}
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	b[used] = '\0';
	*buf = b;
	*len = used;
	return 0;
}

/*
 * Every record carries one of these, and a burst of records shares its
 * second: the date and time part is kept per thread and redone only when
 * the second changes (gmtime_r and strftime cost more than the rest of a
 * small record).
 */
void format_rfc3339_ns(uint64_t unix_ns, char *buf, size_t len)
{
	static __thread uint64_t cached_sec = UINT64_MAX;
	static __thread char date[24];
	uint64_t sec = unix_ns / 1000000000ull, frac = unix_ns % 1000000000ull;
	char out[48];
	size_t n;
	int i;

	if (!len)
		return;
	if (sec != cached_sec) {
		time_t t = (time_t)sec;
		struct tm tm;

		if (!gmtime_r(&t, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm))
			date[0] = '\0';
		cached_sec = date[0] ? sec : UINT64_MAX;
	}
	n = strlen(date);
	memcpy(out, date, n);
	out[n] = '.';
	for (i = 9; i >= 1; i--, frac /= 10)
		out[n + i] = (char)('0' + frac % 10);
	out[n + 10] = 'Z';
	n += 11;
	if (n > len - 1)
		n = len - 1;
	memcpy(buf, out, n);
	buf[n] = '\0';
}

uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t boot_to_realtime_offset(void)
{
	/* Take the tightest of a few samples so a preemption between the two
	 * reads doesn't skew every timestamp we print. */
	uint64_t best = 0, best_gap = UINT64_MAX;
	int i;

	for (i = 0; i < 5; i++) {
		uint64_t b1 = now_ns(CLOCK_BOOTTIME);
		uint64_t r = now_ns(CLOCK_REALTIME);
		uint64_t b2 = now_ns(CLOCK_BOOTTIME);

		if (b2 - b1 < best_gap) {
			best_gap = b2 - b1;
			best = r - (b1 + (b2 - b1) / 2);
		}
	}
	return best;
}

void err_fmt(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * A configuration file we are about to trust (signatures, rules): opened
 * with O_NOFOLLOW, must be a regular file, and at most cap bytes.  On error
 * err says "PATH: why".
 */
int check_trusted(const struct stat *st, const char *path, char *err, size_t errlen)
{
	if (geteuid() != 0)
		return 0;   /* a user's own `rules check`: their files, their call */
	if (st->st_uid != 0) {
		err_fmt(err, errlen, "%s: owned by uid %u, not root (refused: whoever owns it "
			     "could rewrite the policy; chown root, or install with make install)",
			     path, (unsigned)st->st_uid);
		return -EPERM;
	}
	if ((st->st_mode & S_IWOTH) || ((st->st_mode & S_IWGRP) && st->st_gid != 0)) {
		err_fmt(err, errlen, "%s: writable by %s (refused: chmod go-w)", path,
			     st->st_mode & S_IWOTH ? "everyone" : "a non-root group");
		return -EPERM;
	}
	return 0;
}

int read_config_file(const char *path, size_t cap, char **out, size_t *out_len, char *err,
		     size_t errlen)
{
	struct stat st;
	size_t used = 0;
	char *buf = NULL;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		err_fmt(err, errlen, "%s: %s", path, r == -ELOOP ?
			"is a symbolic link (refused: rules are opened with O_NOFOLLOW)" : strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		err_fmt(err, errlen, "%s: %s", path, strerror(-r));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		err_fmt(err, errlen, "%s: not a regular file", path);
		goto cleanup;
	}
	if ((r = check_trusted(&st, path, err, errlen)))
		goto cleanup;
	/* One byte more than allowed, to notice a file that grew past the cap. */
	buf = malloc(cap + 1);
	if (!buf) {
		r = -ENOMEM;
		err_fmt(err, errlen, "%s: %s", path, strerror(ENOMEM));
		goto cleanup;
	}
	while (used <= cap) {
		ssize_t n = read(fd, buf + used, cap + 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			err_fmt(err, errlen, "%s: read failed: %s", path, strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			break;
		used += n;
	}
	if (used > cap) {
		r = -EFBIG;
		err_fmt(err, errlen, "%s: larger than %zu bytes", path, cap);
		goto cleanup;
	}
	*out = buf;
	*out_len = used;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return r;
}

int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}
