#!/usr/bin/env python3
"""make bench: agentwatch side by side with no sensor and with its peers.

Scenarios (BENCH_ONLY=a,b runs some of them):
  exec     fork+exec+wait of /bin/true, outside any session and inside one
  open     open()+close() of a file outside any session
  gated    the same inside a session, of a gated binary the rules allow
  delete   unlink of many small files inside a session, in its workspace
  connect  connect()+accept()+close() to a loopback listener inside a session
  build    `make -j2` of a generated C project inside a session
  queries  the audit log queries over a million records

Configurations (BENCH_CONFIGS=a,b runs some of them): no sensor; agentwatch in
monitor and in enforce mode with the default rules (plus one rule that gates
the bench's own binary); agentwatch enforce with --breaker off (delete only);
auditd with an execve rule; libbpf-tools execsnoop; bpftrace on
sched_process_exec.

Configurations alternate within each round, in an order that rotates from
round to round, so that drift on a noisy machine hits all of them alike.
Every figure is printed as the median and min-max over the rounds, with its
ratio to the no-sensor median.  Results also go to tests/bench/results.md.

Safety: agentwatch only ever runs with --no-default-agents and one fake agent
name unique to this run, on its own pins, state, control socket and log; the
peers and auditd are stopped by pid, and the audit rules and enabled flag are
put back as they were, also when the bench is interrupted.
"""
import ctypes, datetime, glob, json, os, platform, shutil, signal, statistics, subprocess, sys
import tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "tests", "bench")
AW = os.path.join(ROOT, "agentwatch")
MKLOG = os.path.join(ROOT, ".output", "bench", "mklog")
MATCHBENCH = os.path.join(os.path.dirname(MKLOG), "matchbench")
PROCBENCH = os.path.join(os.path.dirname(MKLOG), "procbench")
RESULTS = os.path.join(BENCH, "results.md")


def env_int(name, default):
    return int(os.environ.get(name, str(default)))


# Many short rounds rather than few long ones: other work on the machine
# comes in bursts, and finer interleaving spreads them over every column.
ROUNDS = env_int("BENCH_ROUNDS", 8)
N_EXEC = env_int("BENCH_EXECS", 1500)
N_DELETE = env_int("BENCH_DELETES", 5000)
N_OPEN = env_int("BENCH_OPENS", 100000)
N_CONNECT = env_int("BENCH_CONNECTS", 3000)
N_SOURCES = env_int("BENCH_BUILD_FILES", 24)
LOG_RECORDS = env_int("BENCH_LOG_RECORDS", 1000000)
ONLY = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s]
ONLY_CONFIGS = [s for s in os.environ.get("BENCH_CONFIGS", "").split(",") if s]
WRITE_RESULTS = os.environ.get("BENCH_WRITE", "1" if not ONLY and not ONLY_CONFIGS else "0") == "1"

SCENARIOS = ["exec-out", "exec-in", "open-out", "gated", "delete", "connect", "build"]
SCENARIO_GROUP = {"exec-out": "exec", "exec-in": "exec", "open-out": "open", "gated": "gated",
                  "delete": "delete",
                  "connect": "connect", "build": "build"}
SCENARIO_LABEL = {
    "exec-out": "exec storm outside any session: fork+exec+wait of /bin/true",
    "exec-in": "exec storm inside an agent session: fork+exec+wait of /bin/true",
    "open-out": "open storm outside any session: open+close of a file, what every process on the "
                "host pays per open while a sensor runs (agentwatch's open programs return at once "
                "for it: the difference is mostly the syscall tracepoints' own dispatch, which the "
                "BPF run-time stats don't count)",
    "gated": "gated exec storm inside a session, every exec allowed (stop, match, resume)",
    "delete": "delete storm inside a session, in its workspace: unlink of a small file "
              "(sensor and BPF figures also cover creating the files, which the wall and CPU figures don't)",
    "connect": "connect storm inside a session: TCP connect+accept+close on 127.0.0.1",
    "build": f"build inside a session: make -j2 of {N_SOURCES} generated C files",
}
SCENARIO_UNIT = {"exec-out": "exec", "exec-in": "exec", "open-out": "open", "gated": "exec",
                 "delete": "unlink",
                 "connect": "connect", "build": "build"}

GATE_RULES = """
# gates the benchmark's own binary; never matches, so every exec is allowed
rule bench-gate
  action pause
  binary awgated
  arg *never-matches*
"""


