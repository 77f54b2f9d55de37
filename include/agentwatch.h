/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Types and constants shared by the BPF programs (bpf/) and the collector
 * (user/).  Only fixed-width types; no vmlinux.h, no libc.  Every event that
 * crosses the ring buffer has a _Static_assert on its size so that a change
 * on one side that the other side did not see fails the build.
 */
#ifndef AGENTWATCH_H
#define AGENTWATCH_H

#ifndef __VMLINUX_H__	/* BPF side: vmlinux.h already has the __u* types */
#include <linux/types.h>
#endif

#define AW_COMM_LEN        16
#define AW_AGENT_LEN       32   /* agent name stored in the kernel session */
#define AW_NAME_KEY_LEN    64   /* basename key of the agent_names map */
#define AW_PATH_MAX        4096 /* one path string, NUL included */
#define AW_ARGV_MAX        32768 /* argv bytes captured per exec */
#define AW_MAX_CPUS        1024

/* Sizes of the map the kernel keeps; userspace may override max_entries. */
#define AW_MAX_SESSIONS_PROCS 65536
#define AW_MAX_AGENT_NAMES    1024

enum aw_event_type {
	AW_EV_EXEC = 1,
	AW_EV_FORK = 2,
	AW_EV_EXIT = 3,
	AW_EV_NET  = 4,
	AW_EV_FILE = 5,
	AW_EV_TAMPER = 6,
	AW_EV_TYPE_MAX,
};

/* Why a process belongs to its session (struct aw_session.reason). */
enum aw_reason {
	AW_REASON_NONE        = 0,
	AW_REASON_SIG_NAME    = 1, /* kernel: exec basename matched a signature */
	AW_REASON_SIG_USER    = 2, /* collector: interpreter+script / env / path */
	AW_REASON_PROC_SCAN   = 3, /* collector: found running at startup */
	AW_REASON_DECLARED_PID  = 4, /* --session-root PID */
	AW_REASON_DECLARED_EXEC = 5, /* agentwatch exec -- CMD */
};

/* Value of the `sessions` map (key: tgid).  Copied to the child at fork. */
struct aw_session {
	__u64 id;          /* unique session id (boot-time ns when opened) */
	__u64 root_start;  /* start_boottime (ns) of the session root */
	__u32 root_tgid;
	__u32 sig_id;      /* index into the collector's signature table */
	__u32 reason;      /* enum aw_reason */
	__u32 flags;       /* AW_SESS_* */
	char  agent[AW_AGENT_LEN];
};
_Static_assert(sizeof(struct aw_session) == 64, "aw_session size");

/* Set by whoever declares a session from userspace before the root execs
 * (agentwatch exec); the kernel clears it at the root's next exec and marks
 * that exec as the session's start. */
#define AW_SESS_UNANNOUNCED (1u << 0)
/* The session lost records and its policy is `--degraded gate`: every exec
 * in it is stopped for a verdict, as if every binary were gated. */
#define AW_SESS_GATE_ALL    (1u << 1)

/* Key of the `agent_names` LPM trie: a NUL-padded basename.  An entry whose
 * prefix covers the NUL is an exact name; one that stops short is a prefix. */
struct aw_name_key {
	__u32 prefixlen;   /* in bits, as LPM tries want */
	char  name[AW_NAME_KEY_LEN];
};
_Static_assert(sizeof(struct aw_name_key) == 68, "aw_name_key size");

/* Value of the `agent_names` map: key is a NUL-padded basename. */
struct aw_agent_name {
	__u32 sig_id;
	__u32 flags;       /* AW_NAME_* */
	char  agent[AW_AGENT_LEN];
};
#define AW_NAME_AGENT       (1u << 0) /* exec of this basename opens a session */
#define AW_NAME_INTERPRETER (1u << 1) /* exec is a candidate: collector decides */
_Static_assert(sizeof(struct aw_agent_name) == 40, "aw_agent_name size");

/* Header of every ring buffer record. */
struct aw_event_hdr {
	__u32 type;        /* enum aw_event_type */
	__u32 size;        /* bytes in this record, header included */
	__u64 ts;          /* bpf_ktime_get_boot_ns() */
	__u32 pid;         /* tgid */
	__u32 tid;
	__u64 start;       /* start_boottime (ns) of the process: table key */
	__u64 session_id;  /* 0: no session */
};
_Static_assert(sizeof(struct aw_event_hdr) == 40, "aw_event_hdr size");

