#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Real-BPF integration tests for agentwatch.

Every function named test_* in this module is a test; they are found by name
so none can be forgotten.  Each test starts its own agentwatch instance (own
pin dir under /sys/fs/bpf, own state dir and output file under a temp dir),
starts real process trees (a fake agent script with a name unique to this
run -> shell -> command) and asserts on the JSON records agentwatch printed.

Safety on a shared machine: every process a test starts is tracked by pid and
killed by pid (or by the process group it leads, while its pid is still held)
at the end of the test; every wait is bounded; nothing is killed by name.

usage: python3 tests/integration/run.py [NAME-SUBSTRING]
env:   AGENTWATCH=path  binary under test (default: ./agentwatch at the repo root)
       AW_TEST_TIMEOUT=seconds  per-test bound (default 45)
Prints `ok NAME` / `FAIL NAME: reason` per test and one closing line
`N passed, N failed`; exits 1 if any test failed.
"""

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENTWATCH = os.path.abspath(os.environ.get("AGENTWATCH", os.path.join(REPO, "agentwatch")))
PY = os.path.realpath(sys.executable)
TEST_TIMEOUT = float(os.environ.get("AW_TEST_TIMEOUT", "45"))
RUN_ID = os.getpid()
BPFFS = "/sys/fs/bpf"

START_TIMEOUT = 20.0     # agentwatch load + attach
STOP_TIMEOUT = 10.0      # SIGINT -> exit
EVENT_TIMEOUT = 10.0     # a record we expect to appear

_seq = [0]


def unique(tag=""):
    """A name unique to this run: awtest-<pid>-<n>."""
    _seq[0] += 1
    return "awtest-%d-%s%d" % (RUN_ID, tag, _seq[0])


def real(path):
    return os.path.realpath(path)


BASH = real("/bin/bash")
SH = real("/bin/sh")
LS = real("/bin/ls")
RM = real("/bin/rm")
MV = real("/bin/mv")
TRUE = real("/bin/true")
ECHO = real("/bin/echo")
SLEEP = real("/bin/sleep")


# ---- failures --------------------------------------------------------------


class Fail(Exception):
    pass


class Skip(Exception):
    pass


class TestTimeout(BaseException):
    """Raised by SIGALRM; BaseException so a test's own `except Exception`
    cannot swallow it."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(actual, expected, what):
    if actual != expected:
        raise Fail("%s: expected %r, got %r" % (what, expected, actual))


def short(rec, limit=600):
    if isinstance(rec, dict):
        rec = {k: v for k, v in rec.items() if k != "_raw"}
    s = json.dumps(rec, ensure_ascii=True)
    return s if len(s) <= limit else s[:limit] + "..."


# ---- process tracking ------------------------------------------------------


