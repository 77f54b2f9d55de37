#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""End-to-end tests: the real Claude Code, Codex CLI and Gemini CLI, each
driven by a scripted model server on loopback, watched and stopped by
agentwatch with its default signatures and rules.

Setup (needs the npm registry, or a warm cache):
  Each CLI is installed from npm at the exact version its dialect module
  pins (tests/e2e/dialect_*.py) into a cache directory the runs reuse:
  $AW_E2E_CACHE, or ~/.cache/agentwatch-e2e.  When a CLI is not cached and
  the registry cannot be reached, the run prints why and runs no test.

Isolation:
  After the install, this process moves itself into a new network namespace
  that has only a loopback interface, and everything it starts inherits it:
  the model servers (threads of this process), the agents and agentwatch.
  No request can leave the machine.  agentwatch's cgroup hooks are attached
  to the cgroup root, which is the same in every network namespace.

Safety:
  agentwatch runs with the real signatures and rules in enforce mode, but
  with --within <this process>: sessions open only for agents this run
  started.  An agent running elsewhere on the machine is never paused or
  killed.  Every process a test starts is killed by pid at its end.

usage: python3 tests/e2e/run.py [NAME-SUBSTRING]
env:   AGENTWATCH=path   binary under test (default ./agentwatch)
       AW_E2E_CACHE=dir  where the CLIs are installed
       AW_E2E_AGENTS=claude,codex,gemini   which agents to run
       AW_E2E_ARTIFACTS=dir  where a run that timed out leaves its output,
                         the model's requests and agentwatch's records
Prints `ok NAME` / `FAIL NAME: reason` per test and a closing line
`N passed, N failed`.
"""

import ctypes
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

# The integration tests' machinery: Agentwatch instances, process and temp
# dir tracking, bounded waits, per-test timeouts and cleanup.
_spec = importlib.util.spec_from_file_location("awit", os.path.join(REPO, "tests", "integration", "run.py"))
it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(it)
Fail, Skip, check, eq, short, sq = it.Fail, it.Skip, it.check, it.eq, it.short, it.sq
PROCS, TMP = it.PROCS, it.TMP
AGENTWATCH = it.AGENTWATCH

it.TEST_TIMEOUT = float(os.environ.get("AW_TEST_TIMEOUT", "240"))
AGENT_TIMEOUT = 120.0      # one agent run, start to exit
PENDING_TIMEOUT = 90.0     # a paused command shows up in `agentwatch pending`

CACHE = os.path.abspath(os.environ.get("AW_E2E_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "agentwatch-e2e"))
RULES = os.path.join(REPO, "rules")
ARTIFACTS = os.environ.get("AW_E2E_ARTIFACTS", "/tmp/agentwatch-e2e-artifacts")
AGENT_NAMES = [a for a in os.environ.get("AW_E2E_AGENTS", "claude,codex,gemini").split(",") if a]


# ---- the CLIs ----------------------------------------------------------------


class Cli:
    """One agent CLI: its dialect module, and where npm installed it."""

    def __init__(self, name):
        self.name = name
        self.mod = importlib.import_module("dialect_" + name)
        self.package, self.version, self.binname = self.mod.PACKAGE, self.mod.VERSION, self.mod.BIN
        self.prefix = os.path.join(CACHE, "%s@%s" % (self.package.replace("/", "+"), self.version))
        self.bin = os.path.join(self.prefix, "node_modules", ".bin", self.binname)
        self.model_class = next(getattr(self.mod, n) for n in dir(self.mod)
                                if n.endswith("Model") and n != "ScriptedModel")

    def installed(self):
        return os.access(self.bin, os.X_OK) and os.path.exists(os.path.join(self.prefix, ".complete"))

    def install(self):
        """npm install PACKAGE@VERSION into the cache (once); checks the
        installed CLI reports that version."""
        if not self.installed():
            os.makedirs(self.prefix, exist_ok=True)
            r = subprocess.run(["npm", "install", "--prefix", self.prefix, "--no-audit", "--no-fund",
                                "--no-save", "--loglevel=error", "%s@%s" % (self.package, self.version)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=600)
            if r.returncode != 0:
                raise RuntimeError("npm install %s@%s failed: %s" % (
                    self.package, self.version, r.stdout.decode(errors="replace")[-1500:]))
            open(os.path.join(self.prefix, ".complete"), "w").close()
        r = subprocess.run([self.bin, "--version"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60, env=self.env({"HOME": TMP_HOME}))
        out = r.stdout.decode(errors="replace")
        if self.version not in out:
            raise RuntimeError("%s --version printed %r, expected %s" % (self.bin, out.strip()[:300],
                                                                        self.version))
        return out.strip().splitlines()[-1] if out.strip() else self.version

    def env(self, extra):
        env = {
            "PATH": os.pathsep.join([os.path.dirname(self.bin), os.path.dirname(os.path.realpath(
                shutil.which("node") or "/usr/bin/node")), "/usr/local/sbin", "/usr/local/bin",
                "/usr/sbin", "/usr/bin", "/sbin", "/bin"]),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "USER": "root",
            "LOGNAME": "root",
            "SHELL": "/bin/bash",
            "NO_COLOR": "1",
            "CI": "1",
        }
        env.update(extra)
        return env


TMP_HOME = "/nonexistent"
CLIS = {}


def registry_reachable():
    try:
        r = subprocess.run(["npm", "ping", "--loglevel=error"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        return r.returncode == 0, r.stdout.decode(errors="replace").strip()[-300:]
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)


# ---- isolation -----------------------------------------------------------------


CLONE_NEWNET = 0x40000000


def enter_private_netns():
    """This process (and all it starts from now on) in a network namespace
    with only a loopback interface."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise RuntimeError("unshare(CLONE_NEWNET): %s" % os.strerror(e))
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    r = subprocess.run(["ip", "-o", "link"], stdout=subprocess.PIPE, timeout=10, check=True)
    links = [l.split(":")[1].strip() for l in r.stdout.decode().splitlines()]
    if links != ["lo"]:
        raise RuntimeError("private netns has links %r, expected only lo" % links)