#define AW_EXEC_SESSION_START (1u << 0) /* this exec opened the session */
#define AW_EXEC_CANDIDATE     (1u << 1) /* interpreter exec outside a session */
#define AW_EXEC_ARGV_TRUNC    (1u << 2)
#define AW_EXEC_EXE_TRUNC     (1u << 3)
#define AW_EXEC_CWD_TRUNC     (1u << 4)
#define AW_EXEC_FILENAME_TRUNC (1u << 5)
#define AW_EXEC_ALL           (1u << 6) /* emitted only because of --all */
#define AW_EXEC_GATED         (1u << 7) /* stopped (SIGSTOP) in the kernel for a verdict */
#define AW_EXEC_FALLBACK_KILL (1u << 8) /* gated, collector stale: killed in the kernel */
#define AW_EXEC_FALLBACK_ALLOW (1u << 9) /* gated, collector stale: let run */
#define AW_EXEC_UNGATED       (1u << 10) /* a gated binary the kernel could not stop
					  * (no bpf_send_signal): it is running, and
					  * the collector can only act late */

/*
 * Exec event.  data[] holds, in order: argv (argv_len bytes, NUL-separated),
 * filename as passed to execve (filename_len bytes, NUL included), absolute
 * exe path (exe_len), cwd (cwd_len).  Each length counts its NUL.
 */
struct aw_exec_event {
	struct aw_event_hdr hdr;
	struct aw_session sess;
	__u64 cgroup_id;
	__u64 parent_start;
	__u32 ppid;
	__u32 uid, euid, gid, egid;
	__u32 flags;        /* AW_EXEC_* */
	__u32 argv_len;     /* bytes captured */
	__u32 argv_total;   /* bytes the process really has (arg_end - arg_start) */
	__u32 argc;
	__u16 filename_len, exe_len, cwd_len, _pad;
	__u32 _pad2;
	char  comm[AW_COMM_LEN];
	char  data[];
};
_Static_assert(sizeof(struct aw_exec_event) == 184, "aw_exec_event size");
/* The BPF side writes data[] right after the struct in its scratch buffer:
 * it must start exactly at sizeof, with no tail padding in between. */
_Static_assert(__builtin_offsetof(struct aw_exec_event, data) == 184, "aw_exec_event data");
#define AW_EXEC_DATA_MAX (AW_ARGV_MAX + 3 * AW_PATH_MAX)

struct aw_fork_event {
	struct aw_event_hdr hdr;   /* pid/start are the child's */
	__u32 ppid;                /* forking parent's tgid */
	__u32 _pad;
	__u64 parent_start;
};
_Static_assert(sizeof(struct aw_fork_event) == 56, "aw_fork_event size");

struct aw_exit_event {
	struct aw_event_hdr hdr;
	__u32 exit_code;  /* raw wait status: (code << 8) | signal | 0x80 core */
	__u32 _pad;
	char  comm[AW_COMM_LEN];
};
_Static_assert(sizeof(struct aw_exit_event) == 64, "aw_exit_event size");

enum aw_net_op {
	AW_NET_CONNECT = 1,
	AW_NET_SENDMSG = 2,
};

struct aw_net_event {
	struct aw_event_hdr hdr;
	__u32 op;         /* enum aw_net_op */
	__u16 family;     /* AF_INET / AF_INET6 */
	__u16 port;       /* host byte order */
	__u32 protocol;   /* IPPROTO_TCP / IPPROTO_UDP / ... */
	__u32 sock_type;  /* SOCK_STREAM / SOCK_DGRAM */
	__u8  addr[16];   /* IPv4 in the first 4 bytes, network order */
	__s32 result;     /* syscall return (negative errno) */
	__u32 flags;      /* AW_NET_* */
	__u32 rule_id;    /* AW_NET_DENIED: the collector's id of the deny rule */
	__u32 _pad;
};
#define AW_NET_NO_RESULT (1u << 0) /* syscall exit not seen (io_uring, ...) */
#define AW_NET_DENIED    (1u << 1) /* refused with EPERM in the cgroup hook */
#define AW_NET_STOPPED   (1u << 2) /* ...and stopped at the syscall's return, so
				    * the collector can tell it why before it goes on */
_Static_assert(sizeof(struct aw_net_event) == 88, "aw_net_event size");

/*
 * A session process acting on agentwatch itself: a signal or ptrace aimed
 * at the collector, or any bpf() call (detaching links, writing pinned
 * maps, loading programs).  Reported with lineage; the syscall itself is
 * not blocked (that needs an LSM hook).
 */
enum aw_tamper_kind {
	AW_TAMPER_SIGNAL = 1,   /* arg: the signal; target: the collector */
	AW_TAMPER_PTRACE = 2,   /* arg: the ptrace request */
	AW_TAMPER_BPF    = 3,   /* arg: the bpf() command */
};

struct aw_tamper_event {
	struct aw_event_hdr hdr;
	__u32 kind;       /* enum aw_tamper_kind */
	__u32 arg;
	__u32 target;     /* pid acted on (0: none) */
	__u32 _pad;
	char  comm[AW_COMM_LEN];
};
_Static_assert(sizeof(struct aw_tamper_event) == 72, "aw_tamper_event size");