class Skip(Exception):
    """A configuration that can't run here; its column is left out."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(argv, timeout=60, check=True):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=check)


# ---- measurements of a running sensor ---------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ns(pids):
    """CPU time of the processes, all their threads: the scheduler's own
    run time (/proc/PID/task/TID/schedstat, ns), else utime+stime (10 ms
    ticks, which a process that wakes often and runs briefly can't be
    measured by: it is charged by where the ticks happen to land)."""
    total = 0
    for pid in pids:
        got = False
        for st in glob.glob(f"/proc/{pid}/task/*/schedstat"):
            try:
                with open(st) as f:
                    total += int(f.read().split()[0])
                got = True
            except (OSError, IndexError, ValueError):
                pass
        if got:
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) * 1e9 / CLK_TCK
        except (OSError, IndexError, ValueError):
            pass
    return total


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def kthread_pid(comm):
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/comm") as f:
                if f.read().strip() == comm:
                    return int(os.path.basename(d))
        except OSError:
            pass
    return None


def held_prog_ids(pids):
    """Ids of the BPF programs the processes hold, through a program fd or
    a link fd: both show prog_id in their fdinfo.  (Debian's bpftool can't
    list the holders itself: it is built without the pid iterator.)"""
    ids = set()
    for pid in pids:
        for fdinfo in glob.glob(f"/proc/{pid}/fdinfo/*"):
            try:
                with open(fdinfo) as f:
                    for line in f:
                        if line.startswith("prog_id:"):
                            ids.add(int(line.split()[1]))
            except (OSError, ValueError, IndexError):
                pass
    return ids


def bpf_progs(pids):
    """{prog id: (name, run_time_ns, run_cnt)} of the BPF programs that the
    processes hold."""
    ids = held_prog_ids(pids)
    if not ids or not shutil.which("bpftool"):
        return {}
    try:
        progs = json.loads(run(["bpftool", "prog", "show", "--json"], timeout=30).stdout or "[]")
    except (subprocess.SubprocessError, ValueError):
        return {}
    return {p["id"]: (p.get("name", "?"), p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in progs if p.get("id") in ids}


def bpf_delta(before, after):
    t = sum(v[1] for v in after.values()) - sum(before.get(k, (0, 0, 0))[1] for k in after)
    c = sum(v[2] for v in after.values()) - sum(before.get(k, (0, 0, 0))[2] for k in after)
    return t, c


class BpfStats:
    """Run-time accounting of BPF programs while this process holds the fd
    that BPF_ENABLE_STATS returns: nothing is left enabled if the bench is
    killed.  Falls back to the kernel.bpf_stats_enabled sysctl, restored on
    close."""
    NR_BPF = {"x86_64": 321, "aarch64": 280}
    BPF_ENABLE_STATS = 32

    def __init__(self):
        self.fd = -1
        self.old_sysctl = None
        nr = self.NR_BPF.get(platform.machine())
        if nr:
            libc = ctypes.CDLL(None, use_errno=True)
            attr = ctypes.create_string_buffer(8)  # union bpf_attr.enable_stats.type = BPF_STATS_RUN_TIME (0)
            fd = libc.syscall(nr, self.BPF_ENABLE_STATS, attr, 4)
            if fd >= 0:
                self.fd = fd
                self.how = "BPF_ENABLE_STATS (held for the whole bench)"
                return
        path = "/proc/sys/kernel/bpf_stats_enabled"
        with open(path) as f:
            self.old_sysctl = f.read().strip()
        with open(path, "w") as f:
            f.write("1")
        self.how = f"kernel.bpf_stats_enabled=1 (was {self.old_sysctl}, restored after)"

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.old_sysctl is not None:
            with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
                f.write(self.old_sysctl)
            self.old_sysctl = None


# ---- configurations -----------------------------------------------------------

def stop_pid(p, sig=signal.SIGTERM, timeout=20):
    """Stop a process this bench started: sig, a bounded wait, then SIGKILL."""
    if p.poll() is not None:
        return
    p.send_signal(sig)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)


def wait_bpf_ready(p, errfile, what, timeout=60):
    """A tracer is ready once it holds its BPF programs; it attaches them
    right after loading, so give it a moment more."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if p.poll() is not None:
            raise Skip(f"{what} exited at start: " + open(errfile).read().strip()[-300:])
        if bpf_progs({p.pid}):
            time.sleep(0.5)
            return
        time.sleep(0.1)
    stop_pid(p)
    raise Skip(f"{what} did not load its programs within {timeout} s")


class NoSensor:
    name, label = "none", "no sensor"
    scenarios = SCENARIOS

    def check(self):
        pass

    def start(self, rundir):
        pass

    def pids(self):
        return []

    def bpf_pids(self):
        return set()

    def stop(self):
        return {}


class OneProcess:
    """A sensor that is one process of ours (self.p): its pids, and what to
    read from it before it is stopped with SIGINT."""

    def pids(self):
        return [self.p.pid] if self.p else []

    def bpf_pids(self):
        return {self.p.pid} if self.p else set()

    def stop_process(self):
        """Peak RSS, CPU and BPF programs, then stop it; {} if not running."""
        if not self.p:
            return {}
        info = {"rss_kib": peak_rss_kib(self.p.pid), "cpu_total_ns": cpu_ns([self.p.pid]),
                "progs": bpf_progs({self.p.pid})}
        stop_pid(self.p, signal.SIGINT)
        self.p = None
        return info


class Agentwatch(OneProcess):
    scenarios = SCENARIOS

    def __init__(self, name, label, agent, rules, extra):
        self.name, self.label, self.agent, self.rules, self.extra = name, label, agent, rules, extra
        self.p = None
        self.pin = f"/sys/fs/bpf/aw-bench-{os.getpid()}"
        self.argv_shown = None

    def check(self):
        if not os.access(AW, os.X_OK):
            raise Skip("build agentwatch first (make)")

    def start(self, rundir):
        self.dir = rundir
        self.err = os.path.join(rundir, "aw.err")
        self.state = os.path.join(rundir, "state")
        # The control socket in the bench's private 0700 dir, never loose in /tmp.
        argv = [AW, "run", "--json", "-o", "/dev/null", "--no-default-agents",
                "--agent", f"{self.agent}:{self.agent}", "--rules", self.rules, *self.extra,
                "--pin-dir", self.pin, "--state-dir", self.state,
                "--control", os.path.join(rundir, "control.sock"),
                "--log-dir", os.path.join(rundir, "log")]
        self.argv_shown = " ".join(a.replace(self.rules, "RULES").replace(rundir, "RUNDIR")
                                   for a in argv[1:])
        clean_pins(self.pin)
        with open(self.err, "w") as errf:
            self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errf, cwd=rundir)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.p.poll() is not None:
                self.p = None
                clean_pins(self.pin)
                raise Skip("agentwatch failed to start: " + open(self.err).read().strip()[-500:])
            if "watching" in open(self.err).read():
                self.cpu0 = cpu_ns([self.p.pid])
                return
            time.sleep(0.05)
        self.stop()
        raise Skip("agentwatch did not become ready within 30 s")

    def stop(self):
        info = self.stop_process()
        if not info:
            return {}
        clean_pins(self.pin)
        err = open(self.err).read()
        info["counters"] = parse_counters(err)
        try:
            with open(os.path.join(self.state, "status.json")) as f:
                st = json.load(f)
        except (OSError, ValueError):
            st = {}
        info["gate_latency"] = st.get("gate_latency")
        info["enforcement"] = st.get("enforcement_counters", {})
        shutil.rmtree(os.path.join(self.dir, "log"), ignore_errors=True)
        return info


def clean_pins(pin):
    """Remove this bench's own pin dir (maps and links pinned by its
    agentwatch), so the next start loads fresh instead of taking over."""
    if os.path.isdir(pin):
        for dirpath, dirnames, filenames in os.walk(pin, topdown=False):
            for f in filenames:
                os.unlink(os.path.join(dirpath, f))
            os.rmdir(dirpath)


def parse_counters(err):
    """The `counters:` line agentwatch prints on stderr at exit."""
    for line in err.splitlines():
        if "counters:" in line:
            out = {}
            for kv in line.split("counters:", 1)[1].split():
                k, _, v = kv.partition("=")
                if v.isdigit():
                    out[k] = int(v)
            return out
    return {}


# Counters that count work done, not work lost; every other counter is a
# loss or an error.
ACTIVITY_COUNTERS = {"events", "gate_stops", "gate_fallbacks", "net_denied", "breaker_trips",
                     "protected_path_hits", "candidates_seen", "candidates_matched", "sessions_opened"}


