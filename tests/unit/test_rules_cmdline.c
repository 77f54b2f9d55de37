// SPDX-License-Identifier: GPL-2.0
/* Tests for user/cmdline.c: argv classification, flags, operands, splitting. */
#include <errno.h>

#include "test.h"
#include "cmdline.h"

static char av_buf[1024];
static size_t av_len;

/* "a b c" -> "a\0b\0c\0"; words may not contain blanks here. */
static void av(const char *s)
{
	size_t i;

	av_len = strlen(s) + 1;
	memcpy(av_buf, s, av_len);
	for (i = 0; i < av_len; i++)
		if (av_buf[i] == ' ')
			av_buf[i] = '\0';
}

static bool flag_in(const char *argv, const char *spec, const struct cmd_valopts *vo)
{
	struct cmdline c;
	struct flagspec fs;
	bool r;

	av(argv);
	if (cmdline_init(&c, av_buf, av_len) || cmdline_flagspec_parse(spec, &fs))
		return false;
	r = cmdline_has_flag(&c, vo, &fs);
	cmdline_release(&c);
	return r;
}

/* Operands joined by ',' into out. */
static const char *operands(const char *argv, const struct cmd_valopts *vo)
{
	static char out[512];
	struct cmdline c;
	size_t idx[64], n, i, pos = 0;

	av(argv);
	out[0] = '\0';
	if (cmdline_init(&c, av_buf, av_len))
		return "ENOMEM";
	n = cmdline_operands(&c, vo, idx, 64);
	for (i = 0; i < n && i < 64; i++)
		pos += snprintf(out + pos, sizeof(out) - pos, "%s%.*s", i ? "," : "",
				(int)c.w[idx[i]].n, c.w[idx[i]].p);
	cmdline_release(&c);
	return out;
}

void test_rules_cmdline_flag_forms(void)
{
	/* -rf, -r -f, -fR, --recursive --force are the same thing */
	ASSERT_TRUE(flag_in("rm -rf /", "-r", NULL));
	ASSERT_TRUE(flag_in("rm -rf /", "-f", NULL));
	ASSERT_TRUE(flag_in("rm -r -f /", "-r", NULL));
	ASSERT_TRUE(flag_in("rm -r -f /", "-f", NULL));
	ASSERT_TRUE(flag_in("rm -fR /", "-R", NULL));
	ASSERT_TRUE(flag_in("rm --recursive --force /", "--recursive", NULL));
	ASSERT_TRUE(flag_in("rm --recursive --force /", "--force", NULL));
	ASSERT_TRUE(flag_in("rm / -rf", "-r", NULL));     /* GNU permutes */
	/* --force=true is --force; --force=false/no/off/0 is not */
	ASSERT_TRUE(flag_in("git push --force=true", "--force", NULL));
	ASSERT_TRUE(flag_in("git push --force=yes", "--force", NULL));
	ASSERT_FALSE(flag_in("git push --force=false", "--force", NULL));
	ASSERT_FALSE(flag_in("git push --force=FALSE", "--force", NULL));
	ASSERT_FALSE(flag_in("git push --force=no", "--force", NULL));
	ASSERT_FALSE(flag_in("git push --force=off", "--force", NULL));
	ASSERT_FALSE(flag_in("git push --force=0", "--force", NULL));
	/* a long flag is not a prefix of another */
	ASSERT_FALSE(flag_in("git push --force-with-lease", "--force", NULL));
	ASSERT_TRUE(flag_in("git push --force-with-lease", "--force-with-lease", NULL));
	ASSERT_TRUE(flag_in("git push --force-with-lease=main:abc", "--force-with-lease", NULL));
	/* a long option's letters are not short flags */
	ASSERT_FALSE(flag_in("rm --recursive x", "-r", NULL));
	/* absent */
	ASSERT_FALSE(flag_in("rm -i x", "-r", NULL));
	ASSERT_FALSE(flag_in("rm", "-r", NULL));
}

void test_rules_cmdline_double_dash(void)
{
	/* "--" ends the options: what follows is an operand */
	ASSERT_FALSE(flag_in("rm -- -rf", "-r", NULL));
	ASSERT_FALSE(flag_in("rm -- --force x", "--force", NULL));
	ASSERT_TRUE(flag_in("rm -f -- -r", "-f", NULL));
	ASSERT_EQ_STR(operands("rm -- -rf /", NULL), "-rf,/");
	/* only the first "--" is special */
	ASSERT_EQ_STR(operands("echo -- -- -n", NULL), "--,-n");
	/* "-" alone is an operand (stdin) */
	ASSERT_EQ_STR(operands("cat - -n", NULL), "-");
	ASSERT_EQ_STR(operands("x '' y", NULL), "'',y");
}

