// SPDX-License-Identifier: GPL-2.0
/* OCSF export (user/ocsf.c) on records captured from a real run
 * (exec, fork, exit, file, net with a denied connect), and on the edges:
 * bytes that are not UTF-8, bookkeeping records, malformed input. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "json.h"
#include "jsonr.h"
#include "ocsf.h"

/* ---- records from /work/samples/records.jsonl (one agent session) ---- */

static const char EXEC_ROOT[] =
	"{\"type\":\"exec\",\"time\":\"2026-11-29T19:09:10.395551748Z\",\"pid\":28088,\"tid\":280"
	"88,\"ppid\":28087,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{"
	"\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088"
	"},\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/root/aw-exp/fakeagent-x1\",\"filename\":\"../fakeagent-x1\",\"argv\":[\"../fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py;"
	" true\"],\"argc\":3,\"argv_truncated\":false,\"argv_bytes\":55,\"cwd\":\"/root/aw-exp/ws"
	"\",\"comm\":\"fakeagent-x1\",\"uid\":0,\"euid\":0,\"gid\":0,\"egid\":0,\"cgroup_id\":1,\"start_time\":\"2026-11-29T19:09:10.395047270Z\",\"session_start\":true,\"lineage\":[{\""
	"pid\":28088,\"exe\":\"/root/aw-exp/fakeagent-x1\",\"argv\":[\"../fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; true\"]}],\"lineage_complete\":true}";

static const char FILE_TRUNC[] =
	"{\"type\":\"file\",\"time\":\"2026-11-29T19:09:10.398198850Z\",\"pid\":28088,\"tid\":280"
	"88,\"ppid\":28087,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{"
	"\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088"
	"},\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/root/aw-exp/fakeagent-x1\",\"argv\":[\".."
	"/fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; true\"],\"cwd\":\"/root/aw-exp/w"
	"s\",\"op\":\"open_trunc\",\"path\":\"/root/aw-exp/ws/f.txt\",\"path_arg\":\"f.txt\",\"fl"
	"ags\":577,\"result\":3,\"error\":null,\"lineage\":[{\"pid\":28088,\"exe\":\"/root/aw-exp"
	"/fakeagent-x1\",\"argv\":[\"../fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; tr"
	"ue\"]}],\"lineage_complete\":true}";

static const char FORK[] =
	"{\"type\":\"fork\",\"time\":\"2026-11-29T19:09:10.398443587Z\",\"pid\":28089,\"tid\":280"
	"89,\"ppid\":28088,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{"
	"\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088"
	"},\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/root/aw-exp/fakeagent-x1\",\"argv\":[\".."
	"/fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; true\"],\"cwd\":\"/root/aw-exp/w"
	"s\",\"lineage\":[{\"pid\":28088,\"exe\":\"/root/aw-exp/fakeagent-x1\",\"argv\":[\"../fak"
	"eagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; true\"]},{\"pid\":28089,\"exe\":\"/r"
	"oot/aw-exp/fakeagent-x1\",\"argv\":[\"../fakeagent-x1\",\"-c\",\"echo hi > f.txt; python"
	"3 t.py; true\"]}],\"lineage_complete\":true}";

static const char EXEC_GATED[] =
	"{\"type\":\"exec\",\"time\":\"2026-11-29T19:09:10.399113819Z\",\"pid\":28089,\"tid\":280"
	"89,\"ppid\":28088,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{"
	"\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088"
	"},\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/usr/bin/env\",\"filename\":\"/root/.pyenv"
	"/shims/python3\",\"argv\":[\"/usr/bin/env\",\"bash\",\"/root/.pyenv/shims/python3\",\"t."
	"py\"],\"argc\":4,\"argv_truncated\":false,\"argv_bytes\":50,\"cwd\":\"/root/aw-exp/ws\","
	"\"comm\":\"python3\",\"uid\":0,\"euid\":0,\"gid\":0,\"egid\":0,\"cgroup_id\":1,\"start_t"
	"ime\":\"2026-11-29T19:09:10.398431224Z\",\"session_start\":false,\"gated\":true,\"verdic"
	"t\":\"allow\",\"rules\":[],\"lineage\":[{\"pid\":28088,\"exe\":\"/root/aw-exp/fakeagent-"
	"x1\",\"argv\":[\"../fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; true\"]},{\"p"
	"id\":28089,\"exe\":\"/usr/bin/env\",\"argv\":[\"/usr/bin/env\",\"bash\",\"/root/.pyenv/s"
	"hims/python3\",\"t.py\"]}],\"lineage_complete\":true}";

static const char EXEC_BASH[] =
	"{\"type\":\"exec\",\"time\":\"2026-11-29T19:09:10.401162137Z\",\"pid\":28089,\"tid\":280"
	"89,\"ppid\":28088,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{"
	"\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088"
	"},\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/usr/bin/bash\",\"filename\":\"/usr/bin/ba"
	"sh\",\"argv\":[\"bash\",\"/root/.pyenv/shims/python3\",\"t.py\"],\"argc\":3,\"argv_trunc"
	"ated\":false,\"argv_bytes\":37,\"cwd\":\"/root/aw-exp/ws\",\"comm\":\"bash\",\"uid\":0,\"euid\":0,\"gid\":0,\"egid\":0,\"cgroup_id\":1,\"start_time\":\"2026-11-29T19:09:10.3984"
	"31224Z\",\"session_start\":false,\"lineage\":[{\"pid\":28088,\"exe\":\"/root/aw-exp/fake"
	"agent-x1\",\"argv\":[\"../fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; true\"]"
	"},{\"pid\":28089,\"exe\":\"/usr/bin/bash\",\"argv\":[\"bash\",\"/root/.pyenv/shims/pytho"
	"n3\",\"t.py\"]}],\"lineage_complete\":true}";