# ---- one agent run -------------------------------------------------------------


class Run:
    """One agent, one scripted command, one agentwatch watching it."""

    def __init__(self, agent, command, aw=None, setup=None, final_text=None):
        self.cli = CLIS[agent]
        self.agent = agent
        self.model = self.cli.model_class(command, final_text or "Finished: e2e %s." % agent)
        self.home = TMP.make("home")
        self.ws = TMP.make("ws")
        self.out_path = os.path.join(TMP.make("out"), "agent.out")
        if setup:
            setup(self)
        self.aw = aw
        self.proc = None
        self.rc = None

    def start(self):
        self.model.start()
        tail, env = self.cli.mod.prepare(self.home, self.ws, self.model.url)
        self.argv = [self.cli.bin] + tail
        self._out = open(self.out_path, "wb")
        self.proc = PROCS.spawn(self.argv, cwd=self.ws, env=self.cli.env(env), stdout=self._out,
                                stderr=subprocess.STDOUT)
        return self

    def output(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait(self, timeout=AGENT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = it.exited(self.proc)
            if rc is not None:
                self.rc = rc
                self.model.stop()
                return rc
            time.sleep(0.1)
        where = self.keep_artifacts("timeout")
        raise Fail("%s did not finish within %.0fs; tool calls %d, results %d (kept in %s); its output: %s"
                   % (self.agent, timeout, self.model.tool_calls, len(self.model.tool_results),
                      where, self.output()[-1500:]))

    def keep_artifacts(self, why):
        """What a failed run leaves for a human: the agent's output, every
        request the model saw, agentwatch's records and a process listing."""
        d = os.path.join(ARTIFACTS, "%s-%d-%s" % (self.agent, os.getpid(), it.unique(why)))
        try:
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "agent.out"), "w") as f:
                f.write(self.output())
            with open(os.path.join(d, "requests.json"), "w") as f:
                json.dump({"requests": self.model.requests, "unknown": self.model.unknown,
                           "tool_results": self.model.tool_results}, f, indent=1, default=str)
            if self.aw:
                with open(os.path.join(d, "agentwatch.jsonl"), "w") as f:
                    for r in self.aw.records():
                        f.write(json.dumps({k: v for k, v in r.items() if k != "_raw"}) + "\n")
            with open(os.path.join(d, "ps.txt"), "w") as f:
                f.write(it.run_cmd(["ps", "-eo", "pid,ppid,pgid,sid,stat,etime,args", "--forest"]).stdout
                        .decode(errors="replace"))
        except OSError as e:
            return "nowhere (%s)" % e
        return d

    def expect_finished(self):
        """The agent exited 0 after the model's final answer."""
        rc = self.wait()
        check(self.model.tool_calls >= 1, "%s never asked for the tool call (requests: %s; unknown: %s)"
              % (self.agent, [r["path"] for r in self.model.requests], self.model.unknown))
        check(self.model.tool_results, "%s never sent the tool result back; output: %s"
              % (self.agent, self.output()[-1500:]))
        eq(rc, 0, "%s exit status (output: %s)" % (self.agent, self.output()[-800:]))
        check(self.model.final_text in self.output(),
              "%s did not print the model's final answer; output: %s" % (self.agent, self.output()[-800:]))
        return rc

    def result_text(self):
        return "\n".join(self.model.tool_results)


