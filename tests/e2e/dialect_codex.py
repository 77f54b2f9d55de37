# SPDX-License-Identifier: GPL-2.0
"""OpenAI Codex CLI (npm @openai/codex 0.171.0) against a scripted model.

What Codex 0.171.0 does, as observed on Debian 12 (node v20.20.2) inside a
network namespace that has only loopback (strace -f and /proc):

Endpoints.  With the config prepare() writes, `codex exec` makes exactly two
requests, both `POST {base_url}/responses` (base_url = model_url + "/v1"):
the turn, then the turn again with the tool output appended.  stream: true,
store: false, `accept: text/event-stream`, `authorization: Bearer $env_key`,
`originator: codex_exec`, user-agent `codex_exec/0.171.0 (Debian 12.0.0;
x86_64) ...`, headers session-id / thread-id / x-codex-turn-metadata, body not
compressed.  No GET /v1/models, no title or summary requests, nothing else.
CodexModel streams response.created, response.output_item.added/.done
(+ response.output_text.delta for text) and response.completed, which ends
the turn.
Where the tools are depends on the model:
  * default model (no `model` key: gpt-6.2-sol; likewise any bundled slug such
    as gpt-6.1-sol): there is no top-level `tools`; the first `input` item is
    {"type": "additional_tools", "tools": [namespace "functions" {custom
    `exec` (a lark grammar: JavaScript source), function `wait`, ...},
    namespace "clock", namespace "collaboration"]}.  This is "code mode": the
    model writes a JS cell, `await tools.exec_command({cmd})` inside it runs
    the shell; the answer item is custom_tool_call (namespace "functions"),
    the result comes back as custom_tool_call_output, a list of input_text
    blocks ("Script completed\nWall time ...\nOutput:\n..." or "Script running
    with cell ID N" -> poll with the `wait` function).
  * a model name Codex has no metadata for (e.g. "gpt-5.1-codex"; Codex warns
    "Model metadata ... not found. Defaulting to fallback metadata"): top-level
    `tools` = exec_command, write_stdin, request_user_input, view_image,
    namespace multi_agent_v1, get_goal, create_goal, update_goal, web_search.
    exec_command {cmd, yield_time_ms, ...} ("unified exec"); the result is a
    function_call_output string "Chunk ID ...\nProcess exited with code 0\n...
    Output:\n..." or "Process running with session ID N" -> poll with
    write_stdin.
  No `shell`, `shell_command` or `local_shell` tool is offered by 0.171 in
  either case; CodexModel still knows them (older versions / other models).

Process tree of a tool call (shell_snapshot off, prepare()'s default; pids
are illustrative):
  python (harness)
   \_ node .../node_modules/.bin/codex exec ...        exe /usr/bin/node
      (node 20 has no process.execve, so bin/codex.js stays as the parent)
      \_ .../@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex exec ...
         (same argv; env gains CODEX_MANAGED_BY_NPM=1, CODEX_MANAGED_PACKAGE_ROOT)
         |- [code mode only] .../bin/codex-code-mode-host --listen grpc+stdio://
         |     (V8 host for the JS cell; NOT the parent of the shell)
         \_ pid P: fork of native codex, then
              execve("/proc/self/exe", ["/proc/self/exe", "--codex-run-as-process-setup",
                     <fd>, <codex pid>, "pipe", "", <cwd>, "/bin/bash", "/bin/bash",
                     "-lc", CMD], envp=[])          <- EMPTY environment;
                     exec filename is the literal "/proc/self/exe", /proc/P/exe is
                     the native codex binary
              setsid()                              <- every tool shell leads its own
                                                       session and process group
              execve("/bin/bash", ["/bin/bash", "-lc", CMD], <full env>)  (same pid P)
               \_ login shell: /etc/profile runs `id -u` first, then CMD's own
                  children, e.g. sleep 3
  stdin of the tool shell is /dev/null, stdout/stderr a pipe to codex.
  So yes, a LOGIN shell `bash -lc` is used (the user's shell, /bin/bash
  here).  Codex's own console line says "/bin/bash -lc '<cmd>'".
  With Codex's default shell_snapshot = true (prepare(shell_snapshot=True))
  it is racy: codex starts `setsid; /bin/bash -lc <snapshot script>` at
  startup (sources ~/.bashrc, /etc/profile: id -u, awk, sed, wc, tr) and
  validates it with `setsid; /bin/bash -c 'set -e; . $CODEX_HOME/
  shell_snapshots/<id>.tmp-<n>'`; if the snapshot is ready when the tool call
  comes, P runs /proc/self/exe helper -> `/bin/bash -c <wrapper that saves
  CODEX_* and proxy vars, sources the snapshot, restores them, then exec
  '/bin/bash' -c CMD>` -> `/bin/bash -c CMD` (three execs, one pid, no login
  shell); if not ready yet it is `/bin/bash -lc CMD` as above.  Both were seen
  in consecutive runs, hence the default off.

Environment of the tool shell (envp of the bash execve) that marks Codex:
  CODEX_CI=1, CODEX_VERSION=0.171.0, CODEX_SESSION_ID=<uuid>,
  CODEX_THREAD_ID=<uuid>, CODEX_TOOL_CALL_ID=<call_id of the model's call;
  "exec-<uuid>" in code mode>, CODEX_APPLY_PATCH_PRESERVE_LINE_ENDINGS=1,
  CODEX_MANAGED_BY_NPM=1, CODEX_MANAGED_PACKAGE_ROOT=<.../@openai/codex>,
  CODEX_HOME (ours), NO_COLOR=1, PAGER=cat, GIT_PAGER=cat, GH_PAGER=cat,
  TERM=dumb, COLORTERM= (empty), LC_ALL=LC_CTYPE=C.UTF-8, PATH prefixed with
  .../vendor/x86_64-unknown-linux-musl/codex-path (bundled rg) and, when
  CODEX_HOME is not under the temp dir, $CODEX_HOME/tmp/arg0-linux/codex-arg0XXXX.
  No CODEX_SANDBOX* variables: the sandbox is off (danger-full-access), so no
  bwrap/codex-linux-sandbox level either.  The provider's env_key variable is
  passed through too.

Commands Codex runs by itself at startup (children of the native codex):
  `lsb_release -a` twice (/bin/sh script: getopt, cut, tr) and
  `getconf LONG_BIT` twice (OS info for the user-agent); with shell_snapshot
  on, the snapshot shells above; in code mode, codex-code-mode-host.  No git
  command runs with prepare()'s config (and --skip-git-repo-check).

Network: without prepare()'s [features] plugins/remote_plugin/apps = false,
Codex runs `git -c safe.bareRepository=explicit ls-remote
https://github.com/openai/plugins.git HEAD` (-> git-remote-https, DNS for
github.com) and resolves api.github.com; without [analytics] enabled = false
or [otel] metrics_exporter = "none" it resolves ab.chatgpt.com (OTLP metrics,
ab.chatgpt.com/otlp/v1/metrics) and chatgpt.com.  In the namespace those fail
with ENETUNREACH and the run still passes; with this config strace shows no
DNS query and no connect() other than to 127.0.0.1.

Other notes: `codex exec` reads stdin when it is not a terminal ("Reading
additional input from stdin..."): give it /dev/null, or it waits for EOF.
With CODEX_HOME under /tmp Codex prints "WARNING: proceeding, even though we
could not create PATH aliases: Refusing to create helper binaries under
temporary dir" on stderr; harmless.  Exit status 0 after the final message;
the final text is on stdout.
"""