static const char EXIT[] =
	"{\"type\":\"exit\",\"time\":\"2026-11-29T19:09:10.407687388Z\",\"pid\":28090,\"tid\":280"
	"90,\"ppid\":28089,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{"
	"\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088"
	"},\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/usr/bin/bash\",\"argv\":[\"bash\",\"/root"
	"/.pyenv/libexec/pyenv\",\"exec\",\"python3\",\"t.py\"],\"cwd\":\"/root/aw-exp/ws\",\"exi"
	"t_code\":0,\"lineage\":[{\"pid\":28088,\"exe\":\"/root/aw-exp/fakeagent-x1\",\"argv\":[\"../fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; true\"]},{\"pid\":28089,\"exe"
	"\":\"/usr/bin/bash\",\"argv\":[\"bash\",\"/root/.pyenv/libexec/pyenv\",\"exec\",\"python"
	"3\",\"t.py\"]},{\"pid\":28090,\"exe\":\"/usr/bin/bash\",\"argv\":[\"bash\",\"/root/.pyen"
	"v/libexec/pyenv\",\"exec\",\"python3\",\"t.py\"]}],\"lineage_complete\":true}";

static const char NET_DENIED[] =
	"{\"type\":\"net\",\"time\":\"2026-11-29T19:09:10.584723966Z\",\"pid\":28089,\"tid\":2808"
	"9,\"ppid\":28088,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088}"
	",\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/root/.pyenv/versions/3.11.7/bin/python3.11"
	"\",\"argv\":[\"/root/.pyenv/versions/3.11.7/bin/python3\",\"t.py\"],\"cwd\":\"/root/aw-e"
	"xp/ws\",\"op\":\"connect\",\"family\":\"ipv4\",\"protocol\":\"tcp\",\"address\":\"169.25"
	"4.169.254\",\"port\":80,\"result\":-1,\"error\":\"EPERM\",\"verdict\":\"deny\",\"rules\""
	":[{\"id\":\"net-cloud-metadata\",\"severity\":\"critical\",\"action\":\"deny\",\"mode\":"
	"\"enforce\",\"message\":\"fakex (/root/.pyenv/versions/3.11.7/bin/python3.11) connection"
	" to cloud metadata 169.254.169.254:80 denied\",\"origin\":\"/work/main/rules/network.rul"
	"es:6\"}],\"lineage\":[{\"pid\":28088,\"exe\":\"/root/aw-exp/fakeagent-x1\",\"argv\":[\"."
	"./fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; true\"]},{\"pid\":28089,\"exe\""
	":\"/root/.pyenv/versions/3.11.7/bin/python3.11\",\"argv\":[\"/root/.pyenv/versions/3.11."
	"7/bin/python3\",\"t.py\"]}],\"lineage_complete\":true}";

static const char NET_INPROGRESS[] =
	"{\"type\":\"net\",\"time\":\"2026-11-29T19:09:10.585271398Z\",\"pid\":28089,\"tid\":2808"
	"9,\"ppid\":28088,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088}"
	",\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/root/.pyenv/versions/3.11.7/bin/python3.11"
	"\",\"argv\":[\"/root/.pyenv/versions/3.11.7/bin/python3\",\"t.py\"],\"cwd\":\"/root/aw-e"
	"xp/ws\",\"op\":\"connect\",\"family\":\"ipv4\",\"protocol\":\"tcp\",\"address\":\"127.0."
	"0.1\",\"port\":9,\"result\":-115,\"error\":\"EINPROGRESS\",\"lineage\":[{\"pid\":28088,\"exe\":\"/root/aw-exp/fakeagent-x1\",\"argv\":[\"../fakeagent-x1\",\"-c\",\"echo hi > f."
	"txt; python3 t.py; true\"]},{\"pid\":28089,\"exe\":\"/root/.pyenv/versions/3.11.7/bin/py"
	"thon3.11\",\"argv\":[\"/root/.pyenv/versions/3.11.7/bin/python3\",\"t.py\"]}],\"lineage_"
	"complete\":true}";

static const char NET_UDP[] =
	"{\"type\":\"net\",\"time\":\"2026-11-29T19:09:10.585645005Z\",\"pid\":28089,\"tid\":2808"
	"9,\"ppid\":28088,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088}"
	",\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/root/.pyenv/versions/3.11.7/bin/python3.11"
	"\",\"argv\":[\"/root/.pyenv/versions/3.11.7/bin/python3\",\"t.py\"],\"cwd\":\"/root/aw-e"
	"xp/ws\",\"op\":\"sendmsg\",\"family\":\"ipv6\",\"protocol\":\"udp\",\"address\":\"::1\","
	"\"port\":9,\"result\":1,\"error\":null,\"lineage\":[{\"pid\":28088,\"exe\":\"/root/aw-ex"
	"p/fakeagent-x1\",\"argv\":[\"../fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; t"
	"rue\"]},{\"pid\":28089,\"exe\":\"/root/.pyenv/versions/3.11.7/bin/python3.11\",\"argv\":"
	"[\"/root/.pyenv/versions/3.11.7/bin/python3\",\"t.py\"]}],\"lineage_complete\":true}";

static const char FILE_UNLINK[] =
	"{\"type\":\"file\",\"time\":\"2026-11-29T19:09:10.588586094Z\",\"pid\":28089,\"tid\":280"
	"89,\"ppid\":28088,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{"
	"\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088"
	"},\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/root/.pyenv/versions/3.11.7/bin/python3.1"
	"1\",\"argv\":[\"/root/.pyenv/versions/3.11.7/bin/python3\",\"t.py\"],\"cwd\":\"/root/aw-"
	"exp/ws\",\"op\":\"unlink\",\"path\":\"/root/aw-exp/ws/d2/0\",\"path_arg\":\"d2/0\",\"res"
	"ult\":0,\"error\":null,\"lineage\":[{\"pid\":28088,\"exe\":\"/root/aw-exp/fakeagent-x1\""
	",\"argv\":[\"../fakeagent-x1\",\"-c\",\"echo hi > f.txt; python3 t.py; true\"]},{\"pid\""
	":28089,\"exe\":\"/root/.pyenv/versions/3.11.7/bin/python3.11\",\"argv\":[\"/root/.pyenv/"
	"versions/3.11.7/bin/python3\",\"t.py\"]}],\"lineage_complete\":true}";