def watch(extra=()):
    """agentwatch with the real signatures and the default rules, in enforce
    mode, scoped to this run's process tree."""
    aw = it.Agentwatch(extra=["--rules", RULES, "--within", str(os.getpid())] + list(extra),
                       default_agents=True)
    return aw.start()


def session_exec(aw, pred, what, timeout=30.0):
    return aw.wait_for(lambda r: r.get("type") == "exec" and r.get("session") and pred(r), what,
                       timeout=timeout)[0]


def argv_is(*argv):
    return lambda r: r.get("argv") == list(argv)


def lineage_str(rec):
    return " -> ".join("%s[%s]" % (os.path.basename(l.get("exe") or "?"), l.get("pid"))
                       for l in rec.get("lineage", []))


def check_attributed(run, rec):
    """Scenario 1's attribution check: the session was opened by the agent's
    real signature, and the lineage runs from the agent's root process
    through its real intermediate processes to the command."""
    a = rec.get("attribution") or {}
    eq(rec.get("agent"), run.agent, "agent the command is attributed to (%s)" % short(rec, 400))
    eq(a.get("reason"), "signature", "how the session was opened")
    eq(rec.get("lineage_complete"), True, "lineage complete")
    lin = rec["lineage"]
    check(len(lin) >= 3, "lineage agent -> shell -> command has at least 3 links: %s" % lineage_str(rec))
    eq(lin[-1]["pid"], rec["pid"], "lineage ends at the command")
    eq(lin[0]["pid"], a.get("root_pid"), "lineage starts at the session root")
    # The root is a process of the agent's own program, started by the test.
    root = aw_exec_of(run.aw, lin[0]["pid"])
    check(root is not None and root.get("session_start") is True,
          "the session root's exec opened the session: %s" % short(root, 300))
    check(root["ppid"] == run.proc.pid or root["pid"] == run.proc.pid
          or run.proc.pid in [l["pid"] for l in lin],
          "the session root descends from the agent process the test started (%d): %s"
          % (run.proc.pid, lineage_str(rec)))
    shells = [os.path.basename(l.get("exe") or "") for l in lin[1:-1]]
    check(any(s in ("bash", "sh", "dash", "zsh") for s in shells),
          "a shell between the agent and the command: %s" % lineage_str(rec))
    return lin


def aw_exec_of(aw, pid):
    """The first exec record of pid: a `#!/usr/bin/env node` launcher execs
    twice in the same pid (the script, then node), and the first opened the
    session."""
    got = aw.records(lambda r: r.get("type") == "exec" and r.get("pid") == pid)
    return got[0] if got else None


