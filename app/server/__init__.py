"""The local OpenAI-compatible API: `start_server` is the one entry the window and
`tandem-cli serve` call. It serves on uvicorn in a thread of its own, on the workspace's
one engine, and writes the instance file through which `tandem-cli chat` finds it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.core.errors import ServerCannotStart
from app.services.local_api import DEFAULT_HOST, DEFAULT_PORT, api_key, default_api_model

if TYPE_CHECKING:
    import uvicorn

    from app.server.activity import ApiRequest
    from app.server.api import ServerState
    from app.services.workspace import Workspace

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "LocalServer", "start_server"]

logger = logging.getLogger(__name__)
_START_TIMEOUT_S = 15.0


@dataclass
class LocalServer:
    """A running server: its address, its key, what it served; `stop()` ends it."""

    host: str
    port: int
    key: str
    state: ServerState
    _server: uvicorn.Server
    _thread: threading.Thread
    _instance_written: bool = False
    _stopped: bool = field(default=False)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def served(self) -> int:
        return self.state.activity.served

    def requests(self) -> list[ApiRequest]:
        return self.state.activity.recent()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stopped

    def stop(self) -> None:
        """Cancel what is being answered, stop listening, remove the instance file."""
        if self._stopped:
            return
        self._stopped = True
        self.state.cancel_all()
        self._server.should_exit = True
        self._thread.join(timeout=5)
        if self._instance_written:
            from app.services.instance import remove_instance

            remove_instance(self.state.workspace.paths)
        logger.info("local API stopped")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = "it is in use" if exc.errno in (98, 48, 10048) else (exc.strerror or str(exc))
        raise ServerCannotStart(
            f"The local API cannot listen on {host}:{port}: {why}. Choose another port with "
            "--port, or stop whatever holds this one."
        ) from None
    sock.set_inheritable(True)
    return sock


def start_server(
    workspace: Workspace,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    model: str | None = None,
    cors_origins: tuple[str, ...] = (),
    key: str | None = None,
    queue_capacity: int = 8,
    body_limit_bytes: int | None = None,
    write_instance: bool = True,
) -> LocalServer:
    """Start serving `workspace`'s models (ServerCannotStart if the address is taken).

    `port` 0 picks a free port. The key is `key`, else TANDEM_API_KEY, else the one in
    the keychain (made on first use). `model` is the model of requests that name none.
    """
    import uvicorn

    from app.server.api import BODY_LIMIT_BYTES, ServerState, build_app
    from app.server.fair_queue import FairQueue

    workspace.engine()  # made now: request threads must not race to make two
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    state = ServerState(
        workspace=workspace,
        key=key or api_key(),
        default_model=default_api_model(workspace, model),
        body_limit=body_limit_bytes or BODY_LIMIT_BYTES,
        queue=FairQueue(queue_capacity),
    )
    config = uvicorn.Config(
        build_app(state, cors_origins),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="local-api", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise ServerCannotStart(f"The local API did not start on {host}:{port}.")
        time.sleep(0.02)
    running = LocalServer(host, port, state.key, state, server, thread)
    if write_instance:
        from app.services.instance import write_instance as write

        write(workspace.paths, host, port, state.key)
        running._instance_written = True
    logger.info("local API listening on %s:%s", host, port)
    return running
