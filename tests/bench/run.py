#!/usr/bin/env python3
"""make bench: exec storm cost with no sensor and with agentwatch attached.

Configurations alternate A B A B ... within one run so that drift on a noisy
machine hits all of them alike.  Prints the median (and min-max) ns per
fork+exec+wait of /bin/true and each ratio to the no-sensor baseline, for a
process outside any session and for one inside an agent session.
"""
import os, shutil, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AW = os.path.join(ROOT, "agentwatch")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
N = int(os.environ.get("BENCH_EXECS", "3000"))
LOG_RECORDS = int(os.environ.get("BENCH_LOG_RECORDS", "1000000"))
ONLY = os.environ.get("BENCH_ONLY", "")   # "exec" or "queries": one part
MKLOG = os.path.join(ROOT, ".output", "bench", "mklog")


def build_storm(tmp):
    exe = os.path.join(tmp, "execstorm")
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(ROOT, "tests/bench/execstorm.c")], check=True)
    return exe


def storm(cmd, prog=None):
    args = cmd + [str(N)] + ([prog] if prog else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=600)
    return float(out.stdout.strip())


GATE_RULES = """
# gates the benchmark's own binary; never matches, so every exec is allowed
rule bench-gate
  action pause
  binary awgated
  arg *never-matches*
"""


def start_aw(tmp, agent, rules=None):
    log = open(os.path.join(tmp, "aw.err"), "w")
    extra = ["--rules", rules] if rules else []
    p = subprocess.Popen([AW, "run", "--json", "-o", "/dev/null", "--no-default-agents"] + extra + [
                          "--agent", f"{agent}:{agent}", "--pin-dir", f"/sys/fs/bpf/aw-bench-{os.getpid()}",
                          "--state-dir", os.path.join(tmp, "state"),
                          "--control", os.path.join(tmp, "ctl", "control.sock"),
                          "--log-dir", os.path.join(tmp, "log")],
                         stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        if p.poll() is not None:
            sys.exit("agentwatch failed to start: " + open(log.name).read())
        if "watching" in open(log.name).read():
            return p
        time.sleep(0.05)
    p.kill()
    sys.exit("agentwatch did not become ready")


def stop_aw(p, tmp):
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    err = open(os.path.join(tmp, "aw.err")).read()
    return [l for l in err.splitlines() if "counters:" in l]


def timed(argv):
    """Wall seconds, CPU seconds, peak RSS (KiB; the forked Python counts
    too, so not reported) and stdout of one command."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        sys.exit("%s failed with %d" % (" ".join(argv), p.returncode))
    return time.monotonic() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, out


def bench_queries(tmp):
    """The audit log queries over a log of LOG_RECORDS records (gzipped
    segments, as a long-running collector leaves them)."""
    log = os.path.join(tmp, "biglog")
    wall, cpu, rss, out = timed([MKLOG, log, str(LOG_RECORDS), str(max(1, LOG_RECORDS // 500))])
    sess, n = out.decode().split()
    size = sum(os.path.getsize(os.path.join(log, f)) for f in os.listdir(log))
    print(f"log queries over {int(n):,} records ({size / 2**20:.0f} MiB on disk, "
          f"{len(os.listdir(log))} segments; written in {wall:.1f} s = {int(n) / wall:,.0f} records/s "
          f"with the hash chain and gzip)")
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
        wall, cpu, rss, out = timed([AW, "log"] + args + ["--log-dir", log])
        lines = out.count(b"\n")
        print(f"  {label:24s} {wall:6.2f} s  ({int(n) / wall / 1e6:5.2f} M records/s, "
              f"cpu {cpu:.2f} s, {lines} lines out)")
    shutil.rmtree(log, ignore_errors=True)


def fmt(vals):
    return f"{statistics.median(vals):8.0f} ns  ({min(vals):.0f}-{max(vals):.0f})"


def main():
    if os.geteuid() != 0:
        sys.exit("make bench needs root")
    if not os.path.exists(AW):
        sys.exit("build agentwatch first")
    tmp = tempfile.mkdtemp(prefix="aw-bench-")
    try:
        if ONLY in ("", "queries"):
            bench_queries(tmp)
        if ONLY == "queries":
            return
        storm_exe = build_storm(tmp)
        agent = f"awbench{os.getpid()}"
        agent_exe = os.path.join(tmp, agent)
        os.symlink(storm_exe, agent_exe)  # exec through this name opens a session
        res = {"none/outside": [], "agentwatch/outside": [], "none/session": [], "agentwatch/session": [],
               "none/gated": [], "agentwatch/gated": []}
        rules = os.path.join(tmp, "rules")
        os.mkdir(rules)
        with open(os.path.join(rules, "bench.rules"), "w") as f:
            f.write(GATE_RULES)
        gated = os.path.join(tmp, "awgated")
        shutil.copy("/bin/true", gated)
        counters = []
        storm([storm_exe]); storm([agent_exe]); storm([agent_exe], gated)  # warm caches
        for r in range(ROUNDS):
            res["none/outside"].append(storm([storm_exe]))
            res["none/session"].append(storm([agent_exe]))
            res["none/gated"].append(storm([agent_exe], gated))
            p = start_aw(tmp, agent, rules)
            res["agentwatch/outside"].append(storm([storm_exe]))
            res["agentwatch/session"].append(storm([agent_exe]))
            res["agentwatch/gated"].append(storm([agent_exe], gated))
            counters = stop_aw(p, tmp)
            print(f"round {r + 1}/{ROUNDS} done", file=sys.stderr)
        print(f"exec storm: fork+exec+wait of /bin/true, {N} per run, {ROUNDS} alternating rounds")
        print(f"kernel {os.uname().release}, {os.cpu_count()} CPUs")
        for where in ("outside", "session", "gated"):
            base = statistics.median(res[f"none/{where}"])
            aw = statistics.median(res[f"agentwatch/{where}"])
            label = {"outside": "outside any session", "session": "inside an agent session",
                     "gated": "inside a session, a gated binary the rules allow (stop, match, resume)"}[where]
            print(f"  {label}:")
            print(f"    no sensor   {fmt(res[f'none/{where}'])}")
            print(f"    agentwatch  {fmt(res[f'agentwatch/{where}'])}")
            print(f"    ratio       {aw / base:8.3f}  (overhead {100 * (aw / base - 1):+.1f} %)")
        for c in counters:
            print("  last run " + c.replace("agentwatch: ", ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