void test_rules_cmdline_single_dash_long(void)
{
	/* -delete is a word; -d matches any cluster containing d */
	ASSERT_TRUE(flag_in("find . -delete", "-delete", NULL));
	ASSERT_FALSE(flag_in("find . -deleted", "-delete", NULL));
	ASSERT_TRUE(flag_in("terraform apply -auto-approve", "-auto-approve", NULL));
	ASSERT_TRUE(flag_in("terraform apply -auto-approve=true", "-auto-approve", NULL));
	ASSERT_FALSE(flag_in("terraform apply -auto-approve=false", "-auto-approve", NULL));
	ASSERT_FALSE(flag_in("terraform apply --auto-approve", "-auto-approve", NULL));
}

/* Each case runs with the value options as given, then prepared
 * (cmd_valopts_prepare, as the rule loader does): the same answers. */
void test_rules_cmdline_value_options(void)
{
	const char *kv[] = { "-n", "--namespace", "--context" };
	const char *gv[] = { "-C", "-c" };
	const char *fv[] = { "-name" };
	int prep;

	for (prep = 0; prep < 2; prep++) {
		struct cmd_valopts vo = { .v = kv, .n = 3 };
		struct cmd_valopts git = { .v = gv, .n = 2 };
		struct cmd_valopts find = { .v = fv, .n = 1 };

		if (prep) {
			cmd_valopts_prepare(&vo);
			cmd_valopts_prepare(&git);
			cmd_valopts_prepare(&find);
		}
		ASSERT_EQ_STR(operands("kubectl -n prod delete ns x", NULL), "prod,delete,ns,x");
		ASSERT_EQ_STR(operands("kubectl -n prod delete ns x", &vo), "delete,ns,x");
		ASSERT_EQ_STR(operands("kubectl -nprod delete ns x", &vo), "delete,ns,x");
		ASSERT_EQ_STR(operands("kubectl --namespace prod delete ns", &vo), "delete,ns");
		ASSERT_EQ_STR(operands("kubectl --namespace=prod delete ns", &vo), "delete,ns");
		ASSERT_EQ_STR(operands("kubectl delete pod x -n ns", &vo), "delete,pod,x");
		/* same length as --namespace, not declared */
		ASSERT_EQ_STR(operands("kubectl --nameplace prod delete", &vo), "prod,delete");
		ASSERT_EQ_STR(operands("git -C dir push -f", &git), "push");
		ASSERT_TRUE(flag_in("git -C dir push -f", "-f", &git));
		/* the value of -C is not a flag, even when it looks like one */
		ASSERT_FALSE(flag_in("git -C -f push", "-f", &git));
		/* in a cluster, a value option takes the rest of the word */
		ASSERT_FALSE(flag_in("git -cfoo=1 push", "-f", &git));
		ASSERT_TRUE(flag_in("git -fcx push", "-f", &git));
		/* a single-dash long value option */
		ASSERT_EQ_STR(operands("find / -name x -delete", &find), "/");
		ASSERT_EQ_STR(operands("find / -name x -delete", NULL), "/,x");
		ASSERT_EQ_STR(operands("find / -nam x -delete", &find), "/,x");
		/* "-n" is not a short value option of find's list */
		ASSERT_EQ_STR(operands("find / -n x", &find), "/,x");
	}
}

void test_rules_cmdline_flag_values(void)
{
	ASSERT_TRUE(flag_in("kill --signal=KILL 1", "--signal=KILL", NULL));
	ASSERT_TRUE(flag_in("kill --signal KILL 1", "--signal=KILL", NULL));
	ASSERT_TRUE(flag_in("kill -sKILL 1", "-s=KILL", NULL));
	ASSERT_TRUE(flag_in("kill -s KILL 1", "-s=KILL", NULL));
	ASSERT_TRUE(flag_in("kill -s KILL 1", "-s=K*", NULL));
	ASSERT_FALSE(flag_in("kill -s TERM 1", "-s=KILL", NULL));
	ASSERT_FALSE(flag_in("kill -s", "-s=KILL", NULL));
}

