"""A small OpenAI-compatible server on loopback that misbehaves on request.

The model name in the request picks the behaviour: "ok", "auth", "ratelimit-once",
"ratelimit-long", "error500", "cut", "hang", "no-stream-options", and "long" (a
stream of ~600 chunks, about three seconds, like a cloud model answering at length). It records each
request body so tests can check what really arrived.

A hostile provider echoes the API key it was sent: "echo-400", "echo-401", "echo-500"
(JSON errors), "echo-sse" (an SSE error event mid-answer), "echo-answer" (the key inside
the answer, split across chunks); a GET under `/echo/` fails with the key in the message.
"escape" answers with terminal control sequences (clipboard, screen clear, window
title, hidden link, CR overwrite, C1), "escape-400" fails with them, and a GET under
`/escape/` lists model names holding them.

Figures that cannot be true: "ratelimit=VALUE" answers 429 with `Retry-After: VALUE`;
"usage=JSON" streams the usual answer and then reports JSON (any JSON, NaN included) as
its `usage`. "endless" streams words until the client hangs up, never finishing;
"endless-big" does the same in chunks of 100 KB.

A reasoning model: "reasoning" streams THOUGHTS as `reasoning_content` deltas before
the answer and reports `completion_tokens_details.reasoning_tokens`; "reasoning-field"
sends them as `reasoning` (OpenRouter's name) without a count; "think-tags" writes them
inside `<think>…</think>` in the content itself, the tags split across chunks.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORDS = ["Hello", " from", " the", " fault", " server", ",", " one", " two", " three", "."]
# What a hostile answer writes to a terminal, piece by piece (a sequence may be split).
ESCAPES = [
    "Clipboard\x1b]52;c;ZWNobyBwd25lZA==\x07", " clear\x1b[2J\x1b[H", " title\x1b]0;pwned\x07",
    " link \x1b]8;;https://evil.example/\x1b\\docs\x1b]8;;\x1b\\", " safe\rEVIL",
    " c1\x9b2J bell\x07 bidi\u202eevil", " split\x1b", "[31mred\x1b[0m.",
]  # fmt: skip


THOUGHTS = ["The user", " greets me", "; I should", " greet back."]
REASONING_TOKENS = 9


class FaultServer:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.authorizations: list[str] = []  # the Authorization header of each POST
        self.sent_bytes: list[int] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _key(self) -> str:
                return self.headers.get("Authorization", "").removeprefix("Bearer ")

            def _echo(self, status: int) -> None:
                key = self._key()
                message = f"Invalid API key {key} (sent as key={key}); expected another"
                body = json.dumps({"error": {"message": message, "type": "invalid_request",
                                             "param": {"api_key": key}}})  # fmt: skip
                self._reply(status, body.replace("/", "\\/").encode())

            def do_GET(self) -> None:
                if "/echo/" in self.path:
                    return self._echo(401)
                names = ["ok", "cut"]
                if "/escape/" in self.path:
                    names = ["ok\x1b]0;pwned\x07", "cut\x1b[2J"]
                body = json.dumps({"object": "list", "data": [{"id": name} for name in names]})
                self._reply(200, body.encode())
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                request = json.loads(raw)
                model = request.get("model", "ok")
                with server.lock:
                    server.bodies.append(raw)
                    server.authorizations.append(self.headers.get("Authorization", ""))
                    server.counts[model] = server.counts.get(model, 0) + 1
                    count = server.counts[model]
                if model == "auth":
                    return self._error(401, "Incorrect API key provided: sk-...abcd")
                if model == "ratelimit-once" and count == 1:
                    return self._error(429, "Rate limit reached", {"Retry-After": "1"})
                if model.startswith("ratelimit="):
                    return self._error(429, "Rate limit reached", {"Retry-After": model[10:]})
                if model == "ratelimit-long":
                    return self._error(429, "Rate limit reached", {"Retry-After": "120"})
                if model == "error500":
                    return self._error(500, "The server had an error")
                if model == "no-stream-options" and "stream_options" in request:
                    return self._error(422, "Extra inputs are not permitted: stream_options")
                if model == "escape-400":
                    return self._error(400, "Bad model \x1b]0;pwned\x07\x1b[2J\x9b31m")
                if model in ("echo-400", "echo-401"):
                    return self._echo(int(model[-3:]))
                if model == "echo-500":
                    return self._echo(500)
                if model == "hang":
                    time.sleep(10)
                    return None
                self._stream(model, request)
                return None

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
                with server.lock:
                    server.sent_bytes.append(len(body))

            def _error(self, status: int, message: str, headers: dict[str, str] | None = None):
                body = json.dumps({"error": {"message": message, "type": "error"}}).encode()
                self._reply(status, body, headers)

            def _stream(self, model: str, request: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                sent = 0
                if model.startswith("endless"):
                    self._endless("x" * 100_000 if model == "endless-big" else " word")
                    return
                with_usage = bool(request.get("stream_options", {}).get("include_usage"))
                words = WORDS * 60 if model == "long" else WORDS  # ~600 chunks, ~3 s
                if model == "escape":
                    words = ESCAPES
                if model == "echo-answer":
                    key = self._key()
                    half = len(key) // 2
                    words = ["Your key is ", key[:half], key[half:], " and ", key, "."]
                if model.startswith(("reasoning", "think-tags")):
                    sent += self._thoughts(model)
                for i, word in enumerate(words):
                    if model == "cut" and i == 3:
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    if model == "echo-sse" and i == 3:
                        error = {"error": {"message": f"key {self._key()} is revoked",
                                           "type": "server_error"}}  # fmt: skip
                        self.wfile.write(f"data: {json.dumps(error)}\n\n".encode())
                        self.wfile.flush()
                        return
                    chunk = {
                        "id": "x", "object": "chat.completion.chunk", "created": 0,
                        "model": model,
                        "choices": [{"index": 0, "delta": {"content": word},
                                     "finish_reason": None}],
                    }  # fmt: skip
                    data = f"data: {json.dumps(chunk)}\n\n".encode()
                    self.wfile.write(data)
                    self.wfile.flush()
                    sent += len(data)
                    time.sleep(0.005 if model == "long" else 0.01)
                tail = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                        "model": model, "choices": [{"index": 0, "delta": {},
                                                     "finish_reason": "stop"}]}  # fmt: skip
                parts = [f"data: {json.dumps(tail)}\n\n"]
                if model.startswith("usage="):
                    reported = json.loads(model[6:])
                    usage = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                             "model": model, "choices": [], "usage": reported}  # fmt: skip
                    parts.append(f"data: {json.dumps(usage)}\n\n")
                elif with_usage:
                    counts: dict[str, Any] = {"prompt_tokens": 21,
                                              "completion_tokens": len(WORDS),
                                              "total_tokens": 21 + len(WORDS)}  # fmt: skip
                    if model == "reasoning":
                        counts["completion_tokens"] += REASONING_TOKENS
                        counts["total_tokens"] += REASONING_TOKENS
                        counts["completion_tokens_details"] = {"reasoning_tokens": REASONING_TOKENS}
                    usage = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                             "model": model, "choices": [], "usage": counts}  # fmt: skip
                    parts.append(f"data: {json.dumps(usage)}\n\n")
                parts.append("data: [DONE]\n\n")
                data = "".join(parts).encode()
                self.wfile.write(data)
                self.wfile.flush()
                with server.lock:
                    server.sent_bytes.append(sent + len(data))

            def _thoughts(self, model: str) -> int:
                """Stream the reasoning before the answer; the bytes sent."""
                sent = 0
                pieces = THOUGHTS
                if model == "think-tags":
                    pieces = ["<thi", "nk>", *THOUGHTS, "</th", "ink>\n\n"]
                for piece in pieces:
                    field = {"reasoning": "reasoning_content", "reasoning-field": "reasoning"}
                    delta = {field.get(model, "content"): piece}
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                             "model": model, "choices": [{"index": 0, "delta": delta,
                                                          "finish_reason": None}]}  # fmt: skip
                    data = f"data: {json.dumps(chunk)}\n\n".encode()
                    self.wfile.write(data)
                    self.wfile.flush()
                    sent += len(data)
                    time.sleep(0.05)
                return sent

            def _endless(self, word: str) -> None:
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                         "model": "endless", "choices": [{"index": 0, "delta": {"content": word},
                                                          "finish_reason": None}]}  # fmt: skip
                data = f"data: {json.dumps(chunk)}\n\n".encode()
                try:
                    while True:
                        self.wfile.write(data)
                        self.wfile.flush()
                        with server.lock:
                            server.counts["endless sent"] = server.counts.get("endless sent", 0) + 1
                except OSError:
                    return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
