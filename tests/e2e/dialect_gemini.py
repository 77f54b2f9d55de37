# SPDX-License-Identifier: GPL-2.0
"""Gemini CLI (npm @google/gemini-cli 0.61.0) against a scripted Gemini API.

What was observed, running the real CLI in a network namespace with only
loopback (Node v20.20.2, Debian 12, as root):

Endpoints.  gemini-cli talks to the Gemini API through @google/genai 1.30.0;
GOOGLE_GEMINI_BASE_URL (http is accepted for 127.0.0.1/localhost) replaces
https://generativelanguage.googleapis.com.  Auth is the x-goog-api-key header
(our fake key); user-agent "GeminiCLI-tui/0.61.0/<model> (linux; x64;
terminal)", x-goog-api-client "google-genai-sdk/1.30.0 gl-node/v20.20.2".
One `-p` run makes exactly three requests:
  1. POST /v1beta/models/gemini-3.5-flash-lite:generateContent - the model
     router's classifier: no tools, generationConfig.responseMimeType
     application/json and a responseJsonSchema {complexity_reasoning: STRING,
     complexity_score: INTEGER}.  The CLI checks the answer with zod and wants
     complexity_score >= 1 (the schema does not say so); a 0 makes it print a
     ZodError on stderr and fall back to gemini-3.1-pro-preview.  A score of 10
     routes to a flash model (gemini-3.8-flash here).
  2. POST /v1beta/models/<model>:streamGenerateContent?alt=sse - the main
     turn: 15 function declarations (update_topic, list_directory, read_file,
     grep_search, glob, replace, write_file, web_fetch, run_shell_command,
     list_background_processes, read_background_output, google_web_search,
     enter_plan_mode, invoke_agent, activate_skill); each is
     {name, description, parametersJsonSchema}.  The shell tool is
     run_shell_command {command (required), description, dir_path,
     is_background, ...}.  We answer one SSE event `data: {candidates:[{content:
     {role:"model", parts:[{functionCall:{name, args}}]}, finishReason:"STOP"}],
     usageMetadata}`.
  3. The same streamGenerateContent again with contents = [user context, user
     prompt, model functionCall (the CLI gives it an id run_shell_command_<ms>_0
     and thoughtSignature "skip_thought_signature_validator"), user
     functionResponse {name, id, response: {output: "<untrusted_context>\\n
     Output: <stdout+stderr>\\nProcess Group PGID: <pgid>\\n
     </untrusted_context>"}}].  We answer with text; the CLI prints it on stdout
     and exits 0.
No :countTokens, GET /v1beta/models, next-speaker or loop-detection call was
made in -p mode; they are answered anyway (JSON built from the schema).

Process tree of a tool call (`sleep 3` in the command), from /proc:
  node .../node_modules/.bin/gemini --approval-mode yolo -p PROMPT
      exe /usr/bin/node, argv[0] "node" (the #!/usr/bin/env node launcher);
      stdin /dev/null, stdout/stderr our pipes; pgid = sid = its own pid (the
      harness started it with a new session).
   \\_ /usr/bin/node --max-old-space-size=<half of RAM in MB> .../.bin/gemini
      --approval-mode yolo -p PROMPT
      the relaunched child (child_process.spawn(process.execPath, ...), stdio
      inherit + an IPC channel), env adds GEMINI_CLI_NO_RELAUNCH=true; same
      pgid/sid as the parent.  It does all the work, including the HTTP.
       \\_ /usr/bin/bash -c SCRIPT, SCRIPT being these lines (JS template):
              shopt -u promptvars nullglob extglob nocaseglob dotglob; _bgpids_file=/tmp/gemini-shell-XXXXXX/bgpids.tmp
              (
                trap 'jobs -p > "$_bgpids_file"' EXIT
              <COMMAND>
              )
              __code=$?
              exit $__code
          exe /usr/bin/bash, argv[0] "/usr/bin/bash" (resolved on PATH).
          Spawned with child_process.spawn(detached: true) -> setsid: pgid =
          sid = bash pid, no controlling tty (tty_nr 0), stdin /dev/null,
          stdout/stderr are unix sockets (libuv pipes).
           \\_ /usr/bin/bash -c <same argv>   the ( ... ) subshell, forked, no
              execve; the EXIT trap keeps bash from exec'ing the last command.
               \\_ sleep 3 (and every other external command: forked from the
                  subshell and execve'd; builtins like echo run in it).
  node-pty is NOT used in -p mode: Config.isInteractiveShellEnabled() needs
  an interactive session, so ShellExecutionService takes its child_process
  path whatever tools.shell.enableInteractiveShell says (the prebuilt
  @lydell/node-pty-linux-x64/pty.node is there, only interactive mode would
  load it).  /tmp/gemini-shell-* is removed after the call.
  The tool refuses commands with $( ), backticks, <( ) or >( ): "Command
  injection detected ..." comes back as the result and nothing is spawned.

Environment the command sees (besides the inherited one, which is not
sanitized by default: GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL reach it):
  GEMINI_CLI=1                      the identification marker
  GEMINI_CLI_NO_RELAUNCH=true       inherited from the relaunched node
  TERM=xterm-256color PAGER=cat GIT_PAGER=cat
  GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null GIT_CONFIG_NOSYSTEM=1
  GIT_CONFIG_COUNT=8 GIT_CONFIG_KEY_0..7 = credential.helper, core.fsmonitor,
      core.hooksPath, core.sshCommand, core.pager(=cat), core.editor,
      sequence.editor, diff.external (all empty but core.pager)
  GIT_TERMINAL_PROMPT=0 GIT_ASKPASS= SSH_ASKPASS= GH_PROMPT_DISABLED=1
  GCM_INTERACTIVE=never DISPLAY= DBUS_SESSION_BUS_ADDRESS=

Commands gemini runs by itself (from the relaunched node, via
child_process, no shell; they get the GIT_CONFIG_* overrides and
GEMINI_CLI_NO_RELAUNCH=true but no GEMINI_CLI=1):
  git rev-parse --show-toplevel                  twice (exit 128 outside a repo)
  git rev-parse --git-common-dir                 twice more inside a git repo
With usage statistics left on (the default) it also runs, for Clearcut's GPU
field (systeminformation.graphics()): sh -c 'lspci -vvv 2>/dev/null',
sh -c 'clinfo --raw', sh -c "xdpyinfo 2>/dev/null | grep 'depth of root
window' | awk '{ print $5 }'", sh -c 'xrandr --verbose 2>/dev/null', and it
looks up play.googleapis.com (Clearcut, https://play.googleapis.com/log).
privacy.usageStatisticsEnabled=false removes both: with the settings below
strace saw no connect() but the two to 127.0.0.1, and a DNS listener on the
resolver's address saw no query.  No npm update check was seen in -p mode.
"""