static const char FILE_RENAME[] =
	"{\"type\":\"file\",\"time\":\"2026-11-29T19:09:10.590351558Z\",\"pid\":28089,\"tid\":280"
	"89,\"ppid\":28088,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"attribution\":{"
	"\"reason\":\"signature\",\"by\":\"fakex: exe fakeagent-x1 (--agent)\",\"root_pid\":28088"
	"},\"workspace\":\"/root/aw-exp/ws\",\"exe\":\"/root/.pyenv/versions/3.11.7/bin/python3.1"
	"1\",\"argv\":[\"/root/.pyenv/versions/3.11.7/bin/python3\",\"t.py\"],\"cwd\":\"/root/aw-"
	"exp/ws\",\"op\":\"rename\",\"path\":\"/root/aw-exp/ws/f.txt\",\"path_arg\":\"f.txt\",\"p"
	"ath2\":\"/root/aw-exp/ws/g.txt\",\"path2_arg\":\"g.txt\",\"result\":0,\"error\":null,\"l"
	"ineage\":[{\"pid\":28088,\"exe\":\"/root/aw-exp/fakeagent-x1\",\"argv\":[\"../fakeagent-"
	"x1\",\"-c\",\"echo hi > f.txt; python3 t.py; true\"]},{\"pid\":28089,\"exe\":\"/root/.py"
	"env/versions/3.11.7/bin/python3.11\",\"argv\":[\"/root/.pyenv/versions/3.11.7/bin/python"
	"3\",\"t.py\"]}],\"lineage_complete\":true}";

/* ---- helpers ---- */

static const struct ocsf_opts opts = { .product_version = "1.2.3", .hostname = "build-7" };

/* Convert rec; on 1 parse the event (the caller frees it), else NULL. */
static struct jdoc *conv_n(const char *rec, size_t len, int *ret)
{
	struct jsonw *w = jsonw__new();
	struct jdoc *d = NULL;
	const char *s;
	size_t n;

	if (!w) {
		*ret = -ENOMEM;
		return NULL;
	}
	*ret = ocsf__from_record(rec, len, w, &opts);
	s = jsonw__data(w, &n);
	if (*ret == 1)
		d = jsonr__parse(s, n, NULL, 0);
	else if (n)
		*ret = -1000;	/* a skipped or failed record must leave w empty */
	jsonw__free(w);
	return d;
}

static struct jdoc *conv(const char *rec, int *ret)
{
	return conv_n(rec, strlen(rec), ret);
}

/* A member by dotted path; a numeric segment indexes an array. */
static const struct jnode *at(const struct jdoc *d, const char *path)
{
	const struct jnode *n = jsonr__root(d);
	char seg[64];

	while (n && *path) {
		size_t k = strcspn(path, ".");

		if (k >= sizeof(seg))
			return NULL;
		memcpy(seg, path, k);
		seg[k] = '\0';
		path += k + (path[k] == '.');
		if (n->t == J_ARR) {
			long i = strtol(seg, NULL, 10);

			for (n = n->child; n && i > 0; i--)
				n = n->next;
		} else {
			n = jnode__get(n, seg);
		}
	}
	return n;
}

static int64_t num_at(const struct jdoc *d, const char *path)
{
	return jnode__int(at(d, path), -999999);
}

static const char *str_at(const struct jdoc *d, const char *path)
{
	return jnode__str(at(d, path), NULL);
}

/* ---- tests ---- */

void test_ocsf_exec_launch(void)
{
	int ret;
	struct jdoc *d = conv(EXEC_ROOT, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "class_uid"), 1007);
	ASSERT_EQ_INT(num_at(d, "category_uid"), 1);
	ASSERT_EQ_INT(num_at(d, "activity_id"), 1);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 100701);
	ASSERT_EQ_INT(num_at(d, "launch_type_id"), 3);
	ASSERT_EQ_INT(num_at(d, "severity_id"), 1);
	ASSERT_EQ_INT(num_at(d, "status_id"), 1);
	/* 2026-11-29T19:09:10.395551748Z */
	ASSERT_EQ_INT(num_at(d, "time"), 1795979350395LL);
	ASSERT_EQ_STR(str_at(d, "metadata.version"), OCSF_SCHEMA_VERSION);
	ASSERT_EQ_STR(str_at(d, "metadata.product.name"), "agentwatch");
	ASSERT_EQ_STR(str_at(d, "metadata.product.vendor_name"), "agentwatch");
	ASSERT_EQ_STR(str_at(d, "metadata.product.version"), "1.2.3");
	ASSERT_EQ_STR(str_at(d, "metadata.original_time"), "2026-11-29T19:09:10.395551748Z");
	ASSERT_EQ_STR(str_at(d, "device.hostname"), "build-7");
	ASSERT_EQ_INT(num_at(d, "process.pid"), 28088);
	ASSERT_EQ_STR(str_at(d, "process.name"), "fakeagent-x1");
	ASSERT_EQ_STR(str_at(d, "process.file.path"), "/root/aw-exp/fakeagent-x1");
	ASSERT_EQ_STR(str_at(d, "process.file.name"), "fakeagent-x1");
	ASSERT_EQ_STR(str_at(d, "process.cmd_line"),
		      "../fakeagent-x1 -c 'echo hi > f.txt; python3 t.py; true'");
	ASSERT_EQ_STR(str_at(d, "process.working_directory"), "/root/aw-exp/ws");
	ASSERT_EQ_STR(str_at(d, "process.user.uid"), "0");
	ASSERT_EQ_INT(num_at(d, "process.created_time"), 1795979350395LL);
	ASSERT_EQ_INT(num_at(d, "process.parent_process.pid"), 28087);
	ASSERT_EQ_INT(num_at(d, "actor.process.pid"), 28087);
	ASSERT_EQ_STR(str_at(d, "actor.app_name"), "fakex");
	ASSERT_EQ_STR(str_at(d, "actor.session.uid"), "0000092ec23d361f");
	/* no rule was involved: no security_control attributes */
	ASSERT_NULL(at(d, "disposition_id"));
	/* what has no OCSF home survives in unmapped */
	ASSERT_EQ_STR(str_at(d, "unmapped.filename"), "../fakeagent-x1");
	ASSERT_EQ_STR(str_at(d, "unmapped.start_time"), "2026-11-29T19:09:10.395047270Z");
	ASSERT_EQ_INT(num_at(d, "unmapped.attribution.root_pid"), 28088);
	ASSERT_EQ_INT(num_at(d, "unmapped.cgroup_id"), 1);
	ASSERT_TRUE(jnode__bool(at(d, "unmapped.session_start")));
	/* ... and what has one is not repeated there */
	ASSERT_NULL(at(d, "unmapped.argv"));
	ASSERT_NULL(at(d, "unmapped.lineage"));
	ASSERT_NULL(at(d, "unmapped.time"));
	jsonr__free(d);
}

