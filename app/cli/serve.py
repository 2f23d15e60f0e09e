"""`tandem-cli serve`: the local OpenAI-compatible API on this computer's models."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from app.cli.options import number_in
from app.cli.output import err, open_workspace, say
from app.core.errors import ExitCode


def cmd_serve(args: argparse.Namespace) -> int:
    from app.server import start_server
    from app.services.local_api import backend_for_api, exposure_warning

    workspace = open_workspace()
    private = workspace.settings.private_mode if args.private is None else args.private
    workspace.set_private_mode(private)
    if args.model:
        backend_for_api(workspace, args.model)  # an unknown model is refused now, not later
    warning = exposure_warning(args.host)
    if warning:
        err(f"tandem: warning: {warning}")
    server = start_server(
        workspace, host=args.host, port=args.port, model=args.model,
        cors_origins=tuple(args.cors or ()),
    )  # fmt: skip
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _signals()}
    try:
        say(f"Tandem local API on {server.base_url}")
        say(f"API key: {server.key}")
        say(f"default model: {server.state.default_model or 'none installed'}")
        say(f"private mode: {'on' if private else 'off'} · Ctrl+C stops it")
        while not stop.wait(0.5) and server.running:
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        workspace.shutdown()
    return ExitCode.OK


def _signals() -> list[signal.Signals]:
    found = [signal.SIGINT]
    if hasattr(signal, "SIGTERM"):
        found.append(signal.SIGTERM)
    return found


def add_serve_command(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    from app.services.local_api import DEFAULT_HOST, DEFAULT_PORT

    serve = commands.add_parser(
        "serve", help="serve the local models as an OpenAI-compatible API on this computer"
    )
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address (default {DEFAULT_HOST}: this computer only)")  # fmt: skip
    serve.add_argument("--port", type=number_in(0, 65535, True), default=DEFAULT_PORT,
                       help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")  # fmt: skip
    serve.add_argument("--model", help="the model of requests that name none (a model id)")
    serve.add_argument("--cors", action="append", metavar="ORIGIN",
                       help="let browser pages from ORIGIN call it (repeatable)")  # fmt: skip
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument("--private", dest="private", action="store_true", default=None,
                      help="refuse cloud models (no connection leaves this device)")  # fmt: skip
    mode.add_argument("--no-private", dest="private", action="store_false",
                      help="allow the configured cloud providers")  # fmt: skip
    serve.set_defaults(func=cmd_serve)
