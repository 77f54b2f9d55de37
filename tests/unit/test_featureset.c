// SPDX-License-Identifier: GPL-2.0
/* Tests for user/featureset.c: the reduced-mode feature table and what a
 * sensor can do with a given set of features. */
#include "test.h"
#include "agentwatch.h"
#include "featureset.h"
#include "json.h"

void test_features_parse_list_names_and_separators(void)
{
	char err[256] = "";
	uint32_t m = 123;

	ASSERT_EQ_INT(features__parse_list(NULL, &m, err, sizeof(err)), 0);
	ASSERT_EQ_U64(m, 0);
	ASSERT_EQ_INT(features__parse_list("", &m, err, sizeof(err)), 0);
	ASSERT_EQ_U64(m, 0);
	ASSERT_EQ_INT(features__parse_list("cgroup2,btf, send_signal,,", &m, err, sizeof(err)), 0);
	ASSERT_EQ_U64(m, (1u << FEAT_CGROUP2) | (1u << FEAT_BTF) | (1u << FEAT_SEND_SIGNAL));
	ASSERT_EQ_INT(features__parse_list("tp_btf tp_btf", &m, err, sizeof(err)), 0);
	ASSERT_EQ_U64(m, 1u << FEAT_TP_BTF);
}

void test_features_parse_list_rejects_typos_and_unused(void)
{
	char err[256] = "";
	uint32_t m = 0;

	/* a typo must not silently test nothing */
	ASSERT_EQ_INT(features__parse_list("cgroup2,sendsignal", &m, err, sizeof(err)), -1);
	ASSERT_TRUE(strstr(err, "'sendsignal'") != NULL);
	/* a prefix of a name is not the name */
	ASSERT_EQ_INT(features__parse_list("cgroup", &m, err, sizeof(err)), -1);
	/* nothing of this build uses LSM: disabling it would test nothing */
	ASSERT_EQ_INT(features__parse_list("lsm", &m, err, sizeof(err)), -1);
	ASSERT_TRUE(strstr(err, "not used") != NULL);
}

void test_features_names_round_trip(void)
{
	for (int i = 0; i < FEAT_MAX; i++) {
		const struct feature_info *fi = feature__info(i);

		ASSERT_TRUE(fi && fi->name && fi->needs && fi->without);
		ASSERT_EQ_INT(feature__from_name(fi->name, strlen(fi->name)), i);
	}
	ASSERT_TRUE(feature__info(FEAT_MAX) == NULL);
	ASSERT_EQ_INT(feature__from_name("nope", 4), -1);
}

void test_features_off_bits_round_trip(void)
{
	struct features f, g;

	features__init(&f);
	ASSERT_EQ_U64(features__off_bits(&f), 0);
	features__off(&f, FEAT_SEND_SIGNAL, "no helper: %d", 42);
	features__off(&f, FEAT_CGROUP2, "none");
	ASSERT_EQ_STR(f.reason[FEAT_SEND_SIGNAL], "no helper: 42");
	ASSERT_EQ_U64(features__off_bits(&f), AW_OFF_SEND_SIGNAL | AW_OFF_CGROUP2);
	/* a collector taking over learns the same set, with its own reason */
	features__init(&g);
	features__from_off_bits(&g, features__off_bits(&f), "inherited");
	ASSERT_FALSE(features__on(&g, FEAT_SEND_SIGNAL));
	ASSERT_FALSE(features__on(&g, FEAT_CGROUP2));
	ASSERT_TRUE(features__on(&g, FEAT_TP_BTF));
	ASSERT_EQ_STR(g.reason[FEAT_CGROUP2], "inherited");
	/* required features and unused ones have no bit */
	features__off(&g, FEAT_RINGBUF, "x");
	ASSERT_EQ_U64(features__off_bits(&g), AW_OFF_SEND_SIGNAL | AW_OFF_CGROUP2);
}

void test_features_reduced_lists_optional_off_only(void)
{
	struct features f;
	char buf[128];

	features__init(&f);
	ASSERT_EQ_U64(features__reduced(&f, buf, sizeof(buf)), 0);
	ASSERT_EQ_STR(buf, "");
	/* unused (LSM, fentry) and option-disabled features are not "reduced" */
	features__unused(&f, FEAT_CGROUP_SOCK, "turned off by --no-network");
	ASSERT_EQ_U64(features__reduced(&f, buf, sizeof(buf)), 0);
	features__off(&f, FEAT_TP_BTF, "x");
	features__off(&f, FEAT_SIGNAL_TP, "y");
	features__reduced(&f, buf, sizeof(buf));
	ASSERT_EQ_STR(buf, "tp_btf,signal_tp");
	/* cut to fit, NUL-terminated, length as snprintf would say */
	ASSERT_EQ_U64(features__reduced(&f, buf, 5), strlen("tp_btf,signal_tp"));
	ASSERT_EQ_STR(buf, "tp_b");
}