void test_ocsf_lineage_and_ancestry(void)
{
	int ret;
	struct jdoc *d = conv(EXIT, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "activity_id"), 2);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 100702);
	ASSERT_EQ_INT(num_at(d, "exit_code"), 0);
	ASSERT_EQ_INT(num_at(d, "process.terminated_time"), num_at(d, "time"));
	/* root first, the process itself last */
	ASSERT_EQ_STR(str_at(d, "process.lineage.0"), "/root/aw-exp/fakeagent-x1");
	ASSERT_EQ_STR(str_at(d, "process.lineage.1"), "/usr/bin/bash");
	ASSERT_EQ_STR(str_at(d, "process.lineage.2"), "/usr/bin/bash");
	ASSERT_NULL(at(d, "process.lineage.3"));
	/* ancestry: parent first, the process itself left out */
	ASSERT_EQ_INT(num_at(d, "process.ancestry.0.pid"), 28089);
	ASSERT_EQ_INT(num_at(d, "process.ancestry.1.pid"), 28088);
	ASSERT_NULL(at(d, "process.ancestry.2"));
	ASSERT_EQ_STR(str_at(d, "process.ancestry.1.cmd_line"),
		      "../fakeagent-x1 -c 'echo hi > f.txt; python3 t.py; true'");
	ASSERT_EQ_INT(num_at(d, "process.parent_process.pid"), 28089);
	ASSERT_EQ_STR(str_at(d, "process.parent_process.file.path"), "/usr/bin/bash");
	ASSERT_EQ_STR(str_at(d, "process.parent_process.cmd_line"),
		      "bash /root/.pyenv/libexec/pyenv exec python3 t.py");
	/* an exit is reflexive: the actor is the process */
	ASSERT_EQ_INT(num_at(d, "actor.process.pid"), 28090);
	ASSERT_TRUE(jnode__bool(at(d, "unmapped.lineage_complete")));
	jsonr__free(d);
}

void test_ocsf_fork_launch(void)
{
	int ret;
	struct jdoc *d = conv(FORK, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 100701);
	ASSERT_EQ_INT(num_at(d, "launch_type_id"), 2);
	ASSERT_EQ_STR(str_at(d, "launch_type"), "Fork");
	ASSERT_EQ_INT(num_at(d, "actor.process.pid"), 28088);
	ASSERT_EQ_STR(str_at(d, "actor.process.file.path"), "/root/aw-exp/fakeagent-x1");
	jsonr__free(d);
}

void test_ocsf_gated_exec_allowed(void)
{
	int ret;
	struct jdoc *d = conv(EXEC_GATED, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "action_id"), 1);
	ASSERT_EQ_INT(num_at(d, "disposition_id"), 1);
	ASSERT_FALSE(jnode__bool(at(d, "is_alert")));
	ASSERT_EQ_STR(str_at(d, "metadata.profiles.1"), "security_control");
	ASSERT_EQ_STR(str_at(d, "unmapped.verdict"), "allow");
	ASSERT_TRUE(jnode__bool(at(d, "unmapped.gated")));
	jsonr__free(d);
}