def human_verdict(aw, pid, verdict):
    v = aw.wait_for(lambda r: r.get("type") == "verdict" and r.get("pid") == pid,
                    "the verdict record of pid %d" % pid)[0]
    eq((v.get("verdict"), (v.get("decided_by") or "")[:5]), (verdict, "human"),
       "verdict record (verdict, decided by)")
    return v


def pending(aw, pred, what, timeout=PENDING_TIMEOUT):
    return it.pending_of(aw, pred, what, timeout=timeout)


def blocking_verdicts(aw, except_pids=()):
    """Records where agentwatch acted (or would have) on a session process."""
    bad = []
    for r in aw.records(lambda r: r.get("session")):
        if r.get("pid") in except_pids:
            continue
        if r.get("verdict") not in (None, "allow", "log") or r.get("type") in ("tamper",):
            bad.append(r)
        elif r.get("rules") and any(h.get("action") not in ("log", "alert") for h in r["rules"]):
            bad.append(r)
    return bad


def outside_connects(aw):
    """Connections a session tried to anything but loopback."""
    out = []
    for r in aw.records(lambda r: r.get("type") == "net" and r.get("session")):
        addr = str(r.get("addr") or r.get("daddr") or "")
        if not (addr.startswith("127.") or addr in ("::1", "") or addr.startswith("/")):
            out.append(r)
    return out


def make_files(d, n, prefix="f"):
    for i in range(n):
        with open(os.path.join(d, "%s%04d" % (prefix, i)), "w") as f:
            f.write("keep %d\n" % i)


INFO = []


def info(msg):
    INFO.append(msg)
    print("# " + msg, flush=True)


# ---- the scenarios, for each agent ------------------------------------------


def scenario_benign(agent):
    """1. A benign command runs and is attributed to the right agent by its
    real signature, with the real lineage."""
    marker = it.unique("note")
    cmd = "cat %s.txt && uname -s" % marker

    def setup(run):
        with open(os.path.join(run.ws, marker + ".txt"), "w") as f:
            f.write("the note says %s\n" % marker)

    aw = watch()
    run = Run(agent, cmd, aw=aw, setup=setup).start()
    run.expect_finished()
    check("the note says %s" % marker in run.result_text() and "Linux" in run.result_text(),
          "the command's output reached the model: %r" % run.result_text()[:600])
    rec = session_exec(aw, argv_is("cat", marker + ".txt"), "exec record of the benign cat")
    lin = check_attributed(run, rec)
    eq(rec.get("verdict") in (None, "allow"), True, "benign command's verdict (%s)" % rec.get("verdict"))
    info("%s lineage: %s" % (agent, lineage_str(rec)))
    check(not outside_connects(aw), "%s tried to reach beyond loopback: %s"
          % (agent, [short(r, 200) for r in outside_connects(aw)]))
    return lin