/* Exec gate: basenames some enforcing rule applies to (`gated_binaries`). */
struct aw_gate_key {
	char name[AW_NAME_KEY_LEN];   /* NUL-padded basename */
};

/* Network deny lists: LPM tries keyed by destination prefix.  The trie
 * returns only the longest match, so the collector copies every covering
 * shorter prefix's entries into each longer one. */
#define AW_NET_RULES_PER_PREFIX 8
struct aw_net_key4 {
	__u32 prefixlen;
	__u8  addr[4];
};
struct aw_net_key6 {
	__u32 prefixlen;
	__u8  addr[16];
};
struct aw_net_deny {
	__u32 n;
	__u32 _pad;
	struct {
		__u16 port_lo, port_hi;   /* host order; 0-65535 = any */
		__u16 protocol;           /* IPPROTO_*; 0 = any */
		__u16 _pad;
		__u32 rule_id;
		__u32 _pad2;
	} r[AW_NET_RULES_PER_PREFIX];
};
_Static_assert(sizeof(struct aw_net_deny) == 8 + 16 * AW_NET_RULES_PER_PREFIX, "aw_net_deny size");

enum aw_file_op {
	AW_FILE_UNLINK = 1,
	AW_FILE_UNLINKAT,
	AW_FILE_RMDIR,
	AW_FILE_RENAME,
	AW_FILE_RENAMEAT,
	AW_FILE_RENAMEAT2,
	AW_FILE_TRUNCATE,
	AW_FILE_OPEN_TRUNC,   /* open/openat/openat2 with O_TRUNC */
	AW_FILE_OP_MAX,
};

#define AW_FILE_PATH_TRUNC  (1u << 0)
#define AW_FILE_PATH2_TRUNC (1u << 1)
#define AW_FILE_DIR_TRUNC   (1u << 2)
#define AW_FILE_DIR2_TRUNC  (1u << 3)
#define AW_FILE_AT_REMOVEDIR (1u << 4) /* unlinkat(AT_REMOVEDIR) */
#define AW_FILE_BREAKER      (1u << 5) /* this deletion tripped the mass-deletion
					  * breaker: the process was SIGSTOPped */
#define AW_FILE_PROTECTED    (1u << 6) /* a protected path: stopped at its first hit */
#define AW_FILE_PROT_KILLED  (1u << 7) /* ...killed instead: no collector to ask */
#define AW_FILE_PROT_UNSTOPPED (1u << 8) /* a protected path the kernel could not stop
					  * at (no bpf_send_signal): the collector
					  * acts late */
#define AW_FILE_OWN_ROOT     (1u << 9) /* the process's root is the collector's: its
					* paths can be looked up as they are */

/*
 * File event.  data[] holds path, dir, path2, dir2 (each *_len bytes with
 * its NUL; a length of 0 means absent).  path is what the process passed;
 * dir is the directory a relative path is relative to (the dirfd's path,
 * or the cwd for AT_FDCWD), so the collector can make it absolute.
 */
struct aw_file_event {
	struct aw_event_hdr hdr;
	__u32 op;          /* enum aw_file_op */
	__u32 flags;       /* AW_FILE_* */
	__s32 result;
	__u32 open_flags;  /* open flags or renameat2 flags */
	__u16 path_len, dir_len, path2_len, dir2_len;
	__u32 rule_id;     /* AW_FILE_PROTECTED: the collector's id of the file rule */
	__u32 _pad;
	char  data[];
};
_Static_assert(sizeof(struct aw_file_event) == 72, "aw_file_event size");
_Static_assert(__builtin_offsetof(struct aw_file_event, data) == 72, "aw_file_event data");

/* Protected paths (`protected_paths` LPM trie).  A rule's path P is stored
 * twice: "P\0" (the path itself, exact) and "P/" (everything under it). */
#define AW_PROT_KEY_LEN 256
struct aw_prot_key {
	__u32 prefixlen;
	char  path[AW_PROT_KEY_LEN];
};
struct aw_prot_val {
	__u32 ops_mask;    /* bit (1 << enum aw_file_op) per operation */
	__u32 rule_id;
};
#define AW_FILE_DATA_MAX (4 * AW_PATH_MAX)

/* Slots of the `heartbeat` array map. */
enum aw_heartbeat_slot {
	AW_HB_TIME = 0,     /* CLOCK_BOOTTIME ns of the collector's last sign of life */
	AW_HB_NAPPING,      /* nonzero: the collector sleeps; the next record wakes it */
	AW_HB_SLOTS,
};