import json
import os
import re

from model import ScriptedModel, flatten_text

PACKAGE = "@google/gemini-cli"
VERSION = "0.61.0"
BIN = "gemini"

SHELL_TOOL = "run_shell_command"
PROMPT = "Run the shell command the harness asks for, then stop."
FAKE_KEY = "agentwatch-e2e-fake-key"

_PATH_RE = re.compile(r"^/(v1beta|v1|v1alpha)/models/([^/:]+):([A-Za-z]+)$")

# Fields of the side calls' JSON answers whose value matters to gemini-cli:
# the router's classifier validates complexity_score >= 1 (zod) although its
# schema says nothing; "user" as next speaker ends the turn; a zero loop
# confidence keeps the loop detector quiet.
_KNOWN_FIELDS = {
    "complexity_score": 10,
    "complexity_reasoning": "Simple, explicit single command.",
    "next_speaker": "user",
    "unproductive_state_confidence": 0,
}


def _from_schema(schema, name=""):
    """A small value that satisfies a JSON schema (OpenAPI or JSON-schema
    flavour; type names in either case)."""
    if name in _KNOWN_FIELDS:
        return _KNOWN_FIELDS[name]
    if not isinstance(schema, dict):
        return ""
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if str(x).lower() != "null"), t[0] if t else "string")
    t = str(t or ("object" if "properties" in schema else "string")).lower()
    if t == "object":
        props = schema.get("properties") or {}
        return {k: _from_schema(props.get(k, {}), k) for k in schema.get("required") or list(props)}
    if t == "array":
        return []
    if t in ("number", "integer"):
        return schema.get("minimum", 0)
    if t == "boolean":
        return False
    if schema.get("enum"):
        return schema["enum"][0]
    return "ok"