class Procs:
    """Processes started by the current test.  Each is started in a new
    process group it leads; the leader is not reaped until cleanup, so its
    pid (and therefore the group id) cannot be reused before we kill it."""

    def __init__(self):
        self.procs = []

    def spawn(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in reversed(self.procs):
            if p.returncode is None:
                # Leader not reaped yet: the group id is still ours.
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        self.procs = []


PROCS = Procs()


def exited(p):
    """Exit status of p without reaping it (None while running)."""
    try:
        r = os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return p.returncode
    if r is None or r.si_pid == 0:
        return None
    if r.si_code == os.CLD_EXITED:
        return r.si_status
    return -r.si_status


def wait_exit(p, timeout=EVENT_TIMEOUT, what=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc = exited(p)
        if rc is not None:
            return rc
        time.sleep(0.02)
    raise Fail("%s (pid %d) did not exit within %.0fs" % (what or p.args, p.pid, timeout))


def run_cmd(argv, timeout=15, **kw):
    """Run a short command to completion (bounded; killed by pid on timeout)."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    try:
        return subprocess.run(argv, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise Fail("%r did not finish within %ss" % (argv, timeout))


# ---- temp dirs -------------------------------------------------------------


class TempDirs:
    def __init__(self):
        self.dirs = []

    def make(self, tag="t"):
        d = real(tempfile.mkdtemp(prefix="awtest-%d-%s-" % (RUN_ID, tag)))
        self.dirs.append(d)
        return d

    def cleanup(self):
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        self.dirs = []


TMP = TempDirs()


def fake_agent(body, name=None, dirpath=None):
    """An executable #!/bin/bash script with a unique basename; returns its
    absolute path (the basename is the agent name to declare)."""
    name = name or unique()
    d = dirpath or TMP.make("agent")
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("#!/bin/bash\n" + body + "\n")
    os.chmod(path, 0o755)
    return path


def sq(s):
    """Single-quote s for a shell."""
    return "'" + str(s).replace("'", "'\\''") + "'"


# ---- agentwatch instances --------------------------------------------------

RECORD_TYPES = {"exec", "exit", "file", "net", "fork", "verdict", "gap", "collector", "loss", "tamper"}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
SESSION_RE = re.compile(r"^[0-9a-f]{16}$")
INSTANCES = []


class Agentwatch:
    def __init__(self, agents=(), extra=(), name=None, default_agents=False):
        self.name = name or unique("aw")
        self.dir = TMP.make("aw")
        self.pin_dir = os.path.join(BPFFS, self.name)
        self.state_dir = os.path.join(self.dir, "state")
        self.out = os.path.join(self.dir, "out.jsonl")
        self.err_path = os.path.join(self.dir, "stderr")
        # Tests declare their own fake agents; the e2e tests use the real
        # signatures (and scope the sensor with --within).
        self.argv = [AGENTWATCH, "run", "--json"] + ([] if default_agents else ["--no-default-agents"])
        for a in agents:
            self.argv += ["--agent", a]
        self.control = os.path.join(self.dir, "ctl", "control.sock")
        self.log_dir = os.path.join(self.dir, "log")
        self.argv += ["--pin-dir", self.pin_dir, "--state-dir", self.state_dir, "-o", self.out,
                      "--control", self.control, "--log-dir", self.log_dir]
        # Recording tests run without rules; enforcement tests pass --rules.
        if "--rules" not in extra:
            self.argv.append("--no-rules")
        self.argv += list(extra)
        # --format ocsf: OCSF events on the output, not native records
        self.ocsf = any(a == "--format" and b == "ocsf" for a, b in zip(extra, list(extra)[1:]))
        self.proc = None
        self.rc = None
        self._off = 0
        self._buf = b""
        self.recs = []
        self.bad = []   # (line, error) for lines that are not valid JSON / UTF-8

    # -- life cycle

    def start(self):
        self._errf = open(self.err_path, "wb")
        self.proc = PROCS.spawn(self.argv, stderr=self._errf)
        INSTANCES.append(self)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if "agentwatch: watching" in self.stderr():
                return self
            rc = exited(self.proc)
            if rc is not None:
                raise Fail("agentwatch exited %s before it was ready; stderr: %s"
                           % (rc, self.stderr()[-2000:]))
            time.sleep(0.05)
        raise Fail("agentwatch not ready within %.0fs; stderr: %s"
                   % (START_TIMEOUT, self.stderr()[-2000:]))

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        """SIGINT by pid, bounded wait; returns the exit code."""
        if self.proc is None or self.rc is not None:
            return self.rc
        if exited(self.proc) is None:
            os.kill(self.proc.pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and exited(self.proc) is None:
            time.sleep(0.05)
        if exited(self.proc) is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
            self.rc = "killed"
            raise Fail("agentwatch did not stop within %.0fs of SIGINT" % STOP_TIMEOUT)
        self.proc.wait(timeout=5)
        self.rc = self.proc.returncode
        self._errf.close()
        return self.rc

    def cleanup(self):
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        # Our own, uniquely named pin dir: remove what the instance left.
        if os.path.isdir(self.pin_dir):
            for root, dirs, files in os.walk(self.pin_dir, topdown=False):
                for f in files:
                    try:
                        os.unlink(os.path.join(root, f))
                    except OSError:
                        pass
                for d in dirs:
                    try:
                        os.rmdir(os.path.join(root, d))
                    except OSError:
                        pass
            try:
                os.rmdir(self.pin_dir)
            except OSError:
                pass

    # -- records

    def _read(self):
        try:
            with open(self.out, "rb") as f:
                f.seek(self._off)
                data = f.read()
        except FileNotFoundError:
            return
        self._off += len(data)
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        for raw in lines:
            if not raw:
                continue
            try:
                txt = raw.decode("utf-8")          # JSON text must be UTF-8
                rec = json.loads(txt)              # strict: no raw control chars
                if not isinstance(rec, dict):
                    raise ValueError("not an object")
            except (UnicodeDecodeError, ValueError) as e:
                self.bad.append((raw, str(e)))
                continue
            rec["_raw"] = raw
            self.recs.append(rec)

    def records(self, pred=None):
        self._read()
        return [r for r in self.recs if pred is None or pred(r)]

    def wait_for(self, pred, what, timeout=EVENT_TIMEOUT, count=1):
        """Poll the output until `count` records satisfy pred; return them."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.records(pred)
            if len(got) >= count:
                return got
            if time.monotonic() >= deadline:
                break
            if self.proc is not None and exited(self.proc) is not None:
                raise Fail("agentwatch exited (%s) while waiting for %s; stderr: %s"
                           % (exited(self.proc), what, self.stderr()[-1500:]))
            time.sleep(0.05)
        raise Fail("no %s within %.0fs (%d of %d found); records seen: %d%s"
                   % (what, timeout, len(got), count, len(self.recs), self.dump_hint()))

    def dump_hint(self, n=6):
        recs = self.records()
        if not recs:
            return "; output empty"
        return "; last records: " + " | ".join(
            short({k: v for k, v in r.items() if k not in ("_raw", "lineage")}, 300)
            for r in recs[-n:])

    def check_invariants(self):
        """Schema checks every record of every test must pass."""
        recs = self.records()
        if self.bad:
            raw, e = self.bad[0]
            raise Fail("%d output line(s) are not valid JSON/UTF-8, first: %s (%r)"
                       % (len(self.bad), e, raw[:300]))
        if self.ocsf:
            for r in recs:
                check(all(isinstance(r.get(k), int) for k in
                          ("class_uid", "activity_id", "type_uid", "time", "severity_id", "category_uid")),
                      "OCSF event without its required integers: %s" % short(r))
                eq(r["type_uid"], r["class_uid"] * 100 + r["activity_id"], "OCSF type_uid")
                eq(r.get("metadata", {}).get("product", {}).get("name"), "agentwatch", "OCSF product")
            return
        for r in recs:
            t = r.get("type")
            check(t in RECORD_TYPES, "record with bad type: %s" % short(r))
            for k in ("time", "pid", "tid", "ppid", "session"):
                check(k in r, "record without %r: %s" % (k, short(r)))
            check(isinstance(r["time"], str) and TIME_RE.match(r["time"]),
                  "time not RFC 3339 with ns in UTC: %r" % r["time"])
            s = r["session"]
            if s is None:
                continue
            check(isinstance(s, str) and SESSION_RE.match(s),
                  "session id not 16 hex chars: %r" % s)
            a = r.get("attribution")
            check(isinstance(a, dict) and a.get("reason") in (
                "signature", "running-at-start", "declared-session-root", "declared-exec"),
                "bad attribution %r in %s" % (a, short(r)))
            # An empty lineage is allowed only for a process the collector
            # never saw start (it began and ended while no collector ran).
            check(isinstance(r.get("lineage"), list) and (
                r["lineage"] or (r.get("lineage_complete") is False and r.get("exe") is None
                                 and t in ("exit", "file", "net"))),
                  "session record without lineage: %s" % short(r))
            check(isinstance(r.get("lineage_complete"), bool),
                  "lineage_complete not a bool: %s" % short(r))
            if r["lineage_complete"]:
                eq(r["lineage"][0]["pid"], a.get("root_pid"),
                   "complete lineage's first pid vs attribution.root_pid in %s" % short(r, 300))
            if t == "exec":
                check(r.get("session_start") in (True, False), "exec without session_start")


def start_agentwatch(agents=(), extra=()):
    """agents: iterable of 'NAME:PATTERN'."""
    return Agentwatch(agents, extra).start()


def stop(aw):
    return aw.stop()


# ---- record helpers --------------------------------------------------------


def is_exec(argv0=None, argv=None, contains=None):
    def pred(r):
        if r.get("type") != "exec":
            return False
        a = r.get("argv") or []
        if argv is not None and a != argv:
            return False
        if argv0 is not None and (not a or a[0] != argv0):
            return False
        if contains is not None and contains not in a:
            return False
        return True
    return pred


def of_pid(pid, typ=None):
    return lambda r: r.get("pid") == pid and (typ is None or r.get("type") == typ)


def lineage_pids(r):
    return [e.get("pid") for e in r.get("lineage") or []]


def check_lineage(r, root_pid, what):
    lin = r.get("lineage") or []
    check(lin, "%s: empty lineage: %s" % (what, short(r)))
    eq(r.get("lineage_complete"), True, "%s: lineage_complete" % what)
    eq(lin[0].get("pid"), root_pid, "%s: lineage[0].pid (agent root)" % what)
    eq(lin[-1].get("pid"), r.get("pid"), "%s: lineage[-1].pid (the process itself)" % what)
    pids = lineage_pids(r)
    eq(len(set(pids)), len(pids), "%s: lineage pids are distinct" % what)


def run_agent(script, cwd=None, timeout=EVENT_TIMEOUT, expect_rc=0, env=None):
    """Run a fake agent to completion (its pid stays unreaped until cleanup)."""
    p = PROCS.spawn([script], cwd=cwd, env=env)
    rc = wait_exit(p, timeout, what=os.path.basename(script))
    if expect_rc is not None:
        eq(rc, expect_rc, "exit status of fake agent %s" % os.path.basename(script))
    return p


def run_agent_argv(argv, timeout=EVENT_TIMEOUT, expect_rc=0):
    p = PROCS.spawn(argv)
    rc = wait_exit(p, timeout, what=argv[0])
    if expect_rc is not None:
        eq(rc, expect_rc, "exit status of %s" % argv[0])
    return p


def status_sessions(aw, pred=None, timeout=3.0):
    """Sessions listed in aw's status.json; waits (bounded) for one matching pred."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(os.path.join(aw.state_dir, "status.json")) as f:
                got = [x for x in json.load(f).get("sessions") or [] if pred is None or pred(x)]
        except (OSError, ValueError):
            got = []
        if got or time.monotonic() >= deadline:
            return got
        time.sleep(0.1)


def agent_spec(script):
    n = os.path.basename(script)
    return "%s:%s" % (n, n)


def session_start_of(aw, p, name):
    """The exec record that opened p's session."""
    r = aw.wait_for(lambda r: r.get("type") == "exec" and r.get("pid") == p.pid
                    and r.get("session_start") is True,
                    "session_start exec of agent %s (pid %d)" % (name, p.pid))[0]
    return r


# ---- tests -----------------------------------------------------------------


def test_session_lineage():
    ws = TMP.make("ws")
    target = TMP.make("lsdir")
    open(os.path.join(target, "somefile"), "w").close()
    # `; exit $?` keeps bash from exec'ing ls in place, so ls is bash's child.
    agent = fake_agent("%s -c %s" % (BASH, sq("/bin/ls %s; exit $?" % target)))
    name = os.path.basename(agent)
    aw = start_agentwatch([agent_spec(agent)])
    p = run_agent(agent, cwd=ws)
    ls = aw.wait_for(is_exec(argv=["/bin/ls", target]), "exec record of /bin/ls")[0]
    root = session_start_of(aw, p, name)
    bash = aw.wait_for(lambda r: r.get("type") == "exec" and r.get("pid") == ls.get("ppid")
                       and (r.get("argv") or [])[1:2] == ["-c"], "exec record of bash -c")[0]

    # the agent root
    eq(root.get("attribution", {}).get("reason"), "signature", "agent attribution.reason")
    eq(root.get("attribution", {}).get("root_pid"), p.pid, "agent attribution.root_pid")
    eq(root.get("agent"), name, "agent name")
    eq(root.get("filename"), agent, "agent exec filename")
    eq(root.get("exe"), BASH, "agent exe (a #! script's exe is its interpreter)")
    eq(root.get("argv"), ["/bin/bash", agent], "agent argv")
    eq(root.get("workspace"), ws, "workspace")
    check(SESSION_RE.match(root.get("session") or ""), "agent session id %r" % root.get("session"))

    # one session for agent, bash and ls
    eq(bash.get("session"), root["session"], "bash's session")
    eq(ls.get("session"), root["session"], "ls's session")
    eq(ls.get("session_start"), False, "ls session_start")
    eq(bash.get("session_start"), False, "bash session_start")
    eq(bash.get("ppid"), p.pid, "bash's ppid")
    eq(ls.get("ppid"), bash["pid"], "ls's ppid")

    # ls's lineage: agent -> bash -> ls
    eq(lineage_pids(ls), [p.pid, bash["pid"], ls["pid"]], "ls lineage pids")
    eq(ls.get("lineage_complete"), True, "ls lineage_complete")
    lin = ls["lineage"]
    eq([e.get("exe") for e in lin], [BASH, BASH, LS], "ls lineage exes")
    eq(lin[0].get("argv"), ["/bin/bash", agent], "lineage[0].argv")
    eq(lin[1].get("argv"), [BASH, "-c", "/bin/ls %s; exit $?" % target], "lineage[1].argv")
    eq(lin[2].get("argv"), ["/bin/ls", target], "lineage[2].argv")

    # the ls exec itself
    eq(ls.get("exe"), LS, "ls exe")
    eq(ls.get("filename"), "/bin/ls", "ls filename")
    eq(ls.get("argc"), 2, "ls argc")
    eq(ls.get("argv_truncated"), False, "ls argv_truncated")
    eq(ls.get("argv_bytes"), len("/bin/ls") + 1 + len(target) + 1, "ls argv_bytes")
    eq(ls.get("cwd"), ws, "ls cwd")
    eq(ls.get("comm"), "ls", "ls comm")
    eq(ls.get("uid"), 0, "ls uid")
    eq(ls.get("euid"), 0, "ls euid")
    eq(ls.get("workspace"), ws, "ls workspace")
    eq(ls.get("attribution", {}).get("root_pid"), p.pid, "ls attribution.root_pid")
    eq(ls.get("attribution", {}).get("reason"), "signature", "ls attribution.reason")

    # the ls exit record carries the image and the same lineage
    ex = aw.wait_for(of_pid(ls["pid"], "exit"), "exit record of ls")[0]
    eq(ex.get("exit_code"), 0, "ls exit_code")
    eq(ex.get("exe"), LS, "ls exit exe")
    eq(ex.get("session"), root["session"], "ls exit session")
    stop(aw)


def test_rm_file_event():
    scratch = TMP.make("scratch")
    victim = os.path.join(scratch, "victim-file")
    open(victim, "w").close()
    agent = fake_agent("%s %s" % (RM, sq(victim)))
    aw = start_agentwatch([agent_spec(agent)])
    p = run_agent(agent, cwd=scratch)
    f = aw.wait_for(lambda r: r.get("type") == "file" and r.get("path") == victim,
                    "file record for %s" % victim)[0]
    check(f.get("op") in ("unlinkat", "unlink"), "op: expected unlinkat|unlink, got %r" % f.get("op"))
    eq(f.get("path_arg"), victim, "path_arg")
    eq(f.get("result"), 0, "result")
    eq(f.get("error"), None, "error")
    if f.get("op") == "unlinkat":
        eq(f.get("removedir"), False, "removedir")
    eq(f.get("exe"), RM, "file record exe")
    eq(f.get("cwd"), scratch, "file record cwd")
    check_lineage(f, p.pid, "rm file record")
    eq(f["lineage"][-1].get("exe"), RM, "lineage[-1].exe")
    eq(f["lineage"][-1].get("argv"), [RM, victim], "lineage[-1].argv")
    eq(len(f["lineage"]), 2, "lineage length (agent -> rm)")
    eq(f.get("attribution", {}).get("reason"), "signature", "attribution.reason")
    check(not os.path.exists(victim), "%s still exists" % victim)
    stop(aw)


def test_python_unlink():
    base = TMP.make("py")
    os.makedirs(os.path.join(base, "rel"))
    for n in ("name", "name2"):
        open(os.path.join(base, "rel", n), "w").close()
    code = 'import os; os.unlink("rel/name"); os.unlink("./rel/../rel//name2")'
    agent = fake_agent("cd %s && %s -c %s" % (sq(base), PY, sq(code)))
    aw = start_agentwatch([agent_spec(agent)])
    p = run_agent(agent)
    f1 = aw.wait_for(lambda r: r.get("type") == "file" and r.get("path_arg") == "rel/name",
                     "file record with path_arg rel/name")[0]
    f2 = aw.wait_for(lambda r: r.get("type") == "file"
                     and r.get("path_arg") == "./rel/../rel//name2",
                     "file record with path_arg ./rel/../rel//name2")[0]
    for f, want in ((f1, os.path.join(base, "rel", "name")),
                    (f2, os.path.join(base, "rel", "name2"))):
        what = "unlink(%r)" % f.get("path_arg")
        check(f.get("op") in ("unlink", "unlinkat"), "%s: op %r" % (what, f.get("op")))
        eq(f.get("path"), want, "%s: normalised absolute path" % what)
        eq(f.get("result"), 0, "%s: result" % what)
        eq(f.get("cwd"), base, "%s: cwd" % what)
        eq(f.get("exe"), PY, "%s: exe" % what)
        check_lineage(f, p.pid, what)
        eq(f["lineage"][-1].get("exe"), PY, "%s: lineage[-1].exe" % what)
        eq(f["lineage"][-1].get("argv"), [PY, "-c", code], "%s: lineage[-1].argv" % what)
    check(not os.path.exists(os.path.join(base, "rel", "name")), "rel/name not deleted")
    stop(aw)


def test_calls_in_progress_are_per_thread():
    """One thread is held inside open(O_TRUNC) (the test holds a lease on
    the file, and lets go only later) while another thread of the process
    makes two unlink calls.  A call is carried from entry to exit per
    thread: the held open is still reported, with its own path, result and
    thread, and so are the unlinks made while it was held."""
    base = TMP.make("thr")
    held, there = os.path.join(base, "held"), os.path.join(base, "there")
    for f in (held, there):
        with open(f, "w") as fh:
            fh.write("data\n")
    code = ("import os, threading\n"
            "def hold():\n"
            "    open('opener', 'w').write('%d' % threading.get_native_id())\n"
            "    os.close(os.open('held', os.O_WRONLY | os.O_TRUNC))\n"
            "t = threading.Thread(target=hold); t.start()\n"
            "while not os.path.exists('opener'): pass\n"
            "import time; time.sleep(0.3)\n"
            "try: os.unlink('gone')\n"
            "except FileNotFoundError: pass\n"
            "os.unlink('there')\n"
            "t.join()\n")
    agent = fake_agent("cd %s && %s -c %s" % (sq(base), PY, sq(code)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir("")])
    old = signal.signal(signal.SIGIO, signal.SIG_IGN)  # a lease break sends it
    lfd = os.open(held, os.O_RDONLY)
    try:
        fcntl.fcntl(lfd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
        p = PROCS.spawn([agent])
        recs = aw.wait_for(lambda r: r.get("type") == "file" and r.get("path_arg") in ("gone", "there"),
                           "the unlinks made while the open is held", count=2)
        check(p.poll() is None, "the agent still waits on its open")
        eq(open(held).read(), "data\n", "the held open has not truncated yet")
    finally:
        fcntl.fcntl(lfd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        os.close(lfd)
        signal.signal(signal.SIGIO, old)
    eq(wait_exit(p, 20, "agent"), 0, "the agent finished")
    opener = int(open(os.path.join(base, "opener")).read())
    ot = aw.wait_for(lambda r: r.get("type") == "file" and r.get("path_arg") == "held",
                     "the held open's record")[0]
    eq((ot.get("op"), ot.get("path"), ot.get("tid")), ("open_trunc", held, opener),
       "the held open: %s" % short(ot))
    check(isinstance(ot.get("result"), int) and ot["result"] >= 0, "its result, an fd: %s" % short(ot))
    by_arg = {r.get("path_arg"): r for r in recs}
    for arg, res in (("gone", -2), ("there", 0)):
        r = by_arg[arg]
        eq((r.get("path"), r.get("result"), r.get("pid")), (os.path.join(base, arg), res, r.get("tid")),
           "unlink(%r) by the main thread: %s" % (arg, short(r)))
        check(r.get("tid") != opener, "another thread than the opener")
    stop(aw)


def _free_port(family=socket.AF_INET, host="127.0.0.1", kind=socket.SOCK_STREAM):
    s = socket.socket(family, kind)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_tcp_connect():
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(("127.0.0.1", 0))
        lst.listen(8)
        port = lst.getsockname()[1]
        closed = _free_port()
        code = ("import socket\n"
                "s = socket.create_connection(('127.0.0.1', %d)); s.close()\n"
                "t = socket.socket()\n"
                "rc = t.connect_ex(('127.0.0.1', %d)); t.close()\n"
                "assert rc != 0, rc\n" % (port, closed))
        agent = fake_agent("%s -c %s" % (PY, sq(code)))
        aw = start_agentwatch([agent_spec(agent)])
        p = run_agent(agent)
        ok = aw.wait_for(lambda r: r.get("type") == "net" and r.get("port") == port,
                         "net record for 127.0.0.1:%d" % port)[0]
        eq(ok.get("op"), "connect", "op")
        eq(ok.get("family"), "ipv4", "family")
        eq(ok.get("protocol"), "tcp", "protocol")
        eq(ok.get("address"), "127.0.0.1", "address")
        eq(ok.get("result"), 0, "result of connect to the listener")
        eq(ok.get("error"), None, "error of connect to the listener")
        eq(ok.get("exe"), PY, "exe")
        check_lineage(ok, p.pid, "net record")
        bad = aw.wait_for(lambda r: r.get("type") == "net" and r.get("port") == closed,
                          "net record for the refused 127.0.0.1:%d" % closed)[0]
        eq(bad.get("op"), "connect", "refused: op")
        eq(bad.get("protocol"), "tcp", "refused: protocol")
        eq(bad.get("address"), "127.0.0.1", "refused: address")
        eq(bad.get("result"), -111, "refused: result")
        eq(bad.get("error"), "ECONNREFUSED", "refused: error")
        eq(bad.get("session"), ok.get("session"), "refused: session")
        stop(aw)
    finally:
        lst.close()


def _have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


def test_ipv6_and_udp():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    v6 = None
    try:
        udp.bind(("127.0.0.1", 0))
        uport = udp.getsockname()[1]
        code = ("import socket\n"
                "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "u.sendto(b'awtest', ('127.0.0.1', %d)); u.close()\n" % uport)
        have6 = _have_ipv6_loopback()
        if have6:
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            v6.bind(("::1", 0))
            v6.listen(4)
            v6port = v6.getsockname()[1]
            code += ("s = socket.create_connection(('::1', %d)); s.close()\n" % v6port)
        else:
            print("  note: no ::1 on this host; ipv6 half skipped", flush=True)
        agent = fake_agent("%s -c %s" % (PY, sq(code)))
        aw = start_agentwatch([agent_spec(agent)])
        p = run_agent(agent)
        u = aw.wait_for(lambda r: r.get("type") == "net" and r.get("port") == uport,
                        "net record for udp 127.0.0.1:%d" % uport)[0]
        eq(u.get("op"), "sendmsg", "udp: op")
        eq(u.get("protocol"), "udp", "udp: protocol")
        eq(u.get("family"), "ipv4", "udp: family")
        eq(u.get("address"), "127.0.0.1", "udp: address")
        check(u.get("result") in (None, 6), "udp: result expected null or 6 bytes, got %r"
              % u.get("result"))
        check_lineage(u, p.pid, "udp record")
        udp.settimeout(2)
        try:
            data = udp.recv(64)
        except socket.timeout:
            data = None
        eq(data, b"awtest", "datagram received by the test")
        if have6:
            r6 = aw.wait_for(lambda r: r.get("type") == "net" and r.get("port") == v6port,
                             "net record for [::1]:%d" % v6port)[0]
            eq(r6.get("op"), "connect", "ipv6: op")
            eq(r6.get("family"), "ipv6", "ipv6: family")
            eq(r6.get("protocol"), "tcp", "ipv6: protocol")
            eq(r6.get("address"), "::1", "ipv6: address")
            eq(r6.get("result"), 0, "ipv6: result")
            check_lineage(r6, p.pid, "ipv6 record")
        stop(aw)
    finally:
        udp.close()
        if v6:
            v6.close()


def test_sendmmsg_two_destinations():
    """One sendmmsg to two UDP ports: the cgroup hook runs for each datagram
    before the syscall returns once.  The first destination is reported
    without a result when the second is noted, the second with it."""
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        pa, pb = a.getsockname()[1], b.getsockname()[1]
        code = ("import ctypes, socket, struct\n"
                "libc = ctypes.CDLL(None, use_errno=True)\n"
                "class iovec(ctypes.Structure):\n"
                "    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]\n"
                "class msghdr(ctypes.Structure):\n"
                "    _fields_ = [('name', ctypes.c_void_p), ('namelen', ctypes.c_uint32),\n"
                "                ('iov', ctypes.POINTER(iovec)), ('iovlen', ctypes.c_size_t),\n"
                "                ('control', ctypes.c_void_p), ('controllen', ctypes.c_size_t),\n"
                "                ('flags', ctypes.c_int)]\n"
                "class mmsghdr(ctypes.Structure):\n"
                "    _fields_ = [('hdr', msghdr), ('len', ctypes.c_uint)]\n"
                "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "data = ctypes.create_string_buffer(b'awmm')\n"
                "iov = iovec(ctypes.cast(data, ctypes.c_void_p), 4)\n"
                "addrs = [ctypes.create_string_buffer(struct.pack('=H', socket.AF_INET) +\n"
                "         struct.pack('!H', p) + socket.inet_aton('127.0.0.1') + bytes(8), 16)\n"
                "         for p in (%d, %d)]\n"
                "msgs = (mmsghdr * 2)()\n"
                "for k in range(2):\n"
                "    msgs[k].hdr = msghdr(ctypes.cast(addrs[k], ctypes.c_void_p), 16,\n"
                "                         ctypes.pointer(iov), 1, None, 0, 0)\n"
                "n = libc.sendmmsg(u.fileno(), msgs, 2, 0)\n"
                "assert n == 2, (n, ctypes.get_errno())\n" % (pa, pb))
        agent = fake_agent("%s -c %s" % (PY, sq(code)))
        aw = start_agentwatch([agent_spec(agent)])
        p = run_agent(agent)
        ra = aw.wait_for(lambda r: r.get("type") == "net" and r.get("port") == pa,
                         "net record for the first destination")[0]
        rb = aw.wait_for(lambda r: r.get("type") == "net" and r.get("port") == pb,
                         "net record for the second destination")[0]
        eq(ra.get("op"), "sendmsg", "first: op")
        eq(ra.get("result"), None, "first: no result of its own")
        eq(rb.get("op"), "sendmsg", "second: op")
        eq(rb.get("result"), 2, "second: the syscall's result (2 messages)")
        check_lineage(ra, p.pid, "first record")
        check_lineage(rb, p.pid, "second record")
        a.settimeout(2)
        b.settimeout(2)
        eq(a.recv(16), b"awmm", "datagram at the first port")
        eq(b.recv(16), b"awmm", "datagram at the second port")
        stop(aw)
    finally:
        a.close()
        b.close()


def test_double_fork_daemon():
    marker = unique("dmark")
    agent = fake_agent("( setsid /bin/sh -c %s & )\nexit 0"
                       % sq("sleep 0.5; exec /bin/echo %s" % marker))
    aw = start_agentwatch([agent_spec(agent)])
    p = run_agent(agent)
    root = session_start_of(aw, p, os.path.basename(agent))
    root_exit = aw.wait_for(of_pid(p.pid, "exit"), "exit record of the agent")[0]
    echo = aw.wait_for(is_exec(argv=["/bin/echo", marker]), "exec of the daemon's echo",
                       timeout=EVENT_TIMEOUT)[0]
    check(echo["time"] > root_exit["time"],
          "echo exec (%s) should come after the agent exited (%s)"
          % (echo["time"], root_exit["time"]))
    eq(echo.get("session"), root.get("session"), "daemon echo's session")
    eq(echo.get("agent"), root.get("agent"), "daemon echo's agent")
    eq(echo.get("exe"), ECHO, "echo exe")
    check_lineage(echo, p.pid, "daemon echo")
    eq(echo["lineage"][0].get("argv"), ["/bin/bash", agent], "lineage[0].argv (agent)")
    eq(echo["lineage"][-1].get("argv"), ["/bin/echo", marker], "lineage[-1].argv")
    check(len(echo["lineage"]) >= 3, "lineage should pass through the subshells: %r"
          % lineage_pids(echo))
    check(echo.get("ppid") != p.pid, "echo's parent should not be the agent (ppid %r)"
          % echo.get("ppid"))
    stop(aw)


def test_outside_session_silent():
    scratch = TMP.make("outside")
    out_mark = unique("outmark")
    in_mark = unique("inmark")
    body = "/bin/true %s; /bin/rm -f %s; exit 0"
    agent = fake_agent(body % (in_mark, sq(os.path.join(scratch, in_mark))))
    aw = start_agentwatch([agent_spec(agent)])
    open(os.path.join(scratch, out_mark), "w").close()
    open(os.path.join(scratch, in_mark), "w").close()
    # outside any session, straight from the test
    r = run_cmd(["/bin/sh", "-c", body % (out_mark, sq(os.path.join(scratch, out_mark)))])
    eq(r.returncode, 0, "outside command exit status")
    # then the same inside the agent: once these are out, the earlier ones would be too
    run_agent(agent)
    aw.wait_for(is_exec(argv=["/bin/true", in_mark]), "in-session /bin/true exec")
    aw.wait_for(lambda r: r.get("type") == "file" and in_mark in (r.get("path") or ""),
                "in-session rm file record")
    time.sleep(0.3)
    leaked = [x for x in aw.records() if out_mark.encode() in x["_raw"]]
    check(not leaked, "outside-session activity was reported: %s"
          % (short(leaked[0]) if leaked else ""))
    stop(aw)

    # with --all an outside exec is reported, with session null
    all_mark = unique("allmark")
    aw2 = start_agentwatch([agent_spec(agent)], extra=["--all"])
    r = run_cmd(["/bin/true", all_mark])
    eq(r.returncode, 0, "outside /bin/true exit status")
    x = aw2.wait_for(is_exec(argv=["/bin/true", all_mark]), "--all exec of /bin/true")[0]
    eq(x.get("session"), None, "--all outside exec session")
    eq(x.get("agent"), None, "--all outside exec agent")
    eq(x.get("exe"), TRUE, "--all outside exec exe")
    eq(x.get("session_start"), False, "--all outside exec session_start")
    stop(aw2)


def test_exit_codes():
    d = TMP.make("exit")
    pidfile = os.path.join(d, "sleep.pid")
    agent = fake_agent("/bin/sh -c 'exit 7'\n/bin/sleep 30 &\nspid=$!\necho $spid > %s\n"
                       "wait $spid\n" % sq(pidfile))
    aw = start_agentwatch([agent_spec(agent)])
    p = PROCS.spawn([agent])
    deadline = time.monotonic() + EVENT_TIMEOUT
    spid = None
    while time.monotonic() < deadline:
        try:
            with open(pidfile) as f:
                txt = f.read()
            if txt.endswith("\n"):
                spid = int(txt)
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    check(spid, "the agent did not write the sleep pid within %.0fs" % EVENT_TIMEOUT)
    # make sure the pid is our agent's sleep before killing it
    aw.wait_for(lambda r: r.get("type") == "exec" and r.get("pid") == spid
                and r.get("argv") == ["/bin/sleep", "30"], "exec of sleep 30 (pid %d)" % spid)
    with open("/proc/%d/stat" % spid) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    eq(ppid, p.pid, "parent of the sleep to kill")
    os.kill(spid, signal.SIGKILL)
    rc = wait_exit(p, what="agent")
    eq(rc, 128 + 9, "agent status (bash `wait PID` on a SIGKILLed child)")

    sh = aw.wait_for(is_exec(argv=["/bin/sh", "-c", "exit 7"]), "exec of sh -c 'exit 7'")[0]
    shx = aw.wait_for(of_pid(sh["pid"], "exit"), "exit record of sh -c 'exit 7'")[0]
    eq(shx.get("exit_code"), 7, "sh exit_code")
    check("signal" not in shx or shx["signal"] in (None, 0),
          "sh exit record has a signal: %r" % shx.get("signal"))
    eq(shx.get("argv"), ["/bin/sh", "-c", "exit 7"], "sh exit argv")
    check_lineage(shx, p.pid, "sh exit record")

    sx = aw.wait_for(of_pid(spid, "exit"), "exit record of the killed sleep")[0]
    eq(sx.get("signal"), 9, "sleep exit signal")
    eq(sx.get("core_dumped"), False, "sleep core_dumped")
    check("exit_code" not in sx or sx["exit_code"] is None,
          "killed sleep has an exit_code: %r" % sx.get("exit_code"))
    eq(sx.get("exe"), SLEEP, "sleep exit exe")
    check_lineage(sx, p.pid, "sleep exit record")

    ax = aw.wait_for(of_pid(p.pid, "exit"), "exit record of the agent")[0]
    eq(ax.get("exit_code"), 137, "agent exit_code")
    stop(aw)


def test_rename_truncate_openat():
    s = real(TMP.make("ren"))
    os.makedirs(os.path.join(s, "sub"))
    for n in ("a", "b", "c", "d", "sub/x"):
        with open(os.path.join(s, n), "w") as f:
            f.write("0123456789")
    # openat2(AT_FDCWD, "d", {O_WRONLY|O_TRUNC}): its flags are in user memory
    openat2_code = ("import ctypes, os, struct\n"
                    "libc = ctypes.CDLL(None, use_errno=True)\n"
                    "how = ctypes.create_string_buffer(struct.pack('=QQQ', "
                    "os.O_WRONLY | os.O_TRUNC, 0, 0), 24)\n"
                    "fd = libc.syscall(437, -100, b'd', how, 24)\n"
                    "assert fd >= 0, ctypes.get_errno()\n"
                    "os.close(fd)\n")
    dirfd_code = ("import os\n"
                  "fd = os.open(%r, os.O_RDONLY | os.O_DIRECTORY)\n"
                  "os.rename('x', 'y', src_dir_fd=fd, dst_dir_fd=fd)\n" % os.path.join(s, "sub"))
    agent = fake_agent("\n".join([
        "cd %s || exit 3" % sq(s),
        "/bin/mv a a2 || exit 4",
        "%s -c %s || exit 5" % (PY, sq("import os; os.truncate('b', 3)")),
        "%s -c %s || exit 6" % (PY, sq("open('c', 'w').close()")),
        "%s -c %s || exit 7" % (PY, sq(dirfd_code)),
        "%s -c %s || exit 8" % (PY, sq(openat2_code)),
        "echo quiet > /dev/null; echo also 2>/dev/null >/dev/null",
        "exit 0"]))
    aw = start_agentwatch([agent_spec(agent)])
    p = run_agent(agent)

    mv = aw.wait_for(lambda r: r.get("type") == "file" and r.get("path_arg") == "a",
                     "file record of mv a a2")[0]
    check(mv.get("op") in ("rename", "renameat", "renameat2"), "mv op %r" % mv.get("op"))
    eq(mv.get("path"), os.path.join(s, "a"), "mv path")
    eq(mv.get("path2"), os.path.join(s, "a2"), "mv path2")
    eq(mv.get("path2_arg"), "a2", "mv path2_arg")
    eq(mv.get("result"), 0, "mv result")
    eq(mv.get("exe"), MV, "mv exe")
    if mv.get("op") == "renameat2":
        check(isinstance(mv.get("flags"), int), "renameat2 without flags: %s" % short(mv))
    check_lineage(mv, p.pid, "mv record")

    tr = aw.wait_for(lambda r: r.get("type") == "file" and r.get("op") == "truncate",
                     "truncate record")[0]
    eq(tr.get("path"), os.path.join(s, "b"), "truncate path")
    eq(tr.get("path_arg"), "b", "truncate path_arg")
    eq(tr.get("result"), 0, "truncate result")
    eq(os.path.getsize(os.path.join(s, "b")), 3, "size after truncate")

    ot = aw.wait_for(lambda r: r.get("type") == "file" and r.get("op") == "open_trunc"
                     and r.get("path_arg") == "c", "open_trunc record for c")[0]
    eq(ot.get("path"), os.path.join(s, "c"), "open_trunc path")
    check(isinstance(ot.get("flags"), int) and ot["flags"] & os.O_TRUNC
          and ot["flags"] & os.O_CREAT and ot["flags"] & os.O_WRONLY,
          "open_trunc flags %r should have O_WRONLY|O_CREAT|O_TRUNC" % ot.get("flags"))
    check(isinstance(ot.get("result"), int) and ot["result"] >= 0,
          "open_trunc result should be an fd, got %r" % ot.get("result"))
    eq(ot.get("error"), None, "open_trunc error")

    o2 = aw.wait_for(lambda r: r.get("type") == "file" and r.get("op") == "open_trunc"
                     and r.get("path_arg") == "d", "open_trunc record of openat2 for d")[0]
    eq(o2.get("path"), os.path.join(s, "d"), "openat2 path")
    check(isinstance(o2.get("flags"), int) and o2["flags"] & os.O_TRUNC,
          "openat2 flags %r should have O_TRUNC" % o2.get("flags"))
    eq(os.path.getsize(os.path.join(s, "d")), 0, "size after openat2 O_TRUNC")

    rd = aw.wait_for(lambda r: r.get("type") == "file" and r.get("path_arg") == "x",
                     "renameat record with a dirfd")[0]
    check(rd.get("op") in ("renameat", "renameat2"), "dirfd rename op %r" % rd.get("op"))
    eq(rd.get("path"), os.path.join(s, "sub", "x"), "dirfd rename path (against the dirfd)")
    eq(rd.get("path2"), os.path.join(s, "sub", "y"), "dirfd rename path2 (against the dirfd)")
    eq(rd.get("path2_arg"), "y", "dirfd rename path2_arg")
    eq(rd.get("cwd"), s, "dirfd rename cwd")
    eq(rd.get("result"), 0, "dirfd rename result")
    check(os.path.exists(os.path.join(s, "sub", "y")), "sub/y missing after the rename")
    aw.wait_for(lambda r: r.get("type") == "exit" and r.get("pid") == p.pid, "the agent's exit")
    # `> /dev/null` truncates nothing: not reported.
    eq([short(r, 200) for r in aw.records(lambda r: r.get("path") == "/dev/null")], [],
       "records of /dev/null")
    stop(aw)


def test_declared_exec():
    other = fake_agent("exit 0")
    dname = unique("decl")
    mark = unique("dmark")
    aw = start_agentwatch([agent_spec(other)])
    cmd = "/bin/true %s; exit 0" % mark
    errp = os.path.join(aw.dir, "exec.err")
    with open(errp, "wb") as ef:
        p = PROCS.spawn([AGENTWATCH, "exec", "--agent", dname, "--pin-dir", aw.pin_dir, "--",
                         "/bin/sh", "-c", cmd], stderr=ef)
    rc = wait_exit(p, what="agentwatch exec")
    with open(errp, "rb") as ef:
        eq(rc, 0, "agentwatch exec status (stderr %r)" % ef.read()[-300:])
    t = aw.wait_for(is_exec(argv=["/bin/true", mark]), "exec of /bin/true under agentwatch exec")[0]
    eq(t.get("agent"), dname, "agent")
    eq(t.get("attribution", {}).get("reason"), "declared-exec", "attribution.reason")
    eq(t.get("attribution", {}).get("root_pid"), p.pid, "attribution.root_pid")
    check_lineage(t, p.pid, "declared exec's child")
    sh = aw.wait_for(is_exec(argv=["/bin/sh", "-c", cmd]), "exec of the declared /bin/sh")[0]
    eq(sh.get("pid"), p.pid, "declared sh pid (agentwatch exec execs in place)")
    eq(sh.get("session"), t.get("session"), "sh and true share the session")
    eq(sh.get("session_start"), True, "declared sh session_start")
    eq(sh.get("attribution", {}).get("reason"), "declared-exec", "sh attribution.reason")
    eq(sh.get("agent"), dname, "sh agent")

    # without a running instance at that pin dir, agentwatch exec must refuse
    r = run_cmd([AGENTWATCH, "exec", "--agent", dname, "--pin-dir",
                 os.path.join(BPFFS, unique("nopin")), "--", "/bin/true"])
    check(r.returncode != 0, "agentwatch exec with no instance exited 0")
    stop(aw)


def test_session_root_pid():
    d = TMP.make("sroot")
    go = os.path.join(d, "go")
    mark = unique("srmark")
    rname = unique("root")
    # a plain shell tree that does not match any signature; bounded loop
    tree = PROCS.spawn([BASH, "-c", "n=0; while [ ! -e %s ] && [ $n -lt 300 ]; do "
                        "/bin/sleep 0.05; n=$((n+1)); done; /bin/true %s; exit 0"
                        % (sq(go), mark)], cwd=d)
    time.sleep(0.2)
    check(exited(tree) is None, "the shell tree exited early")
    other = fake_agent("exit 0")
    aw = start_agentwatch([agent_spec(other)], extra=["--session-root", "%d:%s" % (tree.pid, rname)])
    open(go, "w").close()
    eq(wait_exit(tree, what="shell tree"), 0, "shell tree status")
    t = aw.wait_for(is_exec(argv=["/bin/true", mark]), "exec of the tree's /bin/true")[0]
    eq(t.get("agent"), rname, "agent")
    eq(t.get("attribution", {}).get("reason"), "declared-session-root", "attribution.reason")
    eq(t.get("attribution", {}).get("root_pid"), tree.pid, "attribution.root_pid")
    eq(t.get("workspace"), d, "workspace (the root's cwd)")
    check_lineage(t, tree.pid, "declared root's command")
    eq(t["lineage"][0].get("exe"), BASH, "lineage[0].exe (found by /proc)")
    eq(len(t["lineage"]), 2, "lineage length (bash -> true)")
    stop(aw)


def test_proc_scan_seeding():
    d = TMP.make("scan")
    go = os.path.join(d, "go")
    mark = unique("scmark")
    agent = fake_agent("n=0\nwhile [ ! -e %s ] && [ $n -lt 300 ]; do /bin/sleep 0.05; "
                       "n=$((n+1)); done\n/bin/true %s\nexit 0" % (sq(go), mark))
    name = os.path.basename(agent)
    p = PROCS.spawn([agent], cwd=d)
    # bounded wait until the script is running under its name
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                if agent.encode() in f.read():
                    break
        except OSError:
            pass
        time.sleep(0.02)
    aw = start_agentwatch([agent_spec(agent)])
    # status.json lists the sessions the start-up scan opened
    sessions = status_sessions(aw, lambda x: x.get("root_pid") == p.pid)
    open(go, "w").close()
    eq(wait_exit(p, what="fake agent"), 0, "fake agent status")
    check(sessions, "start-up scan opened no session for the running agent %s (pid %d, "
          "/proc cmdline %r); status sessions: %r"
          % (name, p.pid, ["/bin/bash", agent], status_sessions(aw, timeout=0)))
    eq(sessions[0].get("reason"), "running-at-start", "status session reason")
    t = aw.wait_for(is_exec(argv=["/bin/true", mark]), "exec of the pre-existing agent's /bin/true")[0]
    eq(t.get("agent"), name, "agent")
    eq(t.get("attribution", {}).get("reason"), "running-at-start", "attribution.reason")
    eq(t.get("attribution", {}).get("root_pid"), p.pid, "attribution.root_pid")
    eq(t.get("workspace"), d, "workspace")
    check_lineage(t, p.pid, "seeded agent's command")
    eq(t["lineage"][0].get("exe"), BASH, "lineage[0].exe")
    eq(t["lineage"][0].get("argv"), ["/bin/bash", agent], "lineage[0].argv (from /proc)")
    stop(aw)


HOSTILE = [
    b"\x1b[31mred\x1b[0m\x1b]0;title\x07",
    b"line1\nline2\r\n",
    b"\x01\x02\x08\x0c\x1f\x7f",
    b"\xff\xfe",
    b"tab\there",
    b'quote"back\\slash/',
    b"caf\xc3\xa9 \xf0\x9f\x98\x80",
    b"\xed\xb3\xbf",          # a UTF-8-encoded surrogate: invalid UTF-8
    b"\xc0\xaf",              # overlong '/'
    b"\xe2\x82",              # truncated sequence
    b"",
    b"\\udcff",               # text that looks like an escape
    b"\xc2\x85\xe2\x80\xa8",  # NEL, LINE SEPARATOR
]


def test_hostile_argv():
    mark = unique("hmark")
    args = [b"/bin/true"] + HOSTILE + [mark.encode()]
    code = ("import subprocess, sys\n"
            "args = [bytes.fromhex(h) for h in sys.argv[1:]]\n"
            "sys.exit(subprocess.run(args).returncode)\n")
    agent = fake_agent("exec %s -c %s %s" % (PY, sq(code), " ".join(a.hex() or "''" for a in args)))
    aw = start_agentwatch([agent_spec(agent)])
    p = run_agent(agent)
    t = aw.wait_for(lambda r: r.get("type") == "exec" and (r.get("argv") or [None])[-1] == mark,
                    "exec with hostile argv")[0]
    raw = t["_raw"]
    check(all(b >= 0x20 for b in raw), "raw control byte in the output line")
    got = [a.encode("utf-8", "surrogateescape") for a in t["argv"]]
    eq(got, args, "argv bytes decoded with surrogateescape")
    eq(t.get("argc"), len(args), "argc")
    eq(t.get("argv_bytes"), sum(len(a) + 1 for a in args), "argv_bytes")
    eq(t.get("argv_truncated"), False, "argv_truncated")
    lin = [a.encode("utf-8", "surrogateescape") for a in t["lineage"][-1]["argv"]]
    eq(lin, args, "lineage[-1].argv bytes")
    check_lineage(t, p.pid, "hostile exec")
    x = aw.wait_for(of_pid(t["pid"], "exit"), "exit record of the hostile exec")[0]
    eq([a.encode("utf-8", "surrogateescape") for a in x.get("argv") or []], args, "exit argv bytes")
    stop(aw)


def test_argv_truncation():
    mark = unique("tmark")
    big = ["%04d" % i + "x" * 995 for i in range(40)]     # 40 x 1000 bytes with NUL
    args = ["/bin/true", mark] + big
    total = sum(len(a.encode()) + 1 for a in args)
    code = ("import subprocess, sys\n"
            "sys.exit(subprocess.run(['/bin/true', %r] + ['%%04d' %% i + 'x' * 995 "
            "for i in range(40)]).returncode)\n" % mark)
    agent = fake_agent("%s -c %s" % (PY, sq(code)))
    aw = start_agentwatch([agent_spec(agent)])
    p = run_agent(agent)
    t = aw.wait_for(lambda r: r.get("type") == "exec" and (r.get("argv") or [])[:2]
                    == ["/bin/true", mark], "exec with a 40 KB argv")[0]
    eq(t.get("argv_truncated"), True, "argv_truncated")
    eq(t.get("argv_bytes"), total, "argv_bytes (the real total)")
    eq(t.get("argc"), len(args), "argc")
    got = t.get("argv") or []
    check(2 < len(got) <= len(args), "captured %d of %d args" % (len(got), len(args)))
    for i, a in enumerate(got[:-1]):
        eq(a, args[i], "captured argv[%d]" % i)
    check(args[len(got) - 1].startswith(got[-1]),
          "last captured arg %r... is not a prefix of the real one" % got[-1][:20])
    captured = sum(len(a.encode()) + 1 for a in got)
    check(captured >= 16 * 1024, "only %d argv bytes captured" % captured)
    check(captured <= 32 * 1024 + 1, "%d argv bytes captured (> 32 KiB)" % captured)
    check_lineage(t, p.pid, "truncated exec")
    stop(aw)


def _parse_counters(text):
    lines = [l for l in text.splitlines() if l.startswith("agentwatch: counters:")]
    if not lines:
        return None
    out = {}
    for kv in lines[-1].split(":", 2)[2].split():
        k, _, v = kv.partition("=")
        out[k] = int(v) if v.isdigit() else v
    return out


def test_status_counters():
    agent = fake_agent("/bin/true; /bin/true; exit 0")
    aw = start_agentwatch([agent_spec(agent)])
    p = run_agent(agent)
    aw.wait_for(of_pid(p.pid, "exit"), "exit record of the agent")
    # while running
    deadline = time.monotonic() + 5
    live = None
    while time.monotonic() < deadline:
        r = run_cmd([AGENTWATCH, "status", "--state-dir", aw.state_dir, "--json"])
        if r.returncode == 0:
            try:
                live = json.loads(r.stdout)
            except ValueError as e:
                raise Fail("status --json is not JSON (%s): %r" % (e, r.stdout[:300]))
            if any(x.get("root_pid") == p.pid and x.get("execs", 0) >= 3
                   for x in live.get("sessions") or []):
                break
        time.sleep(0.2)
    check(live is not None, "agentwatch status --json failed: rc %d, stderr %r"
          % (r.returncode, r.stderr[:300]))
    eq(live.get("running"), True, "status running (live)")
    eq(live.get("pid"), aw.proc.pid, "status pid")
    sess = [s for s in live.get("sessions") or [] if s.get("root_pid") == p.pid]
    check(sess, "status lists no session for agent pid %d: %r" % (p.pid, live.get("sessions")))
    eq(sess[0].get("agent"), os.path.basename(agent), "status session agent")
    check(sess[0].get("execs", 0) >= 3, "status session execs %r < 3" % sess[0].get("execs"))

    rc = stop(aw)
    eq(rc, 0, "agentwatch exit status after SIGINT")
    r = run_cmd([AGENTWATCH, "status", "--state-dir", aw.state_dir, "--json"])
    eq(r.returncode, 0, "status exit code after stop (stderr %r)" % r.stderr[:200])
    st = json.loads(r.stdout)
    eq(st.get("running"), False, "status running (after stop)")
    kc = st.get("kernel_counters")
    check(isinstance(kc, dict), "no kernel_counters in status: %r" % st)
    check(kc.get("events", 0) > 0, "kernel_counters.events = %r" % kc.get("events"))
    losses = {k: v for k, v in kc.items() if k.startswith("ringbuf_full") and v}
    check(any(k.startswith("ringbuf_full") for k in kc), "no ringbuf_full_* counters: %r" % kc)
    eq(losses, {}, "ringbuf_full_* losses")
    cc = st.get("collector_counters") or {}
    eq(cc.get("decode_errors"), 0, "collector decode_errors")
    eq(cc.get("output_errors"), 0, "collector output_errors")
    # the counters line on stderr at exit
    c = _parse_counters(aw.stderr())
    check(c is not None, "no 'agentwatch: counters:' line on stderr: %r" % aw.stderr()[-500:])
    check(c.get("events", 0) >= kc.get("events", 0) > 0,
          "stderr events=%r vs status events=%r" % (c.get("events"), kc.get("events")))
    # status in text form too
    r = run_cmd([AGENTWATCH, "status", "--state-dir", aw.state_dir])
    eq(r.returncode, 0, "status (text) exit code")
    check(r.stdout.strip(), "status (text) printed nothing")


def test_pid_reuse_lineage():
    n = 150
    agent = fake_agent("for i in $(seq 1 %d); do /bin/true $i; done\n"
                       "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/sh -c '/bin/true nested; exit 0'; "
                       "( /bin/true sub ) ; done\nexit 0" % n)
    aw = start_agentwatch([agent_spec(agent)], extra=["--forks"])
    p = run_agent(agent, timeout=30)
    root = session_start_of(aw, p, os.path.basename(agent))
    aw.wait_for(of_pid(p.pid, "exit"), "exit record of the agent")
    sess = root["session"]
    mine = aw.records(lambda r: r.get("session") == sess)
    execs = [r for r in mine if r["type"] == "exec"]
    trues = [r for r in execs if (r.get("argv") or [])[:1] == ["/bin/true"]]
    eq(len([r for r in trues if r["argv"][1:] and r["argv"][1].isdigit()]), n,
       "number of /bin/true N exec records")
    eq(len([r for r in trues if r["argv"][1:] == ["nested"]]), 10, "nested /bin/true execs")
    eq(len([r for r in trues if r["argv"][1:] == ["sub"]]), 10, "subshell /bin/true execs")
    forks = [r for r in mine if r["type"] == "fork"]
    check(len(forks) >= n, "only %d fork records with --forks" % len(forks))
    for r in mine:
        what = "%s record of pid %s (%s)" % (r["type"], r["pid"], (r.get("argv") or [""])[:2])
        check_lineage(r, p.pid, what)
        if r["type"] == "exec":
            eq(r["lineage"][-1].get("argv"), r.get("argv"), "%s: lineage[-1].argv" % what)
            eq(r["lineage"][-1].get("exe"), r.get("exe"), "%s: lineage[-1].exe" % what)
        if len(r["lineage"]) >= 2:
            eq(r["lineage"][-2].get("pid"), r.get("ppid"), "%s: lineage[-2].pid vs ppid" % what)
    # No stranger in any record: every lineage pid is a process of this session
    known = {r["pid"] for r in mine}
    strangers = {pid for r in mine for pid in lineage_pids(r)} - known
    eq(strangers, set(), "lineage pids never seen in this session")
    stop(aw)


def test_glob_pattern():
    d = TMP.make("glob")
    stem = unique("g")
    # A glob may be matched by the collector rather than the kernel, so give it
    # a moment before the first child (this test is about matching, not races).
    script = fake_agent("/bin/sleep 0.3; /bin/true %s-ran; exit 0" % stem, name=stem + "-tool",
                        dirpath=d)
    other = fake_agent("/bin/sleep 0.3; /bin/true %s-no; exit 0" % stem, name=stem + "-other",
                       dirpath=d)
    aw = start_agentwatch(["%s:%s-t*" % (stem, stem)])
    p = run_agent(script)
    r = session_start_of(aw, p, stem)
    eq(r.get("agent"), stem, "glob-matched agent name")
    eq(r.get("attribution", {}).get("reason"), "signature", "glob attribution.reason")
    t = aw.wait_for(is_exec(argv=["/bin/true", stem + "-ran"]), "exec inside the glob agent")[0]
    eq(t.get("session"), r.get("session"), "session of the glob agent's child")
    check_lineage(t, p.pid, "glob agent's child")
    # a name the glob does not match opens nothing
    run_agent(other)
    aw.wait_for(of_pid(p.pid, "exit"), "exit record of the glob agent")
    time.sleep(0.3)
    check(not aw.records(is_exec(argv=["/bin/true", stem + "-no"])),
          "a script not matching %s-t* was attributed" % stem)
    stop(aw)


def test_symlink_name():
    d = TMP.make("link")
    lname = unique("lnk")
    link = os.path.join(d, lname)
    os.symlink("/bin/sh", link)
    mark = unique("lmark")
    aw = start_agentwatch([agent_spec(link)])
    q = run_agent_argv([link, "-c", "/bin/true %s; exit 0" % mark])
    s = aw.wait_for(lambda r: r.get("pid") == q.pid and r.get("type") == "exec",
                    "exec of the symlink-named agent")[0]
    eq(s.get("agent"), lname, "symlink agent name")
    eq(s.get("session_start"), True, "symlink exec session_start")
    eq(s.get("exe"), SH, "symlink exec exe (after symlinks)")
    eq(s.get("filename"), link, "symlink exec filename")
    eq(s.get("attribution", {}).get("reason"), "signature", "attribution.reason")
    t = aw.wait_for(is_exec(argv=["/bin/true", mark]), "exec inside the symlink agent")[0]
    eq(t.get("session"), s.get("session"), "session of the symlink agent's child")
    check_lineage(t, q.pid, "symlink agent's child")
    stop(aw)


# ---- runner ----------------------------------------------------------------


def _on_alarm(signum, frame):
    raise TestTimeout()


def _on_term(signum, frame):
    raise KeyboardInterrupt()


def run_one(name, fn):
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIMEOUT)
    err = None
    skipped = None
    interrupted = False
    try:
        try:
            fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except Fail as e:
        err = str(e)
    except Skip as e:
        skipped = str(e)
    except TestTimeout:
        err = "timed out after %.0fs" % TEST_TIMEOUT
    except KeyboardInterrupt:
        err = "interrupted"
        interrupted = True
    except Exception as e:
        err = "exception %s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
    # cleanup is bounded too
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        for aw in INSTANCES:
            if err is None:
                try:
                    aw.check_invariants()
                except Fail as e:
                    err = "invariant: " + str(e)
                except Exception as e:
                    err = "invariant check raised %s: %s" % (type(e).__name__, e)
            if aw.rc is None:
                try:
                    aw.stop()
                except Fail as e:
                    err = err or str(e)
            if err is None and aw.rc not in (0, None):
                err = "agentwatch exited %r; stderr: %s" % (aw.rc, aw.stderr()[-800:])
    except TestTimeout:
        err = err or "timed out while stopping agentwatch"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for aw in INSTANCES:
            aw.cleanup()
        INSTANCES.clear()
        PROCS.cleanup()
        TMP.cleanup()
    if interrupted:
        raise KeyboardInterrupt()
    return err, skipped


def setup_failed(why):
    """A run that cannot start still ends with the closing line."""
    print("FAIL setup: %s" % why)
    print("0 passed, 1 failed")
    return 1


def preflight(what):
    """Root and a binary under test, and SIGTERM ending the run cleanly;
    returns main's exit status when the run cannot start, else None."""
    if os.geteuid() != 0:
        return setup_failed("%s need root" % what)
    if not os.access(AGENTWATCH, os.X_OK):
        return setup_failed("no agentwatch binary at %s (set AGENTWATCH=path)" % AGENTWATCH)
    signal.signal(signal.SIGTERM, _on_term)
    return None


def main():
    flt = sys.argv[1] if len(sys.argv) > 1 else ""
    rc = preflight("integration tests")
    if rc is not None:
        return rc
    mod = sys.modules[__name__]
    tests = [(n, getattr(mod, n)) for n in dir(mod)
             if n.startswith("test_") and callable(getattr(mod, n)) and flt in n]
    # definition order, so output is stable and reads like the file
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    print("agentwatch integration tests: %s (%d tests)" % (AGENTWATCH, len(tests)), flush=True)
    if not tests:
        return setup_failed("no test matches %r" % flt)
    return run_tests(tests)


def run_tests(tests, after=None):
    """Run (name, fn) pairs one by one; print a line each and the closing
    `N passed, N failed`; 1 if any failed.  after() runs before the total
    (the e2e tests use it to clean up what outlives a test)."""
    passed = failed = 0
    t0 = time.monotonic()
    try:
        for name, fn in tests:
            t1 = time.monotonic()
            err, skipped = run_one(name, fn)
            dt = time.monotonic() - t1
            if err is None:
                passed += 1
                print("ok %s (%.1fs)%s" % (name, dt, " [skipped: %s]" % skipped if skipped else ""),
                      flush=True)
            else:
                failed += 1
                print("FAIL %s: %s" % (name, err), flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        failed += 1
    if after:
        after()
    print("# %.1fs total" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0




# ---- enforcement -------------------------------------------------------------


def rules_dir(text):
    """A rules directory holding one file with text (a test's own rules)."""
    d = TMP.make("rules")
    with open(os.path.join(d, "test.rules"), "w") as f:
        f.write(text)
    return d


def aw_cli(aw, *args, timeout=10):
    return run_cmd([AGENTWATCH] + list(args) + ["--control", aw.control], timeout=timeout)


def pending_of(aw, pred, what, timeout=EVENT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        r = aw_cli(aw, "pending", "--json")
        try:
            rep = json.loads(r.stdout.decode())
        except ValueError:
            raise Fail("agentwatch pending --json printed no JSON: %r %r" % (r.stdout, r.stderr))
        check(rep.get("ok") is True, "pending reply not ok: %r" % rep)
        got = [x for x in rep.get("pending", []) if pred(x)]
        if got:
            return got[0]
        if time.monotonic() >= deadline:
            raise Fail("no pending verdict for %s within %.0fs: %r" % (what, timeout, rep))
        time.sleep(0.05)


RM_RULE = """
rule test-rm-outside
  severity high
  action kill
  message "test rule: {agent} may not delete {target} outside {workspace}"
  binary rm
  flag -r|-R|--recursive
  target outside-workspace
"""


def test_gate_kills_rm_outside_workspace():
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    for i in range(3):
        open(os.path.join(scratch, "keep%d" % i), "w").close()
    errf = os.path.join(TMP.make("err"), "stderr")
    # 2>> (append): bash's own "Killed" line must not overwrite ours.
    agent = fake_agent("%s -c %s 2>>%s; echo rc=$? >> %s; rm -rf %s/build; exit 0" % (
        BASH, sq("/bin/rm -rf %s; exit $?" % scratch), sq(errf), sq(errf), sq(ws)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(RM_RULE)])
    run_agent(agent, cwd=ws)
    rec = aw.wait_for(is_exec(argv=["/bin/rm", "-rf", scratch]), "exec record of the gated rm")[0]
    eq(rec.get("gated"), True, "rm record gated")
    eq(rec.get("verdict"), "kill", "rm verdict")
    eq([h.get("id") for h in rec.get("rules", [])], ["test-rm-outside"], "rules that fired")
    # Killed before its first instruction: nothing under scratch was touched.
    eq(sorted(os.listdir(scratch)), ["keep0", "keep1", "keep2"], "scratch dir contents")
    err = open(errf).read()
    check("rc=137" in err, "rm's exit status as the agent saw it: %r" % err)
    check("test-rm-outside" in err and "may not delete %s" % scratch in err,
          "the agent's stderr names the rule and the target: %r" % err)
    check(not aw.records(lambda r: r.get("type") == "file" and r.get("pid") == rec["pid"]),
          "the killed rm made no file syscall")
    # A look-alike inside the workspace is gated too (same binary), matched,
    # and resumed.
    ok = aw.wait_for(lambda r: r.get("type") == "exec" and r.get("argv") == ["rm", "-rf", ws + "/build"],
                     "the allowed rm inside the workspace")[0]
    eq((ok.get("gated"), ok.get("verdict"), ok.get("rules")), (True, "allow", []),
       "rm inside the workspace: gated, verdict, rules")
    aw.wait_for(lambda r: r.get("type") == "exit" and r.get("pid") == ok["pid"]
                and r.get("exit_code") == 0, "exit 0 of the allowed rm")


PAUSE_RULES = """
rule test-pause-touch
  severity medium
  action pause timeout 30s default deny
  message "test: {agent} wants to touch {target}"
  binary touch
  arg *allowme*

rule test-pause-timeout
  severity medium
  action pause timeout 1s default deny
  message "test: {agent} touched {target} and nobody answered"
  binary touch
  arg *timeout*
"""


def test_pause_allow_and_timeout():
    ws = TMP.make("ws")
    allowed = os.path.join(ws, "allowme")
    timed = os.path.join(ws, "timeout")
    errf = os.path.join(ws, "stderr")
    agent = fake_agent("/usr/bin/touch %s; echo a=$? >> %s; /usr/bin/touch %s 2>>%s; echo t=$? >> %s"
                       % (sq(allowed), sq(errf), sq(timed), sq(errf), sq(errf)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(PAUSE_RULES)])
    p = PROCS.spawn([agent], cwd=ws)
    pd = pending_of(aw, lambda x: x.get("rule") == "test-pause-touch", "touch allowme")
    check(not os.path.exists(allowed), "paused touch must not have run yet")
    eq(procstate(pd["pid"]), "T", "paused process state")
    check([e.get("pid") for e in pd.get("lineage", [])][:1] == [p.pid],
          "pending lineage starts at the agent: %r" % pd.get("lineage"))
    r = aw_cli(aw, "allow", str(pd["id"]))
    eq(r.returncode, 0, "agentwatch allow exit status (stderr %r)" % r.stderr)
    # The second touch pauses with a 1 s timeout and default deny.
    wait_exit(p, 15, "agent")
    check(os.path.exists(allowed), "allowed touch completed")
    check(not os.path.exists(timed), "timed-out touch never ran")
    err = open(errf).read()
    check("a=0" in err, "allowed touch exit status: %r" % err)
    check("t=137" in err, "timed-out touch was killed: %r" % err)
    check("timeout" in err or "denied" in err, "timed-out touch told why: %r" % err)
    v = aw.wait_for(lambda r: r.get("type") == "verdict", "verdict records", count=2)
    eq(sorted((x.get("verdict"), x.get("decided_by", "")[:5]) for x in v),
       [("allow", "human"), ("kill", "timeo")], "verdict records (verdict, decided by)")


def gated_pending_pids(aw):
    """The pids in the kernel's gated_pending map (bpftool on the pin)."""
    r = run_cmd(["bpftool", "-j", "map", "dump", "pinned", os.path.join(aw.pin_dir, "map_gated_pending")])
    eq(r.returncode, 0, "bpftool map dump gated_pending (stderr %r)" % r.stderr[:200])
    pids = []
    for e in json.loads(r.stdout or "[]"):
        k = e.get("key")
        if isinstance(k, list):  # no BTF: little-endian hex bytes
            k = int.from_bytes(bytes(int(b, 16) for b in k), "little")
        pids.append(int(k))
    return pids


def test_gated_entry_leaves_with_its_process():
    """The gate's gated_pending entry lives exactly as long as the process:
    the collector takes it as proof of identity when it resumes a pid, so
    one must never outlive the process whose pid it names.  Here the held
    process is killed and left a zombie (its parent never waits), where
    the collector's own clean-up (which waits for /proc to lose the pid)
    never removes it."""
    if not shutil.which("bpftool"):
        raise Skip("no bpftool to read the map")
    ws = TMP.make("ws")
    allowed = os.path.join(ws, "allowme")
    agent = fake_agent("/usr/bin/touch %s & exec /bin/sleep 60" % sq(allowed))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(PAUSE_RULES)])
    PROCS.spawn([agent], cwd=ws)
    pd = pending_of(aw, lambda x: x.get("rule") == "test-pause-touch", "touch allowme")
    check(pd["pid"] in gated_pending_pids(aw), "held touch has its gated_pending entry")
    os.kill(pd["pid"], signal.SIGKILL)  # a process this test started (the agent's child)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _state_or_none(pd["pid"]) not in ("Z", None):
        time.sleep(0.02)
    eq(_state_or_none(pd["pid"]), "Z", "killed touch is a zombie its parent never reaps")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and pd["pid"] in gated_pending_pids(aw):
        time.sleep(0.05)
    check(pd["pid"] not in gated_pending_pids(aw), "gated_pending entry gone with the process")
    check(not os.path.exists(allowed), "the held touch never ran")


def procstate(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def _state_or_none(pid):
    try:
        return procstate(pid)
    except OSError:
        return None


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def test_agent_cannot_approve_itself():
    ws = TMP.make("ws")
    target = os.path.join(ws, "allowme-self")
    outf = os.path.join(ws, "out")
    aw_ = [None]
    agent = fake_agent("/usr/bin/touch %s & sleep 1; %s pending --json --control \"$CTL\" > %s 2>&1; "
                       "%s allow 1 --control \"$CTL\" >> %s 2>&1; echo rc=$? >> %s; wait"
                       % (sq(target), AGENTWATCH, sq(outf), AGENTWATCH, sq(outf), sq(outf)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(PAUSE_RULES)])
    aw_[0] = aw
    env = dict(os.environ, CTL=aw.control)
    p = PROCS.spawn([agent], cwd=ws, env=env)
    pd = pending_of(aw, lambda x: x.get("rule") == "test-pause-touch", "touch from the agent")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "rc=" not in (open(outf).read() if os.path.exists(outf) else ""):
        time.sleep(0.05)
    out = open(outf).read()
    check("refused" in out and "agent session" in out, "agent's own requests refused: %r" % out)
    check("rc=1" in out, "agentwatch allow from inside the session failed: %r" % out)
    check(not os.path.exists(target), "the self-approval did not release the command")
    eq(procstate(pd["pid"]), "T", "still paused after the self-approval attempt")
    r = aw_cli(aw, "deny", str(pd["id"]))
    eq(r.returncode, 0, "deny from outside the session (stderr %r)" % r.stderr)
    wait_exit(p, 10, "agent")
    check(not os.path.exists(target), "denied touch never ran")


DENY_PORT_RULE = """
rule test-deny-port on net
  severity high
  action deny
  message "test: {agent} may not reach {target}"
  dest 127.0.0.1/32
  port %d
"""


def test_net_deny_in_session_only():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    try:
        rules = DENY_PORT_RULE % port
        ws = TMP.make("ws")
        outf = os.path.join(ws, "out")
        code = ("import socket,errno\\ns=socket.socket()\\ntry:\\n s.connect(('127.0.0.1',%d)); print('connected')\\n"
                "except OSError as e: print('errno', e.errno)" % port)
        agent = fake_agent("%s -c \"$(printf %s)\" > %s 2>>%s.err" % (PY, sq(code), sq(outf), sq(outf)))
        aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(rules)])
        run_agent(agent, cwd=ws)
        out = open(outf).read()
        eq(out.strip(), "errno %d" % errno.EPERM, "connect from inside the session")
        rec = aw.wait_for(lambda r: r.get("type") == "net" and r.get("port") == port, "net record")[0]
        eq(rec.get("verdict"), "deny", "net record verdict")
        eq(rec.get("error"), "EPERM", "net record error")
        eq([h.get("id") for h in rec.get("rules", [])], ["test-deny-port"], "rules that fired")
        err = open(outf + ".err").read()
        check("test-deny-port" in err, "the agent's stderr names the rule: %r" % err)
        # The same connect from outside any session goes through.
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.close()
    finally:
        srv.close()



def test_pinned_enforcement_without_collector():
    """The collector is killed while idle: with nobody running, the pinned
    programs still deny the connect with EPERM in the kernel and apply the
    gate's kill fallback to a gated exec (the heartbeat is stale)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    try:
        rules = RM_RULE + DENY_PORT_RULE % port
        ws = TMP.make("ws")
        scratch = TMP.make("scratch")
        go = os.path.join(ws, "go")
        outf = os.path.join(ws, "out")
        code = ("import socket\ns=socket.socket()\ntry:\n s.connect(('127.0.0.1',%d)); print('connected')\n"
                "except OSError as e: print('errno', e.errno)" % port)
        agent = fake_agent("while [ ! -e %s ]; do read -t 0.05 x < /dev/zero; done\n"
                           "%s -c \"$(printf %s)\" > %s\n/bin/rm -rf %s; echo rm=$? >> %s\n"
                           % (sq(go), PY, sq(code), sq(outf), sq(scratch), sq(outf)))
        aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(rules), "--fallback", "kill"])
        p = PROCS.spawn([agent], cwd=ws)
        aw.wait_for(lambda r: r.get("type") == "exec" and r.get("session_start"), "the session")
        os.kill(aw.proc.pid, signal.SIGKILL)      # idle: nothing pending
        wait_exit(aw.proc, 5, "killed agentwatch")
        aw.proc.wait(timeout=5)
        aw.rc = 0
        time.sleep(2.5)                           # the heartbeat goes stale
        open(go, "w").close()
        eq(wait_exit(p, 20, "agent"), 0, "the agent ran to its end")
        out = open(outf).read().split()
        eq(out, ["errno", str(errno.EPERM), "rm=137"], "no collector: connect denied, gated rm killed")
        check(os.path.exists(scratch), "the rm never ran")
    finally:
        srv.close()

def test_monitor_mode_reports_but_lets_run():
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    open(os.path.join(scratch, "f"), "w").close()
    agent = fake_agent("/bin/rm -rf %s" % sq(scratch))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(RM_RULE), "--mode", "monitor"])
    run_agent(agent, cwd=ws)
    rec = aw.wait_for(is_exec(argv=["/bin/rm", "-rf", scratch]), "exec record of rm")[0]
    eq(rec.get("verdict"), "allow", "monitor mode verdict")
    eq(rec.get("would"), "kill", "monitor mode would-verdict")
    check(not rec.get("gated"), "monitor mode gates nothing")
    check(not os.path.exists(scratch), "in monitor mode the rm ran")


def test_shipped_rules_pass_their_inline_tests():
    r = run_cmd([AGENTWATCH, "rules", "test", os.path.join(REPO, "rules")], timeout=60)
    out = r.stdout.decode()
    last = out.strip().splitlines()[-1] if out.strip() else ""
    check(re.match(r"^\d+ passed, 0 failed$", last), "rules test closing line: %r" % out[-2000:])
    check(int(last.split()[0]) >= 100, "at least 100 inline tests: %r" % last)
    eq(r.returncode, 0, "rules test exit status")


def test_rules_match_cli():
    def match(*argv, cwd="/home/u/proj"):
        r = run_cmd([AGENTWATCH, "rules", "match", "--json", "--rules", os.path.join(REPO, "rules"),
                     "--cwd", cwd, "--workspace", "/home/u/proj", "--agent", "claude", "--"] + list(argv))
        return json.loads(r.stdout.decode())
    eq(match("rm", "-rf", "/")["verdict"], "kill", "rm -rf / verdict")
    eq(match("rm", "-rf", "./build")["verdict"], "allow", "rm -rf ./build verdict")
    eq(match("git", "push", "origin", "main")["verdict"], "allow", "git push verdict")
    v = match("git", "push", "--force", "origin", "main")
    check(v["verdict"] in ("pause", "kill"), "git push --force verdict: %r" % v)
    check(any(h["id"].startswith("git") for h in v["rules"]), "git rule named: %r" % v)
    eq(match("git", "push", "--force-with-lease")["verdict"], "allow", "force-with-lease verdict")
    r = run_cmd([AGENTWATCH, "rules", "check", os.path.join(REPO, "rules")])
    eq(r.returncode, 0, "rules check exit status")
    bad = rules_dir("rule x\n  binary rm\n  frobnicate yes\n")
    r = run_cmd([AGENTWATCH, "rules", "check", bad])
    eq(r.returncode, 1, "rules check on a bad file")
    check(re.search(r"test\.rules:3:\d+: ", r.stderr.decode()), "file:line:col error: %r" % r.stderr)


def test_breaker_stops_mass_deletion():
    ws = TMP.make("ws")
    tree = TMP.make("protected")
    n_files = 300
    for i in range(n_files):
        open(os.path.join(tree, "f%03d" % i), "w").close()
    inside = os.path.join(ws, "build")
    os.mkdir(inside)
    for i in range(100):
        open(os.path.join(inside, "o%03d" % i), "w").close()
    code = ("import os,sys\nd=sys.argv[1]\nfor n in sorted(os.listdir(d)): os.unlink(os.path.join(d,n))\n")
    script = os.path.join(ws, "wipe.py")
    with open(script, "w") as f:
        f.write(code.replace("\\n", "\n"))
    agent = fake_agent("%s %s %s; %s %s %s; echo rc=$? > %s/rc" % (
        PY, sq(script), sq(inside), PY, sq(script), sq(tree), sq(ws)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(""), "--breaker", "20/2000"])
    p = PROCS.spawn([agent], cwd=ws)
    pd = pending_of(aw, lambda x: x.get("rule") == "mass-deletion-breaker", "the breaker")
    # Deleting 100 files inside the workspace tripped it too, and was resumed.
    eq(os.listdir(inside), [], "the in-workspace deletion completed")
    left = len(os.listdir(tree))
    check(n_files - left <= 20, "at most N=20 files lost outside the workspace, lost %d" % (n_files - left))
    check(n_files - left >= 1, "the loop did start deleting")
    eq(procstate(pd["pid"]), "T", "the deleting process is stopped")
    r = aw_cli(aw, "deny", str(pd["id"]))
    eq(r.returncode, 0, "deny (stderr %r)" % r.stderr)
    wait_exit(p, 10, "agent")
    eq(open(os.path.join(ws, "rc")).read().strip(), "rc=137", "the wiping python was killed")
    eq(len(os.listdir(tree)), left, "nothing more deleted after the breaker")
    rec = aw.wait_for(lambda r: r.get("type") == "file" and any(
        h.get("id") == "mass-deletion-breaker" for h in r.get("rules", [])), "the breaker's file record")[0]
    eq(rec.get("verdict"), "pause", "breaker record verdict")
    eq(rec.get("breaker"), "paused for a human", "breaker record: what the trip led to")
    # The in-workspace trip was resumed, and its record says so.
    ins = aw.records(lambda r: r.get("type") == "file" and r.get("breaker") is not None
                     and r.get("path", "").startswith(inside + "/"))
    eq([r.get("breaker") for r in ins], ["resumed (deleting inside the workspace)"],
       "the in-workspace trip's record")


def test_breaker_counts_only_deleted_files():
    """Start-up noise of real agents: "remove it if it is there" unlinks that
    fail with ENOENT, and lock directories made and removed, in bursts and
    outside the workspace.  Neither destroys anything, so neither trips the
    breaker; deleting real files still does."""
    ws = TMP.make("ws")
    state = TMP.make("state")
    code = ("import os,sys\nd=sys.argv[1]\n"
            "for i in range(200):\n"
            "    try: os.unlink(os.path.join(d, 'stale%d' % i))\n"
            "    except FileNotFoundError: pass\n"
            "    os.mkdir(os.path.join(d, 'lock')); os.rmdir(os.path.join(d, 'lock'))\n"
            "open(os.path.join(d, 'done'), 'w').close()\n")
    script = os.path.join(ws, "noise.py")
    with open(script, "w") as f:
        f.write(code)
    agent = fake_agent("%s %s %s; echo rc=$? > %s/rc" % (PY, sq(script), sq(state), sq(ws)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(""), "--breaker", "20/2000"])
    p = PROCS.spawn([agent], cwd=ws)
    wait_exit(p, 15, "agent")
    eq(open(os.path.join(ws, "rc")).read().strip(), "rc=0", "the noisy python ran to the end")
    check(os.path.exists(os.path.join(state, "done")), "the noisy python finished its loop")
    recs = aw.wait_for(lambda r: r.get("type") == "file" and r.get("op") == "rmdir",
                       "the rmdir records", count=200)
    check(not aw.records(lambda r: r.get("breaker") is not None),
          "no breaker trip: %s" % [short(r, 300) for r in aw.records(lambda r: r.get("breaker"))][:2])
    eq(aw_cli(aw, "status", "--json").returncode, 0, "status")
    st = json.loads(aw_cli(aw, "status", "--json").stdout.decode())
    eq(st["kernel_counters"]["breaker_trips"], 0, "kernel breaker trips")
    check(len(recs) >= 200, "every rmdir was still recorded")


def test_breaker_resumes_agent_state_cleanup():
    """An agent clearing its own state (a `state` line in agents.conf, like
    Codex's SQLite journals in ~/.codex at exit) is resumed and the breaker
    re-armed; the same burst anywhere else outside the workspace is held."""
    ws = TMP.make("ws")
    home = TMP.make("home")
    name = unique()
    state = os.path.join(home, "." + name)
    other = TMP.make("other")
    os.mkdir(state)
    for i in range(60):
        open(os.path.join(state, "db%02d.sqlite-wal" % i), "w").close()
        open(os.path.join(other, "f%02d" % i), "w").close()
    code = "import os,sys\nd=sys.argv[1]\nfor n in sorted(os.listdir(d)): os.unlink(os.path.join(d,n))\n"
    script = os.path.join(ws, "wipe.py")
    with open(script, "w") as f:
        f.write(code)
    agent = fake_agent("%s %s %s; echo state=$? > %s/rc; %s %s %s; echo other=$? >> %s/rc" % (
        PY, sq(script), sq(state), sq(ws), PY, sq(script), sq(other), sq(ws)), name=name)
    conf = os.path.join(TMP.make("conf"), "agents.conf")
    with open(conf, "w") as f:
        f.write("%s exe %s\n%s state ~/.%s\n" % (name, name, name, name))
    aw = Agentwatch(extra=["--agents-file", conf, "--rules", rules_dir(""), "--breaker", "20/2000"],
                    default_agents=True).start()
    p = PROCS.spawn([agent], cwd=ws, env=dict(os.environ, HOME=home))
    pd = pending_of(aw, lambda x: x.get("rule") == "mass-deletion-breaker", "the breaker outside the state dir")
    eq(os.listdir(state), [], "the agent's own state was cleared")
    left = len(os.listdir(other))
    check(60 - left <= 20, "at most N=20 files lost in the other dir, lost %d" % (60 - left))
    trips = aw.records(lambda r: r.get("type") == "file" and r.get("breaker") is not None)
    own = [r for r in trips if r.get("path", "").startswith(state + "/")]
    check(len(own) >= 2, "the state cleanup tripped the breaker more than once (re-armed, not "
          "exempted): %s" % [short(r, 200) for r in own])
    eq({(r.get("breaker"), r.get("breaker_state")) for r in own},
       {("resumed (the agent's own state)", "~/." + name)}, "what the state trips led to")
    r = aw_cli(aw, "deny", str(pd["id"]))
    eq(r.returncode, 0, "deny (stderr %r)" % r.stderr)
    wait_exit(p, 10, "agent")
    eq(open(os.path.join(ws, "rc")).read().split(), ["state=0", "other=137"], "exit statuses")


def test_collector_crash_fallback_and_takeover():
    ws = TMP.make("ws")
    first = os.path.join(ws, "allowme-1")
    second = os.path.join(ws, "allowme-2")
    go = os.path.join(ws, "go")
    errf = os.path.join(ws, "stderr")
    agent = fake_agent(
        "{ /usr/bin/touch %s; echo r1=$? >> %s; } &\n"
        "for i in $(seq 200); do [ -e %s ] && break; sleep 0.05; done\n"
        "/usr/bin/touch %s 2>>%s; echo r2=$? >> %s\nwait\n"
        % (sq(first), sq(errf), sq(go), sq(second), sq(errf), sq(errf)))
    extra = ["--rules", rules_dir(PAUSE_RULES), "--fallback", "kill"]
    aw = start_agentwatch([agent_spec(agent)], extra)
    p = PROCS.spawn([agent], cwd=ws)
    pd = pending_of(aw, lambda x: x.get("rule") == "test-pause-touch", "touch allowme-1")
    # The collector dies with a command paused.  Its pinned programs stay.
    os.kill(aw.proc.pid, signal.SIGKILL)
    wait_exit(aw.proc, 5, "killed agentwatch")
    aw.proc.wait(timeout=5)
    aw.rc = 0  # killed on purpose: not a failure of this instance
    check(os.path.exists(os.path.join(aw.pin_dir, "sessions")), "pins survive the collector")
    eq(procstate(pd["pid"]), "T", "the paused command stays stopped")
    time.sleep(2.5)  # heartbeat goes stale (2 s)
    open(go, "w").close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(errf) and "r2=" in open(errf).read():
            break
        time.sleep(0.05)
    err = open(errf).read() if os.path.exists(errf) else ""
    check("r2=137" in err, "a gated exec with no collector got the kill fallback in the kernel: %r" % err)
    check(not os.path.exists(second), "the fallback-killed touch never ran")
    # A new collector on the same pins takes over and decides the paused one.
    aw2 = Agentwatch([agent_spec(agent)], extra)
    i = aw2.argv.index("--pin-dir")
    aw2.argv[i + 1] = aw.pin_dir
    aw2.pin_dir = aw.pin_dir
    aw2.start()
    gap = aw2.wait_for(lambda r: r.get("type") == "gap", "the gap record")[0]
    eq(gap.get("reattached"), True, "gap record: reattached to pinned programs")
    check(gap.get("stopped_processes", 0) >= 1, "gap record counts the stopped process: %r" % gap)
    pd2 = pending_of(aw2, lambda x: x.get("pid") == pd["pid"], "the replayed pause")
    eq(pd2.get("rule"), "test-pause-touch", "replayed pending rule")
    r = aw_cli(aw2, "allow", str(pd2["id"]))
    eq(r.returncode, 0, "allow after takeover (stderr %r)" % r.stderr)
    wait_exit(p, 10, "agent")
    check(os.path.exists(first), "the paused touch completed after the takeover")
    check("r1=0" in open(errf).read(), "first touch exit status: %r" % open(errf).read())
    rec = aw2.wait_for(lambda r: r.get("type") == "exec" and r.get("replayed") is True, "replayed exec")[0]
    eq(rec.get("pid"), pd["pid"], "replayed exec pid")
    aw2.stop()
    check(not os.path.exists(aw.pin_dir), "a clean stop removes the pins")



def test_clean_stop_leaves_no_process_stopped():
    """A gated exec that races the collector's exit must not stay stopped.

    The agent execs a gated-but-allowed touch in a tight loop while the
    collector stops: every exec the kernel stopped before the collector
    quiesced it is decided, and none after is stopped at all."""
    ws = TMP.make("ws")
    done = os.path.join(ws, "done")
    agent = fake_agent("for i in $(seq 3000); do /usr/bin/touch x; done; echo ok > %s\n" % sq(done))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(PAUSE_RULES)])
    p = PROCS.spawn([agent], cwd=ws)
    aw.wait_for(lambda r: r.get("type") == "exec" and r.get("gated") is True, "a gated touch")
    time.sleep(0.3)
    aw.stop()
    check(exited(p) is None, "the agent's loop outlived the collector (or the test is too slow)")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and exited(p) is None:
        stuck = [k for k in _children(p.pid) if _state_or_none(k) == "T"]
        if stuck:
            time.sleep(0.5)  # a stop being delivered: look again before failing
            stuck = [k for k in stuck if _state_or_none(k) == "T"]
            check(not stuck, "process(es) %r left stopped after the collector exited" % stuck)
        time.sleep(0.02)
    wait_exit(p, 1, "the agent loop")
    check(os.path.exists(done), "the agent loop ran to its end")
    gated = aw.records(lambda r: r.get("type") == "exec" and r.get("gated") is True)
    check(all(r.get("verdict") == "allow" for r in gated),
          "every gated touch was allowed: %r" % [short(r, 200) for r in gated if r.get("verdict") != "allow"][:3])

SESSION_RULES = """
rule test-freeze
  severity critical
  action freeze
  message "test: {agent} froze on {cmdline}"
  binary touch
  arg *freezeme*

rule test-kill-session
  severity critical
  action kill-session
  message "test: {agent} session killed on {cmdline}"
  binary touch
  arg *killall*
"""


def test_freeze_and_kill_session():
    ws = TMP.make("ws")
    # A sibling that keeps running in the session, and the trigger.
    agent = fake_agent("%s 30 & /usr/bin/touch %s; echo after=$? > %s; wait"
                       % (SLEEP, sq(os.path.join(ws, "freezeme")), sq(os.path.join(ws, "after"))))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(SESSION_RULES)])
    p = PROCS.spawn([agent], cwd=ws)
    pd = pending_of(aw, lambda x: x.get("rule") == "test-freeze", "the freeze")
    sleeper = aw.wait_for(is_exec(argv=[SLEEP, "30"]), "the sleeping sibling")[0]["pid"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and procstate(sleeper) != "T":
        time.sleep(0.05)
    eq(procstate(sleeper), "T", "a sibling in the frozen session is stopped")
    eq(procstate(p.pid), "T", "the agent root of the frozen session is stopped")
    r = aw_cli(aw, "deny", str(pd["id"]))
    eq(r.returncode, 0, "deny ends the frozen session (stderr %r)" % r.stderr)
    eq(wait_exit(p, 10, "agent"), -signal.SIGKILL, "agent killed with its frozen session")
    check(not os.path.exists(os.path.join(ws, "freezeme")), "the freezing command never ran")

    ws2 = TMP.make("ws")
    agent2 = fake_agent("%s 30 & /usr/bin/touch %s; echo after=$? > %s; wait"
                        % (SLEEP, sq(os.path.join(ws2, "killall")), sq(os.path.join(ws2, "after"))))
    aw2 = start_agentwatch([agent_spec(agent2)], ["--rules", rules_dir(SESSION_RULES)])
    p2 = PROCS.spawn([agent2], cwd=ws2)
    eq(wait_exit(p2, 10, "agent"), -signal.SIGKILL, "kill-session kills the agent root")
    check(not os.path.exists(os.path.join(ws2, "after")), "nothing in the session ran after the kill")
    rec = aw2.wait_for(lambda r: r.get("type") == "exec" and r.get("verdict") == "kill-session",
                       "the kill-session exec record")[0]
    eq([h.get("id") for h in rec.get("rules", [])], ["test-kill-session"], "rules that fired")


def test_reload_keeps_old_rules_on_error():
    rules = rules_dir(RM_RULE)
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    open(os.path.join(scratch, "k"), "w").close()
    agent = fake_agent("/bin/rm -rf %s; exit 0" % sq(scratch))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules])
    r = aw_cli(aw, "reload", "--json")
    rep = json.loads(r.stdout.decode())
    eq((rep.get("ok"), rep.get("rules")), (True, 1), "reload of good rules (ok, count)")
    with open(os.path.join(rules, "test.rules"), "a") as f:
        f.write("rule broken\n  binary rm\n  nonsense here\n")
    r = aw_cli(aw, "reload", "--json")
    rep = json.loads(r.stdout.decode())
    eq(rep.get("ok"), False, "reload of a broken file fails")
    check(re.search(r"test\.rules:\d+:\d+", rep.get("error", "")), "error names file:line:col: %r" % rep)
    os.kill(aw.proc.pid, signal.SIGHUP)  # a SIGHUP reload fails the same way
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and aw.stderr().count("reload failed") < 2:
        time.sleep(0.05)
    eq(aw.stderr().count("reload failed"), 2, "both failed reloads reported")
    # The old rule is still in force: the rm is gated and killed.
    run_agent(agent, cwd=ws)
    check(os.path.exists(os.path.join(scratch, "k")), "the old rule still killed the rm")
    rec = aw.wait_for(is_exec(argv=["/bin/rm", "-rf", scratch]), "the rm record")[0]
    eq(rec.get("verdict"), "kill", "verdict after the failed reloads")


def test_watch_terminal_allows_with_one_key():
    import pty
    import select
    ws = TMP.make("ws")
    target = os.path.join(ws, "allowme-watch")
    agent = fake_agent("/usr/bin/touch %s; echo rc=$? > %s" % (sq(target), sq(os.path.join(ws, "rc"))))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(PAUSE_RULES)])
    p = PROCS.spawn([agent], cwd=ws)
    pd = pending_of(aw, lambda x: x.get("rule") == "test-pause-touch", "touch from the agent")
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        # a wide terminal, so event lines are not cut at 80 columns
        import fcntl
        import struct
        import termios
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        os.execv(AGENTWATCH, [AGENTWATCH, "watch", "--control", aw.control, "--no-color"])
        os._exit(127)
    screen = b""
    try:
        deadline = time.monotonic() + 10
        touch_line = re.compile(r"exec +%d +/usr/bin/touch .*pause \[test-pause-touch\]" % pd["pid"])
        while time.monotonic() < deadline and not (
                b"test-pause-touch" in screen and touch_line.search(screen.decode("utf-8", "replace"))):
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    screen += os.read(fd, 65536)
                except OSError:
                    break
        text = screen.decode("utf-8", "replace")
        check("#%d" % pd["id"] in text and "test-pause-touch" in text,
              "the paused command shows in watch: %r" % text[-1500:])
        check("lineage:" in text and os.path.basename(agent) in text,
              "watch shows the selected command's lineage: %r" % text[-1500:])
        # The events pane under it lists the session's records: the agent's
        # own exec and the paused touch, with its verdict.
        events = text.rsplit("-- events --", 1)[-1]
        check(re.search(r"exec +%d +.*%s" % (p.pid, re.escape(agent)), events),
              "the events pane shows the agent's exec: %r" % events[-1500:])
        check(touch_line.search(events),
              "the events pane shows the paused touch and its verdict: %r" % events[-1500:])
        os.write(fd, b"a")
        wait_exit(p, 10, "agent")
        check(os.path.exists(target), "one key (a) released the paused command")
        eq(open(os.path.join(ws, "rc")).read().strip(), "rc=0", "released touch exit status")
        os.write(fd, b"q")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            raise Fail("watch did not quit on q")
        eq(os.waitstatus_to_exitcode(status), 0, "watch exit status")
        pid = None
    finally:
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        os.close(fd)


def test_protected_path_stops_at_first_hit():
    ws = TMP.make("ws")
    prot = TMP.make("protected")
    for i in range(20):
        open(os.path.join(prot, "k%02d" % i), "w").close()
    rules = """
rule test-protect on file
  severity high
  action kill
  message "test: {agent} may not touch {target}"
  op delete|rename|write
  target under %s
""" % prot
    code = "import os,sys\nfor n in sorted(os.listdir(sys.argv[1])): os.unlink(n)\n"
    script = os.path.join(ws, "wipe.py")
    with open(script, "w") as f:
        f.write(code.replace("\\n", "\n"))
    errf = os.path.join(ws, "err")
    # relative unlinks from inside the protected dir: the kernel joins them
    # with the cwd before it looks the path up
    agent = fake_agent("cd %s && %s %s . 2>>%s; echo rc=$? >> %s" % (
        sq(prot), PY, sq(script), sq(errf), sq(errf)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(rules), "--breaker", "off"])
    run_agent(agent, cwd=ws)
    left = sorted(os.listdir(prot))
    eq(len(left), 19, "files left after the first protected hit (exactly one deleted)")
    err = open(errf).read()
    check("rc=137" in err, "the deleting python was killed: %r" % err)
    check("test-protect" in err, "its stderr names the rule: %r" % err)
    rec = aw.wait_for(lambda r: r.get("type") == "file" and r.get("verdict") == "kill", "the file record")[0]
    eq(rec.get("gated"), True, "stopped in the kernel at the first hit")
    eq([h.get("id") for h in rec.get("rules", [])], ["test-protect"], "rules that fired")


def test_env_rule_sees_short_lived_process():
    rules = """
rule test-env-alert
  severity medium
  action alert
  message "test: {agent} ran {binary} against production"
  binary true
  env DATABASE_URL=*prod*
"""
    agent = fake_agent("DATABASE_URL=postgres://prod-db/app /bin/true envmark1; "
                       "DATABASE_URL=postgres://dev-db/app /bin/true envmark2")
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(rules)])
    run_agent(agent, cwd=TMP.make("ws"))
    hit = aw.wait_for(is_exec(contains="envmark1"), "the prod exec")[0]
    miss = aw.wait_for(is_exec(contains="envmark2"), "the dev exec")[0]
    eq((hit.get("verdict"), [h.get("id") for h in hit.get("rules", [])]), ("alert", ["test-env-alert"]),
       "a /bin/true with a production DATABASE_URL: verdict and rules")
    eq(miss.get("rules"), [], "the same command with a dev DATABASE_URL fires nothing")


def test_second_collector_on_same_pins_is_refused():
    ws = TMP.make("ws")
    agent = fake_agent("/bin/true pinmark")
    aw = start_agentwatch([agent_spec(agent)])
    other = Agentwatch([agent_spec(agent)])
    i = other.argv.index("--pin-dir")
    other.argv[i + 1] = aw.pin_dir
    r = run_cmd(other.argv + ["--duration", "2"], timeout=30)
    eq(r.returncode, 1, "second collector on the same pins exits 1")
    check(b"in use by a running agentwatch" in r.stderr, "it says why: %r" % r.stderr[-500:])
    check(os.path.exists(os.path.join(aw.pin_dir, "sessions")), "the first one's pins are intact")
    run_agent(agent, cwd=ws)
    aw.wait_for(is_exec(contains="pinmark"), "the first collector still reports")


def test_audit_log_records_verdicts_and_detects_tampering():
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    open(os.path.join(scratch, "k"), "w").close()
    agent = fake_agent("/bin/rm -rf %s; /bin/true logmark; exit 0" % sq(scratch))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(RM_RULE)])
    run_agent(agent, cwd=ws)
    aw.wait_for(is_exec(contains="logmark"), "the marker exec")
    aw.stop()
    r = run_cmd([AGENTWATCH, "log", "verify", "--log-dir", aw.log_dir, "--json"])
    rep = json.loads(r.stdout.decode())
    eq((r.returncode, rep.get("ok")), (0, True), "verify of an untouched log: %r" % rep)
    lines = []
    for name in sorted(os.listdir(aw.log_dir)):
        path = os.path.join(aw.log_dir, name)
        if name.endswith(".jsonl"):
            lines += open(path, "rb").read().splitlines()
    kill = [l for l in lines if b'"verdict":"kill"' in l and scratch.encode() in l]
    check(kill, "the kill verdict is in the durable log")
    check(any(b"logmark" in l for l in lines), "the marker exec is in the durable log")
    # Change one byte of the kill record: verify names the damage.
    seg = [n for n in sorted(os.listdir(aw.log_dir)) if n.endswith(".jsonl")][-1]
    path = os.path.join(aw.log_dir, seg)
    data = open(path, "rb").read()
    i = data.index(b'"verdict":"kill"')
    with open(path, "wb") as f:
        f.write(data[:i] + b'"verdict":"allo"' + data[i + len(b'"verdict":"kill"'):])
    r = run_cmd([AGENTWATCH, "log", "verify", "--log-dir", aw.log_dir, "--json"])
    rep = json.loads(r.stdout.decode())
    eq((r.returncode, rep.get("ok")), (1, False), "verify after an edit")
    check("modified" in (rep.get("problem") or ""), "the edit is reported as modified: %r" % rep)



def _successor(aw, agents, extra):
    """A collector on aw's pins and log, as after a restart."""
    nxt = Agentwatch(agents, extra)
    for flag, val in (("--pin-dir", aw.pin_dir), ("--log-dir", aw.log_dir)):
        nxt.argv[nxt.argv.index(flag) + 1] = val
    nxt.pin_dir, nxt.log_dir = aw.pin_dir, aw.log_dir
    return nxt


def _log_lines(log_dir):
    lines = []
    for name in sorted(os.listdir(log_dir)):
        if name.endswith(".jsonl"):
            lines += open(os.path.join(log_dir, name), "rb").read().split(b"\n")
    return lines


def test_log_survives_kill_9_mid_write():
    """kill -9 the collector while it writes a burst, tear the last record
    as a power loss would, restart: the tail is cut, every earlier record
    and the fsynced pause are kept, and the chain verifies."""
    ws = TMP.make("ws")
    go = os.path.join(ws, "go")
    agent = fake_agent(
        "/usr/bin/touch allowme-crash &\n"
        "for i in $(seq 20000); do /bin/true burst-$i; [ -e %s ] && break; done\n"
        "wait\n" % sq(go))
    extra = ["--rules", rules_dir(PAUSE_RULES)]
    aw = start_agentwatch([agent_spec(agent)], extra)
    p = PROCS.spawn([agent], cwd=ws)
    pd = pending_of(aw, lambda x: x.get("rule") == "test-pause-touch", "the paused touch")
    aw.wait_for(lambda r: r.get("type") == "exec" and any(
        a.startswith("burst-") for a in r.get("argv") or []), "the burst", count=200)
    os.kill(aw.proc.pid, signal.SIGKILL)          # mid-burst
    wait_exit(aw.proc, 5, "killed agentwatch")
    aw.proc.wait(timeout=5)
    aw.rc = 0
    open(go, "w").close()                         # let the burst end
    segs = sorted(n for n in os.listdir(aw.log_dir) if n.endswith(".jsonl"))
    check(segs, "a plain segment is open")
    path = os.path.join(aw.log_dir, segs[-1])
    data = open(path, "rb").read()
    if not data.endswith(b"\n"):
        data = data[:data.rindex(b"\n") + 1]     # the kill itself tore it: keep that cut
    kept = data.count(b"\n") - 1                 # the last record gets torn below
    check(kept > 50, "the burst reached the log before the kill (%d lines)" % kept)
    last = data[:-1].rsplit(b"\n", 1)[1]
    with open(path, "wb") as f:
        f.write(data[:-1 - len(last) // 2])       # half a record, no newline
    before = [l for l in _log_lines(aw.log_dir) if l.endswith(b"}")]
    check(any(b'"verdict":"pause"' in l and b"allowme-crash" in l for l in before),
          "the pause verdict was durable before the collector acted on it")
    aw2 = _successor(aw, [agent_spec(agent)], extra)
    aw2.start()
    aw2.wait_for(lambda r: r.get("type") == "gap", "the gap record")
    pd2 = pending_of(aw2, lambda x: x.get("pid") == pd["pid"], "the replayed pause")
    eq(aw_cli(aw2, "allow", str(pd2["id"])).returncode, 0, "allow after the restart")
    wait_exit(p, 20, "agent")
    aw2.stop()
    r = run_cmd([AGENTWATCH, "log", "verify", "--log-dir", aw.log_dir, "--json"])
    rep = json.loads(r.stdout.decode())
    eq((r.returncode, rep.get("ok")), (0, True), "verify after the crash and restart: %r" % rep)
    after = [json.loads(l) for l in _log_lines(aw.log_dir) if l.strip()]
    starts = [x for x in after if x.get("type") == "collector" and x.get("event") == "start"]
    eq([x.get("log_torn_cut") for x in starts], [0, 1], "each start says what recovery cut")
    eq(len([x for x in after if x.get("type") == "collector" and x.get("event") == "stop"]), 1,
       "one stop record: the first collector never stopped cleanly")
    first_run = after[:after.index(starts[1])]
    eq(len(first_run), len(before), "every complete record survived, the torn one is gone")
    eq(first_run, [json.loads(l) for l in before], "the surviving records are unchanged")
    check(any(x.get("type") == "gap" for x in after[after.index(starts[1]):]),
          "the restarted collector logged the gap")
    check(any(x.get("type") == "verdict" and x.get("pid") == pd["pid"] and x.get("verdict") == "allow"
              for x in after), "the replayed pause's verdict is in the log")


def _metrics_url(aw):
    m = re.search(r"metrics on (http://[0-9.:]+/metrics)", aw.stderr())
    check(m, "the collector says where its metrics are: %r" % aw.stderr()[-500:])
    return m.group(1)


def _scrape(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as r:
        eq(r.status, 200, "metrics HTTP status")
        check(r.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
              "exposition content type: %r" % r.headers.get("Content-Type"))
        body = r.read().decode()
    samples = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, val = line.rpartition(" ")
            samples[name] = float(val)
    return body, samples


def test_metrics_scrape_over_http():
    """Scrape --metrics over loopback: verdicts by rule, pending approvals,
    sessions, records by type, losses and the rule-evaluation histogram."""
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    agent = fake_agent("/bin/rm -rf %s; /usr/bin/touch allowme-metrics; exit 0" % sq(scratch))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(RM_RULE + PAUSE_RULES),
                                                 "--metrics", "127.0.0.1:0"])
    url = _metrics_url(aw)
    p = PROCS.spawn([agent], cwd=ws)
    pd = pending_of(aw, lambda x: x.get("rule") == "test-pause-touch", "the paused touch")
    body, m = _scrape(url)
    eq(m.get('agentwatch_verdicts_total{rule="test-rm-outside",action="kill",decided_by="rule"}'), 1.0,
       "the kill verdict is counted by rule and action")
    eq(m.get("agentwatch_pending"), 1.0, "one command waits for a human")
    check(m.get("agentwatch_sessions", 0) >= 1 and m.get("agentwatch_sessions_opened_total", 0) >= 1,
          "sessions gauge and counter")
    check(m.get('agentwatch_records_total{type="exec"}', 0) >= 2, "exec records counted")
    check(m.get('agentwatch_rule_eval_seconds_count{kind="exec"}', 0) >= 2,
          "rule evaluations are timed: %r" % [l for l in body.splitlines() if "eval" in l][:5])
    eq(m.get('agentwatch_lost_total{point="ringbuf_full_exec"}'), 0.0, "no exec records lost")
    check(os.path.exists(scratch), "the rm was stopped")
    eq(aw_cli(aw, "allow", str(pd["id"])).returncode, 0, "allow")
    wait_exit(p, 10, "agent")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        _, m = _scrape(url)
        if m.get("agentwatch_pending") == 0.0:
            break
        time.sleep(0.1)
    eq(m.get("agentwatch_pending"), 0.0, "nothing pending after the allow")
    check(any(k.startswith('agentwatch_verdicts_total{rule="test-pause-touch",action="allow",'
                           'decided_by="human"') for k in m), "the human's allow is counted: %r"
          % [k for k in m if "verdicts" in k])


def test_ocsf_output_and_log_export():
    """--format ocsf on the output, and log show --format ocsf on the log:
    the same session, as OCSF Process / File System / Network Activity."""
    ws = TMP.make("ws")
    port = _free_port()
    srv = socket.socket()
    srv.bind(("127.0.0.1", port))
    srv.listen(4)
    code = ("import socket,os\nopen('f.txt','w').close()\nos.unlink('f.txt')\n"
            "s=socket.socket(); s.connect(('127.0.0.1',%d)); s.close()\n" % port)
    script = os.path.join(ws, "act.py")
    with open(script, "w") as f:
        f.write(code)
    agent = fake_agent("%s %s; /bin/true ocsfmark; exit 0" % (PY, sq(script)))
    aw = start_agentwatch([agent_spec(agent)], ["--format", "ocsf"])
    try:
        agent_p = run_agent(agent, cwd=ws)
        aw.wait_for(lambda r: r.get("class_uid") == 1007 and "ocsfmark" in
                    (r.get("process", {}).get("cmd_line") or ""), "the marker as an OCSF launch")
        aw.stop()
    finally:
        srv.close()
    recs = aw.records()
    classes = {r["class_uid"] for r in recs}
    check({1007, 1001, 4001, 6002} <= classes, "process, file, network and lifecycle classes: %r" % classes)
    dele = [r for r in recs if r["class_uid"] == 1001 and r.get("activity_id") == 4]
    check(dele and dele[0]["file"]["path"] == os.path.join(ws, "f.txt"), "the unlink is a File Delete: %r"
          % [short(r, 300) for r in recs if r["class_uid"] == 1001])
    conn = [r for r in recs if r["class_uid"] == 4001]
    check(conn and conn[0]["dst_endpoint"]["port"] == port, "the connect's destination: %r"
          % [short(r, 300) for r in conn])
    launch = [r for r in recs if r["class_uid"] == 1007 and "ocsfmark" in
              (r.get("process", {}).get("cmd_line") or "")][0]
    eq(launch["process"].get("lineage"), [real(BASH), "/usr/bin/true"],
       "the OCSF lineage, agent root (a bash script) first")
    anc = launch["process"].get("ancestry") or [{}]
    eq(anc[0].get("pid"), agent_p.pid, "the launch's ancestry starts at its parent, the agent")
    r = run_cmd([AGENTWATCH, "log", "show", "--log-dir", aw.log_dir, "--format", "ocsf"])
    eq(r.returncode, 0, "log show --format ocsf")
    exported = [json.loads(l) for l in r.stdout.decode().splitlines()]
    def strip(x):
        """metadata carries the log's sequence number, unmapped its chain link."""
        x = {k: v for k, v in x.items() if k != "metadata"}
        if "unmapped" in x:
            x["unmapped"] = {k: v for k, v in x["unmapped"].items() if k != "chain"}
        return x
    check(all(isinstance(x.get("unmapped", {}).get("chain"), str) for x in exported),
          "each exported event keeps its hash-chain link")
    want = [strip({k: v for k, v in x.items() if k != "_raw"}) for x in recs]
    got = [strip(x) for x in exported]
    diff = [(a, b) for a, b in zip(got, want) if a != b]
    eq(len(got), len(want), "as many OCSF events from the log as on the output")
    check(not diff, "the log exports the same OCSF events the output carried; first difference: %r"
          % ({k: (diff[0][0].get(k), diff[0][1].get(k)) for k in set(diff[0][0]) | set(diff[0][1])
              if diff[0][0].get(k) != diff[0][1].get(k)} if diff else None))


RSYSLOG_CONF = """
global(workDirectory="%(dir)s")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" port="%(port)d" address="127.0.0.1")
input(type="imudp" port="%(uport)d" address="127.0.0.1")
template(name="aw" type="string"
         string="%%pri%%|%%msgid%%|%%app-name%%|%%procid%%|%%structured-data%%|%%msg%%\\n")
*.* action(type="omfile" file="%(out)s" template="aw")
"""


def _start_rsyslogd():
    """A private rsyslogd on a loopback port: its own config, work dir and
    pid file; stopped by pid at the end of the test."""
    d = TMP.make("rsyslog")
    port = _free_port()
    uport = _free_port(kind=socket.SOCK_DGRAM)
    out = os.path.join(d, "messages")
    conf = os.path.join(d, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(RSYSLOG_CONF % {"dir": d, "port": port, "uport": uport, "out": out})
    p = PROCS.spawn(["/usr/sbin/rsyslogd", "-n", "-f", conf, "-i", os.path.join(d, "pid")],
                    stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "wb"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return p, port, uport, out
        except OSError:
            check(exited(p) is None, "rsyslogd exited: %r" % open(os.path.join(d, "stderr")).read())
            time.sleep(0.05)
    raise Fail("rsyslogd did not listen on %d within 10 s" % port)


def _syslog_lines(path):
    try:
        raw = open(path, "rb").read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    rows = []
    for line in raw.splitlines():
        pri, msgid, app, procid, sd, msg = line.split("|", 5)
        rows.append({"pri": int(pri), "msgid": msgid, "app": app, "procid": procid, "sd": sd,
                     "msg": msg.lstrip("\ufeff"), "raw_msg": msg})
    return rows


def test_syslog_to_real_rsyslog():
    """Records and the chain head reach a real rsyslogd over TCP as RFC 5424
    (octet-counted): the kill with its rule in the structured data, the
    record as JSON in the message, and a head that verifies the log."""
    if not os.path.exists("/usr/sbin/rsyslogd"):
        raise Skip("rsyslogd is not installed")
    rs, port, _, out = _start_rsyslogd()
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    agent = fake_agent("/bin/rm -rf %s; /bin/true syslogmark; exit 0" % sq(scratch))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(RM_RULE), "--syslog",
                                                 "tcp://127.0.0.1:%d" % port,
                                                 "--syslog-chain-interval", "1"])
    run_agent(agent, cwd=ws)
    aw.wait_for(is_exec(contains="syslogmark"), "the marker exec")
    aw.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = _syslog_lines(out)
        if any(r["msgid"] == "collector" and '"event":"stop"' in r["msg"] for r in rows) and \
                sum(r["msgid"] == "chainhead" for r in rows) >= 2:
            break
        time.sleep(0.1)
    rows = _syslog_lines(out)
    os.kill(rs.pid, signal.SIGTERM)
    wait_exit(rs, 10, "rsyslogd")
    check(rows, "rsyslogd received messages")
    eq({r["app"] for r in rows}, {"agentwatch"}, "APP-NAME")
    eq({r["procid"] for r in rows}, {str(aw.proc.pid)}, "PROCID is the collector's pid")
    kill = [r for r in rows if r["msgid"] == "exec" and 'verdict="kill"' in r["sd"]]
    check(kill, "the kill reached syslog: %r" % [(r["msgid"], r["sd"]) for r in rows][:10])
    k = kill[0]
    eq(k["pri"], 10 * 8 + 4, "authpriv.warning for a kill")
    check('rule="test-rm-outside"' in k["sd"] and k["sd"].startswith("[agentwatch@32473 "),
          "structured data names the rule: %r" % k["sd"])
    check(k["raw_msg"].startswith("\ufeff"), "RFC 5424: a UTF-8 body starts with the BOM by default")
    rec = json.loads(k["msg"])
    eq((rec["type"], rec["verdict"], rec["argv"]), ("exec", "kill", ["/bin/rm", "-rf", scratch]),
       "the message is the record, as JSON")
    mark = [r for r in rows if r["msgid"] == "exec" and "syslogmark" in r["msg"]]
    eq(mark and mark[0]["pri"], 10 * 8 + 6, "authpriv.info for a plain exec")
    heads = [json.loads(r["msg"]) for r in rows if r["msgid"] == "chainhead"]
    r = run_cmd([AGENTWATCH, "log", "verify", "--log-dir", aw.log_dir, "--head", heads[-1]["head"], "--json"])
    rep = json.loads(r.stdout.decode())
    eq((r.returncode, rep.get("ok")), (0, True), "the log verifies against the head sent to syslog: %r" % rep)


def test_syslog_udp_to_real_rsyslog():
    """The same over UDP, one datagram per message, with OCSF bodies."""
    if not os.path.exists("/usr/sbin/rsyslogd"):
        raise Skip("rsyslogd is not installed")
    rs, _, uport, out = _start_rsyslogd()
    ws = TMP.make("ws")
    agent = fake_agent("/bin/true udpmark; exit 0")
    aw = start_agentwatch([agent_spec(agent)], ["--syslog", "udp://127.0.0.1:%d" % uport,
                                                 "--syslog-format", "ocsf", "--syslog-facility", "local3",
                                                 "--syslog-no-bom"])
    run_agent(agent, cwd=ws)
    aw.wait_for(is_exec(contains="udpmark"), "the marker exec")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = [r for r in _syslog_lines(out) if r["msgid"] == "exec" and "udpmark" in r["msg"]]
        if rows:
            break
        time.sleep(0.1)
    aw.stop()
    os.kill(rs.pid, signal.SIGTERM)
    wait_exit(rs, 10, "rsyslogd")
    check(rows, "the marker exec reached rsyslogd over UDP")
    eq(rows[0]["pri"], 19 * 8 + 6, "local3.info")
    check(not rows[0]["raw_msg"].startswith("\ufeff"), "--syslog-no-bom: the body starts with the JSON")
    ev = json.loads(rows[0]["msg"])
    eq((ev.get("class_uid"), ev.get("activity_id")), (1007, 1), "the body is an OCSF Process Launch")


def _flood(extra=()):
    """The session floods a 1 MiB ring buffer while the collector is stopped
    (SIGSTOP, our own child), then waits on a fifo; returns once the loss
    is on record.  Builtins only besides the flood, so counts are exact."""
    ws = TMP.make("ws")
    n = 3000
    fifo = os.path.join(ws, "go")
    os.mkfifo(fifo)
    agent = fake_agent("for ((i = 0; i < %d; i++)); do /bin/true flood; done\n"
                       ": > flooded\nread -t 60 line < %s\n/bin/true after-loss\nexit 0\n"
                       % (n, sq(fifo)))
    aw = start_agentwatch([agent_spec(agent)], ["--forks", "--ringbuf-mb", "1"] + list(extra))
    os.kill(aw.proc.pid, signal.SIGSTOP)
    try:
        p = PROCS.spawn([agent], cwd=ws)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not os.path.exists(os.path.join(ws, "flooded")):
            check(exited(p) is None, "the agent ended early")
            time.sleep(0.05)
    finally:
        os.kill(aw.proc.pid, signal.SIGCONT)
    loss = aw.wait_for(lambda r: r.get("type") == "loss" and r.get("sessions"), "a loss record")[0]
    return aw, p, fifo, loss, n


def _release(fifo):
    with open(fifo, "w") as f:
        f.write("go\n")


def test_ring_buffer_flood_losses_exact_and_session_degraded():
    """Every event the kernel could not queue is counted against the
    session, the records seen plus the count lost add up exactly to what
    the session did, and the session is marked degraded in status, in its
    later records and in log sessions."""
    aw, p, fifo, loss, n = _flood()
    _release(fifo)
    wait_exit(p, 10, "agent")
    aw.wait_for(lambda r: r.get("type") == "exit" and r.get("pid") == p.pid, "the agent's exit")
    st = json.load(open(os.path.join(aw.state_dir, "status.json")))
    mine = [x for x in st["sessions"] if x["root_pid"] == p.pid]
    aw.stop()
    eq(loss.get("degraded_policy"), "keep", "the default policy for a degraded session")
    sid = loss["sessions"][0]["session"]
    lost = sum(x["lost"] for r in aw.records(lambda r: r.get("type") == "loss")
               for x in r.get("sessions", []) if x["session"] == sid)
    check(lost > 0, "the flood lost records: %r" % loss)
    eq(sum(loss["counters"].get(k, 0) for k in ("ringbuf_full_exec", "ringbuf_full_fork",
                                                 "ringbuf_full_exit", "ringbuf_full_file")),
       loss["dropped"], "the loss record's counters add up to what it says was dropped")
    seen = aw.records(lambda r: r.get("session") == sid and r.get("type") in ("exec", "fork", "exit", "file"))
    root = [r["type"] for r in seen if r.get("pid") == p.pid]
    # the root's exec, ": > flooded" and exit, and a fork, an exec and an
    # exit per command, the one after the loss included
    eq(len(seen) + lost, 3 + 3 * (n + 1), "records seen (%d) + lost (%d) = what the session did "
       "(root: %r)" % (len(seen), lost, root))
    check(mine and mine[0]["degraded"] is True and mine[0]["lost"] == lost,
          "status marks the session degraded with its loss: %r" % mine)
    last = [r for r in seen if r.get("type") == "exit" and r.get("pid") == p.pid][0]
    eq(last.get("degraded"), True, "records after the loss say the session is degraded")
    after = [r for r in seen if r.get("type") == "exec" and "after-loss" in r.get("argv", [])]
    check(after and not after[0].get("gated"), "keep: the next command runs ungated")
    r = run_cmd([AGENTWATCH, "log", "sessions", "--log-dir", aw.log_dir, "--json"])
    row = [x for x in json.loads(r.stdout.decode()) if x["session"] == sid]
    eq(row and row[0]["losses"], lost, "log sessions charges the session with exactly its loss")


def test_degraded_session_policy_gate():
    """--degraded gate: after the loss, every exec in the session is stopped
    for a verdict before it runs (and allowed here: no rule objects)."""
    aw, p, fifo, loss, n = _flood(["--degraded", "gate", "--rules", rules_dir("")])
    eq(loss.get("degraded_policy"), "gate", "the loss record names the policy")
    _release(fifo)
    eq(wait_exit(p, 10, "agent"), 0, "the agent finished")
    after = aw.wait_for(is_exec(contains="after-loss"), "the command after the loss")[0]
    eq((after.get("gated"), after.get("verdict")), (True, "allow"),
       "the exec after the loss was gated, then allowed")
    flood = aw.records(lambda r: r.get("type") == "exec" and "flood" in r.get("argv", []))
    check(flood and not any(r.get("gated") for r in flood), "execs before the loss were not gated")


def test_degraded_session_policy_freeze():
    """--degraded freeze: the whole session stops until a human decides;
    allow resumes it."""
    aw, p, fifo, loss, n = _flood(["--degraded", "freeze", "--rules", rules_dir("")])
    pd = pending_of(aw, lambda x: x.get("rule") == "degraded-session", "the frozen session")
    eq(pd.get("pid"), p.pid, "the pending entry is the session root")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and procstate(p.pid) != "T":
        time.sleep(0.05)
    eq(procstate(p.pid), "T", "the session root is stopped")
    r = aw_cli(aw, "allow", str(pd["id"]))
    eq(r.returncode, 0, "allow (stderr %r)" % r.stderr)
    _release(fifo)
    eq(wait_exit(p, 10, "agent"), 0, "the resumed agent finished normally")


def test_make_install_into_staging_root():
    """make install DESTDIR=... PREFIX=/usr: the binary, root-owned rules
    that the installed binary loads, a man page that renders cleanly, bash
    completion that completes, and a hardened unit systemd accepts."""
    stage = TMP.make("stage")
    root = os.path.dirname(AGENTWATCH)
    r = run_cmd(["make", "-C", root, "install", "DESTDIR=" + stage, "PREFIX=/usr"], timeout=120)
    eq(r.returncode, 0, "make install: %r" % r.stderr[-2000:])
    want = {"usr/sbin/agentwatch": 0o755, "usr/share/man/man8/agentwatch.8": 0o644,
            "usr/share/bash-completion/completions/agentwatch": 0o644,
            "usr/lib/systemd/system/agentwatch.service": 0o644, "etc/default/agentwatch": 0o644,
            "etc/agentwatch/agents.conf": 0o644, "etc/agentwatch/rules.d": 0o755,
            "etc/agentwatch/rules.d/filesystem.rules": 0o644}
    for rel, mode in want.items():
        st = os.stat(os.path.join(stage, rel))
        eq((oct(st.st_mode & 0o777), st.st_uid), (oct(mode), 0), "mode and owner of " + rel)
    exe = os.path.join(stage, "usr/sbin/agentwatch")
    r = run_cmd([exe, "rules", "test", os.path.join(stage, "etc/agentwatch/rules.d")])
    eq(r.returncode, 0, "the installed rules pass their tests with the installed binary: %r"
       % r.stdout[-500:])
    check(b" 0 failed" in r.stdout, "rules test summary: %r" % r.stdout[-200:])
    r = run_cmd(["groff", "-man", "-Tutf8", "-ww", os.path.join(stage, "usr/share/man/man8/agentwatch.8")])
    eq((r.returncode, r.stderr), (0, b""), "the man page renders without warnings")
    check(len(r.stdout) > 2000, "the man page renders to text")
    check("doctor" in open(os.path.join(stage, "usr/share/man/man8/agentwatch.8")).read(),
          "the man page documents doctor")
    comp = os.path.join(stage, "usr/share/bash-completion/completions/agentwatch")
    # bash-completion's helpers, or a stand-in with the same contract
    lib = "/usr/share/bash-completion/bash_completion"
    shim = ("_init_completion() { words=(\"${COMP_WORDS[@]}\"); cword=$COMP_CWORD; "
            "cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; }; _filedir() { :; }")
    if True:
        script = ((("source %s; " % lib) if os.path.exists(lib) else shim + "; ") + "source %s; "
                  "COMP_WORDS=(agentwatch lo); COMP_CWORD=1; COMP_LINE='agentwatch lo'; COMP_POINT=13; "
                  "_agentwatch; echo \"${COMPREPLY[*]}\"; "
                  "COMP_WORDS=(agentwatch run --for); COMP_CWORD=2; COMP_LINE='agentwatch run --for'; "
                  "COMP_POINT=20; _agentwatch; echo \"${COMPREPLY[*]}\"" % sq(comp))
        r = run_cmd(["bash", "-c", script])
        got = r.stdout.decode().split("\n")[:2]
        eq([sorted(x.split()) for x in got], [["log"], ["--forks", "--format"]], "bash completion")
    unit = open(os.path.join(stage, "usr/lib/systemd/system/agentwatch.service")).read()
    for need in ("Restart=always", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "CapabilityBoundingSet=CAP_BPF ", "ExecStart=/usr/sbin/agentwatch run ",
                 "--rules /etc/agentwatch/rules.d"):
        check(need in unit, "the unit has %r" % need)
    if shutil.which("systemd-analyze"):
        local = os.path.join(stage, "agentwatch.service")
        with open(local, "w") as f:
            f.write(unit.replace("/usr/sbin/agentwatch", exe))
        env = dict(os.environ, MANPATH=os.path.join(stage, "usr/share/man"))
        r = run_cmd(["systemd-analyze", "verify", local], env=env)
        eq((r.returncode, r.stderr.strip()), (0, b""), "systemd-analyze verify")


def test_doctor_reports_capabilities():
    r = run_cmd([AGENTWATCH, "doctor", "--json", "--log-dir", TMP.make("log"),
                 "--state-dir", TMP.make("state"), "--pin-dir", "/sys/fs/bpf/nonexistent-aw"])
    rep = json.loads(r.stdout.decode())
    checks = {c["check"]: c for c in rep["checks"]}
    for name in ("privileges", "kernel", "BTF", "ring buffer", "tp_btf programs", "helpers",
                 "cgroup socket hooks", "bpffs", "cgroup v2", "rules", "collector"):
        check(name in checks, "doctor checks %s: %r" % (name, sorted(checks)))
    # this machine runs the whole suite: nothing may fail, and the exit code says so
    eq((rep["ok"], r.returncode), (True, 0), "doctor on this machine: %r"
       % [c for c in rep["checks"] if c["level"] == "fail"])
    eq(checks["collector"]["level"], "warn", "no collector on these state dirs: a warning")
    r = run_cmd([AGENTWATCH, "doctor", "--json", "--rules", TMP.make("norules") + "/missing"])
    rep = json.loads(r.stdout.decode())
    eq((rep["ok"], r.returncode), (False, 1), "a missing rules directory fails the doctor")


def test_tamper_attempts_are_reported_with_lineage():
    """An agent that fights back: a signal to the collector (a harmless
    SIGCONT), a ptrace request aimed at it, and a bpf() call are each
    reported at once, with the actor's lineage, and fsynced to the log."""
    ws = TMP.make("ws")
    code = ("import ctypes, os\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "pid = int(open('aw.pid').read())\n"
            "os.kill(pid, 18)\n"                                   # SIGCONT: does nothing
            "libc.ptrace(2, pid, None, None)\n"                   # PTRACE_PEEKDATA, not attached
            "libc.syscall(321, 7, None, 0)\n"                     # bpf(BPF_OBJ_GET, NULL): EFAULT
            "try:\n os.unlink(open('aw.log').read() + '/seg-probe')\n"   # ENOENT: the log is intact
            "except OSError: pass\n")
    script = os.path.join(ws, "fight.py")
    with open(script, "w") as f:
        f.write(code)
    agent = fake_agent("%s %s; exit 0" % (PY, sq(script)))
    aw = start_agentwatch([agent_spec(agent)])
    with open(os.path.join(ws, "aw.pid"), "w") as f:
        f.write(str(aw.proc.pid))
    with open(os.path.join(ws, "aw.log"), "w") as f:
        f.write(aw.log_dir)
    p = run_agent(agent, cwd=ws)
    recs = aw.wait_for(lambda r: r.get("type") == "tamper", "the tamper records", count=4)
    by = {r["kind"]: r for r in recs}
    eq(sorted(by), ["bpf", "file", "ptrace", "signal"], "the four kinds")
    eq(by["file"]["what"], "unlink %s/seg-probe" % aw.log_dir, "the file op on the log")
    eq((by["signal"]["what"], by["signal"]["target_pid"]), ("SIGCONT", aw.proc.pid), "the signal")
    eq(by["ptrace"]["target_pid"], aw.proc.pid, "the ptrace target")
    eq(by["bpf"]["what"], "OBJ_GET", "the bpf command")
    for r in recs:
        check_lineage(r, p.pid, "tamper record")
        check(r.get("exe", "").startswith(os.path.dirname(PY)) or "python" in (r.get("exe") or ""),
              "the actor is the python process: %r" % r.get("exe"))
    deadline = time.monotonic() + 5   # status.json is rewritten every second
    while True:
        st = json.load(open(os.path.join(aw.state_dir, "status.json")))
        if st["kernel_counters"]["tamper_attempts"] >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check(st["kernel_counters"]["tamper_attempts"] >= 3, "counted: %r" % st["kernel_counters"])
    eq(st["enforcement_counters"]["tamper"], 4, "the collector's count")
    aw.stop()
    logged = [l for l in _log_lines(aw.log_dir) if b'"type":"tamper"' in l]
    eq(len(logged), 4, "the attempts are in the audit log")


def _pids_cgroup(limit):
    """A cgroup of our own with pids.max = limit, v2 or v1 pids controller;
    returns (dir, kill) or None.  kill() ends every process in it (they are
    all ours) and removes it."""
    name = unique("awbomb")
    base = None
    for line in open("/proc/mounts"):
        dev, mnt, typ, opts = line.split()[:4]
        if typ == "cgroup2" and "pids" in open(os.path.join(mnt, "cgroup.controllers")).read().split():
            try:
                with open(os.path.join(mnt, "cgroup.subtree_control"), "w") as f:
                    f.write("+pids")
            except OSError:
                continue
            base = mnt
            break
        if typ == "cgroup" and "pids" in opts.split(","):
            base = mnt
            break
    if not base:
        return None
    d = os.path.join(base, name)
    os.mkdir(d)
    with open(os.path.join(d, "pids.max"), "w") as f:
        f.write(str(limit))

    def kill():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pids = [int(x) for x in open(os.path.join(d, "cgroup.procs")).read().split()]
            if not pids:
                break
            for pid in pids:            # only processes of our own cgroup
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        try:
            os.rmdir(d)
        except OSError:
            pass
    return d, kill


def test_fork_bomb_in_session_keeps_collector_responsive():
    """A fork bomb in an agent session, held by our own cgroup's pids.max:
    the collector keeps answering, keeps enforcing on another session, and
    its heap stays bounded."""
    cg = _pids_cgroup(400)
    if cg is None:
        raise Skip("no pids cgroup controller to bound the fork bomb")
    d, kill = cg
    try:
        bomb = fake_agent("b() { b & b & wait; }; b")
        ws = TMP.make("ws")
        scratch = TMP.make("scratch")
        victim = fake_agent("/bin/rm -rf %s; exit 0" % sq(scratch))
        aw = start_agentwatch([agent_spec(bomb), agent_spec(victim)], ["--rules", rules_dir(RM_RULE)])
        PROCS.spawn(["/bin/sh", "-c", "echo $$ > %s/cgroup.procs && exec %s" % (sq(d), sq(bomb))],
                    cwd=ws)
        time.sleep(3)   # let it fill the cgroup and churn
        procs = len(open(os.path.join(d, "cgroup.procs")).read().split())
        check(procs > 100, "the bomb is running (%d processes)" % procs)
        t0 = time.monotonic()
        r = aw_cli(aw, "status", "--json", timeout=10)
        took = time.monotonic() - t0
        eq(r.returncode, 0, "status during the bomb")
        check(took < 3, "the collector answered status in %.2fs during the bomb" % took)
        p = run_agent(victim, cwd=ws, timeout=20)
        check(os.path.exists(scratch), "enforcement went on: the rm was stopped during the bomb")
        rec = aw.wait_for(lambda r: r.get("type") == "exec" and r.get("verdict") == "kill" and
                          scratch in (r.get("argv") or []), "the kill during the bomb", timeout=20)[0]
        check_lineage(rec, p.pid, "the killed rm")
        rss = [l for l in open("/proc/%d/status" % aw.proc.pid) if l.startswith("RssAnon:")][0]
        kib = int(rss.split()[1])
        check(kib < 128 * 1024, "collector heap stays bounded during the bomb: %s" % rss.strip())
    finally:
        kill()


def test_read_only_log_dir_never_stops_enforcement():
    """A log directory on a read-only mount: the collector says so, runs
    without the durable log, and enforces."""
    ro = TMP.make("ro")
    r = run_cmd(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro])
    if r.returncode:
        raise Skip("cannot mount a read-only tmpfs: %r" % r.stderr)
    try:
        ws = TMP.make("ws")
        scratch = TMP.make("scratch")
        agent = fake_agent("/bin/rm -rf %s; exit 0" % sq(scratch))
        aw = Agentwatch([agent_spec(agent)], ["--rules", rules_dir(RM_RULE)])
        aw.argv[aw.argv.index("--log-dir") + 1] = os.path.join(ro, "log")
        aw.start()
        check("cannot open the audit log" in aw.stderr() and "Read-only file system" in aw.stderr(),
              "the collector says why it runs without a log: %r" % aw.stderr()[-500:])
        run_agent(agent, cwd=ws)
        aw.wait_for(lambda r: r.get("type") == "exec" and r.get("verdict") == "kill", "the kill")
        check(os.path.exists(scratch), "the rm was stopped")
        st = json.load(open(os.path.join(aw.state_dir, "status.json")))
        eq(st.get("log"), None, "status: no log")
        r = run_cmd([AGENTWATCH, "doctor", "--json", "--log-dir", ro])
        rep = json.loads(r.stdout.decode())
        lv = [c["level"] for c in rep["checks"] if c["check"] == "audit log"]
        eq(lv, ["warn"], "doctor warns about the read-only log dir")
        aw.stop()
    finally:
        run_cmd(["umount", ro])


def test_huge_argv_is_flagged_and_suspicious():
    """argv of 100,000 arguments and of 1 MiB: the record says it was
    truncated with the real size, and a rule whose decision depends on the
    part that was cut fires (suspicious), never "no match": an rm whose
    outside-the-workspace target comes after 100,000 harmless ones is
    killed before it deletes anything."""
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    keep = os.path.join(scratch, "keep")
    open(keep, "w").close()
    code = ("import os, subprocess, sys\n"
            "many = ['f%%d' %% i for i in range(100000)]\n"
            "r1 = subprocess.run(['/bin/rm', '-rf'] + many + [%r]).returncode\n"
            "big = ['x' * (128 * 1024 - 1)] * 8\n"
            "r2 = subprocess.run(['/bin/true', 'megabyte'] + big).returncode\n"
            "open('rc', 'w').write('%%d %%d' %% (r1, r2))\n" % scratch)
    script = os.path.join(ws, "huge.py")
    with open(script, "w") as f:
        f.write(code)
    agent = fake_agent("%s %s; exit 0" % (PY, sq(script)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(RM_RULE)])
    run_agent(agent, cwd=ws, timeout=60)
    eq(open(os.path.join(ws, "rc")).read(), "-9 0", "the rm was killed, the true ran")
    check(os.path.exists(keep), "nothing outside the workspace was deleted")
    rm = aw.wait_for(lambda r: r.get("type") == "exec" and (r.get("argv") or [""])[0] == "/bin/rm",
                     "the 100,000-argument rm")[0]
    eq((rm.get("argv_truncated"), rm.get("argc")), (True, 100003), "rm: truncated, real argc")
    eq(rm.get("verdict"), "kill", "the truncated rm is killed")
    hit = [h for h in rm.get("rules", []) if h.get("id") == "test-rm-outside"]
    check(hit and hit[0].get("argv_truncated") is True,
          "the rule fired because the argv was cut, and says so: %r" % rm.get("rules"))
    mb = aw.wait_for(is_exec(contains="megabyte"), "the 1 MiB exec")[0]
    eq(mb.get("argv_truncated"), True, "1 MiB argv: truncated")
    eq(mb.get("argv_bytes"), len("/bin/true") + 1 + len("megabyte") + 1 + 8 * 128 * 1024,
       "1 MiB argv: the real size")


def test_session_survives_env_clearing_and_renaming():
    """Sessions are inherited in the kernel, not derived from names: env -i,
    exec -a, prctl(PR_SET_NAME) and a double fork all stay in the session."""
    code = ("import ctypes, os\n"
            "ctypes.CDLL(None).prctl(15, b'innocent', 0, 0, 0)\n"        # PR_SET_NAME
            "if os.fork() == 0:\n"
            "    if os.fork() == 0:\n"
            "        os.setsid(); os.execv('/bin/true', ['/bin/true', 'dfmark'])\n"
            "    os._exit(0)\n"
            "os.wait()\n"
            "os.execv('/bin/true', ['/bin/true', 'prctlmark'])\n")
    agent = fake_agent("env -i /bin/true envimark\n(exec -a notanagent /bin/true execamark)\n"
                       "%s -c %s\nsleep 0.2\nexit 0" % (PY, sq(code)))
    aw = start_agentwatch([agent_spec(agent)])
    p = run_agent(agent)
    for mark in ("envimark", "execamark", "prctlmark", "dfmark"):
        r = aw.wait_for(lambda r, m=mark: r.get("type") == "exec" and m in (r.get("argv") or []),
                        "the %s exec" % mark)[0]
        check(r.get("session") is not None and r.get("agent") == os.path.basename(agent),
              "%s stays in the agent's session: %s" % (mark, short(r, 300)))
        check_lineage(r, p.pid, mark)


def test_within_scopes_sessions_to_one_tree():
    """--within PID: the same agent binary opens a session under PID and
    not outside it, so a test (or a sandbox) can run with real signatures
    without touching agents elsewhere on the host."""
    ws = TMP.make("ws")
    go = os.path.join(ws, "go")
    agent = fake_agent("/bin/true scoped-$$; exit 0")
    holder = PROCS.spawn([BASH, "-c", "while [ ! -e %s ]; do read -t 0.05 x < /dev/zero; done; exec %s"
                          % (sq(go), sq(agent))], cwd=ws)
    aw = start_agentwatch([agent_spec(agent)], ["--within", str(holder.pid)])
    outside = run_agent(agent, cwd=ws)          # not under the holder: no session
    open(go, "w").close()
    eq(wait_exit(holder, 10, "the scoped agent"), 0, "the scoped agent ran")
    aw.wait_for(lambda r: r.get("type") == "exec" and r.get("pid") == holder.pid and
                r.get("session_start"), "the scoped session")
    time.sleep(0.3)
    recs = aw.records(lambda r: r.get("pid") == outside.pid or
                      "scoped-%d" % outside.pid in (r.get("argv") or []))
    eq(recs, [], "nothing of the same agent outside the scope")
    inside = aw.records(is_exec(contains="scoped-%d" % holder.pid))
    check(inside and inside[0]["session"], "the command inside the scope is in the session")
    r = run_cmd([AGENTWATCH, "run", "--within", "999999999", "--duration", "1"])
    eq(r.returncode, 2, "--within a pid that does not exist is refused")


def test_dotdot_path_out_of_the_workspace_is_caught():
    """rm -rf with a path that climbs out of the workspace with .. is judged
    by where it really points, and killed before it runs."""
    base = TMP.make("base")
    ws = os.path.join(base, "ws")
    sibling = os.path.join(base, "sibling")
    os.makedirs(os.path.join(ws, "sub"))
    os.makedirs(sibling)
    keep = os.path.join(sibling, "keep")
    open(keep, "w").close()
    agent = fake_agent("cd sub && /bin/rm -rf ./../../sibling; echo rc=$? > %s/rc" % sq(ws))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(RM_RULE)])
    run_agent(agent, cwd=ws)
    eq(open(os.path.join(ws, "rc")).read().strip(), "rc=137", "the rm was killed")
    check(os.path.exists(keep), "the sibling of the workspace survived")
    rec = aw.wait_for(lambda r: r.get("type") == "exec" and r.get("verdict") == "kill", "the kill")[0]
    eq(rec.get("argv"), ["/bin/rm", "-rf", "./../../sibling"], "the argv as the agent wrote it")


# ---- symbolic links and renames ---------------------------------------------

FIND = real("/usr/bin/find")

LINK_RULES = """
rule test-rm-outside
  severity high
  action kill
  message "test rule: {agent} may not delete {target} outside {workspace}"
  binary rm
  links nofollow
  flag -r|-R|--recursive
  target outside-workspace

rule test-find-delete-outside
  severity high
  action kill
  message "test rule: {agent} may not find -delete {target} outside {workspace}"
  binary find
  flag -delete
  target outside-workspace
"""


def _rcs(path):
    """name=rc lines a fake agent appended, as a dict."""
    with open(path) as f:
        return dict(l.strip().split("=", 1) for l in f if "=" in l)


def _exec_of(aw, argv, what):
    return aw.wait_for(lambda r: r.get("type") == "exec" and r.get("argv") == argv, what)[0]


def _rule_msg(rec, rule):
    hits = [h for h in rec.get("rules") or [] if h.get("id") == rule]
    check(hits, "rule %s fired on %s" % (rule, short(rec, 400)))
    return hits[0].get("message", "")


def test_symlink_out_of_the_workspace_is_judged_by_where_it_points():
    """ws/out -> scratch, outside the workspace.  rm -rf out/, rm -rf out/*
    and find out/ -delete would empty scratch: each is judged by where the
    link points and killed before it runs.  rm out and rm -rf out remove
    only the link, inside the workspace, and run."""
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    keep = ["keep%d" % i for i in range(3)]
    for k in keep:
        open(os.path.join(scratch, k), "w").close()
    out = os.path.join(ws, "out")
    os.symlink(scratch, out)
    ctl = TMP.make("ctl")
    rc, err = os.path.join(ctl, "rc"), os.path.join(ctl, "err")
    agent = fake_agent("\n".join([
        "/bin/rm -rf out/ 2>>%s; echo slash=$? >> %s" % (sq(err), sq(rc)),
        "/bin/rm -rf out/* 2>>%s; echo glob=$? >> %s" % (sq(err), sq(rc)),
        "%s out/ -delete 2>>%s; echo find=$? >> %s" % (FIND, sq(err), sq(rc)),
        "/bin/rm out; echo rmlink=$? >> %s" % sq(rc),
        "ln -s %s out" % sq(scratch),
        "/bin/rm -rf out; echo rmrflink=$? >> %s" % sq(rc),
        "exit 0"]))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(LINK_RULES)])
    run_agent(agent, cwd=ws)
    eq(_rcs(rc), {"slash": "137", "glob": "137", "find": "137", "rmlink": "0", "rmrflink": "0"},
       "exit statuses (137: killed before it ran)")
    eq(sorted(os.listdir(scratch)), keep, "everything in the link's target survived")
    check(not os.path.lexists(out), "rm and rm -rf of the link itself removed it")
    r = _exec_of(aw, ["/bin/rm", "-rf", "out/"], "rm -rf out/")
    eq(r.get("verdict"), "kill", "rm -rf out/ verdict")
    check("may not delete %s outside %s" % (scratch, ws) in _rule_msg(r, "test-rm-outside"),
          "rm -rf out/ is judged as deleting %s: %r" % (scratch, r.get("rules")))
    r = _exec_of(aw, ["/bin/rm", "-rf"] + ["out/" + k for k in keep], "rm -rf out/*")
    eq(r.get("verdict"), "kill", "rm -rf out/* verdict")
    check("may not delete %s/keep0 " % scratch in _rule_msg(r, "test-rm-outside"),
          "rm -rf out/* is judged by where out/keep0 is: %r" % r.get("rules"))
    r = _exec_of(aw, [FIND, "out/", "-delete"], "find out/ -delete")
    eq(r.get("verdict"), "kill", "find out/ -delete verdict")
    check("find -delete %s outside" % scratch in _rule_msg(r, "test-find-delete-outside"),
          "find out/ -delete is judged by where out points: %r" % r.get("rules"))
    for argv in (["/bin/rm", "out"], ["/bin/rm", "-rf", "out"]):
        r = _exec_of(aw, argv, " ".join(argv))
        eq((r.get("gated"), r.get("verdict"), r.get("rules")), (True, "allow", []),
           "%s (the link itself, inside): gated, verdict, rules" % " ".join(argv))
    killed = [r["pid"] for r in aw.records(lambda r: r.get("type") == "exec" and r.get("verdict") == "kill")]
    eq(len(killed), 3, "three commands killed")
    check(not aw.records(lambda r: r.get("type") == "file" and r.get("pid") in killed),
          "the killed commands made no file syscall")


def test_symlink_into_the_workspace_is_judged_inside():
    """/tmp/.../into -> ws/build, a link outside the workspace into it.
    rm -rf into/ empties ws/build: workspace content, so it runs, and its
    file records name ws/build, where the files really were.  rm -rf into
    would remove the link, which is outside: killed."""
    ws = TMP.make("ws")
    build = os.path.join(ws, "build")
    os.mkdir(build)
    for i in range(3):
        open(os.path.join(build, "o%d" % i), "w").close()
    outside = TMP.make("outside")
    into = os.path.join(outside, "into")
    os.symlink(build, into)
    rc = os.path.join(TMP.make("ctl"), "rc")
    agent = fake_agent("/bin/rm -rf %s/; echo slash=$? >> %s\n/bin/rm -rf %s; echo link=$? >> %s\nexit 0"
                       % (sq(into), sq(rc), sq(into), sq(rc)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(LINK_RULES)])
    run_agent(agent, cwd=ws)
    eq(_rcs(rc), {"slash": "0", "link": "137"}, "exit statuses")
    eq(os.listdir(build), [], "rm -rf into/ emptied the workspace's build")
    check(os.path.islink(into), "the link outside the workspace survived")
    r = _exec_of(aw, ["/bin/rm", "-rf", into + "/"], "rm -rf into/")
    eq((r.get("verdict"), r.get("rules")), ("allow", []), "rm -rf into/: verdict, rules")
    files = aw.wait_for(lambda x: x.get("type") == "file" and x.get("pid") == r["pid"]
                        and x.get("op") == "unlinkat" and x.get("result") == 0,
                        "the unlinks of rm -rf into/", count=3)
    eq(sorted(x.get("path") for x in files), [os.path.join(build, "o%d" % i) for i in range(3)],
       "file records name where the files were")
    r = _exec_of(aw, ["/bin/rm", "-rf", into], "rm -rf into")
    eq(r.get("verdict"), "kill", "rm -rf of the link outside the workspace")
    check("may not delete %s outside" % into in _rule_msg(r, "test-rm-outside"),
          "judged as the link itself: %r" % r.get("rules"))


def test_workspace_reached_through_a_symlink():
    """The agent starts in a symlink to its workspace.  The kernel names the
    real directory, so that is the workspace: ./build and <link>/build2 are
    inside it, and ../other is the real workspace's sibling, not the
    link's (bash's logical cd changes nothing)."""
    base = TMP.make("base")
    real_ws = os.path.join(base, "real", "ws")
    other = os.path.join(base, "real", "other")
    for d in (os.path.join(real_ws, "build"), os.path.join(real_ws, "build2"), other):
        os.makedirs(d)
        open(os.path.join(d, "keep"), "w").close()
    adir = TMP.make("alias")
    alias = os.path.join(adir, "ws")
    os.symlink(real_ws, alias)
    decoy = os.path.join(adir, "other")          # what ../other means lexically
    os.mkdir(decoy)
    open(os.path.join(decoy, "keep"), "w").close()
    rc = os.path.join(TMP.make("ctl"), "rc")
    agent = fake_agent("\n".join([
        "/bin/rm -rf ./build; echo build=$? >> %s" % sq(rc),
        "/bin/rm -rf %s/build2; echo viaalias=$? >> %s" % (sq(alias), sq(rc)),
        "/bin/rm -rf ../other; echo dotdot=$? >> %s" % sq(rc),
        "cd %s && /bin/rm -rf ../other; echo cddotdot=$? >> %s" % (sq(alias), sq(rc)),
        "exit 0"]))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(LINK_RULES)])
    p = run_agent(agent, cwd=alias)
    eq(session_start_of(aw, p, "agent").get("workspace"), real_ws, "the workspace is the real directory")
    eq(_rcs(rc), {"build": "0", "viaalias": "0", "dotdot": "137", "cddotdot": "137"}, "exit statuses")
    check(not os.path.exists(os.path.join(real_ws, "build")), "./build was deleted")
    check(not os.path.exists(os.path.join(real_ws, "build2")), "<alias>/build2 was deleted")
    check(os.path.exists(os.path.join(other, "keep")), "the real sibling survived")
    check(os.path.exists(os.path.join(decoy, "keep")), "the alias's sibling was never at risk")
    r = _exec_of(aw, ["/bin/rm", "-rf", alias + "/build2"], "rm -rf <alias>/build2")
    eq((r.get("verdict"), r.get("rules")), ("allow", []), "rm -rf <alias>/build2: inside, allowed")
    kills = aw.records(lambda x: x.get("type") == "exec" and x.get("argv") == ["/bin/rm", "-rf", "../other"])
    eq(len(kills), 2, "two rm -rf ../other records")
    for r in kills:
        eq(r.get("cwd"), real_ws, "the kernel's cwd is the real directory")
        check("may not delete %s outside %s" % (other, real_ws) in _rule_msg(r, "test-rm-outside"),
              "../other judged as the real sibling: %r" % r.get("rules"))