import json
import os
import re

from model import ScriptedModel, flatten_text

PACKAGE = "@openai/codex"
VERSION = "0.171.0"
BIN = "codex"

API_KEY_ENV = "AGENTWATCH_E2E_CODEX_KEY"
CALL_PREFIX = "call_awe2e_"

# shell tools Codex may offer, best first.  exec_command is "unified exec"
# (the default of 0.171); shell_command / shell / local_shell are older or
# per-model variants; `exec` is "code mode", a JavaScript cell whose
# `tools.exec_command(...)` runs the command.
_DIRECT = ("exec_command", "shell_command", "shell", "container.exec", "local_shell")


def _walk_tools(tools, out, namespace=None):
    for t in tools or ():
        if not isinstance(t, dict):
            continue
        typ = t.get("type")
        if typ == "namespace":
            _walk_tools(t.get("tools"), out, t.get("name"))
            continue
        name = t.get("name") or typ
        out.append({"name": name, "type": typ, "namespace": namespace, "spec": t})


def offered_tools(body):
    """Every tool of a Responses request: the top-level `tools` list and the
    `additional_tools` items that recent Codex puts in `input`."""
    out = []
    _walk_tools(body.get("tools"), out)
    for item in body.get("input") or ():
        if isinstance(item, dict) and item.get("type") == "additional_tools":
            _walk_tools(item.get("tools"), out)
    return out


def pick_shell_tool(tools):
    byname = {}
    for t in tools:
        byname.setdefault(t["name"], t)
    for n in _DIRECT:
        if n in byname:
            return byname[n]
    for t in tools:
        if t["type"] == "local_shell":
            return t
    ex = byname.get("exec")
    if ex and ex["type"] == "custom" and "exec_command" in json.dumps(ex["spec"]):
        return ex
    return None


