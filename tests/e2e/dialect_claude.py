# SPDX-License-Identifier: GPL-2.0
"""Claude Code against a scripted Anthropic Messages API.

Claude Code honours ANTHROPIC_BASE_URL and, in print mode (-p), runs Bash
tool calls it is allowed to with --allowedTools Bash.  It refuses
--dangerously-skip-permissions as root, and needs neither that nor a login:
ANTHROPIC_API_KEY is enough.

What 2.1.332 asks for (seen on loopback): POST /v1/messages?beta=true with
stream: true for the main loop (the request carries the Bash tool among
~20), and side requests without tools (none with
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1).  The stream is the documented
SSE sequence: message_start, content_block_start / _delta / _stop per
block, message_delta with the stop reason, message_stop.

Process tree of a tool call: the npm bin is a hard link to the native
binary (@anthropic-ai/claude-code-linux-x64/claude, a Bun executable), so
`claude` -> bash (a non-login shell that sources a snapshot of the user's
shell environment) -> the command.  Commands see CLAUDECODE=1.
"""

import json
import uuid

from model import ScriptedModel, flatten_text

PACKAGE = "@anthropic-ai/claude-code"
VERSION = "2.1.332"
BIN = "claude"


class ClaudeModel(ScriptedModel):
    def respond(self, h, method, path, query, body):
        if method != "POST" or path != "/v1/messages":
            if method == "POST" and path == "/v1/messages/count_tokens":
                h.send_json({"input_tokens": 1})
                return True
            return False
        msgs = body.get("messages") or []
        tools = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
        result = None
        for m in msgs:
            content = m.get("content")
            if isinstance(content, list):
                for c in content:
                    if isinstance(c, dict) and c.get("type") == "tool_result":
                        result = c
        if "Bash" in tools and result is None:
            self.note_tool_call()
            blocks = [{"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24], "name": "Bash",
                       "input": {"command": self.command, "description": "Run the requested command"}}]
            stop = "tool_use"
        else:
            if result is not None and "Bash" in tools:
                self.note_tool_result(flatten_text(result.get("content")))
            blocks = [{"type": "text", "text": self.final_text}]
            stop = "end_turn"
        msg = {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
               "model": body.get("model") or "claude-scripted", "content": [],
               "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 1, "output_tokens": 1}}
        if not body.get("stream"):
            msg.update(content=blocks, stop_reason=stop)
            h.send_json(msg)
            return True
        h.sse_begin()
        h.sse({"type": "message_start", "message": msg}, "message_start")
        for i, b in enumerate(blocks):
            if b["type"] == "text":
                start = {"type": "text", "text": ""}
                delta = {"type": "text_delta", "text": b["text"]}
            else:
                start = {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}
                delta = {"type": "input_json_delta", "partial_json": json.dumps(b["input"])}
            h.sse({"type": "content_block_start", "index": i, "content_block": start},
                  "content_block_start")
            h.sse({"type": "content_block_delta", "index": i, "delta": delta}, "content_block_delta")
            h.sse({"type": "content_block_stop", "index": i}, "content_block_stop")
        h.sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
               "usage": {"output_tokens": 1}}, "message_delta")
        h.sse({"type": "message_stop"}, "message_stop")
        return True


def prepare(home, workdir, model_url):
    """argv after the binary, and the environment to add."""
    argv = ["-p", "Run the command the task needs.", "--allowedTools", "Bash",
            "--output-format", "stream-json", "--verbose"]
    env = {
        "HOME": home,
        "ANTHROPIC_BASE_URL": model_url,
        "ANTHROPIC_API_KEY": "sk-ant-e2e-scripted",
        # nothing but the model API: no telemetry, error reports, update checks
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
    }
    return argv, env