def test_breaker_judges_deletions_through_a_symlink():
    """A python loop unlinking <ws>/out/fNN, where out -> a directory
    outside the workspace: the paths are inside the workspace only as
    spelled.  The records name where the files were, and the breaker
    holds the loop for a human instead of resuming it as in-workspace."""
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    n_files = 100
    for i in range(n_files):
        open(os.path.join(scratch, "f%03d" % i), "w").close()
    out = os.path.join(ws, "out")
    os.symlink(scratch, out)
    script = os.path.join(ws, "wipe.py")
    with open(script, "w") as f:
        f.write("import os,sys\nd=sys.argv[1]\nfor n in sorted(os.listdir(d)): os.unlink(os.path.join(d,n))\n")
    rc = os.path.join(ws, "rc")
    agent = fake_agent("%s %s %s; echo rc=$? > %s" % (PY, sq(script), sq(out), sq(rc)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(""), "--breaker", "20/2000"])
    p = PROCS.spawn([agent], cwd=ws)
    pd = pending_of(aw, lambda x: x.get("rule") == "mass-deletion-breaker", "the breaker")
    eq(procstate(pd["pid"]), "T", "the deleting python is stopped")
    check(scratch in pd.get("message", ""), "the pending entry names the real place: %r" % pd.get("message"))
    left = len(os.listdir(scratch))
    check(n_files - left <= 20, "at most N=20 files lost, lost %d" % (n_files - left))
    eq(aw_cli(aw, "deny", str(pd["id"])).returncode, 0, "deny")
    wait_exit(p, 10, "agent")
    eq(open(rc).read().strip(), "rc=137", "the python was killed")
    eq(len(os.listdir(scratch)), left, "nothing deleted after the breaker")
    first = aw.wait_for(lambda r: r.get("type") == "file" and r.get("path_arg") == os.path.join(out, "f000"),
                        "the first unlink's record")[0]
    eq(first.get("path"), os.path.join(scratch, "f000"), "the record names where the file was")
    trip = aw.wait_for(lambda r: r.get("type") == "file" and r.get("breaker"), "the breaker's record")[0]
    eq(trip.get("breaker"), "paused for a human", "what the trip led to")
    check(trip.get("path", "").startswith(scratch + "/"), "the trip's path: %r" % trip.get("path"))


