# SPDX-License-Identifier: GPL-2.0
"""Scripted model servers on loopback, one dialect per agent.

A ScriptedModel answers an agent's first real turn with one tool call that
runs `command` in the agent's shell tool, and ends the conversation (a short
text answer) once the agent sends the tool's result back.  Every request is
kept (path and JSON body) and every tool result the agent sent is kept as
text, so a test can assert on what reached the agent.

A dialect is a subclass that implements respond(handler, path, query, body);
it calls the helpers below to send JSON or server-sent events.  Requests the
dialect does not know get a 404 and are recorded, so a test can report them.

Nothing here opens a socket anywhere but 127.0.0.1; the e2e runner also puts
each agent in a network namespace that has only a loopback interface.
"""

import http.server
import json
import threading
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "agentwatch-e2e-model/1"

    def log_message(self, fmt, *args):  # quiet; requests are kept in server.requests
        pass

    def _body(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        if self.headers.get("content-encoding") == "gzip":
            import gzip
            raw = gzip.decompress(raw)
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {"_raw": raw[:4096].decode("utf-8", "replace")}

    def _dispatch(self, method):
        u = urllib.parse.urlsplit(self.path)
        body = self._body() if method == "POST" else {}
        srv = self.server.model
        with srv.lock:
            srv.requests.append({"method": method, "path": u.path, "query": u.query, "body": body,
                                 "headers": {k.lower(): v for k, v in self.headers.items()}})
        try:
            handled = srv.respond(self, method, u.path, urllib.parse.parse_qs(u.query), body)
        except (BrokenPipeError, ConnectionResetError):
            return
        if not handled:
            with srv.lock:
                srv.unknown.append("%s %s" % (method, self.path))
            self.send_json({"error": {"type": "not_found", "message": "no such endpoint"}}, 404)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_HEAD(self):
        self._dispatch("HEAD")

    # -- replies

    def send_json(self, obj, status=200, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def sse_begin(self, headers=()):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True

    def sse(self, data, event=None):
        """One server-sent event; data is JSON-encoded unless it is a str."""
        if not isinstance(data, str):
            data = json.dumps(data)
        out = ("event: %s\n" % event if event else "") + "data: %s\n\n" % data
        self.wfile.write(out.encode())
        self.wfile.flush()


class ScriptedModel:
    """Base of the dialects.  command: the shell command of the one tool call.
    final_text: what the model says once it has seen the tool's result."""

    def __init__(self, command, final_text="All done."):
        self.command = command
        self.final_text = final_text
        self.lock = threading.Lock()
        self.requests = []       # every request: method, path, query, body, headers
        self.unknown = []        # requests no dialect handler answered
        self.tool_calls = 0      # tool calls the model asked for
        self.tool_results = []   # text of every tool result the agent sent back
        self.result_seen = threading.Event()
        self.httpd = None
        self.thread = None

    # -- life cycle

    def start(self, host="127.0.0.1", port=0):
        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.model = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    # -- for dialects

    def note_tool_call(self):
        with self.lock:
            self.tool_calls += 1

    def note_tool_result(self, text):
        with self.lock:
            self.tool_results.append(text)
        self.result_seen.set()

    def respond(self, h, method, path, query, body):
        raise NotImplementedError


def flatten_text(content):
    """The text in a tool result's content, whatever shape the dialect gives it:
    a string, a list of blocks with `text`, or nested dicts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(flatten_text(c) for c in content)
    if isinstance(content, dict):
        parts = []
        for k in ("text", "output", "content", "stdout", "stderr", "result", "llmContent"):
            if k in content:
                parts.append(flatten_text(content[k]))
        if not parts:
            parts = [flatten_text(v) for v in content.values() if isinstance(v, (str, list, dict))]
        return "\n".join(p for p in parts if p)
    return str(content)