void test_rules_cmdline_flagspec_errors(void)
{
	struct flagspec fs;

	ASSERT_EQ_INT(cmdline_flagspec_parse("-r", &fs), 0);
	ASSERT_EQ_INT(fs.kind, FS_SHORT);
	ASSERT_EQ_INT(cmdline_flagspec_parse("--force", &fs), 0);
	ASSERT_EQ_INT(fs.kind, FS_LONG);
	ASSERT_EQ_INT(cmdline_flagspec_parse("-delete", &fs), 0);
	ASSERT_EQ_INT(fs.kind, FS_SDLONG);
	ASSERT_EQ_INT(cmdline_flagspec_parse("r", &fs), -EINVAL);
	ASSERT_EQ_INT(cmdline_flagspec_parse("-", &fs), -EINVAL);
	ASSERT_EQ_INT(cmdline_flagspec_parse("--", &fs), -EINVAL);
	ASSERT_EQ_INT(cmdline_flagspec_parse("---x", &fs), -EINVAL);
	ASSERT_EQ_INT(cmdline_flagspec_parse("--=x", &fs), -EINVAL);
}

void test_rules_cmdline_truncated_word(void)
{
	static const char raw[] = { 'r', 'm', 0, '-', 'r', 'f', 0, '/', 'h', 'o' };
	struct cmdline c;

	ASSERT_EQ_INT(cmdline_init(&c, raw, sizeof(raw)), 0);
	ASSERT_EQ_U64(c.n, 3);
	ASSERT_EQ_U64(c.w[2].n, 3);
	ASSERT_EQ_MEM(c.w[2].p, "/ho", 3);
	ASSERT_EQ_INT(c.w[0].kind, CW_ARG0);
	ASSERT_EQ_INT(c.w[1].kind, CW_SHORT);
	ASSERT_EQ_INT(c.w[2].kind, CW_OPERAND);
	cmdline_release(&c);
	ASSERT_EQ_INT(cmdline_init(&c, NULL, 0), 0);
	ASSERT_EQ_U64(c.n, 0);
	cmdline_release(&c);
}

void test_rules_cmdline_join(void)
{
	struct cmdline c;
	char out[32];

	av("git push --force");
	ASSERT_EQ_INT(cmdline_init(&c, av_buf, av_len), 0);
	ASSERT_EQ_U64(cmdline_join(&c, out, sizeof(out)), 16);
	ASSERT_EQ_STR(out, "git push --force");
	ASSERT_EQ_U64(cmdline_join(&c, out, 5), 16);
	ASSERT_EQ_STR(out, "git ");
	cmdline_release(&c);
}

static int split(const char *line, char words[][64], size_t *ecol, const char **why)
{
	static char out[256];
	static uint32_t col[256];
	struct shword w[16];
	int n = cmdline_split(line, strlen(line), true, out, col, w, 16, ecol, why), i;

	for (i = 0; i < n; i++) {
		snprintf(words[i], 64, "%.*s", (int)w[i].len, out + w[i].off);
	}
	return n;
}

void test_rules_cmdline_split(void)
{
	char w[16][64];
	size_t ecol = 0;
	const char *why = NULL;

	ASSERT_EQ_INT(split("psql -c 'DROP TABLE x'", w, &ecol, &why), 3);
	ASSERT_EQ_STR(w[2], "DROP TABLE x");
	ASSERT_EQ_INT(split("a\\ b \"c \\\"d\\\" \\n\" e'f g'h", w, &ecol, &why), 3);
	ASSERT_EQ_STR(w[0], "a b");
	ASSERT_EQ_STR(w[1], "c \"d\" \\n");
	ASSERT_EQ_STR(w[2], "ef gh");
	/* comments start at a word, not inside one */
	ASSERT_EQ_INT(split("a b#c # d", w, &ecol, &why), 2);
	ASSERT_EQ_STR(w[1], "b#c");
	/* unquoted bars are marked, quoted ones stay literal */
	ASSERT_EQ_INT(split("a|b 'c|d'", w, &ecol, &why), 2);
	ASSERT_EQ_STR(w[0], "a\x01" "b");
	ASSERT_EQ_STR(w[1], "c|d");
	/* empty quotes make an empty word */
	ASSERT_EQ_INT(split("x '' y", w, &ecol, &why), 3);
	ASSERT_EQ_STR(w[1], "");
	ASSERT_EQ_INT(split("ok 'open", w, &ecol, &why), -EINVAL);
	ASSERT_EQ_U64(ecol, 4);
	ASSERT_EQ_STR(why, "unterminated ' quote");
	ASSERT_EQ_INT(split("x \"open", w, &ecol, &why), -EINVAL);
	ASSERT_EQ_U64(ecol, 3);
	ASSERT_EQ_INT(split("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", w, &ecol, &why), -E2BIG);
	ASSERT_EQ_U64(ecol, 40);
}