def _wait_fifo_line(path, what, timeout=EVENT_TIMEOUT):
    """Read one line from a fifo the agent writes to, bounded in time."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    buf = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in buf:
            if time.monotonic() >= deadline:
                raise Fail("no %s within %.0fs" % (what, timeout))
            try:
                chunk = os.read(fd, 64)
            except BlockingIOError:
                chunk = b""
            buf += chunk
            if not chunk:
                time.sleep(0.02)
    finally:
        os.close(fd)
    return buf.decode().strip()


def _open_fifo_writer(path, what, timeout=EVENT_TIMEOUT):
    """Open a fifo for writing once the agent has opened it for reading."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO or time.monotonic() >= deadline:
                raise Fail("could not open %s for writing: %s" % (what, e))
            time.sleep(0.02)


# Deletes the first 5 names of the directory it is started in, says
# "ready" on one fifo, waits for a line on the other, deletes the rest,
# every unlink relative to its cwd.
RENAME_WIPER = """import os, sys
os.chdir(sys.argv[1])
names = sorted(os.listdir('.'))
for n in names[:5]:
    os.unlink(n)
with open(sys.argv[2], 'w') as f:
    f.write('ready\\n')
with open(sys.argv[3]) as f:
    f.read()
for n in names[5:]:
    os.unlink(n)
"""