def sum_counters(infos):
    tot = {}
    for i in infos:
        for k, v in i.get("counters", {}).items():
            tot[k] = tot.get(k, 0) + v
    return tot


def audit_status():
    out = run(["auditctl", "-s"]).stdout
    st = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            st[parts[0]] = parts[1]
    return st


def audit_rules():
    return run(["auditctl", "-l"]).stdout


# What Debian's /etc/audit/rules.d/audit.rules sets when the packaged service
# starts; the kernel's own backlog of 64 would throttle an exec storm.
AUDIT_TUNABLES = [("backlog_limit", "-b", "8192"), ("backlog_wait_time", "--backlog_wait_time", "60000"),
                  ("failure", "-f", "1")]


class Auditd:
    name = "auditd"
    label = ("auditd (Debian's auditd.conf, log in the bench's dir; -b 8192 --backlog_wait_time 60000 "
             "-f 1 as Debian's audit.rules) + auditctl -a always,exit -F arch=b64 -S execve")
    scenarios = SCENARIOS

    def __init__(self, key):
        # A key of our own makes the rule ours: -d deletes exactly it.
        self.rule = ["always,exit", "-F", "arch=b64", "-S", "execve", "-k", key]
        self.p = None
        self.added = False
        self.before = None

    def check(self):
        for b in ("auditctl", "auditd"):
            if not shutil.which(b):
                raise Skip(f"{b} not installed (apt-get install auditd)")
        st = audit_status()
        if st.get("enabled") == "2":
            raise Skip("the audit configuration is locked (enabled 2)")

    def start(self, rundir):
        self.before = {"status": audit_status(), "rules": audit_rules()}
        self.p = None
        pid = int(self.before["status"].get("pid", "0"))
        if pid == 0 or not os.path.exists(f"/proc/{pid}"):
            # Our own auditd, its config and log in the bench's dir; Debian's
            # auditd.conf otherwise, so the log is written as it would be.
            conf = os.path.join(rundir, "audit")
            os.makedirs(conf, exist_ok=True)
            with open("/etc/audit/auditd.conf") as f:
                text = f.read()
            lines = [f"log_file = {conf}/audit.log" if l.split("=")[0].strip() == "log_file" else l
                     for l in text.splitlines()]
            with open(os.path.join(conf, "auditd.conf"), "w") as f:
                f.write("\n".join(lines) + "\n")
            os.chmod(os.path.join(conf, "auditd.conf"), 0o640)
            self.err = os.path.join(rundir, "auditd.err")
            with open(self.err, "w") as errf:
                self.p = subprocess.Popen(["auditd", "-n", "-c", conf], stdout=subprocess.DEVNULL,
                                          stderr=errf, stdin=subprocess.DEVNULL)
            deadline = time.time() + 15
            while audit_status().get("pid") != str(self.p.pid):
                if self.p.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise Skip("auditd did not start: " + open(self.err).read().strip()[-300:])
                time.sleep(0.1)
            self.pid = self.p.pid
            for field, opt, val in AUDIT_TUNABLES:
                if self.before["status"].get(field) != val:
                    run(["auditctl", opt, val])
        else:
            self.pid = pid
        r = run(["auditctl", "-a", *self.rule], check=False)
        if r.returncode:
            self.stop()
            raise Skip("auditctl -a failed: " + (r.stderr or r.stdout).strip())
        self.added = True
        if audit_status().get("enabled") != "1":
            run(["auditctl", "-e", "1"])
        self.kauditd = kthread_pid("kauditd")
        # kauditd has run since boot; only what it does from here on counts.
        self.cpu_base = cpu_ns([self.kauditd] if self.kauditd else [])
        if not self.p:
            self.cpu_base += cpu_ns([self.pid])
        st = audit_status()
        self.lost0 = int(st.get("lost", "0"))
        self.waited0 = int(st.get("backlog_wait_time_actual", "0"))

    def pids(self):
        return [p for p in (getattr(self, "pid", None), getattr(self, "kauditd", None)) if p]

    def bpf_pids(self):
        return set()

    def stop(self):
        info = {}
        if self.p:
            info["rss_kib"] = peak_rss_kib(self.p.pid)
        if self.added:
            info["cpu_total_ns"] = cpu_ns(self.pids()) - self.cpu_base
            st = audit_status()
            info["lost"] = int(st.get("lost", "0")) - self.lost0
            info["waited"] = int(st.get("backlog_wait_time_actual", "0")) - self.waited0
            r = run(["auditctl", "-d", *self.rule], check=False)
            if r.returncode:
                log("auditd: could not delete the bench's rule: " + (r.stderr or r.stdout).strip())
            self.added = False
        if self.p:
            stop_pid(self.p)
            self.p = None
        if self.before:
            now = audit_status()
            for field, opt, _ in AUDIT_TUNABLES:
                old = self.before["status"].get(field)
                if old is not None and now.get(field) != old:
                    run(["auditctl", opt, old])
            old = self.before["status"].get("enabled")
            if old in ("0", "1") and now.get("enabled") != old:
                run(["auditctl", "-e", old])
            now = audit_status()
            for field in ["enabled", "pid"] + [t[0] for t in AUDIT_TUNABLES]:
                if field == "pid" and self.before["status"].get("pid") != "0":
                    continue  # a daemon we did not start may have restarted
                if now.get(field) != self.before["status"].get(field):
                    log(f"auditd: WARNING: audit {field} is {now.get(field)}, was "
                        f"{self.before['status'].get(field)} before the bench")
            if audit_rules() != self.before["rules"]:
                log("auditd: WARNING: audit rules differ from before the bench:\n" + audit_rules())
            self.before = None
        return info


class Tracer(OneProcess):
    """A BPF tracer from the distribution, its output thrown away."""
    scenarios = SCENARIOS

    def __init__(self, name, label, argv, pkg):
        self.name, self.label, self.argv, self.pkg = name, label, argv, pkg
        self.p = None

    def check(self):
        if not shutil.which(self.argv[0]):
            raise Skip(f"{self.argv[0]} not installed (apt-get install {self.pkg})")

    def start(self, rundir):
        self.err = os.path.join(rundir, self.name + ".err")
        with open(self.err, "w") as errf:
            self.p = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=errf,
                                      stdin=subprocess.DEVNULL)
        try:
            wait_bpf_ready(self.p, self.err, self.argv[0])
        except Skip:
            self.p = None
            raise

    def stop(self):
        info = self.stop_process()
        if not info:
            return {}
        err = open(self.err).read()
        info["lost_lines"] = [l for l in err.splitlines() if "lost" in l.lower()]
        return info


