"""`tandem-cli models …`: installed models and the default model."""

from __future__ import annotations

import argparse
from typing import Any

from app.core.paths import app_paths


def _print_json(data: Any) -> None:
    from app.cli import _print_json as print_json

    print_json(data)


def cmd_models_list(args: argparse.Namespace) -> int:
    from app.library.installed import list_installed

    models = list_installed(app_paths().ensure().models_dir)
    if args.json:
        _print_json([m.to_json() for m in models])
        return 0
    if not models:
        print("No models installed. Run `tandem-cli models fetch-default`.")
    for m in models:
        data = m.to_json()
        detail = m.problem or (
            f"{data['architecture']} · {data['quantization']} · ctx {data['context_length']}"
        )
        print(f"{m.id:<32} {m.size_bytes / 1e6:8.1f} MB  {detail}")
    return 0


def cmd_models_fetch_default(args: argparse.Namespace) -> int:
    from app.library.default_model import fetch_default_model

    paths = app_paths().ensure()
    path = fetch_default_model(paths.models_dir, paths.cache_dir)
    if args.json:
        _print_json({"path": str(path)})
    else:
        print(path)
    return 0


def add_model_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    models = commands.add_parser("models", help="installed models")
    model_cmds = models.add_subparsers(
        dest="models_command", required=True, parser_class=parser_class
    )
    listing = model_cmds.add_parser("list", help="list installed models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_models_list)
    fetch = model_cmds.add_parser("fetch-default", help="install the embedded default model")
    fetch.add_argument("--json", action="store_true")
    fetch.set_defaults(func=cmd_models_fetch_default)