def _renamed_while_deleting(ws, build, rename):
    """Run RENAME_WIPER in build under a fresh agentwatch (breaker 20/2 s);
    rename() is called between its first 5 deletions and the rest."""
    ctl = TMP.make("ctl")
    ready, go = os.path.join(ctl, "ready"), os.path.join(ctl, "go")
    os.mkfifo(ready)
    os.mkfifo(go)
    script = os.path.join(ctl, "wipe.py")
    with open(script, "w") as f:
        f.write(RENAME_WIPER)
    rc = os.path.join(ctl, "rc")
    agent = fake_agent("%s %s %s %s %s; echo rc=$? > %s" % (PY, sq(script), sq(build), sq(ready), sq(go), sq(rc)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(""), "--breaker", "20/2000"])
    p = PROCS.spawn([agent], cwd=ws)
    eq(_wait_fifo_line(ready, "ready from the wiper"), "ready", "the wiper's first step")
    rename()
    fd = _open_fifo_writer(go, "the go fifo")
    os.write(fd, b"go\n")
    os.close(fd)
    return aw, p, rc


def test_directory_renamed_out_of_the_workspace_while_deleting():
    """A python process deletes files in ws/build, relative to its cwd.
    Halfway, ws/build is moved out of the workspace.  The kernel names the
    directory at each syscall, so the later records say where the files
    really were, and the breaker judges them outside and holds the loop."""
    ws = TMP.make("ws")
    build = os.path.join(ws, "build")
    os.mkdir(build)
    names = ["f%02d" % i for i in range(60)]
    for n in names:
        open(os.path.join(build, n), "w").close()
    moved = os.path.join(TMP.make("away"), "moved")
    aw, p, rc = _renamed_while_deleting(ws, build, lambda: os.rename(build, moved))
    pd = pending_of(aw, lambda x: x.get("rule") == "mass-deletion-breaker", "the breaker")
    check(moved in pd.get("message", ""), "the pending entry names the new place: %r" % pd.get("message"))
    left = len(os.listdir(moved))
    check(55 - left <= 20, "at most N=20 files deleted after the move, %d" % (55 - left))
    eq(aw_cli(aw, "deny", str(pd["id"])).returncode, 0, "deny")
    wait_exit(p, 10, "agent")
    eq(open(rc).read().strip(), "rc=137", "the wiper was killed")
    recs = aw.wait_for(lambda r: r.get("type") == "file" and r.get("op") == "unlink" and r.get("result") == 0,
                       "the unlink records", count=60 - left)
    by_arg = {r.get("path_arg"): r.get("path") for r in recs}
    for n in names[:5]:
        eq(by_arg.get(n), os.path.join(build, n), "record of %s, deleted before the move" % n)
    after = [n for n in names[5:] if n in by_arg]
    check(after, "records after the move: %r" % sorted(by_arg))
    for n in after:
        eq(by_arg[n], os.path.join(moved, n), "record of %s, deleted after the move" % n)
    trip = aw.wait_for(lambda r: r.get("type") == "file" and r.get("breaker"), "the breaker's record")[0]
    eq(trip.get("breaker"), "paused for a human", "what the trip led to")
    check(trip.get("path", "").startswith(moved + "/"), "the trip's path: %r" % trip.get("path"))


