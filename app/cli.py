"""`tandem-cli`: the same chat, models and engine as the window, from a terminal.

It parses, calls the library the GUI uses, and prints. Failures become one line on
stderr and an exit code (2 usage, 3 model file, 4 provider, 5 engine crash); with
`--json`, an `{"error": {...}}` object on stdout too.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from app import __version__
from app.core.errors import TandemError, UsageError
from app.core.paths import app_paths


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _fail(exc: TandemError, as_json: bool, extra: dict[str, Any] | None = None) -> int:
    sys.stderr.write(f"tandem: {exc.message}\n")
    if as_json:
        _print_json({"error": {"kind": exc.kind, "message": exc.message}, **(extra or {})})
    return exc.exit_code


def _read_prompt(prompt: str) -> str:
    text = sys.stdin.read() if prompt == "-" else prompt
    if not text.strip():
        raise UsageError("The prompt is empty. Give it as an argument, or `-` to read stdin.")
    return text


def cmd_chat(args: argparse.Namespace) -> int:
    from app.backends.local import LocalBackend, LocalEngine
    from app.chat import ChatService
    from app.core.events import CancelToken, Delta, Failed, Finished
    from app.core.messages import GenerationParams
    from app.library.catalog import load_catalog
    from app.library.installed import model_id_for, resolve_model

    prompt = _read_prompt(args.prompt)
    paths = app_paths().ensure()
    spec = args.model or load_catalog().default_id
    model_path = resolve_model(spec, paths.models_dir)
    defaults = GenerationParams()
    params = GenerationParams(
        system_prompt=args.system or "",
        temperature=defaults.temperature if args.temperature is None else args.temperature,
        top_p=defaults.top_p if args.top_p is None else args.top_p,
        max_tokens=args.max_tokens or defaults.max_tokens,
        context_length=args.ctx or defaults.context_length,
        threads=args.threads,
        gpu_layers=defaults.gpu_layers if args.gpu_layers is None else args.gpu_layers,
        seed=args.seed,
    )
    engine = LocalEngine()
    service = ChatService(LocalBackend(engine, model_path, model_id_for(model_path)), params)
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    text: list[str] = []
    try:
        for event in service.send(prompt, cancel):
            match event:
                case Delta(text=chunk):
                    text.append(chunk)
                    if not args.json:
                        sys.stdout.write(chunk)
                        sys.stdout.flush()
                case Finished(stats=stats):
                    if args.json:
                        _print_json({"text": "".join(text), **stats.to_json()})
                    else:
                        sys.stdout.write("\n")
                        sys.stderr.write(stats.summary_line() + "\n")
                    return 0
                case Failed(error=error):
                    if text and not args.json:
                        sys.stdout.write("\n")
                    return _fail(error, args.json, {"text": "".join(text)} if text else None)
        return 0
    finally:
        signal.signal(signal.SIGINT, previous)
        engine.shutdown()


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tandem-cli", description="Tandem from the command line.")
    parser.add_argument("--version", action="version", version=f"tandem {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    chat = commands.add_parser("chat", help="ask a model one question")
    chat.add_argument("--model", help="model id (see `models list`) or path to a .gguf file")
    chat.add_argument("--system", help="system prompt")
    chat.add_argument("--max-tokens", type=int)
    chat.add_argument("--temperature", type=float)
    chat.add_argument("--top-p", type=float)
    chat.add_argument("--seed", type=int)
    chat.add_argument("--threads", type=int)
    chat.add_argument("--ctx", type=int, help="context length in tokens")
    chat.add_argument("--gpu-layers", type=int, help="layers to offload; -1 = auto")
    chat.add_argument("--json", action="store_true", help="print one JSON object")
    chat.add_argument("prompt", help="the message, or - to read standard input")
    chat.set_defaults(func=cmd_chat)

    models = commands.add_parser("models", help="installed models")
    model_cmds = models.add_subparsers(dest="models_command", required=True, parser_class=_Parser)
    listing = model_cmds.add_parser("list", help="list installed models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_models_list)
    fetch = model_cmds.add_parser("fetch-default", help="install the embedded default model")
    fetch.add_argument("--json", action="store_true")
    fetch.set_defaults(func=cmd_models_fetch_default)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    from app.store.logs import setup_logging

    try:
        args = build_parser().parse_args(argv)
        setup_logging(app_paths().log_file)
        return int(args.func(args))
    except TandemError as exc:
        return _fail(exc, as_json)
    except KeyboardInterrupt:
        return 130


def run() -> NoReturn:
    sys.exit(main())


if __name__ == "__main__":
    run()