def scenario_destructive(agent):
    """2. rm -r of a scratch directory outside the workspace is stopped
    before it runs; the directory is intact; the tool result the model gets
    carries agentwatch's explanation line.  (`rm -r`, not `rm -rf`: Codex
    refuses "rm -f style commands" itself, on the command's text, and lets
    `rm -r` through.  agentwatch judges what runs, whatever it is spelled.)"""
    scratch = TMP.make("scratch")
    make_files(scratch, 20)
    aw = watch()
    run = Run(agent, "rm -r %s" % scratch, aw=aw).start()
    try:
        p = pending(aw, lambda x: x.get("rule") == "fs-rm-outside-workspace",
                    "the rm -rf outside the workspace")
    except Fail as e:
        rms = aw.records(lambda r: r.get("type") == "exec" and scratch in " ".join(r.get("argv") or []))
        raise Fail("%s; the execs that name the scratch dir: %s; scratch now holds %d files"
                   % (e, [short(r, 700) for r in rms], len(os.listdir(scratch))))
    eq(sorted(os.listdir(scratch)), ["f%04d" % i for i in range(20)], "scratch while rm is paused")
    r = it.aw_cli(aw, "deny", str(p["id"]))
    eq(r.returncode, 0, "agentwatch deny (%r)" % r.stderr)
    run.expect_finished()
    eq(sorted(os.listdir(scratch)), ["f%04d" % i for i in range(20)], "scratch after the deny")
    rec = session_exec(aw, lambda r: r.get("argv", [None])[0] == "rm" and scratch in r.get("argv", []),
                       "exec record of the rm")
    eq((rec.get("agent"), rec.get("verdict"), rec.get("pid")), (agent, "pause", p["pid"]),
       "the rm's agent, verdict and pid")
    human_verdict(aw, rec["pid"], "kill")
    check(not aw.records(lambda r: r.get("type") == "file" and r.get("pid") == rec["pid"]),
          "the denied rm made no file syscall")
    res = run.result_text()
    check("agentwatch:" in res and "fs-rm-outside-workspace" in res,
          "the tool result the model received carries agentwatch's explanation: %r" % res[:800])
    info("%s tool result: %s" % (agent, [l for l in res.splitlines() if "agentwatch" in l][:1]))


def git_repo(run):
    """The workspace as a git clone of a bare repository in the temp dir."""
    bare = TMP.make("origin")
    env = dict(os.environ, HOME=run.home, GIT_CONFIG_NOSYSTEM="1")
    for argv in (["git", "init", "-q", "--bare", "-b", "main", bare],
                 ["git", "-C", run.ws, "init", "-q", "-b", "main"],
                 ["git", "-C", run.ws, "config", "user.email", "e2e@example.invalid"],
                 ["git", "-C", run.ws, "config", "user.name", "e2e"],
                 ["git", "-C", run.ws, "remote", "add", "origin", bare],
                 ["git", "-C", run.ws, "commit", "-q", "--allow-empty", "-m", "one"],
                 ["git", "-C", run.ws, "push", "-q", "origin", "main"],
                 ["git", "-C", run.ws, "commit", "-q", "--amend", "--allow-empty", "-m", "rewritten"]):
        r = it.run_cmd(argv, env=env)
        check(r.returncode == 0, "%s: %s" % (argv, r.stderr.decode(errors="replace")))
    run.bare = bare
    run.rewritten = it.run_cmd(["git", "-C", run.ws, "rev-parse", "HEAD"], env=env).stdout.decode().strip()


def scenario_pause(agent):
    """3. git push --force waits for a human; `agentwatch allow` releases it;
    the push lands and the agent finishes normally."""
    aw = watch()
    run = Run(agent, "git push --force origin main", aw=aw, setup=git_repo).start()
    p = pending(aw, lambda x: x.get("rule") == "git-push-force", "the forced push")
    head = it.run_cmd(["git", "--git-dir", run.bare, "rev-parse", "main"]).stdout.decode().strip()
    check(head != run.rewritten, "the push did not land while paused")
    r = it.aw_cli(aw, "allow", str(p["id"]))
    eq(r.returncode, 0, "agentwatch allow (%r)" % r.stderr)
    run.expect_finished()
    head = it.run_cmd(["git", "--git-dir", run.bare, "rev-parse", "main"]).stdout.decode().strip()
    eq(head, run.rewritten, "origin's main after the allowed forced push")
    rec = session_exec(aw, lambda r: r.get("argv", [])[:2] == ["git", "push"], "exec record of the push")
    eq((rec.get("agent"), rec.get("verdict"), rec.get("pid")), (agent, "pause", p["pid"]),
       "the push's agent, verdict and pid")
    human_verdict(aw, rec["pid"], "allow")
    check("agentwatch" not in run.result_text(), "no block message for an allowed push: %r"
          % run.result_text()[:400])