def test_workspace_renamed_while_deleting_stays_the_workspace():
    """The same, but the directory above the workspace is renamed: ws/build
    is still in the workspace, under its new name.  The records name the
    new place, the workspace follows the rename (the agent root's cwd is
    the same directory), and the breaker resumes the loop as in-workspace."""
    top = TMP.make("top")
    ws = os.path.join(top, "base", "ws")
    build = os.path.join(ws, "build")
    os.makedirs(build)
    names = ["f%02d" % i for i in range(60)]
    for n in names:
        open(os.path.join(build, n), "w").close()
    new_ws = os.path.join(top, "base2", "ws")
    aw, p, rc = _renamed_while_deleting(ws, build, lambda: os.rename(os.path.join(top, "base"),
                                                                    os.path.join(top, "base2")))
    eq(wait_exit(p, 15, "agent"), 0, "the agent finished")
    eq(open(rc).read().strip(), "rc=0", "the wiper ran to the end")
    eq(os.listdir(os.path.join(new_ws, "build")), [], "every file deleted")
    trip = aw.wait_for(lambda r: r.get("type") == "file" and r.get("breaker"), "the breaker's record")[0]
    eq(trip.get("breaker"), "resumed (deleting inside the workspace)", "what the trip led to")
    check(trip.get("path", "").startswith(new_ws + "/build/"), "the trip's path: %r" % trip.get("path"))
    eq(trip.get("workspace"), new_ws, "the workspace followed the rename")
    # The wiper has exited, but its last records may still be on their way
    # (a busy collector reads the ring buffer every 25 ms): wait for them.
    recs = aw.wait_for(lambda r: r.get("type") == "file" and r.get("op") == "unlink" and
                       r.get("path_arg") in names[5:], "the unlink records after the rename",
                       count=len(names) - 5)
    eq(sorted(r.get("path") for r in recs),
       [os.path.join(new_ws, "build", n) for n in names[5:]], "records after the rename")