void test_ocsf_net_denied_connect(void)
{
	int ret;
	struct jdoc *d = conv(NET_DENIED, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "class_uid"), 4001);
	ASSERT_EQ_INT(num_at(d, "category_uid"), 4);
	ASSERT_EQ_INT(num_at(d, "activity_id"), 5);	/* Refuse */
	ASSERT_EQ_INT(num_at(d, "type_uid"), 400105);
	ASSERT_EQ_INT(num_at(d, "action_id"), 2);	/* Denied */
	ASSERT_EQ_INT(num_at(d, "disposition_id"), 2);	/* Blocked */
	ASSERT_EQ_STR(str_at(d, "disposition"), "Blocked");
	ASSERT_EQ_INT(num_at(d, "severity_id"), 5);	/* the rule is critical */
	ASSERT_TRUE(jnode__bool(at(d, "is_alert")));
	ASSERT_EQ_INT(num_at(d, "status_id"), 2);
	ASSERT_EQ_STR(str_at(d, "status_code"), "EPERM");
	ASSERT_EQ_STR(str_at(d, "policy.uid"), "net-cloud-metadata");
	ASSERT_TRUE(jnode__bool(at(d, "policy.is_applied")));
	ASSERT_TRUE(strstr(str_at(d, "message"), "cloud metadata") != NULL);
	ASSERT_EQ_STR(str_at(d, "dst_endpoint.ip"), "169.254.169.254");
	ASSERT_EQ_INT(num_at(d, "dst_endpoint.port"), 80);
	ASSERT_EQ_STR(str_at(d, "connection_info.protocol_name"), "tcp");
	ASSERT_EQ_INT(num_at(d, "connection_info.protocol_num"), 6);
	ASSERT_EQ_INT(num_at(d, "connection_info.protocol_ver_id"), 4);
	ASSERT_EQ_INT(num_at(d, "connection_info.direction_id"), 2);
	ASSERT_EQ_INT(num_at(d, "actor.process.pid"), 28089);
	ASSERT_EQ_STR(str_at(d, "unmapped.rules.0.origin"), "/work/main/rules/network.rules:6");
	ASSERT_EQ_STR(str_at(d, "unmapped.op"), "connect");
	jsonr__free(d);
}

void test_ocsf_net_open_and_udp_traffic(void)
{
	int ret;
	struct jdoc *d = conv(NET_INPROGRESS, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "activity_id"), 1);	/* Open */
	ASSERT_EQ_INT(num_at(d, "status_id"), 99);	/* EINPROGRESS */
	ASSERT_EQ_INT(num_at(d, "connection_info.boundary_id"), 1);	/* 127.0.0.1 */
	ASSERT_NULL(at(d, "disposition_id"));
	jsonr__free(d);

	d = conv(NET_UDP, &ret);
	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "activity_id"), 6);	/* Traffic */
	ASSERT_EQ_INT(num_at(d, "type_uid"), 400106);
	ASSERT_EQ_INT(num_at(d, "status_id"), 1);
	ASSERT_EQ_STR(str_at(d, "dst_endpoint.ip"), "::1");
	ASSERT_EQ_INT(num_at(d, "connection_info.protocol_ver_id"), 6);
	ASSERT_EQ_INT(num_at(d, "connection_info.protocol_num"), 17);
	ASSERT_EQ_INT(num_at(d, "traffic.bytes_out"), 1);
	jsonr__free(d);
}

void test_ocsf_file_ops(void)
{
	int ret;
	struct jdoc *d = conv(FILE_UNLINK, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "class_uid"), 1001);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 100104);	/* Delete */
	ASSERT_EQ_STR(str_at(d, "file.path"), "/root/aw-exp/ws/d2/0");
	ASSERT_EQ_STR(str_at(d, "file.name"), "0");
	ASSERT_EQ_STR(str_at(d, "file.parent_folder"), "/root/aw-exp/ws/d2");
	ASSERT_EQ_STR(str_at(d, "unmapped.path_arg"), "d2/0");
	jsonr__free(d);

	d = conv(FILE_RENAME, &ret);
	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 100105);	/* Rename */
	ASSERT_EQ_STR(str_at(d, "file.path"), "/root/aw-exp/ws/f.txt");
	ASSERT_EQ_STR(str_at(d, "file_result.path"), "/root/aw-exp/ws/g.txt");
	ASSERT_EQ_STR(str_at(d, "file_result.name"), "g.txt");
	jsonr__free(d);

	d = conv(FILE_TRUNC, &ret);
	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 100103);	/* Update */
	ASSERT_EQ_INT(num_at(d, "file.type_id"), 1);
	ASSERT_EQ_INT(num_at(d, "unmapped.flags"), 577);
	ASSERT_EQ_INT(num_at(d, "actor.process.pid"), 28088);
	jsonr__free(d);

	d = conv("{\"type\":\"file\",\"time\":\"2026-01-01T00:00:00Z\",\"pid\":5,\"op\":\"rmdir\","
		 "\"path\":\"/\",\"result\":-39,\"error\":\"ENOTEMPTY\"}", &ret);
	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "file.type_id"), 2);	/* Folder */
	ASSERT_EQ_STR(str_at(d, "file.name"), "/");
	ASSERT_EQ_STR(str_at(d, "file.parent_folder"), "/");
	ASSERT_EQ_INT(num_at(d, "status_id"), 2);
	ASSERT_EQ_STR(str_at(d, "status_code"), "ENOTEMPTY");
	ASSERT_NULL(at(d, "status_detail"));
	jsonr__free(d);
}

/* A file rule that killed the process after the unlink completed: the
 * deletion was not stopped, so "Observed", not "Denied". */
void test_ocsf_late_kill_is_observed(void)
{
	static const char rec[] =
		"{\"type\":\"file\",\"time\":\"2026-01-01T00:00:00.5Z\",\"pid\":7,\"ppid\":1,"
		"\"session\":\"00000000000000aa\",\"agent\":\"claude\",\"op\":\"unlink\","
		"\"path\":\"/home/u/.ssh/id_ed25519\",\"result\":0,\"error\":null,\"verdict\":\"kill\","
		"\"enforced_late\":true,\"rules\":[{\"id\":\"ssh-keys\",\"severity\":\"high\","
		"\"action\":\"kill\",\"mode\":\"enforce\",\"message\":\"deleted an ssh key\","
		"\"origin\":\"f.rules:1\"},{\"id\":\"low-one\",\"severity\":\"low\",\"action\":\"log\","
		"\"mode\":\"monitor\",\"message\":\"m\",\"origin\":\"f.rules:9\"}]}";
	int ret;
	struct jdoc *d = conv(rec, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "time"), 1767225600500LL);
	ASSERT_EQ_INT(num_at(d, "action_id"), 3);
	ASSERT_EQ_INT(num_at(d, "disposition_id"), 99);
	ASSERT_EQ_STR(str_at(d, "disposition"), "Killed");
	ASSERT_EQ_INT(num_at(d, "severity_id"), 4);	/* the highest rule: high */
	ASSERT_EQ_STR(str_at(d, "policy.uid"), "ssh-keys");
	ASSERT_EQ_STR(str_at(d, "message"), "deleted an ssh key");
	ASSERT_EQ_INT(num_at(d, "status_id"), 1);
	ASSERT_TRUE(jnode__bool(at(d, "unmapped.enforced_late")));
	ASSERT_EQ_STR(str_at(d, "unmapped.rules.1.id"), "low-one");
	jsonr__free(d);
}