# ---- workloads -----------------------------------------------------------------

def build_helpers(tmp):
    exes = {}
    for name in ("execstorm", "openstorm", "delstorm", "connstorm", "launch"):
        exe = os.path.join(tmp, "bin", name)
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", exe,
                        os.path.join(BENCH, name + ".c")], check=True, timeout=120)
        exes[name] = exe
    return exes


def agent_link(tmp, agent, target, kind):
    """Exec'ing `target` through a link whose basename is the fake agent's
    name opens a session rooted at it.  One directory per helper, since the
    agent signature matches the basename alone."""
    d = os.path.join(tmp, "agent-" + kind)
    os.makedirs(d, exist_ok=True)
    link = os.path.join(d, agent)
    os.symlink(target, link)
    return link


def make_project(d, n):
    """A small C project with some work for the compiler in each file."""
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        fns = []
        for j in range(12):
            fns.append(f"""
struct s{j} {{ int a[16]; long b; double c; }};
static long f{j}(struct s{j} *s, int n)
{{
	long acc = s->b;
	for (int k = 0; k < n; k++) {{
		switch ((k + {j}) % 5) {{
		case 0: acc += s->a[k % 16] * {i + 3}; break;
		case 1: acc ^= (long)(s->c * k) << {j % 7}; break;
		case 2: acc -= s->a[(k * {j + 1}) % 16]; break;
		case 3: s->a[k % 16] = (int)(acc >> 3); break;
		default: acc = acc * 31 + k;
		}}
	}}
	return acc;
}}""")
        calls = " + ".join(f"f{j}(&v{j}, n)" for j in range(12))
        decls = " ".join(f"struct s{j} v{j} = {{ .b = {j}, .c = {j}.5 }};" for j in range(12))
        with open(os.path.join(d, f"u{i}.c"), "w") as f:
            f.write("".join(fns) + f"\nlong u{i}(int n)\n{{\n\t{decls}\n\treturn {calls};\n}}\n")
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write("#include <stdio.h>\n" + "".join(f"long u{i}(int);\n" for i in range(n)) +
                "int main(void)\n{\n\tlong t = 0;\n" + "".join(f"\tt += u{i}(100);\n" for i in range(n)) +
                '\tprintf("%ld\\n", t);\n\treturn 0;\n}\n')
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write("CFLAGS = -O2 -Wall\nOBJS = $(patsubst %.c,%.o,$(sort $(wildcard *.c)))\n"
                "prog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n")


def clean_project(d):
    for f in glob.glob(os.path.join(d, "*.o")) + [os.path.join(d, "prog")]:
        if os.path.exists(f):
            os.unlink(f)


class Workloads:
    def __init__(self, tmp, agent):
        self.tmp = tmp
        exes = build_helpers(tmp)
        self.exec_out = exes["execstorm"]
        self.open_out = exes["openstorm"]
        self.open_file = os.path.join(tmp, "opened")
        with open(self.open_file, "w") as f:
            f.write("x\n")
        self.exec_in = agent_link(tmp, agent, exes["execstorm"], "exec")
        self.del_in = agent_link(tmp, agent, exes["delstorm"], "delete")
        self.conn_in = agent_link(tmp, agent, exes["connstorm"], "connect")
        self.launch_in = agent_link(tmp, agent, exes["launch"], "build")
        self.gated = os.path.join(tmp, "bin", "awgated")
        shutil.copy("/bin/true", self.gated)
        # The delete storm's session opens with its cwd here: that is its
        # workspace, and the files it deletes are inside it.
        self.ws = os.path.join(tmp, "delws")
        self.files = os.path.join(self.ws, "files")
        os.makedirs(self.files)
        self.proj = os.path.join(tmp, "proj")
        make_project(self.proj, N_SOURCES)

    def _num(self, argv, cwd=None, timeout=900):
        """The helper's wall and CPU ns per operation, or None."""
        r = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=timeout)
        if r.returncode:
            log(f"  {os.path.basename(argv[0])} failed ({r.returncode}): {r.stderr.strip()[-300:]}")
            return None
        try:
            wall, cpu = (float(x) for x in r.stdout.strip().splitlines()[-1].split())
            return wall, cpu
        except (ValueError, IndexError):
            log(f"  {argv[0]}: unexpected output {r.stdout!r}")
            return None

    def run(self, scen):
        """((wall ns, CPU ns) per operation or None, number of operations) of one run."""
        if scen == "exec-out":
            return self._num([self.exec_out, str(N_EXEC)]), N_EXEC
        if scen == "exec-in":
            return self._num([self.exec_in, str(N_EXEC)]), N_EXEC
        if scen == "open-out":
            return self._num([self.open_out, self.open_file, str(N_OPEN)]), N_OPEN
        if scen == "gated":
            return self._num([self.exec_in, str(N_EXEC), self.gated]), N_EXEC
        if scen == "delete":
            for f in os.listdir(self.files):  # leftovers of a failed run
                os.unlink(os.path.join(self.files, f))
            return self._num([self.del_in, self.files, str(N_DELETE)], cwd=self.ws), N_DELETE
        if scen == "connect":
            return self._num([self.conn_in, str(N_CONNECT)]), N_CONNECT
        if scen == "build":
            clean_project(self.proj)
            return self._num([self.launch_in, "make", "-s", "-j2"], cwd=self.proj), 1
        raise ValueError(scen)


# ---- the benchmark -----------------------------------------------------------

def fmt_ns(v):
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.1f} ms"
    if v >= 1e4:
        return f"{v / 1e3:.0f} us"
    if v >= 1e3:
        return f"{v / 1e3:.1f} us"
    return f"{v:.0f} ns"


def fmt_range(vals):
    return f"{fmt_ns(min(vals))} - {fmt_ns(max(vals))}"


def machine_lines():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return [f"- machine: {cpu}, {os.cpu_count()} CPUs, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM",
            f"- kernel: {os.uname().release} ({platform.machine()})",
            f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}"]


def tool_versions():
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "auditd", "libbpf-tools",
                        "bpftrace", "bpftool"], capture_output=True, text=True, timeout=10)
    return r.stdout.strip().splitlines()