def _code_mode_source(command, yield_ms):
    # one JS cell: run the command, poll it to its end if it yields early,
    # hand the whole output back.  The pragma sets how long the cell itself
    # runs before it yields ("Script running with cell ID ...").
    return (
        "// @exec: {\"yield_time_ms\": %d}\n"
        "const cmd = %s;\n"
        "let r = await tools.exec_command({cmd: cmd, yield_time_ms: %d});\n"
        "let out = r.output || '';\n"
        "for (let i = 0; i < 20 && r.exit_code === undefined && r.session_id !== undefined; i++) {\n"
        "  r = await tools.write_stdin({session_id: r.session_id, chars: '', yield_time_ms: %d});\n"
        "  out += r.output || '';\n"
        "}\n"
        "text(out);\n"
        "text('exit_code: ' + r.exit_code);\n" % (yield_ms, json.dumps(command), yield_ms, yield_ms))


class CodexModel(ScriptedModel):
    """Responses API (`POST /v1/responses`, stream: true, SSE)."""

    yield_ms = 30000    # unified exec waits this long before handing back a session id

    def __init__(self, command, final_text="All done."):
        super().__init__(command, final_text)
        self.seq = 0
        self.results_by_call = {}
        self.tool_used = None

    def _next(self, what):
        with self.lock:
            self.seq += 1
            return "%s%d" % (what, self.seq)

    # -- SSE

    def _stream(self, h, model, items):
        rid = self._next("resp_awe2e_")
        base = {"id": rid, "object": "response", "created_at": 0, "model": model}
        h.sse_begin()
        h.sse({"type": "response.created", "sequence_number": 0,
               "response": dict(base, status="in_progress", output=[])}, "response.created")
        n = 1
        for i, item in enumerate(items):
            added = dict(item, status="in_progress")
            if item.get("type") == "message":
                added["content"] = []
            h.sse({"type": "response.output_item.added", "sequence_number": n,
                   "output_index": i, "item": added}, "response.output_item.added")
            n += 1
            if item.get("type") == "message":
                text = item["content"][0]["text"]
                h.sse({"type": "response.output_text.delta", "sequence_number": n,
                       "item_id": item["id"], "output_index": i, "content_index": 0,
                       "delta": text}, "response.output_text.delta")
                n += 1
            h.sse({"type": "response.output_item.done", "sequence_number": n,
                   "output_index": i, "item": item}, "response.output_item.done")
            n += 1
        usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": 15}
        h.sse({"type": "response.completed", "sequence_number": n,
               "response": dict(base, status="completed", output=items, usage=usage)},
              "response.completed")

    def _text(self, h, model, text):
        item = {"type": "message", "role": "assistant", "id": self._next("msg_awe2e_"),
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}
        self._stream(h, model, [item])

    def _function_call(self, name, args, namespace=None):
        item = {"type": "function_call", "id": self._next("fc_awe2e_"),
                "call_id": self._next(CALL_PREFIX), "status": "completed",
                "name": name, "arguments": json.dumps(args)}
        if namespace:
            item["namespace"] = namespace
        return item

    def _call(self, h, model, tool, command):
        """The one tool call that runs `command`."""
        name, typ = tool["name"], tool["type"]
        if typ == "local_shell":
            item = {"type": "local_shell_call", "id": self._next("lsh_awe2e_"),
                    "call_id": self._next(CALL_PREFIX), "status": "completed",
                    "action": {"type": "exec", "command": ["bash", "-lc", command],
                               "timeout_ms": 60000}}
        elif typ == "custom":      # code mode: a JavaScript cell
            item = {"type": "custom_tool_call", "id": self._next("ctc_awe2e_"),
                    "call_id": self._next(CALL_PREFIX), "status": "completed", "name": name,
                    "input": _code_mode_source(command, self.yield_ms)}
            if tool.get("namespace"):
                item["namespace"] = tool["namespace"]
        else:
            if name == "exec_command":
                args = {"cmd": command, "yield_time_ms": self.yield_ms}
            elif name == "shell_command":
                args = {"command": command, "timeout_ms": 60000}
            else:  # shell, container.exec: argv form
                args = {"command": ["bash", "-lc", command], "timeout_ms": 60000}
            item = self._function_call(name, args, tool.get("namespace"))
        self.note_tool_call()
        with self.lock:
            self.tool_used = (tool["namespace"] + "." if tool.get("namespace") else "") + name
        self._stream(h, model, [item])

    def _poll(self, last, out):
        """A follow-up call when the command outlived the tool's yield time:
        unified exec hands back a session id (poll it with write_stdin), a
        code-mode cell a cell id (poll it with wait).  None when it is over."""
        if out is None:
            return None
        ns = last.get("namespace")
        m = re.search(r"Process running with session ID (\d+)", out)
        if m and "Process exited with code" not in out and last.get("type") == "function_call":
            return self._function_call("write_stdin", {"session_id": int(m.group(1)), "chars": "",
                                                       "yield_time_ms": self.yield_ms}, ns)
        m = re.search(r"Script running with cell ID (\S+)", out)
        if m and not re.search(r"Script (completed|terminated|error)", out):
            return self._function_call("wait", {"cell_id": m.group(1),
                                                "yield_time_ms": self.yield_ms}, ns)
        return None

    # -- dispatch

    def respond(self, h, method, path, query, body):
        if path.rstrip("/").endswith("/models"):
            h.send_json({"object": "list", "data": [], "models": []})
            return True
        if method != "POST" or not path.rstrip("/").endswith("/responses"):
            return False
        model = body.get("model") or "scripted"
        items = [i for i in (body.get("input") or ()) if isinstance(i, dict)]
        ours = [i for i in items if str(i.get("call_id", "")).startswith(CALL_PREFIX)]
        calls = [i for i in ours if not i.get("type", "").endswith("_output")]
        outputs = {i["call_id"]: flatten_text(i.get("output"))
                   for i in ours if i.get("type", "").endswith("_output")}
        if calls:
            last = calls[-1]
            follow = self._poll(last, outputs.get(last["call_id"])) if len(calls) < 12 else None
            if follow:
                self._stream(h, model, [follow])
                return True
            texts = [outputs[c["call_id"]] for c in calls if c["call_id"] in outputs]
            if texts:
                whole = "\n".join(texts)
                with self.lock:
                    fresh = last["call_id"] not in self.results_by_call
                    self.results_by_call[last["call_id"]] = whole
                if fresh:
                    self.note_tool_result(whole)
            self._text(h, model, self.final_text)
            return True
        tool = pick_shell_tool(offered_tools(body))
        if tool is None:
            self._text(h, model, "OK.")   # side request: title, summary, compaction...
            return True
        self._call(h, model, tool, self.command)
        return True