# ---- handing a command to another process (rules/escapes.rules) --------------

DEFAULT_RULES = os.path.join(REPO, "rules")


def _need(tool, why=""):
    path = shutil.which(tool)
    if not path:
        raise Skip("%s is not installed%s (scripts/deps.sh test installs it)" % (tool, why))
    return real(path)


def _escape_denied(cmd, rule, marker, env=None, settle=0.5):
    """The fake agent runs cmd (a shell line that would create marker) under
    the default rules: it must be stopped at its exec and held as a pending
    verdict of rule, with marker absent; deny kills it, and marker never
    appears.  Returns (aw, exec record)."""
    ws = os.path.dirname(marker)
    rc = os.path.join(TMP.make("ctl"), "rc")
    agent = fake_agent("%s; echo rc=$? > %s\nexit 0" % (cmd, sq(rc)))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", DEFAULT_RULES])
    p = PROCS.spawn([agent], cwd=ws, env=env)
    pd = pending_of(aw, lambda x: x.get("rule") == rule, "the %s pause" % rule)
    eq(procstate(pd["pid"]), "T", "the paused command is stopped")
    check([e.get("pid") for e in pd.get("lineage", [])][:1] == [p.pid],
          "its lineage starts at the agent: %r" % pd.get("lineage"))
    # Held: it stays stopped, and nothing it would do has happened.
    time.sleep(settle)
    eq(procstate(pd["pid"]), "T", "still stopped after %.1fs" % settle)
    check(not os.path.exists(marker), "the handed-over command did not run while paused")
    r = aw_cli(aw, "deny", str(pd["id"]))
    eq(r.returncode, 0, "deny (stderr %r)" % r.stderr)
    wait_exit(p, 10, "agent")
    eq(open(rc).read().strip(), "rc=137", "the command was killed")
    rec = aw.wait_for(lambda x: x.get("type") == "exec" and x.get("pid") == pd["pid"], "its exec record")[0]
    eq((rec.get("gated"), rec.get("verdict")), (True, "pause"), "exec record: gated, verdict")
    check(rule in [h.get("id") for h in rec.get("rules", [])], "the record names %s: %r" % (rule, rec.get("rules")))
    v = aw.wait_for(lambda x: x.get("type") == "verdict" and x.get("pid") == pd["pid"], "the verdict record")[0]
    eq(v.get("verdict"), "kill", "verdict after the deny")
    check(v.get("decided_by", "").startswith("human"), "decided by a human: %r" % v.get("decided_by"))
    time.sleep(settle)
    check(not os.path.exists(marker), "the handed-over command never ran")
    return aw, rec


def _tmux(tmux, sock, tmpdir, *args):
    return run_cmd([tmux, "-L", sock, "-f", "/dev/null"] + list(args),
                   env=dict(os.environ, TMUX_TMPDIR=tmpdir))


def test_escape_tmux_is_paused_then_denied_or_allowed():
    """tmux new-session -d 'touch marker' hands the command to a tmux server
    that outlives the agent's command.  esc-tmux holds the tmux client at its
    exec: denied, the server never starts (no socket) and the marker never
    appears; allowed, it runs."""
    tmux = _need("tmux")
    ws = TMP.make("ws")
    tmpdir = TMP.make("tmuxdir")
    sock = unique("sock")
    env = dict(os.environ, TMUX_TMPDIR=tmpdir)
    sockdir = os.path.join(tmpdir, "tmux-%d" % os.getuid())
    marker = os.path.join(ws, "marker")
    line = "%s -L %s -f /dev/null new-session -d -s %s %s" % (
        tmux, sock, unique("s"), sq("/usr/bin/touch %s" % marker))
    try:
        aw, rec = _escape_denied(line, "esc-tmux", marker, env=env)
        check(not os.path.exists(os.path.join(sockdir, sock)), "no tmux server socket after the deny")
        aw.stop()
        # Allowed, the same command starts a server that runs it.
        rc = os.path.join(TMP.make("ctl"), "rc")
        agent = fake_agent("%s; echo rc=$? > %s\nexit 0" % (line, sq(rc)))
        aw = start_agentwatch([agent_spec(agent)], ["--rules", DEFAULT_RULES])
        p = PROCS.spawn([agent], cwd=ws, env=env)
        pd = pending_of(aw, lambda x: x.get("rule") == "esc-tmux", "the esc-tmux pause")
        check(not os.path.exists(marker), "nothing ran before the allow")
        eq(aw_cli(aw, "allow", str(pd["id"])).returncode, 0, "allow")
        wait_exit(p, 10, "agent")
        eq(open(rc).read().strip(), "rc=0", "tmux ran")
        deadline = time.monotonic() + EVENT_TIMEOUT
        while time.monotonic() < deadline and not os.path.exists(marker):
            time.sleep(0.05)
        check(os.path.exists(marker), "the allowed command ran in the tmux server")
        # The server is still in the agent's session: it was forked from it.
        t = aw.wait_for(lambda x: x.get("type") == "exec" and x.get("argv") == ["/usr/bin/touch", marker],
                        "the touch the server ran")[0]
        eq((t.get("agent"), (t.get("attribution") or {}).get("root_pid")),
           (os.path.basename(agent), p.pid), "the server's command is still the agent's (agent, root)")
    finally:
        _tmux(tmux, sock, tmpdir, "kill-server")


def test_escape_screen_is_paused_then_denied():
    """screen -dmS starts a detached screen running the command: esc-screen
    holds it at its exec; denied, no screen socket and no marker."""
    screen = _need("screen")
    ws = TMP.make("ws")
    sdir = TMP.make("screendir")           # mkdtemp: mode 0700, as screen wants
    os.chmod(sdir, 0o700)
    name = unique("scr")
    marker = os.path.join(ws, "marker")
    env = dict(os.environ, SCREENDIR=sdir)
    try:
        _escape_denied("%s -dmS %s /usr/bin/touch %s" % (screen, name, sq(marker)), "esc-screen",
                       marker, env=env)
        eq(os.listdir(sdir), [], "no screen session socket")
    finally:
        run_cmd([screen, "-S", name, "-X", "quit"], env=env)


def test_escape_at_is_paused_then_denied():
    """echo cmd | at now queues a job for atd, outside the agent's tree.
    esc-at holds at at its exec (whether or not atd runs here); denied, no
    job is queued."""
    at = _need("at")
    spool = "/var/spool/cron/atjobs"
    before = sorted(os.listdir(spool)) if os.path.isdir(spool) else None
    ws = TMP.make("ws")
    marker = os.path.join(ws, "marker")
    _escape_denied("echo %s | %s now" % (sq("/usr/bin/touch %s" % marker), at), "esc-at", marker)
    if before is not None:
        eq(sorted(os.listdir(spool)), before, "no at job was queued")


def test_escape_systemd_run_is_paused_then_denied():
    """systemd-run hands a command to systemd.  esc-systemd-run holds it at
    its exec; denied, it never reaches systemd.  (Only the deny is tested:
    letting it run needs systemd as PID 1, which this machine may not have.)"""
    sr = _need("systemd-run")
    ws = TMP.make("ws")
    marker = os.path.join(ws, "marker")
    _escape_denied("%s --unit=%s --collect /usr/bin/touch %s" % (sr, unique("unit"), sq(marker)),
                   "esc-systemd-run", marker)


def test_escape_ssh_remote_command_and_nohup_setsid_alert():
    """ssh HOST CMD runs CMD elsewhere, and nohup setsid detaches: both are
    alerts, not blocks.  The exec records carry verdict alert and run;
    ssh without a command, and nohup alone, are not flagged.  ssh connects
    to a loopback port nobody listens on, so nothing runs anywhere."""
    ssh = _need("ssh")
    ws = TMP.make("ws")
    port = _free_port()
    marker = os.path.join(ws, "marker")
    detached = os.path.join(ws, "detached")
    opts = "-F /dev/null -o BatchMode=yes -o ConnectTimeout=3 -o UserKnownHostsFile=/dev/null -p %d" % port
    agent = fake_agent("\n".join([
        "%s %s 127.0.0.1 /usr/bin/touch %s; echo ssh=$? >> rc" % (ssh, opts, sq(marker)),
        "%s %s 127.0.0.1; echo sshnocmd=$? >> rc" % (ssh, opts),
        "/usr/bin/nohup /usr/bin/setsid /usr/bin/touch %s >/dev/null 2>&1; echo nohup=$? >> rc" % sq(detached),
        "/usr/bin/nohup /bin/true nohupalone >/dev/null 2>&1; echo alone=$? >> rc",
        "exit 0"]))
    aw = start_agentwatch([agent_spec(agent)], ["--rules", DEFAULT_RULES])
    run_agent(agent, cwd=ws, timeout=20)
    rcs = _rcs(os.path.join(ws, "rc"))
    eq((rcs.get("ssh"), rcs.get("sshnocmd")), ("255", "255"), "ssh ran and could not connect")
    eq((rcs.get("nohup"), rcs.get("alone")), ("0", "0"), "nohup ran")
    check(not os.path.exists(marker), "nothing ran over ssh")
    deadline = time.monotonic() + EVENT_TIMEOUT
    while time.monotonic() < deadline and not os.path.exists(detached):
        time.sleep(0.05)
    check(os.path.exists(detached), "the detached command ran (an alert does not block)")
    r = aw.wait_for(lambda x: x.get("type") == "exec" and (x.get("argv") or [""])[0] == ssh
                    and marker in x.get("argv", []), "the ssh with a remote command")[0]
    eq(r.get("verdict"), "alert", "ssh HOST CMD verdict")
    eq([h.get("id") for h in r.get("rules", [])], ["esc-ssh-remote-command"], "rules on ssh HOST CMD")
    check("ran a command on a remote host" in _rule_msg(r, "esc-ssh-remote-command"),
          "the alert says why: %r" % r.get("rules"))
    r = aw.wait_for(lambda x: x.get("type") == "exec" and (x.get("argv") or [""])[-1] == "127.0.0.1"
                    and (x.get("argv") or [""])[0] == ssh, "the ssh without a command")[0]
    eq((r.get("verdict") or "allow", r.get("rules") or []), ("allow", []), "ssh HOST: not flagged")
    r = aw.wait_for(is_exec(argv0="/usr/bin/nohup", contains=detached), "nohup setsid")[0]
    eq(r.get("verdict"), "alert", "nohup setsid verdict")
    eq([h.get("id") for h in r.get("rules", [])], ["esc-nohup-setsid"], "rules on nohup setsid")
    r = aw.wait_for(is_exec(argv0="/usr/bin/nohup", contains="nohupalone"), "nohup alone")[0]
    eq(r.get("rules") or [], [], "nohup alone: not flagged")


def test_log_queries_reconstruct_the_session():
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    agent = fake_agent("%s -c %s; /bin/true qmark; exit 0" % (BASH, sq("/bin/rm -rf %s; exit 0" % scratch)))
    name = os.path.basename(agent)
    aw = start_agentwatch([agent_spec(agent)], ["--rules", rules_dir(RM_RULE)])
    p = run_agent(agent, cwd=ws)
    aw.wait_for(is_exec(contains="qmark"), "the marker exec")
    aw.stop()
    r = run_cmd([AGENTWATCH, "log", "sessions", "--log-dir", aw.log_dir, "--json"])
    sessions = json.loads(r.stdout.decode())
    mine = [x for x in sessions if x.get("agent") == name]
    eq(len(mine), 1, "one session of the fake agent in log sessions")
    sess = mine[0]
    eq((sess.get("root_pid"), sess.get("blocks"), sess.get("workspace")), (p.pid, 1, ws),
       "session row: root pid, blocks, workspace")
    check(sess.get("commands", 0) >= 3, "commands counted: %r" % sess)
    r = run_cmd([AGENTWATCH, "log", "tree", sess["session"], "--log-dir", aw.log_dir])
    tree = r.stdout.decode()
    eq(r.returncode, 0, "log tree exit status")
    lines = tree.splitlines()
    check(lines and lines[0].split()[0] == str(p.pid), "the tree starts at the agent root: %r" % tree)
    check(re.search(r"rm -rf %s" % re.escape(scratch), tree), "the blocked rm is in the tree: %r" % tree)
    check("verdict kill [test-rm-outside]" in tree, "its verdict is under it: %r" % tree)
    check("killed by signal 9" in tree, "and how it ended: %r" % tree)
    r = run_cmd([AGENTWATCH, "log", "show", "--log-dir", aw.log_dir, "--rule", "test-rm-outside", "--json"])
    shown = [json.loads(l) for l in r.stdout.decode().splitlines()]
    check(shown and all(any(h.get("id") == "test-rm-outside" for h in x.get("rules", [])) for x in shown),
          "log show --rule returns the records that rule fired on: %r" % shown)
    r = run_cmd([AGENTWATCH, "log", "timeline", sess["session"], "--log-dir", aw.log_dir])
    tl = r.stdout.decode().splitlines()
    check(len(tl) >= 5 and any("qmark" in l for l in tl), "timeline lists the session's actions: %r" % tl)
    times = [l[:12] for l in tl]
    check(times == sorted(times), "timeline is in time order: %r" % times)