def bench_sensors(tmp, out):
    agent = f"awbench{os.getpid()}"
    rules = os.path.join(tmp, "rules")
    os.mkdir(rules)
    for f in sorted(glob.glob(os.path.join(ROOT, "rules", "*.rules"))):
        shutil.copy(f, rules)
    with open(os.path.join(rules, "zz-bench.rules"), "w") as f:
        f.write(GATE_RULES)
    r = run([AW, "rules", "check", rules], check=False)
    if r.returncode:
        sys.exit("the bench's rule set does not load: " + r.stdout + r.stderr)
    n_rules = len(glob.glob(os.path.join(rules, "*.rules")))

    scen = [s for s in SCENARIOS if not ONLY or SCENARIO_GROUP[s] in ONLY]
    nobrk = Agentwatch("aw-nobreaker", "agentwatch enforce, --breaker off", agent, rules,
                       ["--mode", "enforce", "--breaker", "off"])
    nobrk.scenarios = ["delete"]
    configs = [NoSensor(),
               Agentwatch("aw-monitor", "agentwatch --mode monitor", agent, rules, ["--mode", "monitor"]),
               Agentwatch("aw-enforce", "agentwatch --mode enforce", agent, rules, ["--mode", "enforce"]),
               nobrk,
               Auditd(agent),
               Tracer("execsnoop", "libbpf-tools execsnoop > /dev/null", ["execsnoop"], "libbpf-tools"),
               Tracer("bpftrace", "bpftrace sched_process_exec printf(comm) > /dev/null",
                      ["bpftrace", "-e", 'tracepoint:sched:sched_process_exec { printf("%s\\n", comm); }'],
                      "bpftrace")]
    if any(shutil.which(b) is None for b in ("auditctl", "execsnoop", "bpftrace")):
        log("installing the bench's peers (scripts/deps.sh bench)")
        r = subprocess.run([os.path.join(ROOT, "scripts", "deps.sh"), "bench"], timeout=900)
        if r.returncode:
            log("could not install every peer; their columns are skipped")
    skipped = {}
    active = []
    for c in configs:
        if ONLY_CONFIGS and c.name not in ONLY_CONFIGS and c.name != "none":
            continue
        if not any(s in scen for s in c.scenarios):
            continue
        try:
            c.check()
            active.append(c)
        except Skip as e:
            skipped[c.name] = str(e)
            log(f"skipping {c.name}: {e}")

    work = Workloads(tmp, agent)
    stats = BpfStats()
    res = {}      # (scenario, config) -> [(wall ns/op, sensor cpu ns, bpf ns, bpf runs, ops, cpu ns/op, round)]
    infos = {}    # config -> [stop info]
    current = None
    t_start = time.monotonic()
    try:
        log(f"warm-up: {', '.join(scen)}")
        for s in scen:
            work.run(s)
        for r in range(ROUNDS):
            order = active[r % len(active):] + active[:r % len(active)]
            for c in order:
                todo = [s for s in scen if s in c.scenarios]
                if not todo:
                    continue
                rundir = os.path.join(tmp, "run", f"{c.name}-{r}")
                os.makedirs(rundir)
                try:
                    current = c
                    c.start(rundir)
                except Skip as e:
                    current = None
                    skipped[c.name] = str(e)
                    log(f"  {c.name}: {e}")
                    continue
                for s in todo:
                    pids, bp = c.pids(), c.bpf_pids()
                    cpu0, bpf0 = cpu_ns(pids), bpf_progs(bp)
                    v, ops = work.run(s)
                    cpu1, bpf1 = cpu_ns(pids), bpf_progs(bp)
                    if v is not None:
                        bt, bc = bpf_delta(bpf0, bpf1)
                        res.setdefault((s, c.name), []).append((v[0], cpu1 - cpu0, bt, bc, ops, v[1], r))
                infos.setdefault(c.name, []).append(c.stop())
                current = None
                shutil.rmtree(rundir, ignore_errors=True)
            log(f"round {r + 1}/{ROUNDS} done ({time.monotonic() - t_start:.0f} s)")
    finally:
        if current:
            current.stop()
        stats.close()

    report(out, scen, [c for c in active if c.name not in skipped or c.name in infos], res, infos,
           skipped, stats.how, agent, n_rules, configs)


def med(vals):
    return statistics.median(vals) if vals else None


