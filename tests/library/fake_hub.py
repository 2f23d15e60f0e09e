"""A small Hugging Face Hub of our own on loopback, for download tests.

It answers like huggingface.co does for an LFS file: `HEAD/GET /{repo}/resolve/{rev}/{file}`
is a 302 to a CDN on another origin (a second port), carrying X-Repo-Commit, X-Linked-Etag
(the sha256), X-Linked-Size and ETag; the CDN serves the bytes with Content-Length,
Accept-Ranges and `Range` support. Faults on demand:

- `drop_after`: the next GET sends that many bytes of its body, then drops the connection;
- `corrupt`: the CDN serves the file with one byte changed (same size, same headers);
- `token`: the repo is gated; the Hub answers 401 unless `Authorization: Bearer TOKEN`;
- `rate`: bytes per second the CDN sends at most (to give a test time to pause).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_CHUNK = 256 * 1024


@dataclass
class HostedFile:
    repo: str
    name: str
    path: Path
    sha256: str
    size: int


@dataclass
class Faults:
    drop_after: list[int] = field(default_factory=list)  # one entry per GET to cut short
    corrupt: bool = False
    token: str | None = None
    rate: float | None = None


class FakeHub:
    """Two loopback servers: the Hub (metadata, redirects) and its CDN (the bytes)."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], HostedFile] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (server, method+path, hdrs)
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("hub"))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("cdn"))
        for server in (self._hub, self._cdn):
            server.daemon_threads = True
        self._threads = [
            threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True)
            for s in (self._hub, self._cdn)
        ]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def host(self, repo: str, name: str, path: Path, sha256: str | None = None) -> HostedFile:
        digest = sha256 or _sha256(path)
        hosted = HostedFile(repo, name, path, digest, path.stat().st_size)
        self.files[(repo, name)] = hosted
        return hosted

    def ranges(self) -> list[str]:
        """The Range headers the CDN received, in order ("" for none)."""
        return [h.get("range", "") for s, what, h in self.requests if s == "cdn" and "GET" in what]

    def __enter__(self) -> FakeHub:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()

    # ----- handlers

    def _handler(self, role: str) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                hub.requests.append((role, f"{self.command} {self.path}", headers))
                if role == "hub":
                    hub._resolve(self, headers)
                else:
                    hub._send_bytes(self, headers, head)

        return Handler

    def _find(self, repo: str, name: str) -> HostedFile | None:
        return self.files.get((repo, name))

    def _resolve(self, req: BaseHTTPRequestHandler, headers: dict[str, str]) -> None:
        path = unquote(req.path.split("?")[0])
        repo, sep, rest = path.lstrip("/").partition("/resolve/")
        _revision, _, name = rest.partition("/")
        hosted = self._find(repo, name) if sep else None
        if hosted is None:
            known_repo = any(r == repo for r, _ in self.files)
            code = "EntryNotFound" if known_repo else "RepoNotFound"
            _reply(req, 404, {"X-Error-Code": code, "X-Repo-Commit": COMMIT}, b"not found")
            return
        if self.faults.token and headers.get("authorization") != f"Bearer {self.faults.token}":
            message = b"Access to model is restricted. You must have access to it."
            _reply(req, 401, {"X-Error-Code": "GatedRepo", "X-Error-Message": message.decode()},
                   message)  # fmt: skip
            return
        location = f"{self.cdn}/blobs/{quote(repo)}/{quote(name)}?sig=signed"
        _reply(
            req,
            302,
            {
                "Location": location,
                "X-Repo-Commit": COMMIT,
                "X-Linked-Etag": f'"{hosted.sha256}"',
                "X-Linked-Size": str(hosted.size),
                "ETag": f'"{hosted.sha256}"',
            },
            b"",
        )

    def _send_bytes(self, req: BaseHTTPRequestHandler, headers: dict[str, str], head: bool) -> None:
        path = unquote(req.path.split("?")[0]).removeprefix("/blobs/")
        repo_owner, _, rest = path.partition("/")
        repo_name, _, name = rest.partition("/")
        hosted = self._find(f"{repo_owner}/{repo_name}", name)
        if hosted is None:
            _reply(req, 404, {}, b"no such blob")
            return
        size = hosted.size
        start, status = 0, 200
        extra = {"Accept-Ranges": "bytes", "ETag": f'"{hosted.sha256}"'}
        wanted = headers.get("range", "")
        if wanted.startswith("bytes="):
            first = wanted.removeprefix("bytes=").split("-")[0]
            start = int(first or 0)
            if start >= size:
                _reply(req, 416, {"Content-Range": f"bytes */{size}"}, b"")
                return
            status = 206
            extra["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        req.send_response(status)
        for key, value in extra.items():
            req.send_header(key, value)
        req.send_header("Content-Type", "application/octet-stream")
        req.send_header("Content-Length", str(size - start))
        req.end_headers()
        if head:
            return
        drop = self.faults.drop_after.pop(0) if self.faults.drop_after else None
        corrupt_at = size // 2 if self.faults.corrupt else -1
        sent = 0
        began = time.monotonic()
        try:
            with hosted.path.open("rb") as fh:
                fh.seek(start)
                position = start
                while chunk := fh.read(_CHUNK):
                    if position <= corrupt_at < position + len(chunk):
                        at = corrupt_at - position
                        chunk = chunk[:at] + bytes([chunk[at] ^ 0xFF]) + chunk[at + 1 :]
                    if drop is not None and sent + len(chunk) >= drop:
                        req.wfile.write(chunk[: drop - sent])
                        req.wfile.flush()
                        req.close_connection = True
                        return
                    req.wfile.write(chunk)
                    sent += len(chunk)
                    position += len(chunk)
                    if self.faults.rate:
                        ahead = sent / self.faults.rate - (time.monotonic() - began)
                        if ahead > 0:
                            time.sleep(ahead)
        except (BrokenPipeError, ConnectionResetError):
            req.close_connection = True


def _reply(req: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    req.send_response(status)
    for key, value in headers.items():
        req.send_header(key, value)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    if req.command != "HEAD":
        req.wfile.write(body)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def hub_environment(endpoint: str, home: Path) -> dict[str, str]:
    """Environment for huggingface_hub in a test: our endpoint, no telemetry, no token
    file of the real user."""
    return {
        "HF_ENDPOINT": endpoint,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(home / "hf-home"),
        "HF_TOKEN_PATH": str(home / "hf-home" / "token"),
    }


def isolate_hub_library(home: Path, monkeypatch: object) -> None:
    """The same for huggingface_hub already imported in this process (it reads its
    environment once): no telemetry, not offline, no token file of the real user."""
    from huggingface_hub import constants

    for name, value in (
        ("HF_HUB_DISABLE_TELEMETRY", True),
        ("HF_HUB_OFFLINE", False),
        ("HF_TOKEN_PATH", str(home / "hf-home" / "token")),
        ("HF_STORED_TOKENS_PATH", str(home / "hf-home" / "stored_tokens")),
    ):
        monkeypatch.setattr(constants, name, value)  # type: ignore[attr-defined]