/* Loss and health counters (the `counters` per-CPU array, indexed). */
enum aw_counter {
	AW_CNT_RB_FAIL_EXEC = 0,      /* ring buffer full, per event type */
	AW_CNT_RB_FAIL_FORK,
	AW_CNT_RB_FAIL_EXIT,
	AW_CNT_RB_FAIL_NET,
	AW_CNT_RB_FAIL_FILE,
	AW_CNT_ARGV_TRUNC,            /* argv longer than AW_ARGV_MAX */
	AW_CNT_PATH_TRUNC,            /* a path longer/deeper than we walk */
	AW_CNT_SESSIONS_FULL,         /* sessions map update failed */
	AW_CNT_INFLIGHT_FULL,         /* a file call not noted for its exit (task storage) */
	AW_CNT_READ_FAIL,             /* bpf_probe_read_* of user memory failed */
	AW_CNT_EVENTS,                /* records submitted */
	AW_CNT_GATE_STOPS,            /* execs stopped for a verdict */
	AW_CNT_GATE_FALLBACKS,        /* gated execs decided in the kernel: collector stale */
	AW_CNT_NET_DENIED,            /* connects/sends refused with EPERM */
	AW_CNT_BREAKER_TRIPS,         /* processes stopped by the deletion breaker */
	AW_CNT_PROTECTED_HITS,        /* file ops on protected paths, stopped in the kernel */
	AW_CNT_RB_FAIL_TAMPER,        /* ring buffer full: a tamper record */
	AW_CNT_TAMPER,                /* session processes acting on agentwatch itself */
	AW_CNT_MAX,
};

/* What the exec gate does when the collector's heartbeat is stale. */
enum aw_fallback {
	AW_FALLBACK_KILL = 0,   /* fail closed: SIGKILL the gated exec */
	AW_FALLBACK_ALLOW = 1,  /* fail open: let it run, report it */
};

/* Runtime knobs (the `aw_config` array, index 0), set by the collector. */
struct aw_config {
	__u32 all_execs;      /* --all: exec events for every process */
	__u32 collector_tgid; /* never attribute or report the collector */
	__u32 gate_fallback;  /* enum aw_fallback */
	__u32 net_enforce;    /* 0: deny rules only report (monitor mode) */
	__u64 heartbeat_stale_ns; /* heartbeat older than this: collector gone */
	__u32 breaker_n;      /* deletions per window that trip the breaker; 0 = off */
	__u32 n_protected;    /* entries in protected_paths: 0 skips the lookup */
	__u64 breaker_window_ns;
	__u64 build_id;       /* hash of the BPF object: a restarted collector reattaches
			       * to pinned programs only if they are its own build */
	__u32 quiesce;        /* the collector is shutting down: stop no process and
			       * apply no fallback, so none is left stopped with
			       * nobody to resume it */
	__u32 scope_tgid;     /* --within PID: sessions open only among PID and its
			       * descendants (the `scope` map); 0 = host-wide */
	__u32 off;            /* AW_OFF_*: what the loaded programs run without, so a
			       * collector that takes them over knows what they do */
	__u32 _pad;
};
_Static_assert(sizeof(struct aw_config) == 64, "aw_config size");

/* Optional kernel features a reduced sensor runs without (aw_config.off). */
#define AW_OFF_TP_BTF      (1u << 0) /* exec/fork/exit/signal on raw tracepoints */
#define AW_OFF_SEND_SIGNAL (1u << 1) /* nothing stopped in the kernel */
#define AW_OFF_SYSCALL_TP  (1u << 2) /* no syscall tracepoints: the cgroup hooks
				      * report at once, without a result */
#define AW_OFF_CGROUP2     (1u << 3) /* no cgroup v2 hierarchy to attach at */
#define AW_OFF_CGROUP_SOCK (1u << 4) /* no cgroup connect/sendmsg hooks */
#define AW_OFF_SIGNAL_TP   (1u << 5) /* no signal_generate hook */

/* The collector's root directory as the kernel knows it (`collector_root`
 * map), noted by the collector's own probe unlink at start: a session
 * process with the same root (same mount, so the same mount namespace,
 * and the same dentry) sees paths as the collector does. */
struct aw_root {
	__u64 mnt, dentry;
};
_Static_assert(sizeof(struct aw_root) == 16, "aw_root size");

/* Mass-deletion breaker state per process (`breaker` map, key tgid). */
struct aw_breaker {
	__u64 window_start;
	__u32 count;
	__u32 state;          /* AW_BREAKER_* */
};
#define AW_BREAKER_ARMED   0
#define AW_BREAKER_TRIPPED 1  /* stopped; the collector decides */
#define AW_BREAKER_EXEMPT  2  /* the collector judged this process's deletions fine */

#endif /* AGENTWATCH_H */
