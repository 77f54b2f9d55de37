// SPDX-License-Identifier: GPL-2.0
/* Tests for the literals a regex's matches must contain (user/relit.c). */
#include <regex.h>

#include "test.h"
#include "relit.h"

/* The list from relit_extract() joined by '|' ("" when there is none). */
static const char *lits(const char *ere)
{
	static char out[512];
	char raw[512];
	size_t n = relit_extract(ere, raw, sizeof(raw)), pos = 0;
	const char *l;

	out[0] = '\0';
	for (l = raw; n && *l; l += strlen(l) + 1)
		pos += snprintf(out + pos, sizeof(out) - pos, "%s%s", pos ? "|" : "", l);
	return out;
}

void test_relit_extract(void)
{
	/* the default rules' expressions */
	ASSERT_EQ_STR(lits("\\<drop[[:space:]]+(database|schema)\\>"), "drop");
	ASSERT_EQ_STR(lits("\\<delete[[:space:]]+from\\>"), "delete");
	ASSERT_EQ_STR(lits("\\<where\\>"), "where");
	ASSERT_EQ_STR(lits("(^|[[:space:]])flush(all|db)([[:space:]]|$)"), "flush");
	ASSERT_EQ_STR(lits("169\\.254\\.169\\.254|169\\.254\\.170\\.2|fd00:ec2::254|"
			   "metadata\\.google\\.internal|100\\.100\\.100\\.200|\\[fd00:ec2::254\\]"),
		      "169.254.169.254|169.254.170.2|fd00:ec2::254|metadata.google.internal|"
		      "100.100.100.200|[fd00:ec2::254]");
	ASSERT_EQ_STR(lits("\\<drop[[:space:]]+(table|view)\\>|\\<truncate[[:space:]]+(table[[:space:]]+)?x"),
		      "drop|truncate");
	/* an alternative without a literal: only the regex can tell */
	ASSERT_EQ_STR(lits("dropDatabase[[:space:]]*\\(|\\.(deleteMany|remove)"), "");
	ASSERT_EQ_STR(lits("(^| )(flush|delete) (ruleset|table|chain)( |$)"), "");
	ASSERT_EQ_STR(lits("abc|"), "");
	/* a quantified character is not part of the run */
	ASSERT_EQ_STR(lits("abcd*e"), "abc");
	ASSERT_EQ_STR(lits("abcd?efgh"), "efgh");
	ASSERT_EQ_STR(lits("abcd{0,3}efgh"), "efgh");
	ASSERT_EQ_STR(lits("abcd+efg"), "abcd");
	ASSERT_EQ_STR(lits("wxyz\\.*abc"), "wxyz");
	/* brackets, groups and escapes break a run, never join one */
	ASSERT_EQ_STR(lits("abc[]x]defg"), "defg");
	ASSERT_EQ_STR(lits("abc[^]x]de"), "abc");
	ASSERT_EQ_STR(lits("abc[[:alpha:]]defg"), "defg");
	ASSERT_EQ_STR(lits("abcd(x|y)efg"), "abcd");
	ASSERT_EQ_STR(lits("abc\\wdefg"), "defg");
	ASSERT_EQ_STR(lits("abc.defg"), "defg");
	ASSERT_EQ_STR(lits("(a|b)|(c|d)"), "");
	ASSERT_EQ_STR(lits("x\\|y\\|zz"), "x|y|zz");
	/* what this reader does not follow: no literals */
	ASSERT_EQ_STR(lits("abc(def"), "");
	ASSERT_EQ_STR(lits("abc)def"), "");
	ASSERT_EQ_STR(lits("abc[def"), "");
	ASSERT_EQ_STR(lits("abc\\"), "");
	ASSERT_EQ_STR(lits(""), "");
}

void test_relit_any(void)
{
	char raw[64];

	ASSERT_EQ_U64(relit_extract("\\<drop[[:space:]]+db|truncate", raw, sizeof(raw)), 2);
	ASSERT_TRUE(relit_any(raw, "psql -c DROP  db", true));
	ASSERT_FALSE(relit_any(raw, "psql -c DROP  db", false));
	ASSERT_TRUE(relit_any(raw, "mysql -e truncate t", false));
	ASSERT_FALSE(relit_any(raw, "psql -c select 1", true));
	/* too small a buffer: no list, not a cut one */
	ASSERT_EQ_U64(relit_extract("abcdef|ghijkl", raw, 9), 0);
}

/* A string the regex matches always holds a literal (fuzz_relit does the
 * same with random input). */
void test_relit_agrees_with_regexec(void)
{
	static const char *const res[] = {
		"\\<drop[[:space:]]+(database|schema)\\>", "ab+c", "a?bcd|xy{1,2}zzz",
		"[[:digit:]]+\\.tar\\.gz$", "^git push .*--force",
	};
	static const char *const subjects[] = {
		"psql -c DROP DATABASE x", "abbbc", "bcd", "xyyzzz", "release-12.tar.gz",
		"git push origin --force", "DROP schema", "abc", "xyzzz",
	};
	size_t i, j;
	int icase;

	for (icase = 0; icase < 2; icase++)
		for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
			regex_t re;
			char raw[256];
			size_t n = relit_extract(res[i], raw, sizeof(raw));

			ASSERT_EQ_INT(regcomp(&re, res[i], REG_EXTENDED | REG_NOSUB |
					      (icase ? REG_ICASE : 0)), 0);
			for (j = 0; j < sizeof(subjects) / sizeof(subjects[0]); j++)
				if (n && regexec(&re, subjects[j], 0, NULL, 0) == 0 &&
				    !relit_any(raw, subjects[j], icase)) {
					fprintf(stderr, "    /%s/ matches '%s' without a literal\n",
						res[i], subjects[j]);
					ASSERT_TRUE(false);
				}
			regfree(&re);
		}
}