def report(out, scen, active, res, infos, skipped, stats_how, agent, n_rules, configs):
    out.append("## Sensors side by side\n")
    out.append(f"{ROUNDS} rounds; in each round every configuration runs every scenario once, "
               f"configurations in an order that rotates from round to round. Per run: {N_EXEC} execs, "
               f"{N_OPEN} opens, {N_DELETE} unlinks, {N_CONNECT} connects, one build.\n")
    out.append("How to read the columns:\n")
    out.append("- *wall per op*: median over the rounds of the wall-clock time per operation, "
               "taken inside the workload helper; *min - max* over the rounds.")
    out.append("- *ratio*: that median over the no-sensor median (1.05 = 5 % slower). *ratio of mins*: "
               "the fastest run over the fastest no-sensor run; the fastest runs are the ones that other "
               "load on the machine disturbed least, so on a busy machine this is often the steadier figure.")
    out.append("- *paired ratio*: the median over the rounds of this run's wall per op over the no-sensor "
               "run's in the same round. Each pair ran minutes apart at most, so drift on the machine "
               "cancels; on this noisy VM it is the figure to compare against a target of a few percent.")
    out.append("- *BPF share*: BPF/op (below) over the no-sensor wall per op: the part of the overhead that "
               "a BPF sensor adds in the workload's own context, from the kernel's run-time stats, with "
               "no wall-clock noise in it. It leaves out what the kernel does to call a program: for a "
               "syscall tracepoint that is not small (the open storm shows it), so for syscall-heavy "
               "work the overhead is more than this share.")
    out.append("- *workload CPU/op*, *CPU ratio*: user+system time of the workload and the children it "
               "waited for (getrusage), median per op, and its ratio. It includes what the kernel does "
               "in the workload's context (BPF programs, audit records, syscall hooks) but not waiting: "
               "neither the gate's round trip to the collector nor queueing behind other work.")
    out.append("- *sensor CPU/op*: CPU time of the sensor's own processes during the scenario, summed over "
               "the rounds and divided by the operations (auditd: the daemon plus the kauditd kernel "
               "thread; the scheduler's run time from /proc/PID/task/*/schedstat). For the BPF "
               "tracers it counts everything they trace system-wide, other work on the machine included.")
    out.append("- *BPF/op*, *BPF runs/op*: run time and runs of the sensor's BPF programs during the "
               "scenario, per operation (kernel BPF run-time stats). The programs run in the context of "
               "whatever triggered them, so this is part of the wall and CPU figures, not in addition; "
               "it also covers other processes on the machine that hit the same hooks.")
    out.append("- The gated scenario gates only in `aw-enforce`: monitor mode loads no gates, and the "
               "peers have none, so there it is a plain exec storm in a session of a copy of "
               "/bin/true. Most of a gated exec's BPF time is two irq_work self-interrupts: "
               "`bpf_send_signal` defers the SIGSTOP through one when called from a tracepoint, "
               "and the ring buffer wakes the collector through another. Their cost is the "
               "machine's interrupt cost (about 30 us each on the project's VM, where the "
               "program's own work is 7.5 us).\n")
    out.append("Configurations:\n")
    shown = {c.name for c in active}
    for c in configs:
        if c.name in shown or c.name in skipped:
            extra = ""
            if isinstance(c, Agentwatch) and c.argv_shown:
                extra = f": `agentwatch {c.argv_shown}` (RULES = the {n_rules - 1} default rule files "
                extra += "plus one rule gating `awgated`; RUNDIR = a fresh dir per run in the bench's private temp dir)"
            if c.name in skipped:
                extra += f" -- **skipped**: {skipped[c.name]}"
            out.append(f"- `{c.name}`: {c.label}{extra}")
    out.append(f"- BPF run-time stats enabled for the whole bench with {stats_how}; they add "
               f"two clock reads to every BPF program run, for agentwatch and the BPF peers alike.\n")
    for s in scen:
        base = res.get((s, "none"))
        base_m = med([x[0] for x in base]) if base else None
        base_min = min(x[0] for x in base) if base else None
        base_cpu = med([x[5] for x in base]) if base else None
        base_by_round = {x[6]: x[0] for x in base} if base else {}
        rows = []
        for c in active:
            vals = res.get((s, c.name))
            if not vals:
                continue
            per_op = [x[0] for x in vals]
            m = med(per_op)
            wcpu = med([x[5] for x in vals])
            ops = sum(x[4] for x in vals)
            ratio = f"{m / base_m:.3f}" if base_m else "n/a"
            ratio_min = f"{min(per_op) / base_min:.3f}" if base_min else "n/a"
            ratio_cpu = f"{wcpu / base_cpu:.3f}" if base_cpu else "n/a"
            cpu = fmt_ns(sum(x[1] for x in vals) / ops) if c.name != "none" else "-"
            bruns = sum(x[3] for x in vals)
            bpf = fmt_ns(sum(x[2] for x in vals) / ops) if bruns else "-"
            runs = f"{bruns / ops:.1f}" if bruns else "-"
            pairs = [x[0] / base_by_round[x[6]] for x in vals if base_by_round.get(x[6])]
            paired = f"{med(pairs):.3f}" if pairs else "n/a"
            share = (f"{sum(x[2] for x in vals) / ops / base_m * 100:.2f} %"
                     if bruns and base_m else "-")
            rows.append(f"| {c.name} | {fmt_ns(m)} | {fmt_range(per_op)} | **{ratio}** | {ratio_min} "
                        f"| **{paired}** | {share} "
                        f"| {fmt_ns(wcpu)} | {ratio_cpu} | {cpu} | {bpf} | {runs} |")
        if not rows:
            continue
        out.append(f"### {SCENARIO_LABEL[s]}\n")
        out.append(f"| config | wall per {SCENARIO_UNIT[s]} | min - max | ratio | ratio of mins "
                   f"| paired ratio | BPF share "
                   f"| workload CPU/op | CPU ratio | sensor CPU/op | BPF/op | BPF runs/op |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        out.extend(rows)
        out.append("")

    out.append("### The sensors themselves\n")
    out.append("| config | peak RSS | CPU per run (incl. start) | lost / dropped |")
    out.append("|---|---:|---:|---|")
    for c in active:
        if c.name == "none" or c.name not in infos:
            continue
        inf = infos[c.name]
        rss = [i["rss_kib"] for i in inf if i.get("rss_kib")]
        cpu = [i["cpu_total_ns"] for i in inf if i.get("cpu_total_ns") is not None]
        if isinstance(c, Agentwatch):
            tot = sum_counters(inf)
            loss = {k: v for k, v in tot.items() if k not in ACTIVITY_COUNTERS}
            bad = ", ".join(f"{k}={v}" for k, v in loss.items() if v)
            lost = (bad or f"all {len(loss)} loss and error counters 0") if tot else "no counters line"
        elif isinstance(c, Auditd):
            lost = (f"audit lost +{sum(i.get('lost', 0) for i in inf)}; tasks waited on a full "
                    f"backlog for {sum(i.get('waited', 0) for i in inf)} ms in all "
                    f"(backlog_wait_time_actual)")
        else:
            ll = [l for i in inf for l in i.get("lost_lines", [])]
            lost = "; ".join(ll[:3]) if ll else "no lost-event messages on stderr"
            if c.name == "bpftrace":
                lost += " (bpftrace reports losses on stdout, which went to /dev/null)"
        out.append(f"| {c.name} | {max(rss) / 1024:.1f} MiB | {fmt_ns(med(cpu))} | {lost} |"
                   if rss else f"| {c.name} | n/a | {fmt_ns(med(cpu)) if cpu else 'n/a'} | {lost} |")
    out.append("")
    for c in active:
        if isinstance(c, Agentwatch) and c.name in infos:
            tot = sum_counters(infos[c.name])
            out.append(f"`{c.name}` counters at exit, summed over {len(infos[c.name])} runs: " +
                       (" ".join(f"{k}={v}" for k, v in tot.items()) or "none printed") + "\n")

    progs = {}
    for c in active:
        for i in infos.get(c.name, []):
            for pid, (name, t, n) in i.get("progs", {}).items():
                a = progs.setdefault((c.name, name), [0, 0])
                a[0] += t
                a[1] += n
    if progs:
        out.append("### BPF run time per program (whole runs, all rounds)\n")
        out.append("| config | program | runs | avg per run |")
        out.append("|---|---|---:|---:|")
        for (cn, name), (t, n) in sorted(progs.items()):
            if n:
                out.append(f"| {cn} | {name} | {n} | {t / n:.0f} ns |")
        out.append("")

    if "gated" in scen:
        out.append("### Gate latency, allowed gated execs (the kernel's stop to the collector's SIGCONT)\n")
        out.append("| config | runs | gated execs | p50 | p99 | max | gated/allowed (status.json) |")
        out.append("|---|---:|---:|---:|---:|---:|---|")
        for c in active:
            if not isinstance(c, Agentwatch) or "gated" not in c.scenarios or c.name not in infos:
                continue
            inf = infos[c.name]
            gl = [i["gate_latency"] for i in inf if isinstance(i.get("gate_latency"), dict)]
            enf = ", ".join(f"{k}={sum(i.get('enforcement', {}).get(k, 0) for i in inf)}"
                            for k in ("gated", "allowed", "killed", "breaker_trips"))
            if isinstance(c, Agentwatch) and "--mode" in c.extra and "monitor" in c.extra:
                out.append(f"| {c.name} | {len(inf)} | - | - | - | - | {enf} (monitor mode gates nothing) |")
            elif gl and sum(g.get("count", 0) for g in gl):
                gl = [g for g in gl if g.get("count")]
                out.append(f"| {c.name} | {len(gl)} | {sum(g.get('count', 0) for g in gl)} "
                           f"| {med([g['p50_us'] for g in gl]):.0f} us "
                           f"| {med([g['p99_us'] for g in gl]):.0f} us "
                           f"| {max(g['max_us'] for g in gl):.0f} us | {enf} |")
            else:
                out.append(f"| {c.name} | {len(inf)} | n/a | n/a | n/a | n/a | {enf} |")
        out.append("\nFrom `gate_latency` in each run's status.json, written when the collector stops "
                   "(n/a: the field is absent, an older collector). p50 and p99 are the medians of the "
                   "runs' own; max is over all runs.\n")


def timed(argv):
    """Wall seconds, CPU seconds, peak RSS (KiB) and stdout of one command."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    data = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        sys.exit("%s failed with %d" % (" ".join(argv), p.returncode))
    return time.monotonic() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, data


def bench_queries(tmp, out):
    """The audit log queries over a log of LOG_RECORDS records (gzipped
    segments, as a long-running collector leaves them)."""
    if not os.access(MKLOG, os.X_OK):
        sys.exit("build the log generator first: make .output/bench/mklog")
    logd = os.path.join(tmp, "biglog")
    wall, cpu, rss, data = timed([MKLOG, logd, str(LOG_RECORDS), str(max(1, LOG_RECORDS // 500))])
    sess, n = data.decode().split()
    size = sum(os.path.getsize(os.path.join(logd, f)) for f in os.listdir(logd))
    lines = [f"log queries over {int(n):,} records ({size / 2**20:.0f} MiB on disk, "
             f"{len(os.listdir(logd))} segments; written in {wall:.1f} s = {int(n) / wall:,.0f} records/s "
             f"with the hash chain and gzip)"]
    print(lines[0], flush=True)
    queries = [
        ("log verify", ["verify"]),
        ("log sessions", ["sessions", "--json"]),
        ("log show --session S", ["show", "--session", sess, "--json"]),
        ("log tree S", ["tree", sess]),
        ("log timeline S", ["timeline", sess]),
        ("log show --rule R", ["show", "--rule", "fs-rm-outside-workspace", "--json"]),
        ("log show --type net", ["show", "--type", "net", "--json"]),
    ]
    for label, args in queries:
        wall, cpu, rss, data = timed([AW, "log"] + args + ["--log-dir", logd])
        nl = data.count(b"\n")
        line = (f"  {label:24s} {wall:6.2f} s  ({int(n) / wall / 1e6:5.2f} M records/s, "
                f"cpu {cpu:.2f} s, {nl} lines out)")
        print(line, flush=True)
        lines.append(line)
    shutil.rmtree(logd, ignore_errors=True)
    out.append("## Audit log queries\n")
    out.append("```\n" + "\n".join(lines) + "\n```\n")


def bench_collector_parts(out):
    """The collector's parts on their own: the rule matcher against the
    default rules (one core), and the process table holding 100,000
    session processes."""
    lines = []
    for argv in ([MATCHBENCH, "-d", os.path.join(ROOT, "rules")],
                 [PROCBENCH, "100000"], [PROCBENCH, "100000", "distinct"]):
        if not os.access(argv[0], os.X_OK):
            sys.exit("build the bench tools first: make bench")
        r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        if r.returncode:
            sys.exit("%s failed (%d): %s" % (" ".join(argv), r.returncode, r.stderr[-500:]))
        for l in r.stdout.splitlines():
            if l.startswith(("matcher:", "procbench:")):
                print(l, flush=True)
                lines.append(l)
    out.append("## The collector's parts\n")
    out.append("```\n" + "\n".join(lines) + "\n```\n")
    out.append("procbench measures the process table alone; the collector's own heap idles at "
               "about 2.5 MiB, and its file-backed RSS is the shared libraries (~6 MiB) plus the "
               "ring buffer, which the kernel maps twice (2 x --ringbuf-mb).\n")


N_TRACKED = env_int("BENCH_TRACKED", 100000)


def smaps_kib(pid):
    """{mapping kind: resident KiB} of a process: the ring buffer (the BPF
    map the collector mmaps), its heap, other anonymous memory, and files
    (the binary and its shared libraries)."""
    kinds = {}
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if not parts[0].endswith(":"):
                name = " ".join(parts[5:])
                cur = ("ring buffer" if name.startswith("anon_inode:bpf-map") else
                       "heap" if name == "[heap]" else
                       "files" if name.startswith("/") else "other")
            elif parts[0] == "Rss:":
                kinds[cur] = kinds.get(cur, 0) + int(parts[1])
    return kinds


def start_whole(tmp, name, mode):
    """agentwatch with the default rules, ring buffer and process table, and
    the exec storm helper behind a link whose name is its fake agent."""
    agent = f"aw{name}{os.getpid()}"
    aw = Agentwatch(f"aw-{name}", "agentwatch", agent, os.path.join(ROOT, "rules"), ["--mode", mode])
    work_dir = os.path.join(tmp, name)
    os.makedirs(work_dir)
    storm = agent_link(work_dir, agent, build_helpers(work_dir)["execstorm"], name)
    rundir = os.path.join(work_dir, "run")
    os.makedirs(rundir)
    aw.check()
    aw.start(rundir)
    return aw, storm


def bench_collector_rss(tmp, out):
    """The whole collector, not a part: peak RSS once it tracks N_TRACKED
    session processes (a fork storm in a session, every child kept in the
    table after it exits), with the default rules and ring buffer."""
    aw, storm = start_whole(tmp, "rss", "monitor")
    table = {}
    try:
        base = smaps_kib(aw.p.pid)
        r = subprocess.run([storm, str(N_TRACKED), "-"], capture_output=True, text=True, timeout=900)
        if r.returncode:
            sys.exit(f"the fork storm failed: {r.stderr[-300:]}")
        # status.json is rewritten every second; wait until it counts them all.
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with open(os.path.join(aw.state, "status.json")) as f:
                    table = json.load(f).get("process_table", {})
            except (OSError, ValueError):
                table = {}
            if table.get("live", 0) + table.get("exited", 0) >= N_TRACKED:
                break
            time.sleep(0.5)
        kinds = smaps_kib(aw.p.pid)
        hwm = peak_rss_kib(aw.p.pid)
    finally:
        info = aw.stop()
    held = table.get("live", 0) + table.get("exited", 0)
    lost = sum(v for k, v in info.get("counters", {}).items() if k.startswith("ringbuf_full"))
    mib = lambda k: k / 1024
    line = (f"collector: {held:,} tracked processes (table {mib(table.get('bytes', 0) / 1024):.1f} MiB "
            f"by its own count, {table.get('evicted', 0)} evicted): peak RSS {mib(hwm):.1f} MiB; "
            f"now ring buffer {mib(kinds.get('ring buffer', 0)):.1f} MiB (2 x --ringbuf-mb), "
            f"heap {mib(kinds.get('heap', 0)):.1f} MiB (idle {mib(base.get('heap', 0)):.1f}), "
            f"other anonymous {mib(kinds.get('other', 0)):.1f} MiB, "
            f"binary and libraries {mib(kinds.get('files', 0)):.1f} MiB; ring buffer losses {lost}")
    print(line, flush=True)
    out.append(f"## The whole collector: {N_TRACKED:,} tracked processes, and the top exec rate\n")
    out.append("```\n" + line + "\n```\n")
    out.append(f"`agentwatch run --mode monitor` with the default rules, ring buffer and --max-procs; "
               f"a session forks {N_TRACKED:,} children one at a time, each exits at once and stays in "
               "the process table (exited entries are kept for lineage until evicted). Peak RSS is "
               "VmHWM; the breakdown is from /proc/PID/smaps afterwards. The ring buffer is counted "
               "twice: the collector maps it twice and the kernel populates both copies.\n")


N_TOP_LOOPS = env_int("BENCH_TOP_LOOPS", 2 * (os.cpu_count() or 1))
N_TOP_EXECS = env_int("BENCH_TOP_EXECS", 3000)


def bench_top_rate(tmp, out):
    """Zero loss at the machine's top exec rate: parallel exec loops in
    sessions (twice as many loops as CPUs), the default ring buffer, JSON
    output and the audit log; the loss counters must stay 0."""
    aw, storm = start_whole(tmp, "top", "enforce")
    try:
        t0 = time.monotonic()
        ps = [subprocess.Popen([storm, str(N_TOP_EXECS)], stdout=subprocess.DEVNULL)
              for _ in range(N_TOP_LOOPS)]
        rcs = [p.wait(timeout=900) for p in ps]
        wall = time.monotonic() - t0
    finally:
        info = aw.stop()
    if any(rcs):
        sys.exit(f"execstorm failed: {rcs}")
    cnt = info.get("counters", {})
    lost = {k: v for k, v in cnt.items() if k.startswith("ringbuf_full") or k == "sessions_map_full"}
    n = N_TOP_LOOPS * N_TOP_EXECS
    line = (f"top rate: {N_TOP_LOOPS} parallel exec loops in sessions, {n:,} execs in {wall:.1f} s "
            f"({n / wall:,.0f} execs/s), {cnt.get('events', 0):,} records, default ring buffer: "
            + (", ".join(f"{k}={v}" for k, v in lost.items()) if lost else "no counters line"))
    print(line, flush=True)
    out.append("```\n" + line + "\n```\n")
    out.append(f"`agentwatch run --mode enforce` with the default rules and ring buffer; "
               f"{N_TOP_LOOPS} copies of the exec storm (fork+exec+wait of /bin/true) at once, each in "
               "its own session, so the machine runs execs as fast as it can. Every count above must be 0.\n")


def on_term(signum, frame):
    raise KeyboardInterrupt  # so every finally runs: peers stopped, audit restored


def main():
    if os.geteuid() != 0:
        sys.exit("make bench needs root")
    if not os.access(AW, os.X_OK):
        sys.exit("build agentwatch first")
    bad = [s for s in ONLY if s not in set(SCENARIO_GROUP.values()) | {"queries", "parts", "rss"}]
    if bad:
        sys.exit(f"BENCH_ONLY: unknown scenario {','.join(bad)}; "
                 f"one of exec, open, gated, delete, connect, build, queries, parts, rss")
    signal.signal(signal.SIGTERM, on_term)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="aw-bench-")  # 0700: the control socket lives here
    out = ["# agentwatch benchmark results\n",
           "Written by `make bench` (tests/bench/run.py). Timings on a shared machine are noisy: "
           "compare the ratios, and the min - max columns, not single numbers.\n"]
    out += machine_lines()
    out += [f"- {v}" for v in tool_versions()]
    out.append("")
    try:
        if not ONLY or "parts" in ONLY:
            bench_collector_parts(out)
        if not ONLY or "rss" in ONLY:
            bench_collector_rss(tmp, out)
            bench_top_rate(tmp, out)
        if not ONLY or "queries" in ONLY:
            bench_queries(tmp, out)
        if not ONLY or [s for s in ONLY if s not in ("queries", "parts", "rss")]:
            bench_sensors(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out.append(f"Bench run time: {(time.monotonic() - t0) / 60:.1f} min "
               f"(BENCH_ROUNDS={ROUNDS} BENCH_EXECS={N_EXEC} BENCH_OPENS={N_OPEN} BENCH_DELETES={N_DELETE} "
               f"BENCH_CONNECTS={N_CONNECT} BENCH_BUILD_FILES={N_SOURCES}).")
    text = "\n".join(out) + "\n"
    print()
    print(text)
    if WRITE_RESULTS:
        with open(RESULTS, "w") as f:
            f.write(text)
        print(f"written to {os.path.relpath(RESULTS, ROOT)}")


if __name__ == "__main__":
    main()