void test_ocsf_verdict_record(void)
{
	static const char kill[] =
		"{\"type\":\"verdict\",\"time\":\"2026-11-29T19:10:00.000000001Z\",\"pid\":42,\"tid\":42,"
		"\"ppid\":41,\"session\":\"0000092ec23d361f\",\"agent\":\"fakex\",\"exe\":\"/usr/bin/rm\","
		"\"argv\":[\"rm\",\"-rf\",\"/\"],\"cwd\":\"/\",\"pending_id\":3,\"verdict\":\"kill\","
		"\"decided_by\":\"human (uid 1000, pid 9)\",\"rule\":\"rm-root\",\"waited_ms\":5120,"
		"\"lineage\":[{\"pid\":41,\"exe\":\"/bin/sh\",\"argv\":[\"sh\"]},"
		"{\"pid\":42,\"exe\":\"/usr/bin/rm\",\"argv\":[\"rm\",\"-rf\",\"/\"]}],"
		"\"lineage_complete\":true,\"seq\":17,\"chain\":\"ab\"}";
	static const char allow[] =
		"{\"type\":\"verdict\",\"time\":\"2026-11-29T19:10:00Z\",\"pid\":42,\"ppid\":0,"
		"\"session\":null,\"agent\":null,\"exe\":null,\"argv\":null,\"cwd\":null,"
		"\"pending_id\":4,\"verdict\":\"allow\",\"decided_by\":\"timeout\",\"rule\":\"r\","
		"\"waited_ms\":30000,\"lineage\":[],\"lineage_complete\":false}";
	int ret;
	struct jdoc *d = conv(kill, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 100702);	/* Terminate */
	ASSERT_EQ_INT(num_at(d, "action_id"), 2);
	ASSERT_EQ_INT(num_at(d, "disposition_id"), 2);
	ASSERT_EQ_INT(num_at(d, "severity_id"), 3);
	ASSERT_EQ_INT(num_at(d, "duration"), 5120);
	ASSERT_EQ_STR(str_at(d, "policy.uid"), "rm-root");
	ASSERT_EQ_STR(str_at(d, "message"), "kill by human (uid 1000, pid 9) (rule rm-root)");
	ASSERT_EQ_STR(str_at(d, "metadata.correlation_uid"), "0000092ec23d361f/pending/3");
	ASSERT_EQ_INT(num_at(d, "metadata.sequence"), 17);
	ASSERT_EQ_STR(str_at(d, "unmapped.chain"), "ab");
	ASSERT_EQ_STR(str_at(d, "process.cmd_line"), "rm -rf /");
	ASSERT_EQ_STR(str_at(d, "process.parent_process.file.path"), "/bin/sh");
	ASSERT_NULL(at(d, "actor.process"));	/* agentwatch acted, not a process of the agent */
	ASSERT_EQ_STR(str_at(d, "unmapped.decided_by"), "human (uid 1000, pid 9)");
	jsonr__free(d);

	/* nulls where the collector no longer knew the process */
	d = conv(allow, &ret);
	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "activity_id"), 99);
	ASSERT_EQ_STR(str_at(d, "activity_name"), "Resume");
	ASSERT_EQ_INT(num_at(d, "type_uid"), 100799);
	ASSERT_EQ_INT(num_at(d, "disposition_id"), 1);	/* a timeout is no approval */
	ASSERT_EQ_INT(num_at(d, "process.pid"), 42);
	ASSERT_NULL(at(d, "process.parent_process"));
	ASSERT_NULL(at(d, "process.file"));
	ASSERT_NULL(at(d, "process.cmd_line"));
	ASSERT_NULL(at(d, "actor.session"));
	ASSERT_NULL(at(d, "metadata.correlation_uid"));
	jsonr__free(d);
}

void test_ocsf_gap_record(void)
{
	static const char rec[] =
		"{\"type\":\"gap\",\"time\":\"2026-11-29T19:09:00Z\",\"pid\":100,\"tid\":100,\"ppid\":0,"
		"\"session\":null,\"agent\":null,\"reattached\":true,\"last_heartbeat\":null,"
		"\"stopped_processes\":2}";
	int ret;
	struct jdoc *d = conv(rec, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "class_uid"), 6002);
	ASSERT_EQ_INT(num_at(d, "category_uid"), 6);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 600205);	/* Restart */
	ASSERT_EQ_STR(str_at(d, "app.name"), "agentwatch");
	ASSERT_EQ_INT(num_at(d, "unmapped.stopped_processes"), 2);
	ASSERT_EQ_INT(num_at(d, "unmapped.pid"), 100);	/* the collector's, not a process's */
	ASSERT_NULL(at(d, "actor"));
	jsonr__free(d);
}