class GeminiModel(ScriptedModel):
    """The Gemini API (generativelanguage v1beta) as @google/genai calls it."""

    def __init__(self, command, final_text="All done."):
        super().__init__(command, final_text)
        self._results_seen = set()   # functionResponse ids already noted

    # -- replies

    @staticmethod
    def _candidate(parts):
        return {"candidates": [{"content": {"role": "model", "parts": parts},
                                "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                                  "totalTokenCount": 15},
                "modelVersion": "agentwatch-e2e-scripted"}

    @staticmethod
    def _declarations(body):
        for t in body.get("tools") or []:
            for d in t.get("functionDeclarations") or []:
                yield d

    def _shell_decl(self, body):
        decls = list(self._declarations(body))
        for d in decls:
            if d.get("name") == SHELL_TOOL:
                return d
        for d in decls:  # a later version may rename it
            if "shell" in (d.get("name") or ""):
                return d
        return None

    def _shell_args(self, decl):
        schema = decl.get("parametersJsonSchema") or decl.get("parameters") or {}
        props = schema.get("properties") or {}
        args = {k: _from_schema(props.get(k, {}), k) for k in schema.get("required") or []}
        args["command"] = self.command
        if "description" in props:
            args["description"] = "agentwatch e2e command"
        return args

    def _reply(self, body):
        decl = self._shell_decl(body)
        if decl is None:
            # A side call (router classifier, next speaker, loop detection,
            # summaries): JSON after the schema when JSON is asked for.
            gc = body.get("generationConfig") or {}
            schema = gc.get("responseJsonSchema") or gc.get("responseSchema")
            if schema or gc.get("responseMimeType") == "application/json":
                text = json.dumps(_from_schema(schema or {"type": "object"}))
            else:
                text = self.final_text
            return self._candidate([{"text": text}])
        name = decl.get("name")
        results = [p["functionResponse"] for c in body.get("contents") or []
                   for p in c.get("parts") or []
                   if isinstance(p.get("functionResponse"), dict)
                   and p["functionResponse"].get("name") == name]
        if results:
            for fr in results:
                key = fr.get("id") or json.dumps(fr, sort_keys=True)
                with self.lock:
                    new = key not in self._results_seen
                    self._results_seen.add(key)
                if new:
                    self.note_tool_result(flatten_text(fr.get("response")))
            return self._candidate([{"text": self.final_text}])
        self.note_tool_call()
        return self._candidate([{"functionCall": {"name": name, "args": self._shell_args(decl)}}])

    def respond(self, h, method, path, query, body):
        if method in ("GET", "HEAD") and path.rstrip("/") in ("/v1beta/models", "/v1/models"):
            h.send_json({"models": []})
            return True
        m = _PATH_RE.match(path)
        if not m or method != "POST":
            return False
        verb = m.group(3)
        if verb == "countTokens":
            h.send_json({"totalTokens": 42})
            return True
        if verb == "generateContent":
            h.send_json(self._reply(body))
            return True
        if verb == "streamGenerateContent":
            reply = self._reply(body)
            if "sse" in (query.get("alt") or []):
                h.sse_begin()
                h.sse(reply)
            else:  # without alt=sse the API streams a JSON array
                h.send_json([reply])
            return True
        return False


def prepare(home, workdir, model_url):
    """Write HOME/.gemini/settings.json; return (argv after the gemini binary,
    environment to add).  The run's working directory is workdir."""
    gdir = os.path.join(home, ".gemini")
    os.makedirs(gdir, exist_ok=True)
    os.makedirs(workdir, exist_ok=True)
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"},
                     "folderTrust": {"enabled": False}},
        "privacy": {"usageStatisticsEnabled": False},      # no Clearcut, no GPU probing
        "telemetry": {"enabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False,
                    "checkpointing": {"enabled": False}},
        "ide": {"enabled": False},
        "tools": {"shell": {"enableInteractiveShell": False}},
    }
    with open(os.path.join(gdir, "settings.json"), "w") as f:
        json.dump(settings, f, indent=2)
    argv = ["--approval-mode", "yolo", "-p", PROMPT]
    env = {
        "HOME": home,
        "GEMINI_API_KEY": FAKE_KEY,
        "GOOGLE_GEMINI_BASE_URL": model_url,
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
        "GEMINI_TELEMETRY_ENABLED": "false",
        "GEMINI_SANDBOX": "false",
        "NO_BROWSER": "true",
    }
    return argv, env