def _base_url(model_url):
    u = model_url.rstrip("/")
    return u if u.endswith("/v1") else u + "/v1"


def _toml_str(s):
    return json.dumps(str(s))


def prepare(home, workdir, model_url, model=None, shell_snapshot=False):
    """Write CODEX_HOME/config.toml under `home`; return (argv after the codex
    binary, environment to add).

    model: None keeps Codex's own default (gpt-6.2-sol, "code mode": the shell
    runs from a JavaScript `exec` cell); a name Codex has no metadata for
    (e.g. "gpt-5.1-codex") gets the plain `exec_command` function tool.
    shell_snapshot: Codex's default is on, which makes the tool shell's argv
    depend on a race (see the module docstring); off, it is always
    `/bin/bash -lc CMD`."""
    codex_home = os.path.join(home, ".codex")
    os.makedirs(codex_home, exist_ok=True)
    os.makedirs(workdir, exist_ok=True)
    lines = []
    if model:
        lines.append("model = %s" % _toml_str(model))
    lines += [
        'model_provider = "agentwatch_e2e"',
        "check_for_update_on_startup = false",
        'web_search = "disabled"',
        "",
        "[model_providers.agentwatch_e2e]",
        'name = "agentwatch e2e scripted model"',
        "base_url = %s" % _toml_str(_base_url(model_url)),
        "env_key = %s" % _toml_str(API_KEY_ENV),
        'wire_api = "responses"',
        "request_max_retries = 0",
        "stream_max_retries = 0",
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[feedback]",
        "enabled = false",
        "",
        "[otel]",
        'exporter = "none"',
        'trace_exporter = "none"',
        'metrics_exporter = "none"',
        "",
        "[features]",
        "plugins = false",
        "remote_plugin = false",
        "apps = false",
        "shell_snapshot = %s" % ("true" if shell_snapshot else "false"),
        "",
    ]
    with open(os.path.join(codex_home, "config.toml"), "w") as f:
        f.write("\n".join(lines))
    argv = ["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
            "--color", "never", "-C", workdir,
            "Run the shell command the harness asks for, then stop."]
    env = {
        "HOME": home,
        "CODEX_HOME": codex_home,
        API_KEY_ENV: "sk-agentwatch-e2e-not-a-real-key",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    return argv, env