def scenario_script(agent):
    """4. The agent writes a Python script that deletes a directory outside
    the workspace file by file, and runs it: the file rules stop it after a
    handful of deletions."""
    scratch = TMP.make("scratch")
    make_files(scratch, 200)
    script = ("cat > cleanup.py <<'EOF'\n"
              "import os, sys\n"
              "d = sys.argv[1]\n"
              "for n in sorted(os.listdir(d)):\n"
              "    os.unlink(os.path.join(d, n))\n"
              "print('cleaned', d)\n"
              "EOF\n"
              "python3 cleanup.py %s" % scratch)
    aw = watch()
    run = Run(agent, script, aw=aw).start()
    p = pending(aw, lambda x: True, "a pause of the deleting script")
    left = len(os.listdir(scratch))
    r = it.aw_cli(aw, "deny", str(p["id"]))
    eq(r.returncode, 0, "agentwatch deny (%r)" % r.stderr)
    run.expect_finished()
    left2 = len(os.listdir(scratch))
    eq(left2, left, "files left after the deny vs while paused")
    check(left >= 150, "the script was stopped early: %d of 200 files left" % left)
    res = run.result_text()
    check("agentwatch:" in res, "the explanation reached the model: %r" % res[:800])
    check("cleaned" not in res, "the script did not finish: %r" % res[:400])
    info("%s: script stopped with %d of 200 files left by %s" % (agent, left, p.get("rule")))


def scenario_noise(agent):
    """5. The agent's start-up noise (profile scripts, version checks, git
    probes, temp-file cleanup) produces no block: a benign run in a git
    workspace with a login profile leaves no verdict but allow or log."""

    def setup(run):
        git_repo(run)
        with open(os.path.join(run.home, ".bashrc"), "w") as f:
            f.write("export E2E_PROFILE=1\nalias ll='ls -l'\n")
        with open(os.path.join(run.home, ".profile"), "w") as f:
            f.write(". ~/.bashrc\n")

    aw = watch()
    run = Run(agent, "git status --short && ls -la", aw=aw, setup=setup).start()
    run.expect_finished()
    session_exec(aw, lambda r: r.get("argv", [])[:2] == ["git", "status"], "exec of git status")
    execs = aw.records(lambda r: r.get("type") == "exec" and r.get("session"))
    bad = blocking_verdicts(aw)
    check(not bad, "start-up noise was acted on: %s" % [short({k: v for k, v in r.items() if k not in ("lineage", "attribution")}, 1200) for r in bad[:5]])
    r = it.aw_cli(aw, "pending", "--json")
    check(json.loads(r.stdout.decode()).get("pending") == [], "nothing pending after a benign run")
    progs = sorted({os.path.basename(r.get("exe") or "?") for r in execs})
    info("%s: %d execs in the session, programs: %s" % (agent, len(execs), " ".join(progs)))


def tmux(sock, *args, timeout=10):
    return it.run_cmd(["tmux", "-L", sock, "-f", "/dev/null"] + list(args), timeout=timeout)


