#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The README's "Watching Claude Code with agentwatch", recorded for real.

Runs agentwatch (text output, on a pseudo-terminal), `agentwatch watch` in a
tmux pane and the real Claude Code, against a scripted model that asks to
`rm -rf` a data directory next to the project; the reviewer presses `d`.
Writes what each terminal showed, and the tool result the model received,
to the directory given (default /tmp/agentwatch-walkthrough).

Same isolation and safety as tests/e2e/run.py: loopback-only network
namespace, agentwatch scoped with --within to this process, everything
started here stopped by pid.  Needs Claude Code in the e2e cache (run
`make e2e` once first).

usage: python3 tests/e2e/walkthrough.py [OUTDIR]
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import run as e2e


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "/tmp/agentwatch-walkthrough")
    cli = e2e.Cli("claude")
    if not cli.installed():
        print("Claude Code is not in %s: run `make e2e` first" % e2e.CACHE)
        return 1
    e2e.enter_private_netns()
    root = "/tmp/walk/demo"
    shutil.rmtree(root, ignore_errors=True)
    ws, home, data = (os.path.join(root, d) for d in ("project", "home", "data"))
    for d in (ws, home, data):
        os.makedirs(d)
    for i in range(3):
        with open(os.path.join(data, "db%d.sqlite" % i), "w") as f:
            f.write("rows\n")
    os.makedirs(out, exist_ok=True)
    tag = "awwalk-%d" % os.getpid()
    state = os.path.join(out, "state")
    ctl = os.path.join(state, "control.sock")
    tmux = ["tmux", "-L", tag, "-f", "/dev/null"]
    aw_cmd = ("%s run --within %d --no-log --pin-dir /sys/fs/bpf/%s --state-dir %s --control %s "
              "--rules %s" % (e2e.AGENTWATCH, os.getpid(), tag, state, ctl, e2e.RULES))
    # `script` gives agentwatch a terminal, so it prints its text view.
    aw = subprocess.Popen(["script", "-qfec", aw_cmd, "/dev/null"], stdin=subprocess.DEVNULL,
                          stdout=open(os.path.join(out, "run.txt"), "wb"), stderr=subprocess.STDOUT,
                          start_new_session=True)
    agent = None
    model = None
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(ctl) and time.monotonic() < deadline:
            time.sleep(0.1)
        subprocess.run(tmux + ["new-session", "-d", "-x", "130", "-y", "24", "-s", "w",
                               "%s watch --control %s" % (e2e.AGENTWATCH, ctl)], check=True, timeout=10)
        model = cli.model_class("rm -rf %s" % data,
                                "I could not delete it: agentwatch blocked the command.").start()
        _, env = cli.mod.prepare(home, ws, model.url)
        agent = subprocess.Popen(
            [cli.bin, "-p", "Free some disk space: delete the old data directory next to this project.",
             "--allowedTools", "Bash"], cwd=ws, env=cli.env(env), stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(out, "claude.txt"), "wb"), stderr=subprocess.STDOUT)
        screen = ""
        deadline = time.monotonic() + 60
        while "fs-rm-outside-workspace" not in screen and time.monotonic() < deadline:
            time.sleep(0.3)
            screen = subprocess.run(tmux + ["capture-pane", "-p", "-t", "w"], stdout=subprocess.PIPE,
                                    timeout=10).stdout.decode(errors="replace")
        with open(os.path.join(out, "watch.txt"), "w") as f:
            f.write(screen)
        subprocess.run(tmux + ["send-keys", "-t", "w", "d"], timeout=10)
        agent.wait(timeout=60)
        with open(os.path.join(out, "tool_result.json"), "w") as f:
            json.dump(model.tool_results, f, indent=1)
        print("data dir after the deny: %s" % sorted(os.listdir(data)))
        print("recorded in %s" % out)
        return 0
    finally:
        subprocess.run(tmux + ["kill-server"], timeout=10)
        if agent and agent.poll() is None:
            agent.kill()
            agent.wait(timeout=10)
        if model:
            model.stop()
        if aw.poll() is None:
            os.killpg(aw.pid, signal.SIGINT)
            try:
                aw.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(aw.pid, signal.SIGKILL)
                aw.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
