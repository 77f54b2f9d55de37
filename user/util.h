/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the collector and the CLI. */
#ifndef AW_UTIL_H
#define AW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* strlcpy that says whether it fit.  Always NUL-terminates when len > 0. */
bool copy_str(char *dst, size_t len, const char *src);

/* mkdir -p; 0 or -1 with errno (EEXIST is not an error). */
int mkdir_p(const char *path, unsigned int mode);

/* Read at most cap bytes of a file into a new heap buffer (NUL-terminated
 * one past *len).  0 or -errno. */
int read_file_capped(const char *path, size_t cap, char **buf, size_t *len);

/* A trusted config file: O_NOFOLLOW, regular, at most cap bytes.  0 or
 * -errno (-ELOOP for a symlink, -EFBIG when too large); err gets "PATH: why". */
/* printf into err[errlen] when err is given (an optional error message). */
void err_fmt(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Policy files (rules, agent signatures) decide what gets killed: when
 * running as root, refuse one that is not owned by root or that a non-root
 * user or group could write.  0, or -EPERM with err saying why.
 */
struct stat;
int check_trusted(const struct stat *st, const char *path, char *err, size_t errlen);

int read_config_file(const char *path, size_t cap, char **out, size_t *out_len, char *err,
		     size_t errlen);

/* RFC 3339 UTC with nanoseconds: 2026-11-29T16:22:04.123456789Z.  buf >= 32. */
void format_rfc3339_ns(uint64_t unix_ns, char *buf, size_t len);

/* The clock's time in ns (CLOCK_BOOTTIME matches bpf_ktime_get_boot_ns()). */
uint64_t now_ns(clockid_t clk);

/* Offset to add to a CLOCK_BOOTTIME timestamp to get CLOCK_REALTIME. */
uint64_t boot_to_realtime_offset(void);

/* Parse a decimal unsigned integer that must fill the whole string. */
int parse_u64(const char *s, uint64_t *out);

/* FNV-1a of n bytes, 32 and 64 bits: hash tables, and ids that must stay
 * the same from one run to the next (rule rate keys, the BPF object's). */
static inline uint32_t fnv1a32(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

static inline uint64_t fnv1a64(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

#endif