/* The collector's own start and stop bound what the log covers. */
void test_ocsf_collector_start_stop(void)
{
	static const char start[] =
		"{\"type\":\"collector\",\"time\":\"2026-11-29T19:09:00Z\",\"pid\":100,\"tid\":100,"
		"\"ppid\":1,\"session\":null,\"agent\":null,\"event\":\"start\",\"version\":\"0.2.0\","
		"\"mode\":\"enforce\",\"log_torn_cut\":1}";
	static const char stop[] =
		"{\"type\":\"collector\",\"time\":\"2026-11-29T19:10:00Z\",\"pid\":100,\"tid\":100,"
		"\"ppid\":1,\"session\":null,\"agent\":null,\"event\":\"stop\",\"version\":\"0.2.0\","
		"\"kernel_counters\":{\"events\":12}}";
	int ret;
	struct jdoc *d = conv(start, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 600203);	/* Start */
	ASSERT_EQ_STR(str_at(d, "message"), "agentwatch started");
	ASSERT_EQ_INT(num_at(d, "unmapped.log_torn_cut"), 1);
	ASSERT_NULL(at(d, "actor"));
	jsonr__free(d);
	d = conv(stop, &ret);
	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 600204);	/* Stop */
	ASSERT_EQ_INT(num_at(d, "unmapped.kernel_counters.events"), 12);
	jsonr__free(d);
}

void test_ocsf_skips_bookkeeping(void)
{
	static const char *const recs[] = {
		("{\"type\":\"segment\",\"segment\":1,\"prev_segment_head\":\"00\",\"created_ms\":1,"
		 "\"seq\":0,\"chain\":\"aa\"}"),
		"{\"type\":\"retention\",\"deleted_through\":3,\"deleted\":2,\"bytes\":10}",
		"{\"type\":\"loss\",\"dropped\":5,\"errno\":28}",
		"{\"type\":\"from-the-future\",\"time\":\"2026-01-01T00:00:00Z\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		int ret;
		struct jdoc *d = conv(recs[i], &ret);

		ASSERT_NULL(d);
		ASSERT_EQ_INT(ret, 0);
	}
}

void test_ocsf_malformed(void)
{
	static const char *const recs[] = {
		"", "[]", "\"exec\"", "{", "{\"type\":1}", "{\"time\":\"2026-01-01T00:00:00Z\"}",
		"{\"type\":\"exec\"}", "{\"type\":\"exec\",\"time\":\"yesterday\"}",
		"{\"type\":\"exec\",\"time\":\"2026-13-01T00:00:00Z\"}",
		"{\"type\":\"exec\",\"time\":\"2026-01-01T00:00:00+01:00\"}",
		"{\"type\":\"exec\",\"time\":\"2026-01-01T00:00:00.1234567890Z\"}",
		"{\"type\":\"exec\",\"time\":\"2026-01-01T00:00:00Z\"} trailing",
	};
	struct jsonw *w = jsonw__new();
	size_t i;

	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		int ret;
		struct jdoc *d = conv(recs[i], &ret);

		ASSERT_NULL(d);
		if (ret != -EINVAL) {
			test__fail(__FILE__, __LINE__, "record %zu: got %d, expected -EINVAL", i, ret);
			return;
		}
	}
	ASSERT_NOT_NULL(w);
	ASSERT_EQ_INT(ocsf__from_record(NULL, 0, w, NULL), -EINVAL);
	ASSERT_EQ_INT(ocsf__from_record("{}", 2, NULL, NULL), -EINVAL);
	ASSERT_EQ_INT(ocsf__from_record(EXEC_ROOT, OCSF_RECORD_MAX + 1, w, NULL), -E2BIG);
	jsonw__free(w);
}

/* Deeper than the writer nests: an error, and no half-written event. */
void test_ocsf_too_deep(void)
{
	char rec[256];
	int n, ret;
	struct jdoc *d;

	n = snprintf(rec, sizeof(rec), "{\"type\":\"exec\",\"time\":\"2026-01-01T00:00:00Z\",\"x\":"
		     "%.40s%.40s}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	ASSERT_TRUE(n > 0 && (size_t)n < sizeof(rec));
	d = conv(rec, &ret);
	ASSERT_NULL(d);
	ASSERT_EQ_INT(ret, -EINVAL);
}

/* Only type and time: everything else is optional. */
void test_ocsf_minimal_record(void)
{
	int ret;
	struct jdoc *d = conv("{\"type\":\"net\",\"time\":\"1970-01-01T00:00:01Z\"}", &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "time"), 1000);
	ASSERT_EQ_INT(num_at(d, "activity_id"), 99);
	ASSERT_EQ_INT(num_at(d, "status_id"), 0);
	ASSERT_NOT_NULL(at(d, "actor"));
	ASSERT_NOT_NULL(at(d, "device.type_id"));
	ASSERT_NULL(at(d, "actor.process.pid"));
	ASSERT_NULL(at(d, "unmapped"));
	jsonr__free(d);
}

/*
 * Bytes that are not UTF-8 (json.h writes them as "\udcNN"), a quote, a
 * newline and an escape: argv goes through cmd_line, exe through file.path,
 * unmapped copies as they are, and every byte comes back.
 */