void test_features_coverage_full_kernel(void)
{
	struct coverage_opts o = { .enforcing = true, .breaker = true };
	struct features f;
	struct coverage c;

	features__init(&f);
	features__coverage(&f, &o, &c);
	ASSERT_EQ_STR(c.exec_hooks, "tp_btf");
	ASSERT_EQ_STR(c.exec_gate, "kernel");
	ASSERT_EQ_STR(c.net_records, "cgroup");
	ASSERT_TRUE(c.net_results);
	ASSERT_EQ_STR(c.net_deny, "kernel");
	ASSERT_TRUE(c.file_records);
	ASSERT_EQ_STR(c.breaker, "kernel");
	ASSERT_EQ_STR(c.protected_paths, "kernel");
	ASSERT_TRUE(c.tamper_signals && c.tamper_syscalls && c.crash_fallback);
	/* monitor mode (or no rules) enforces nothing, whatever the kernel */
	o.enforcing = false;
	features__coverage(&f, &o, &c);
	ASSERT_EQ_STR(c.exec_gate, "off");
	ASSERT_EQ_STR(c.net_deny, "off");
	ASSERT_EQ_STR(c.protected_paths, "off");
	ASSERT_FALSE(c.crash_fallback);
}

void test_features_coverage_without_send_signal_is_late_never_kernel(void)
{
	struct coverage_opts o = { .enforcing = true, .breaker = true };
	struct features f;
	struct coverage c;

	features__init(&f);
	features__off(&f, FEAT_SEND_SIGNAL, "x");
	features__coverage(&f, &o, &c);
	ASSERT_EQ_STR(c.exec_gate, "late");
	ASSERT_EQ_STR(c.breaker, "late");
	ASSERT_EQ_STR(c.protected_paths, "late");
	ASSERT_FALSE(c.crash_fallback);
	/* the cgroup deny needs no signal */
	ASSERT_EQ_STR(c.net_deny, "kernel");
}

void test_features_coverage_network_fallbacks(void)
{
	struct coverage_opts o = { .enforcing = true, .breaker = true };
	struct features f;
	struct coverage c;

	/* no cgroup v2: records from syscall tracepoints, no deny */
	features__init(&f);
	features__off(&f, FEAT_CGROUP2, "x");
	features__coverage(&f, &o, &c);
	ASSERT_EQ_STR(c.net_records, "tracepoint");
	ASSERT_TRUE(c.net_results);
	ASSERT_EQ_STR(c.net_deny, "off");
	/* the hooks would not attach: the same */
	features__init(&f);
	features__off(&f, FEAT_CGROUP_SOCK, "x");
	features__coverage(&f, &o, &c);
	ASSERT_EQ_STR(c.net_records, "tracepoint");
	ASSERT_EQ_STR(c.net_deny, "off");
	/* hooks but no syscall tracepoints: records without results, and no
	 * file records, breaker or protected paths */
	features__init(&f);
	features__off(&f, FEAT_SYSCALL_TP, "x");
	features__coverage(&f, &o, &c);
	ASSERT_EQ_STR(c.net_records, "cgroup");
	ASSERT_FALSE(c.net_results);
	ASSERT_EQ_STR(c.net_deny, "kernel");
	ASSERT_FALSE(c.file_records);
	ASSERT_EQ_STR(c.breaker, "off");
	ASSERT_EQ_STR(c.protected_paths, "off");
	ASSERT_FALSE(c.tamper_syscalls);
	/* neither: no network records at all */
	features__off(&f, FEAT_CGROUP2, "x");
	features__coverage(&f, &o, &c);
	ASSERT_EQ_STR(c.net_records, "off");
	ASSERT_FALSE(c.net_results);
	/* --no-network: off, whatever the kernel has */
	features__init(&f);
	o.no_network = true;
	features__coverage(&f, &o, &c);
	ASSERT_EQ_STR(c.net_records, "off");
	ASSERT_EQ_STR(c.net_deny, "off");
}

void test_features_coverage_raw_tp_and_signal(void)
{
	struct coverage_opts o = { .enforcing = true };
	struct features f;
	struct coverage c;

	features__init(&f);
	features__off(&f, FEAT_TP_BTF, "x");
	features__off(&f, FEAT_SIGNAL_TP, "y");
	features__coverage(&f, &o, &c);
	ASSERT_EQ_STR(c.exec_hooks, "raw_tp");
	ASSERT_EQ_STR(c.exec_gate, "kernel");
	ASSERT_FALSE(c.tamper_signals);
	ASSERT_TRUE(c.tamper_syscalls);
	ASSERT_EQ_STR(c.breaker, "off"); /* --breaker off */
}

void test_features_json_shape(void)
{
	struct coverage_opts o = { .enforcing = true, .breaker = true };
	struct jsonw *w = jsonw__new();
	struct features f;
	struct coverage c;
	const char *d;

	ASSERT_TRUE(w != NULL);
	features__init(&f);
	features__off(&f, FEAT_SEND_SIGNAL, "disabled by \"test\"");
	features__coverage(&f, &o, &c);
	jsonw__obj_begin(w);
	features__json(&f, &c, w);
	jsonw__obj_end(w);
	ASSERT_EQ_INT(jsonw__error(w), 0);
	d = jsonw__data(w, NULL);
	ASSERT_TRUE(strstr(d, "\"reduced\":[\"send_signal\"]") != NULL);
	ASSERT_TRUE(strstr(d, "{\"name\":\"send_signal\",\"on\":false,"
			      "\"reason\":\"disabled by \\\"test\\\"\",\"degrades\":\"nothing is "
			      "stopped in the kernel") != NULL);
	ASSERT_TRUE(strstr(d, "{\"name\":\"ringbuf\",\"on\":true,\"required\":true}") != NULL);
	ASSERT_TRUE(strstr(d, "{\"name\":\"tp_btf\",\"on\":true}") != NULL);
	ASSERT_TRUE(strstr(d, "\"exec_gate\":\"late\"") != NULL);
	jsonw__free(w);
}