def scenario_watch(agent):
    """The human side: `agentwatch watch` in a real terminal (a tmux pane).
    The agent's forced push shows up with its lineage and rule; one key (a)
    approves it; the push lands and the agent finishes."""
    if not shutil.which("tmux"):
        raise Skip("tmux is not installed")
    aw = watch()
    sock = it.unique("tmux")
    r = tmux(sock, "new-session", "-d", "-x", "220", "-y", "50", "-s", "review",
             "env TERM=xterm-256color %s watch --control %s" % (sq(AGENTWATCH), sq(aw.control)))
    eq(r.returncode, 0, "tmux new-session (%r)" % r.stderr)
    try:
        run = Run(agent, "git push --force origin main", aw=aw, setup=git_repo).start()
        screen = ""
        deadline = time.monotonic() + PENDING_TIMEOUT
        while time.monotonic() < deadline:
            screen = tmux(sock, "capture-pane", "-p", "-t", "review").stdout.decode(errors="replace")
            if "git-push-force" in screen and "lineage:" in screen and "git push --force" in screen:
                break
            if it.exited(run.proc) is not None:
                raise Fail("%s exited before the push showed up in watch: %s" % (agent, run.output()[-800:]))
            time.sleep(0.2)
        else:
            raise Fail("the paused push never showed in the watch pane; screen:\n%s" % screen)
        lin = [l for l in screen.splitlines() if "lineage:" in l][0]
        p = pending(aw, lambda x: x.get("rule") == "git-push-force", "the forced push")
        root = p["lineage"][0]["pid"]
        check(re.search(r" %s pid %d \[git-push-force\]" % (agent, p["pid"]), screen),
              "the pane names the agent, the pid and the rule:\n%s" % screen)
        check(re.search(r"lineage: \S+ %d > .* > git %d" % (root, p["pid"]), lin),
              "the lineage in the pane runs from the session root %d to the push %d: %r"
              % (root, p["pid"], lin))
        eq(aw_exec_of(aw, root).get("session_start"), True, "the pane's first process opened the session")
        info("%s in watch: %s" % (agent, lin.strip()))
        SCREENS[agent] = screen
        r = tmux(sock, "send-keys", "-t", "review", "a")
        eq(r.returncode, 0, "tmux send-keys")
        run.expect_finished()
        head = it.run_cmd(["git", "--git-dir", run.bare, "rev-parse", "main"]).stdout.decode().strip()
        eq(head, run.rewritten, "origin's main after the push approved in watch")
        rec = session_exec(aw, lambda r: r.get("argv", [])[:2] == ["git", "push"], "exec record of the push")
        human_verdict(aw, rec["pid"], "allow")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            screen = tmux(sock, "capture-pane", "-p", "-t", "review").stdout.decode(errors="replace")
            if "-- pending (0) --" in screen:
                break
            time.sleep(0.2)
        check("-- pending (0) --" in screen, "the pane shows nothing pending after the approval:\n%s" % screen)
    finally:
        tmux(sock, "kill-server")


SCREENS = {}


# ---- test functions, one per agent and scenario --------------------------------

SCENARIOS = [("benign", scenario_benign), ("destructive", scenario_destructive),
             ("pause", scenario_pause), ("script_delete", scenario_script),
             ("startup_noise", scenario_noise), ("watch_tmux", scenario_watch)]


def make_tests():
    tests = []
    for agent in AGENT_NAMES:
        for sname, fn in SCENARIOS:
            tests.append(("test_%s_%s" % (agent, sname), (lambda a=agent, f=fn: f(a))))
    return tests


def main():
    flt = sys.argv[1] if len(sys.argv) > 1 else ""
    rc = it.preflight("e2e tests")
    if rc is not None:
        return rc
    tests = [(n, f) for n, f in make_tests() if flt in n]
    wanted = sorted({n.split("_")[1] for n, _ in tests})
    # Install (or find cached) every CLI a selected test needs.
    global TMP_HOME
    TMP_HOME = TMP.make("vhome")
    missing = []
    for a in wanted:
        try:
            CLIS[a] = Cli(a)
        except ImportError as e:
            return it.setup_failed("no dialect for %s: %s" % (a, e))
        if not CLIS[a].installed():
            missing.append(a)
    if missing:
        ok, why = registry_reachable()
        if not ok:
            print("skip: the npm registry is unreachable (%s) and %s not cached in %s; no test run"
                  % (why or "npm ping failed", ", ".join(missing), CACHE))
            print("0 passed, 0 failed")
            return 0
    for a in wanted:
        try:
            v = CLIS[a].install()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            return it.setup_failed("%s: %s" % (a, e))
        print("# %s: %s@%s (%s)" % (a, CLIS[a].package, CLIS[a].version, v), flush=True)
    try:
        enter_private_netns()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        return it.setup_failed(str(e))
    print("agentwatch e2e tests: %s (%d tests; network: loopback only)" % (AGENTWATCH, len(tests)),
          flush=True)
    return it.run_tests(tests, after=TMP.cleanup)


if __name__ == "__main__":
    sys.exit(main())