void test_ocsf_invalid_utf8_round_trip(void)
{
	static const char exe[] = "/tmp/\xff\xfe" "bin";
	static const char arg[] = "it's\n\x1b[31m\xc3";
	static const char cmd[] = "x 'it'\\''s\n\x1b[31m\xc3'";
	struct jsonw *in = jsonw__new();
	const char *s;
	size_t n, len;
	struct jdoc *d;
	int ret;

	ASSERT_NOT_NULL(in);
	jsonw__obj_begin(in);
	jsonw__key(in, "type"); jsonw__str(in, "exec");
	jsonw__key(in, "time"); jsonw__str(in, "2026-01-01T00:00:00Z");
	jsonw__key(in, "pid"); jsonw__u64(in, 9);
	jsonw__key(in, "exe"); jsonw__strn(in, exe, sizeof(exe) - 1);
	jsonw__key(in, "filename"); jsonw__strn(in, exe, sizeof(exe) - 1);
	jsonw__key(in, "argv");
	jsonw__arr_begin(in);
	jsonw__str(in, "x");
	jsonw__strn(in, arg, sizeof(arg) - 1);
	jsonw__arr_end(in);
	jsonw__key(in, "cgroup_id"); jsonw__u64(in, 18446744073709551557ull);
	jsonw__obj_end(in);
	s = jsonw__data(in, &n);
	ASSERT_TRUE(strstr(s, "\\udcff\\udcfe") != NULL);	/* the input is escaped as expected */
	d = conv_n(s, n, &ret);
	jsonw__free(in);
	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	s = jnode__str(at(d, "process.file.path"), &len);
	ASSERT_EQ_U64(len, sizeof(exe) - 1);
	ASSERT_EQ_MEM(s, exe, len);
	s = jnode__str(at(d, "process.file.name"), &len);
	ASSERT_EQ_U64(len, 5);
	ASSERT_EQ_MEM(s, "\xff\xfe" "bin", 5);
	s = jnode__str(at(d, "unmapped.filename"), &len);
	ASSERT_EQ_U64(len, sizeof(exe) - 1);
	ASSERT_EQ_MEM(s, exe, len);
	/* shell-quoted: 'it'\''s<LF><ESC>[31m<C3>' */
	s = jnode__str(at(d, "process.cmd_line"), &len);
	ASSERT_EQ_U64(len, sizeof(cmd) - 1);
	ASSERT_EQ_MEM(s, cmd, len);
	/* a u64 above 2^53 keeps every digit */
	ASSERT_EQ_U64(jnode__u64(at(d, "unmapped.cgroup_id"), 0), 18446744073709551557ull);
	jsonr__free(d);
}

void test_ocsf_parse_time(void)
{
	long long ms = 0;

	ASSERT_EQ_INT(ocsf__parse_time_ms("1970-01-01T00:00:00Z", 20, &ms), 0);
	ASSERT_EQ_INT(ms, 0);
	ASSERT_EQ_INT(ocsf__parse_time_ms("2000-02-29T23:59:59.999999999Z", 30, &ms), 0);
	ASSERT_EQ_INT(ms, 951868799999LL);
	ASSERT_EQ_INT(ocsf__parse_time_ms("1969-12-31T23:59:59.5Z", 22, &ms), 0);
	ASSERT_EQ_INT(ms, -500);
	ASSERT_EQ_INT(ocsf__parse_time_ms("2026-01-01T00:00:00.Z", 21, &ms), -EINVAL);
	ASSERT_EQ_INT(ocsf__parse_time_ms("2026-01-01 00:00:00Z", 20, &ms), -EINVAL);
	ASSERT_EQ_INT(ocsf__parse_time_ms("2026-01-01T24:00:00Z", 20, &ms), -EINVAL);
}

/* Every sample: the attributes OCSF requires, and type_uid consistent. */
void test_ocsf_samples_required_attributes(void)
{
	static const char *const recs[] = {
		EXEC_ROOT, FILE_TRUNC, FORK, EXEC_GATED, EXEC_BASH, EXIT, NET_DENIED,
		NET_INPROGRESS, NET_UDP, FILE_UNLINK, FILE_RENAME,
	};
	static const char *const required[] = {
		"activity_id", "category_uid", "class_uid", "type_uid", "severity_id", "time",
		"metadata.version", "metadata.product.name", "metadata.product.vendor_name",
		"device.type_id", "actor", "status_id",
	};
	size_t i, k;

	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		int ret;
		struct jdoc *d = conv(recs[i], &ret);

		ASSERT_EQ_INT(ret, 1);
		ASSERT_NOT_NULL(d);
		for (k = 0; k < sizeof(required) / sizeof(required[0]); k++)
			if (!at(d, required[k])) {
				test__fail(__FILE__, __LINE__, "record %zu: no %s", i, required[k]);
				jsonr__free(d);
				return;
			}
		ASSERT_EQ_INT(num_at(d, "type_uid"),
			      num_at(d, "class_uid") * 100 + num_at(d, "activity_id"));
		ASSERT_EQ_INT(num_at(d, "category_uid"), num_at(d, "class_uid") / 1000);
		ASSERT_NULL(at(d, "raw_data"));
		jsonr__free(d);
	}
}

/* A tamper record is not skipped: a SIEM must see an agent fighting back. */
void test_ocsf_tamper_record(void)
{
	static const char rec[] =
		"{\"type\":\"tamper\",\"time\":\"2026-11-29T19:09:00Z\",\"pid\":200,\"tid\":200,"
		"\"ppid\":100,\"session\":\"00000000000000a1\",\"agent\":\"claude\",\"exe\":\"/usr/bin/kill\","
		"\"argv\":[\"kill\",\"-9\",\"42\"],\"cwd\":\"/w\",\"kind\":\"signal\",\"what\":\"SIGKILL\","
		"\"target_pid\":42,\"comm\":\"kill\",\"lineage\":[{\"pid\":100,\"exe\":\"/bin/claude\","
		"\"argv\":[\"claude\"]},{\"pid\":200,\"exe\":\"/usr/bin/kill\",\"argv\":[\"kill\"]}],"
		"\"lineage_complete\":true}";
	int ret;
	struct jdoc *d = conv(rec, &ret);

	ASSERT_EQ_INT(ret, 1);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_INT(num_at(d, "type_uid"), 100799);
	ASSERT_EQ_INT(num_at(d, "severity_id"), 4);
	ASSERT_EQ_STR(str_at(d, "message"), "tamper: signal SIGKILL aimed at agentwatch");
	ASSERT_EQ_INT(num_at(d, "actor.process.pid"), 200);
	ASSERT_EQ_INT(num_at(d, "unmapped.target_pid"), 42);
	jsonr__free(d);
}