def test_full_log_disk_never_stops_enforcement():
    """The audit log on a 256 KiB tmpfs fills up: records are counted as
    dropped, the collector keeps running and enforcing, and the chain of
    what was written still verifies."""
    mnt = TMP.make("tinylog")
    r = run_cmd(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", mnt])
    eq(r.returncode, 0, "mount a small tmpfs (stderr %r)" % r.stderr)
    try:
        logdir = os.path.join(mnt, "log")
        ws = TMP.make("ws")
        scratch = TMP.make("scratch")
        open(os.path.join(scratch, "k"), "w").close()
        # ~600 execs with long argv fill 256 KiB many times over
        noise = fake_agent("for i in $(seq 600); do /bin/true %s $i; done" % ("x" * 400))
        killer = fake_agent("/bin/rm -rf %s; exit 0" % sq(scratch))
        aw = start_agentwatch([agent_spec(noise), agent_spec(killer)],
                              ["--rules", rules_dir(RM_RULE), "--log-dir", logdir])
        run_agent(noise, cwd=ws, timeout=60)
        deadline = time.monotonic() + 10
        dropped = 0
        while time.monotonic() < deadline and not dropped:
            st = json.loads(aw_cli(aw, "status", "--json").stdout.decode() or "{}")
            dropped = ((st.get("log") or {}).get("dropped") or 0) + \
                      ((st.get("log") or {}).get("append_errors") or 0)
            time.sleep(0.2)
        check(dropped > 0, "records were dropped on the full disk and counted: %r" % st.get("log"))
        # Still enforcing: the gated rm is killed and its scratch dir survives.
        run_agent(killer, cwd=ws)
        check(os.path.exists(os.path.join(scratch, "k")), "enforcement went on with the disk full")
        aw.wait_for(is_exec(argv=["/bin/rm", "-rf", scratch]), "the rm record on stdout")
        aw.stop()
        r = run_cmd([AGENTWATCH, "log", "verify", "--log-dir", logdir, "--json"])
        rep = json.loads(r.stdout.decode())
        eq(rep.get("ok"), True, "what reached the full disk still verifies: %r" % rep)
    finally:
        for inst in list(INSTANCES):
            try:
                inst.stop()
            except Exception:
                pass
        run_cmd(["umount", mnt])



# ---- reduced mode: a kernel without a feature -------------------------------
#
# AGENTWATCH_TEST_DISABLE=name,... makes agentwatch's probes, loads and
# attaches fail as on a kernel without those features (user/probe.h).  Each
# test checks that the sensor starts anyway, says what it lacks (stderr,
# status, the start record), still follows a fake agent's process tree, and
# claims nothing it can no longer do.


class ReducedAgentwatch(Agentwatch):
    """An agentwatch run as on a kernel without the features in `disable`."""

    def __init__(self, disable, agents=(), extra=()):
        super().__init__(agents, extra)
        self.disable = disable

    def start(self):
        old = os.environ.get("AGENTWATCH_TEST_DISABLE")
        os.environ["AGENTWATCH_TEST_DISABLE"] = self.disable
        try:
            return super().start()
        finally:
            if old is None:
                del os.environ["AGENTWATCH_TEST_DISABLE"]
            else:
                os.environ["AGENTWATCH_TEST_DISABLE"] = old


def _status(aw):
    r = aw_cli(aw, "status", "--json")
    eq(r.returncode, 0, "agentwatch status --json (stderr %r)" % r.stderr[:300])
    try:
        return json.loads(r.stdout.decode())
    except ValueError as e:
        raise Fail("status --json is not JSON (%s): %r" % (e, r.stdout[:300]))


def _links(aw):
    """Programs attached, by the links the collector pinned (link_NAME)."""
    try:
        return {n[len("link_"):] for n in os.listdir(aw.pin_dir) if n.startswith("link_")}
    except OSError:
        return set()


def _xlated_calls(aw, prog, helper):
    """How many calls to helper the kernel-verified program prog of this
    instance has (found through its pinned link)."""
    bpftool = shutil.which("bpftool")
    if not bpftool:
        raise Skip("no bpftool to read the verified programs")
    r = run_cmd([bpftool, "-j", "link", "show", "pinned", os.path.join(aw.pin_dir, "link_" + prog)])
    eq(r.returncode, 0, "bpftool link show %s (stderr %r)" % (prog, r.stderr[:200]))
    pid = json.loads(r.stdout.decode())["prog_id"]
    r = run_cmd([bpftool, "prog", "dump", "xlated", "id", str(pid)])
    eq(r.returncode, 0, "bpftool prog dump xlated %s" % prog)
    n = r.stdout.decode().count("call " + helper + "#")
    return n


def _check_reduced(aw, names, effect):
    """stderr, status and the start record all say that `names` are off."""
    err = aw.stderr()
    for n in names:
        check("agentwatch: reduced mode: %s off (" % n in err,
              "stderr names the missing feature %s: %r" % (n, err[-1500:]))
    check(effect in err, "stderr says what degrades (%r): %r" % (effect, err[-1500:]))
    check(err.count("reduced mode: %s off" % names[0]) == 1, "said once: %r" % err[-1500:])
    st = _status(aw)
    eq(st.get("running"), True, "status: running")
    check(all(n in (st.get("reduced") or []) for n in names),
          "status reduced %r lists %r" % (st.get("reduced"), names))
    feats = {f.get("name"): f for f in st.get("features") or []}
    for n in names:
        f = feats.get(n) or {}
        eq(f.get("on"), False, "status feature %s on" % n)
        check("AGENTWATCH_TEST_DISABLE" in (f.get("reason") or ""),
              "status says why %s is off: %r" % (n, f))
        check(f.get("degrades"), "status says what degrades without %s: %r" % (n, f))
    for n in ("ringbuf", "btf", "bpf_loop"):
        eq((feats.get(n) or {}).get("on"), True, "required feature %s on" % n)
    start = aw.wait_for(lambda r: r.get("type") == "collector" and r.get("event") == "start",
                        "the collector start record")[0]
    check(all(n in (start.get("reduced") or []) for n in names),
          "the start record says it is reduced: %r" % start.get("reduced"))
    return st


KILL_SLEEP_RULES = """
rule test-kill-sleep
  severity high
  action kill
  message "test: {agent} may not sleep that long"
  binary sleep
  arg 31

rule test-pause-sleep
  severity medium
  action pause timeout 60s default deny
  message "test: {agent} wants a long nap"
  binary sleep
  arg 32
"""


def test_reduced_without_send_signal_acts_late_and_never_claims_a_gate():
    """No bpf_send_signal: nothing can stop an exec before it runs.  The
    sensor starts, says so, and the collector acts late: a long sleep under
    a kill rule is killed while running (verdict kill, enforced_late, never
    gated); one under a pause rule is stopped late and held for a human; a
    short rm under a kill rule is reported with what really happened (killed
    late, or not at all: it had exited)."""
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    for i in range(3):
        open(os.path.join(scratch, "f%d" % i), "w").close()
    rc = os.path.join(ws, "rc")
    agent = fake_agent("/bin/sleep 31; echo sleep=$? >> %s; /bin/rm -rf %s; echo rm=$? >> %s; "
                       "/bin/sleep 32; echo nap=$? >> %s" % (sq(rc), sq(scratch), sq(rc), sq(rc)))
    aw = ReducedAgentwatch("send_signal", [agent_spec(agent)],
                           ["--rules", rules_dir(KILL_SLEEP_RULES + RM_RULE)]).start()
    st = _check_reduced(aw, ["send_signal"], "nothing is stopped in the kernel")
    eq(st["coverage"].get("exec_gate"), "late", "status coverage.exec_gate")
    eq(st["coverage"].get("crash_fallback"), False, "no kernel fallback without the helper")
    # What the verifier accepted has no bpf_send_signal call left in it: the
    # same object loads on a kernel without the helper.
    for prog in ("handle_sched_process_exec", "handle_sys_exit_unlink", "handle_sys_enter_unlinkat"):
        check(_xlated_calls(aw, prog, "bpf_send_signal") == 0,
              "%s still calls bpf_send_signal" % prog)
    p = PROCS.spawn([agent], cwd=ws)

    # the kill rule: killed while running, and the record says late
    rec = aw.wait_for(is_exec(argv=["/bin/sleep", "31"]), "exec record of sleep 31")[0]
    check_lineage(rec, p.pid, "sleep 31")
    check(rec.get("gated") is not True, "nothing is gated without the helper: %s" % short(rec))
    eq((rec.get("verdict"), rec.get("enforced_late")), ("kill", True), "sleep 31: verdict, late")
    check("no in-kernel exec gate" in (rec.get("reduced") or ""), "the record says why: %s" % short(rec))
    ex = aw.wait_for(of_pid(rec["pid"], "exit"), "exit of sleep 31")[0]
    eq(ex.get("signal"), 9, "sleep 31 was killed")

    # the rm: either killed late or already gone; never claimed as stopped
    rm = aw.wait_for(is_exec(argv=["/bin/rm", "-rf", scratch]), "exec record of rm")[0]
    check_lineage(rm, p.pid, "rm")
    check(rm.get("gated") is not True, "rm not gated: %s" % short(rm))
    check("no in-kernel exec gate" in (rm.get("reduced") or ""), "rm record says why: %s" % short(rm))
    if rm.get("verdict") == "kill":
        eq(rm.get("enforced_late"), True, "a kill without the gate is late")
    else:
        eq((rm.get("verdict"), rm.get("would")), ("allow", "kill"), "rm: not enforced, would kill")
        check("exited before" in rm["reduced"], "rm: says it was too late: %r" % rm["reduced"])

    # the pause rule: stopped late, held for a human, denied
    pd = pending_of(aw, lambda x: x.get("rule") == "test-pause-sleep", "the late-paused sleep")
    eq(procstate(pd["pid"]), "T", "the sleep is stopped, late, by the collector")
    nap = aw.wait_for(is_exec(argv=["/bin/sleep", "32"]), "exec record of sleep 32")[0]
    eq((nap.get("verdict"), nap.get("enforced_late"), nap.get("pending_id")), ("pause", True, pd["id"]),
       "sleep 32: paused late")
    check(nap.get("gated") is not True, "sleep 32 not gated")
    r = aw_cli(aw, "deny", str(pd["id"]))
    eq(r.returncode, 0, "deny (stderr %r)" % r.stderr)
    wait_exit(p, 10, "agent")
    out = open(rc).read().split()
    eq((out[0], out[-1]), ("sleep=137", "nap=137"), "both sleeps killed: %r" % out)
    st = _status(aw)
    eq(st["kernel_counters"].get("gate_stops"), 0, "the kernel stopped nothing")
    aw.stop()
    starts = [json.loads(l) for l in _log_lines(aw.log_dir) if b'"event":"start"' in l]
    check(starts and starts[-1].get("reduced") == ["send_signal"],
          "the audit log's start record says reduced: %r" % (starts[-1:]))


def test_reduced_without_send_signal_too_late_is_not_a_kill():
    """A command under a kill rule that is over before the collector gets to
    it (the collector is held stopped meanwhile: our own process) is not
    reported as killed: verdict allow, would kill, and why."""
    ws = TMP.make("ws")
    rules = KILL_SLEEP_RULES.replace("binary sleep\n  arg 31", "binary true\n  arg 33")
    agent = fake_agent("/bin/true 33; echo rc=$? > %s" % sq(os.path.join(ws, "rc")))
    aw = ReducedAgentwatch("send_signal", [agent_spec(agent)], ["--rules", rules_dir(rules)]).start()
    os.kill(aw.proc.pid, signal.SIGSTOP)
    try:
        p = run_agent(agent, cwd=ws)
    finally:
        os.kill(aw.proc.pid, signal.SIGCONT)
    eq(open(os.path.join(ws, "rc")).read().strip(), "rc=0", "true ran to its end")
    rec = aw.wait_for(is_exec(argv=["/bin/true", "33"]), "exec record of true")[0]
    check_lineage(rec, p.pid, "true")
    eq((rec.get("verdict"), rec.get("would"), rec.get("gated"), rec.get("enforced_late")),
       ("allow", "kill", None, None), "nothing was done, and the record says so")
    check("exited before the collector could act" in (rec.get("reduced") or ""),
          "the record says why: %s" % short(rec))
    eq([h.get("id") for h in rec.get("rules", [])], ["test-kill-sleep"], "the rule that fired")


def test_reduced_without_send_signal_breaker_stops_late():
    """No bpf_send_signal: the kernel still counts deletions and reports the
    trip at once; the collector stops the process itself and holds it."""
    ws = TMP.make("ws")
    tree = TMP.make("victim")
    n_files = 200
    for i in range(n_files):
        open(os.path.join(tree, "f%03d" % i), "w").close()
    script = os.path.join(ws, "wipe.py")
    with open(script, "w") as f:
        f.write("import os,sys,time\nd=sys.argv[1]\n"
                "for n in sorted(os.listdir(d)):\n os.unlink(os.path.join(d,n)); time.sleep(0.01)\n")
    agent = fake_agent("%s %s %s; echo rc=$? > %s/rc" % (PY, sq(script), sq(tree), sq(ws)))
    aw = ReducedAgentwatch("send_signal", [agent_spec(agent)],
                           ["--rules", rules_dir(""), "--breaker", "20/5000"]).start()
    st = _check_reduced(aw, ["send_signal"], "nothing is stopped in the kernel")
    eq(st["coverage"].get("breaker"), "late", "status coverage.breaker")
    p = PROCS.spawn([agent], cwd=ws)
    pd = pending_of(aw, lambda x: x.get("rule") == "mass-deletion-breaker", "the breaker")
    eq(procstate(pd["pid"]), "T", "the deleting process is stopped (by the collector)")
    left = len(os.listdir(tree))
    check(0 < n_files - left < n_files, "stopped part way: %d of %d deleted" % (n_files - left, n_files))
    rec = aw.wait_for(lambda r: r.get("type") == "file" and r.get("breaker") is not None,
                      "the breaker's file record")[0]
    eq(rec.get("breaker"), "paused for a human", "what the trip led to")
    check("no in-kernel stop" in (rec.get("reduced") or ""), "the record says it was late: %s" % short(rec))
    check_lineage(rec, p.pid, "breaker record")
    r = aw_cli(aw, "deny", str(pd["id"]))
    eq(r.returncode, 0, "deny (stderr %r)" % r.stderr)
    wait_exit(p, 10, "agent")
    eq(open(os.path.join(ws, "rc")).read().strip(), "rc=137", "the wiping python was killed")
    eq(len(os.listdir(tree)), left, "nothing more deleted after the stop")


@contextlib.contextmanager
def _net_endpoints():
    """A loopback TCP listener and UDP sink for _net_agent: (tcp port, udp port)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        u.bind(("127.0.0.1", 0))
        yield srv.getsockname()[1], u.getsockname()[1]
    finally:
        srv.close()
        u.close()


def _net_agent(ws, port, uport):
    code = ("import socket\ns=socket.socket()\ntry:\n s.connect(('127.0.0.1',%d)); print('connected')\n"
            "except OSError as e: print('errno', e.errno)\n"
            "u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.sendto(b'x', ('127.0.0.1',%d))\n"
            % (port, uport))
    script = os.path.join(ws, "net.py")
    with open(script, "w") as f:
        f.write(code)
    outf = os.path.join(ws, "out")
    return fake_agent("%s %s > %s 2>&1" % (PY, sq(script), sq(outf))), outf


def _check_net_without_hooks(aw, p, port, uport, outf):
    eq(open(outf).read().strip(), "connected", "the connect was not refused (no hook to refuse it)")
    rec = aw.wait_for(lambda r: r.get("type") == "net" and r.get("port") == port, "the connect record")[0]
    check_lineage(rec, p.pid, "net record")
    eq((rec.get("op"), rec.get("protocol"), rec.get("address"), rec.get("result"), rec.get("error")),
       ("connect", "tcp", "127.0.0.1", 0, None), "the connect, from the syscall tracepoints")
    eq((rec.get("verdict"), rec.get("would")), ("allow", "deny"), "the deny rule is reported, not claimed")
    check("a deny rule is reported, not enforced" in (rec.get("reduced") or ""),
          "the record says why: %s" % short(rec))
    u = aw.wait_for(lambda r: r.get("type") == "net" and r.get("port") == uport, "the UDP send record")[0]
    eq((u.get("op"), u.get("protocol"), u.get("result")), ("sendmsg", "udp", 1), "the UDP sendto")


def test_reduced_without_cgroup2_reports_network_from_syscalls():
    """No cgroup v2 hierarchy: no cgroup hooks, so nothing is denied; the
    connect and the UDP send are still reported, with their results, from
    the syscall tracepoints, and a deny rule's record says it was not
    enforced.  The metrics say which features are off."""
    with _net_endpoints() as (port, uport):
        ws = TMP.make("ws")
        agent, outf = _net_agent(ws, port, uport)
        aw = ReducedAgentwatch("cgroup2", [agent_spec(agent)],
                               ["--rules", rules_dir(DENY_PORT_RULE % port),
                                "--metrics", "127.0.0.1:0"]).start()
        st = _check_reduced(aw, ["cgroup2"], "no network deny rules")
        eq((st.get("network_hooks"), st["coverage"].get("net_records"), st["coverage"].get("net_deny")),
           (False, "tracepoint", "off"), "status: hooks, net records, net deny")
        check("loading again" not in aw.stderr(), "decided before the load: one load only")
        links = _links(aw)
        check("handle_sys_enter_connect" in links and "handle_sys_exit_connect" in links
              and "handle_connect4" not in links, "attached: the syscall fallback, no hook: %r"
              % sorted(links))
        p = run_agent(agent, cwd=ws)
        _check_net_without_hooks(aw, p, port, uport, outf)
        _, m = _scrape(_metrics_url(aw))
        eq((m.get('agentwatch_feature{feature="cgroup2"}'), m.get('agentwatch_feature{feature="tp_btf"}')),
           (0.0, 1.0), "the metrics say which features are off")


def test_reduced_cgroup_hooks_that_wont_attach_fall_back_to_syscalls():
    """The cgroup connect/sendmsg hooks load but will not attach: the sensor
    loads once more with the syscall-entry fallback, and goes on."""
    with _net_endpoints() as (port, uport):
        ws = TMP.make("ws")
        agent, outf = _net_agent(ws, port, uport)
        aw = ReducedAgentwatch("cgroup_sock", [agent_spec(agent)],
                               ["--rules", rules_dir(DENY_PORT_RULE % port)]).start()
        check("loading again with the network on syscall tracepoints" in aw.stderr(),
              "the second load is said: %r" % aw.stderr()[-800:])
        st = _check_reduced(aw, ["cgroup_sock"], "no network deny rules")
        eq(st["coverage"].get("net_records"), "tracepoint", "status coverage.net_records")
        links = _links(aw)
        check("handle_sys_enter_connect" in links and "handle_connect4" not in links,
              "attached: the syscall fallback, no hook: %r" % sorted(links))
        p = run_agent(agent, cwd=ws)
        _check_net_without_hooks(aw, p, port, uport, outf)


def test_reduced_without_tp_btf_runs_on_raw_tracepoints():
    """tp_btf refused: exec, fork, exit and signal hooks load as raw_tp
    twins, and nothing is lost: lineage, the in-kernel gate, and a signal
    to the collector reported as tamper."""
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    open(os.path.join(scratch, "keep"), "w").close()
    agent = fake_agent("%s -c %s; /bin/rm -rf %s; kill -CONT $(cat %s); exit 0" % (
        BASH, sq("/bin/ls %s; exit $?" % scratch), sq(scratch), sq(os.path.join(ws, "aw.pid"))))
    aw = ReducedAgentwatch("tp_btf", [agent_spec(agent)], ["--rules", rules_dir(RM_RULE)]).start()
    st = _check_reduced(aw, ["tp_btf"], "run as raw tracepoints instead")
    eq((st["coverage"].get("exec_hooks"), st["coverage"].get("exec_gate")), ("raw_tp", "kernel"),
       "status coverage: raw tracepoints, and the gate still in the kernel")
    check(_xlated_calls(aw, "handle_sched_process_exec_raw", "bpf_send_signal") > 0,
          "the raw exec hook still stops in the kernel")
    links = _links(aw)
    check({"handle_sched_process_exec_raw", "handle_sched_process_fork_raw",
           "handle_sched_process_exit_raw", "handle_signal_generate_raw"} <= links
          and "handle_sched_process_exec" not in links, "attached: the raw twins: %r" % sorted(links))
    with open(os.path.join(ws, "aw.pid"), "w") as f:
        f.write(str(aw.proc.pid))
    p = run_agent(agent, cwd=ws)
    ls = aw.wait_for(is_exec(argv=["/bin/ls", scratch]), "exec record of ls")[0]
    check_lineage(ls, p.pid, "ls")
    eq(len(ls["lineage"]), 3, "agent > bash > ls")
    aw.wait_for(of_pid(ls["pid"], "exit"), "exit record of ls")
    rm = aw.wait_for(is_exec(argv=["/bin/rm", "-rf", scratch]), "exec record of rm")[0]
    eq((rm.get("gated"), rm.get("verdict")), (True, "kill"), "rm gated and killed in the kernel")
    check(os.path.exists(os.path.join(scratch, "keep")), "the rm never ran")
    t = aw.wait_for(lambda r: r.get("type") == "tamper" and r.get("kind") == "signal", "the signal")[0]
    eq((t.get("what"), t.get("target_pid")), ("SIGCONT", aw.proc.pid), "the tamper record")


def test_reduced_without_syscall_tracepoints():
    """No syscall tracepoints: execs and lineage as ever; no file record is
    made up; the cgroup hook reports a connect at once, without a result,
    and still denies."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    try:
        ws = TMP.make("ws")
        victim = os.path.join(TMP.make("scratch"), "victim")
        open(victim, "w").close()
        code = ("import socket\ns=socket.socket()\ntry:\n s.connect(('127.0.0.1',%d)); print('connected')\n"
                "except OSError as e: print('errno', e.errno)" % port)
        outf = os.path.join(ws, "out")
        agent = fake_agent("/bin/rm %s; %s -c \"$(printf %s)\" > %s" % (sq(victim), PY, sq(code), sq(outf)))
        aw = ReducedAgentwatch("syscall_tp", [agent_spec(agent)],
                               ["--rules", rules_dir(DENY_PORT_RULE % port)]).start()
        st = _check_reduced(aw, ["syscall_tp"], "no file records")
        eq((st["coverage"].get("file_records"), st["coverage"].get("net_results"),
            st["coverage"].get("net_deny")), (False, False, "kernel"), "status coverage")
        links = _links(aw)
        check("handle_connect4" in links and not any(l.startswith("handle_sys_") for l in links),
              "attached: the hooks, no syscall tracepoint: %r" % sorted(links))
        p = run_agent(agent, cwd=ws)
        rm = aw.wait_for(is_exec(argv=["/bin/rm", victim]), "exec record of rm")[0]
        check_lineage(rm, p.pid, "rm")
        aw.wait_for(of_pid(rm["pid"], "exit"), "exit record of rm")
        check(not os.path.exists(victim), "the rm ran")
        eq(open(outf).read().split(), ["errno", str(errno.EPERM)], "the hook still denies")
        rec = aw.wait_for(lambda r: r.get("type") == "net" and r.get("port") == port, "net record")[0]
        eq((rec.get("verdict"), rec.get("result"), rec.get("error")), ("deny", None, None),
           "denied in the hook, reported without a result")
        check_lineage(rec, p.pid, "net record")
        check(not aw.records(lambda r: r.get("type") == "file"), "no file record without the tracepoints")
    finally:
        srv.close()


def test_reduced_without_signal_tracepoint():
    """No signal_generate hook: a signal to the collector is not reported
    (and not claimed); a ptrace aimed at it still is."""
    ws = TMP.make("ws")
    code = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "pid = int(open('aw.pid').read())\nos.kill(pid, 18)\nlibc.ptrace(2, pid, None, None)\n")
    with open(os.path.join(ws, "fight.py"), "w") as f:
        f.write(code)
    agent = fake_agent("%s fight.py; exit 0" % PY)
    aw = ReducedAgentwatch("signal_tp", [agent_spec(agent)]).start()
    st = _check_reduced(aw, ["signal_tp"], "not reported as tamper")
    eq((st["coverage"].get("tamper_signals"), st["coverage"].get("tamper_syscalls")), (False, True),
       "status coverage: tamper")
    check(not any("signal_generate" in l for l in _links(aw)), "no signal hook attached")
    with open(os.path.join(ws, "aw.pid"), "w") as f:
        f.write(str(aw.proc.pid))
    p = run_agent(agent, cwd=ws)
    t = aw.wait_for(lambda r: r.get("type") == "tamper" and r.get("kind") == "ptrace", "the ptrace")[0]
    check_lineage(t, p.pid, "tamper record")
    aw.wait_for(of_pid(p.pid, "exit"), "the agent's exit record")
    check(not aw.records(lambda r: r.get("type") == "tamper" and r.get("kind") == "signal"),
          "no signal record without the hook")


def test_reduced_takeover_inherits_what_the_pinned_programs_lack():
    """A collector that takes over pinned programs loaded without
    bpf_send_signal and cgroup v2 runs with what they can do, whatever its
    own kernel has: it says it is reduced and claims no gate."""
    ws = TMP.make("ws")
    scratch = TMP.make("scratch")
    open(os.path.join(scratch, "f"), "w").close()
    agent = fake_agent("/bin/rm -rf %s; exit 0" % sq(scratch))
    extra = ["--rules", rules_dir(RM_RULE)]
    aw = ReducedAgentwatch("send_signal,cgroup2", [agent_spec(agent)], extra).start()
    os.kill(aw.proc.pid, signal.SIGKILL)
    wait_exit(aw.proc, 5, "killed agentwatch")
    aw.proc.wait(timeout=5)
    aw.rc = 0  # killed on purpose
    aw2 = _successor(aw, [agent_spec(agent)], extra).start()   # no AGENTWATCH_TEST_DISABLE
    err = aw2.stderr()
    check("taking over the programs pinned in" in err, "a takeover: %r" % err[-800:])
    for n in ("send_signal", "cgroup2"):
        check("reduced mode: %s off (as the pinned programs were loaded" % n in err,
              "stderr says %s is off, inherited: %r" % (n, err[-1500:]))
    st = _status(aw2)
    eq(sorted(st.get("reduced") or []), ["cgroup2", "send_signal"], "status reduced")
    eq((st["coverage"].get("exec_gate"), st.get("network_hooks")), ("late", False),
       "status: no kernel gate, no hooks")
    p = run_agent(agent, cwd=ws)
    rm = aw2.wait_for(is_exec(argv=["/bin/rm", "-rf", scratch]), "exec record of rm")[0]
    check_lineage(rm, p.pid, "rm")
    check(rm.get("gated") is not True and "no in-kernel exec gate" in (rm.get("reduced") or ""),
          "the successor claims no gate: %s" % short(rm))
    aw2.stop()


def test_reduced_required_feature_missing_fails_with_the_kernel_requirement():
    """No mode runs without the ring buffer, BTF or bpf_loop: agentwatch
    exits 1 at once, names what the kernel lacks and the requirement, and
    leaves no pins behind."""
    cases = [("ringbuf", "the BPF ring buffer (Linux 5.8 or later)"),
             ("btf", "CONFIG_DEBUG_INFO_BTF=y"),
             ("bpf_loop", "bpf_loop() helper (Linux 5.17 or later)")]
    for name, needs in cases:
        aw = Agentwatch()
        INSTANCES.append(aw)   # cleanup of its pin dir, should it exist
        env = dict(os.environ, AGENTWATCH_TEST_DISABLE=name)
        r = run_cmd(aw.argv, timeout=START_TIMEOUT, env=env)
        err = r.stderr.decode()
        eq(r.returncode, 1, "%s: exit status (stderr %r)" % (name, err[-800:]))
        check("cannot run on this kernel: it needs" in err and needs in err,
              "%s: stderr names the requirement %r: %r" % (name, needs, err[-800:]))
        check("no mode can run" in err, "%s: stderr says nothing can run: %r" % (name, err[-800:]))
        check("agentwatch: watching" not in err, "%s: never claimed to watch" % name)
        check(not os.path.exists(aw.pin_dir), "%s: no pins left in %s" % (name, aw.pin_dir))
    # a typo in the hook is refused, not silently ignored
    aw = Agentwatch()
    r = run_cmd(aw.argv, timeout=START_TIMEOUT, env=dict(os.environ, AGENTWATCH_TEST_DISABLE="cgroupv2"))
    eq(r.returncode, 2, "unknown feature name: exit status")
    check(b"unknown feature 'cgroupv2'" in r.stderr, "names the typo: %r" % r.stderr)


def test_reduced_doctor_says_what_each_missing_feature_costs():
    """doctor, on the same hook: an optional feature missing is a warning
    saying what run will do without it; a required one fails."""
    args = [AGENTWATCH, "doctor", "--json", "--log-dir", TMP.make("log"), "--state-dir",
            TMP.make("state"), "--pin-dir", "/sys/fs/bpf/nonexistent-aw"]
    r = run_cmd(args, env=dict(os.environ, AGENTWATCH_TEST_DISABLE="send_signal,cgroup2,tp_btf"))
    rep = json.loads(r.stdout.decode())
    checks = {c["check"]: c for c in rep["checks"]}
    for name, words in (("helpers", "nothing is stopped in the kernel"),
                        ("cgroup v2", "no network deny rules"),
                        ("tp_btf programs", "raw tracepoints instead")):
        c = checks.get(name) or {}
        eq(c.get("level"), "warn", "doctor %s level" % name)
        check("starts reduced" in c.get("detail", "") and words in c.get("detail", ""),
              "doctor %s says what degrades: %r" % (name, c))
    eq((rep["ok"], r.returncode), (True, 0), "optional features missing: doctor still ok")
    r = run_cmd(args, env=dict(os.environ, AGENTWATCH_TEST_DISABLE="ringbuf"))
    rep = json.loads(r.stdout.decode())
    c = {c["check"]: c for c in rep["checks"]}["ring buffer"]
    eq(c["level"], "fail", "no ring buffer fails the doctor")
    check("Linux 5.8" in c["detail"], "and names the kernel requirement: %r" % c)
    eq((rep["ok"], r.returncode), (False, 1), "doctor without a ring buffer")


if __name__ == "__main__":
    sys.exit(main())
