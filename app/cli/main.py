"""`tandem-cli`: the same chat, models and engine as the window, from a terminal.

It parses, calls the library the GUI uses, and prints. Failures become one line on
stderr and an exit code from the one table (core.errors.EXIT_CODES, printed by
`--help`); with `--json`, an `{"error": {...}}` object on stdout too.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from app import __version__
from app.cli.options import ranged, utf8
from app.cli.output import err, fail, open_workspace, print_json, say, write
from app.core.errors import ExitCode, TandemError, UsageError, exit_codes_help
from app.core.messages import FlashAttention, KVCacheType
from app.store.paths import app_paths


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _read_prompt(prompt: str) -> str:
    if prompt == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        data = (
            stdin.read()
            if stdin is not None
            else sys.stdin.read().encode("utf-8", "surrogateescape")
        )
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"The prompt on standard input is not valid UTF-8 text (at byte {exc.start + 1}). "
                "Convert it to UTF-8 and try again."
            ) from None
    else:
        text = prompt  # checked by its option type (utf8)
    if not text.strip():
        raise UsageError("The prompt is empty. Give it as an argument, or `-` to read stdin.")
    return text


def _params(args: argparse.Namespace, base: Any) -> Any:
    changes = {
        "system_prompt": args.system,
        "temperature": args.temperature,
        "top_p": args.top_p,
        "max_tokens": args.max_tokens,
        "context_length": args.ctx,
        "threads": args.threads,
        "gpu_layers": args.gpu_layers,
        "seed": args.seed,
        "kv_cache_type": args.kv_cache_type and KVCacheType(args.kv_cache_type),
        "flash_attention": args.flash_attention and FlashAttention(args.flash_attention),
        "speculative": args.speculative,
    }
    return base.with_(**{k: v for k, v in changes.items() if v is not None})


def _workspace(args: argparse.Namespace) -> Any:
    workspace = open_workspace()
    for problem in workspace.prices.problems:
        err(f"tandem: warning: {problem}")
    private = workspace.settings.private_mode if args.private is None else args.private
    workspace.set_private_mode(private)
    return workspace


def _policy(args: argparse.Namespace) -> Any:
    from app.services.chat import OnSensitive

    if args.on_sensitive:
        return OnSensitive(args.on_sensitive)
    interactive = sys.stdin.isatty() and args.prompt != "-"
    return OnSensitive.ASK if interactive else OnSensitive.REFUSE


def _ask_about_sensitive(message: str) -> Any:
    """Ask at the terminal: send anyway, redact, or cancel."""
    from app.services.chat import OnSensitive

    err(f"tandem: {message}\n[s]end anyway, send [r]edacted, or [c]ancel? ", end="")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()[:1]
    return {"s": OnSensitive.SEND, "r": OnSensitive.REDACT}.get(answer)


def _spec(args: argparse.Namespace, workspace: Any) -> str:
    from app.library.catalog import load_catalog
    from app.services.models import default_model_spec

    if args.provider:
        model = args.model or workspace.provider(args.provider).default_model
        if not model:
            raise UsageError(f"Say which model of {args.provider} to ask, with --model.")
        return f"{args.provider}:{model}"
    if args.model:
        return str(args.model)
    if getattr(args, "preset_model", ""):
        return str(args.preset_model)
    # With nothing installed, the catalog's default is named, and its error says how to fetch it.
    found = default_model_spec(workspace.settings, workspace.paths.models_dir)
    return found or load_catalog().default_id


def _chat_mode(args: argparse.Namespace) -> str | None:
    """The prompt (None when regenerating), after checking the options fit together."""
    continuing = args.continue_id is not None or args.continue_latest
    if (args.regenerate or args.edit is not None) and not continuing:
        which = "--regenerate" if args.regenerate else "--edit"
        raise UsageError(f"{which} needs the conversation: add --continue ID (or -c).")
    if args.regenerate and args.edit is not None:
        raise UsageError("Choose one of --regenerate and --edit.")
    if args.regenerate:
        if args.prompt is not None:
            raise UsageError(
                "--regenerate asks the same question again; leave out the prompt "
                "(or use --edit MESSAGE_ID PROMPT to change the question)."
            )
        return None
    if args.prompt is None:
        raise UsageError("Give the message as an argument, or `-` to read standard input.")
    return _read_prompt(args.prompt)


def cmd_chat(args: argparse.Namespace) -> int:
    from app.core.errors import SensitiveContent
    from app.core.events import CancelToken, Delta, Failed, Finished, Retrying
    from app.services.chat import OnSensitive
    from app.services.instance import chat_backend, engine_kind

    prompt = _chat_mode(args)
    workspace = _workspace(args)
    service = workspace.chat_service(None, save=not args.no_save)
    if args.preset is not None:  # its parameters, under the options given; its model
        preset = workspace.presets.get(args.preset)
        workspace.presets.apply(preset, service)
        args.preset_model = preset.model
    service.params = _params(args, service.params)
    if args.continue_id is not None or args.continue_latest:
        history = workspace.history()
        target = args.continue_id
        if target is None:
            latest = sorted(history.list_conversations(), key=lambda c: c.updated_at)
            if not latest:
                raise UsageError("There is no conversation to continue yet.")
            target = latest[-1].id
        service.open_conversation(target)
    spec = None
    if args.regenerate and not (args.model or args.provider):
        replaced = service.answer_to_regenerate()
        spec = replaced.model if replaced is not None else None  # the same model again
    own = any(v is not None for v in (args.ctx, args.threads, args.gpu_layers))
    service.backend = chat_backend(workspace, spec or _spec(args, workspace), own_engine=own)
    from app.cli.docs import prepare_documents, print_sources

    documents = None
    if args.attach or args.collection:
        if prompt is None or args.edit is not None:
            raise UsageError(
                "--attach and --collection go with a new message, not --regenerate or --edit."
            )
        documents = prepare_documents(args, workspace, service, prompt)
    sent = documents.prompt(prompt) if documents is not None and documents.passages else prompt
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    text: list[str] = []
    reasoning: list[str] = []
    policy = _policy(args)
    try:
        while True:
            try:
                service.check_turn(
                    sent or "", policy, edit_id=args.edit, regenerate=args.regenerate
                )
                break
            except SensitiveContent as exc:
                if policy is not OnSensitive.ASK:
                    raise
                decision = _ask_about_sensitive(exc.message)
                if decision is None:
                    err("tandem: not sent.")
                    return ExitCode.FAILED
                policy = decision
        if args.regenerate:
            events = service.regenerate(cancel, on_sensitive=policy)
        elif args.edit is not None:
            assert prompt is not None
            events = service.edit_and_resend(args.edit, prompt, cancel, policy)
        else:
            assert prompt is not None
            events = service.send(
                prompt, cancel, policy, over_budget=args.over_budget, documents=documents
            )
        for event in events:
            match event:
                case Delta(text=chunk) if event.reasoning:
                    reasoning.append(chunk)
                    if not args.json:
                        err(chunk, end="")  # the thinking, apart from the answer on stdout
                case Delta(text=chunk):
                    if reasoning and not text and not args.json:
                        err("")
                    text.append(chunk)
                    if not args.json:
                        write(chunk)
                        sys.stdout.flush()
                case Retrying(attempt=n, max_attempts=most, wait_s=wait, reason=why):
                    err(f"tandem: {why} Retrying in {wait:.0f} s ({n}/{most}).")
                case Finished(stats=stats):
                    saved: dict[str, object] = {
                        "conversation_id": service.conversation_id,
                        "message_id": service.conversation.leaf_id,
                        "engine": engine_kind(service.backend),
                    }
                    if documents is not None:
                        saved["sources"] = documents.sources()
                    if args.json:
                        print_json(
                            {"text": "".join(text), "reasoning": "".join(reasoning),
                             **stats.to_json(), **saved}
                        )  # fmt: skip
                    else:
                        write("\n")
                        if reasoning and not text:
                            err("")
                        print_sources(documents)
                        err(stats.summary_line())
                        if service.conversation_id is not None:
                            err(f"conversation {service.conversation_id}")
                    return ExitCode.OK
                case Failed(error=error):
                    if text and not args.json:
                        write("\n")
                    partial = {"text": "".join(text), "reasoning": "".join(reasoning)}
                    return fail(error, args.json, partial if text or reasoning else None)
        return ExitCode.OK
    finally:
        signal.signal(signal.SIGINT, previous)
        workspace.shutdown()


def cmd_compare(args: argparse.Namespace) -> int:
    from app.core.events import CancelToken, Delta, Failed, Finished
    from app.services.compare import CompareSession, verdict
    from app.services.instance import chat_backend

    prompt = _read_prompt(args.prompt)
    workspace = _workspace(args)
    sides = {}
    for side, spec in (("a", args.a), ("b", args.b)):
        service = workspace.chat_service(chat_backend(workspace, spec))
        service.params = _params(args, service.params)
        sides[side] = service
    session = CompareSession(sides["a"], sides["b"])
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    results: dict[str, dict[str, Any]] = {
        side: {"text": "", "reasoning": ""} for side in ("a", "b")
    }
    stats: dict[str, Any] = {"a": None, "b": None}
    errors: dict[str, TandemError] = {}
    try:
        for side, event in session.send(prompt, cancel, on_sensitive=_policy(args)):
            match event:
                case Delta(text=chunk) if event.reasoning:
                    results[side]["reasoning"] += chunk
                case Delta(text=chunk):
                    results[side]["text"] += chunk
                case Finished(stats=final):
                    stats[side] = final
                    results[side].update(final.to_json())
                case Failed(error=error):
                    errors[side] = error
                    results[side]["error"] = {"kind": error.kind, "message": error.message}
    finally:
        signal.signal(signal.SIGINT, previous)
        workspace.shutdown()
    judged = verdict(stats["a"], stats["b"])
    if args.json:
        print_json({"a": results["a"], "b": results["b"], "verdict": judged.to_json()})
    else:
        for side in ("a", "b"):
            spec = args.a if side == "a" else args.b
            say(f"── {side.upper()}: {spec}")
            say(results[side]["text"])
            line = stats[side].summary_line() if stats[side] else results[side]["error"]["message"]
            say(f"   {line}\n")
        say(judged.summary())
    failed = [errors[side] for side in ("a", "b") if side in errors]
    return failed[0].exit_code if failed else ExitCode.OK


def cmd_providers_add(args: argparse.Namespace) -> int:
    key = None
    if args.key_stdin:
        key = sys.stdin.readline().strip()
        if not key:
            raise UsageError("No key arrived on standard input.")
    elif args.key_env:
        key = os.environ.get(args.key_env)
        if not key:
            raise UsageError(f"The environment variable {args.key_env} is empty or unset.")
    workspace = open_workspace()
    provider = workspace.add_provider(
        args.name, args.preset or ("custom" if args.base_url else args.name),
        args.base_url, args.model, args.trusted, key,
    )  # fmt: skip
    say(f"{provider.name}: {provider.base_url} (key {'set' if key else 'not set'})")
    return ExitCode.OK


def cmd_providers_list(args: argparse.Namespace) -> int:
    workspace = open_workspace()
    rows = [
        {"name": p.name, "preset": p.preset, "base_url": p.base_url, "host": p.host,
         "model": p.default_model, "trusted": p.trusted, "key": workspace.has_key(p)}
        for p in workspace.providers()
    ]  # fmt: skip
    if args.json:
        print_json(rows)
        return ExitCode.OK
    if not rows:
        say("No providers yet. Add one with `tandem-cli providers add NAME --preset NAME`.")
    for row in rows:
        trusted = " trusted" if row["trusted"] else ""
        key = "key set" if row["key"] else "no key"
        say(f"{row['name']:<16} {row['base_url']:<48} {key}{trusted}")
    return ExitCode.OK


def cmd_providers_models(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    provider = workspace.provider(args.name)
    names = workspace.list_models(workspace.cloud_backend(provider, provider.default_model or ""))
    if args.json:
        print_json(names)
    else:
        say("\n".join(names) if names else f"{args.name} lists no models.")
    return ExitCode.OK


def cmd_providers_remove(args: argparse.Namespace) -> int:
    open_workspace().remove_provider(args.name)
    say(f"removed {args.name}")
    return ExitCode.OK


def cmd_privacy(args: argparse.Namespace) -> int:
    import dataclasses

    workspace = open_workspace()
    if args.mode is not None:
        private = args.mode == "on"
        workspace.save(dataclasses.replace(workspace.settings, private_mode=private))
    records = workspace.ledger.records()
    if args.json:
        print_json(
            {
                "private_mode": workspace.settings.private_mode,
                "ledger": [dataclasses.asdict(r) for r in records],
            }
        )
        return ExitCode.OK
    say(f"private mode: {'on' if workspace.settings.private_mode else 'off'}")
    if not records:
        say("Nothing has been sent anywhere.")
    for r in records:
        where = r.host if r.left_device else f"{r.host} (this device)"
        say(
            f"{r.time}  {where:<32} {r.provider}:{r.model}  sent {r.bytes_sent:,} B, "
            f"received {r.bytes_received:,} B  {r.outcome}"
        )
    return ExitCode.OK


def _generation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--system", type=utf8, help="system prompt")
    parser.add_argument("--max-tokens", type=ranged("max_tokens", True))
    parser.add_argument("--temperature", type=ranged("temperature", False))
    parser.add_argument("--top-p", type=ranged("top_p", False))
    parser.add_argument("--seed", type=ranged("seed", True))
    parser.add_argument("--threads", type=ranged("threads", True))
    parser.add_argument("--ctx", type=ranged("context_length", True),
                        help="context length in tokens")  # fmt: skip
    parser.add_argument("--gpu-layers", type=ranged("gpu_layers", True),
                        help="layers to offload; -1 = auto")  # fmt: skip
    parser.add_argument("--kv-cache-type", choices=[str(k) for k in KVCacheType],
                        help="how the context is stored (q8_0, q4_0: less memory, need "
                        "flash attention)")  # fmt: skip
    parser.add_argument("--flash-attention", choices=[str(f) for f in FlashAttention])
    parser.add_argument("--speculative", action=argparse.BooleanOptionalAction, default=None,
                        help="draft tokens from the prompt (prompt lookup); default: as set "
                        "for the model")  # fmt: skip
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--private", dest="private", action="store_true", default=None,
                      help="refuse every connection that leaves this device")  # fmt: skip
    mode.add_argument("--no-private", dest="private", action="store_false",
                      help="allow cloud providers for this call")  # fmt: skip
    parser.add_argument("--on-sensitive", choices=["ask", "redact", "send", "refuse"],
                        help="when the text holds keys or personal data (default: ask at "
                        "a terminal, refuse otherwise)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tandem-cli",
        description="Tandem from the command line.",
        epilog=exit_codes_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tandem {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    chat = commands.add_parser("chat", help="ask a model one question")
    chat.add_argument(
        "--model", help="model id (see `models list`), a .gguf path, or PROVIDER:MODEL"
    )
    chat.add_argument("--provider", help="a configured cloud provider (see `providers list`)")
    chat.add_argument("--preset", type=utf8, help="a saved preset (see `presets list`)")
    saving = chat.add_mutually_exclusive_group()
    saving.add_argument(
        "--continue",
        dest="continue_id",
        type=int,
        metavar="ID",
        help="continue this conversation, with its earlier turns as context",
    )
    saving.add_argument(
        "-c", dest="continue_latest", action="store_true", help="continue the latest conversation"
    )
    saving.add_argument("--no-save", action="store_true", help="keep nothing in the history")
    redo = chat.add_mutually_exclusive_group()
    redo.add_argument(
        "--regenerate",
        action="store_true",
        help="answer the last question again, as a new version (with --model: on that model)",
    )
    redo.add_argument(
        "--edit",
        type=int,
        metavar="MESSAGE_ID",
        help="send PROMPT in place of this message of yours, as a new branch",
    )
    chat.add_argument("--over-budget", action="store_true",
                      help="send even when it may take the month over its budget")  # fmt: skip
    _generation_options(chat)
    from app.cli.docs import add_chat_options, add_docs_commands

    add_chat_options(chat)
    chat.add_argument(
        "prompt", type=utf8, nargs="?", help="the message, or - to read standard input"
    )
    chat.set_defaults(func=cmd_chat)

    compare = commands.add_parser("compare", help="ask two models at once")
    compare.add_argument("--a", required=True, help="local:ID, a model id, or PROVIDER:MODEL")
    compare.add_argument("--b", required=True, help="local:ID, a model id, or PROVIDER:MODEL")
    _generation_options(compare)
    compare.add_argument("prompt", type=utf8, help="the message, or - to read standard input")
    compare.set_defaults(func=cmd_compare)

    providers = commands.add_parser("providers", help="cloud providers and their keys")
    provider_cmds = providers.add_subparsers(
        dest="providers_command", required=True, parser_class=_Parser
    )
    add = provider_cmds.add_parser("add", help="add or update a provider")
    add.add_argument("name")
    add.add_argument("--preset", help="openai, anthropic, gemini, groq, mistral, openrouter, "
                     "together, deepseek, ollama, lmstudio, llamacpp, custom")  # fmt: skip
    add.add_argument("--base-url")
    add.add_argument("--model", help="the model to ask by default")
    add.add_argument("--trusted", action="store_true", help="allowed in private mode")
    keys = add.add_mutually_exclusive_group()
    keys.add_argument("--key-stdin", action="store_true", help="read the API key from stdin")
    keys.add_argument("--key-env", metavar="VAR", help="take the API key from this variable")
    add.set_defaults(func=cmd_providers_add)
    listing = provider_cmds.add_parser("list", help="configured providers")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_providers_list)
    models = provider_cmds.add_parser("models", help="the models a provider offers")
    models.add_argument("name")
    models.add_argument("--json", action="store_true")
    mode = models.add_mutually_exclusive_group()
    mode.add_argument("--private", dest="private", action="store_true", default=None)
    mode.add_argument("--no-private", dest="private", action="store_false")
    models.set_defaults(func=cmd_providers_models)
    remove = provider_cmds.add_parser("remove", help="remove a provider and its key")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_providers_remove)

    privacy = commands.add_parser("privacy", help="private mode and the privacy ledger")
    privacy.add_argument("--mode", choices=["on", "off"], help="turn private mode on or off")
    privacy.add_argument("--json", action="store_true")
    privacy.set_defaults(func=cmd_privacy)

    from app.cli.arena import add_arena_commands
    from app.cli.history import add_history_commands
    from app.cli.models import add_model_commands
    from app.cli.presets import add_presets_commands
    from app.cli.serve import add_serve_command
    from app.cli.usage import add_usage_commands

    add_model_commands(commands, _Parser)
    add_serve_command(commands, _Parser)
    add_history_commands(commands, _Parser)
    add_arena_commands(commands, _Parser)
    add_usage_commands(commands, _Parser)
    add_docs_commands(commands, _Parser)
    add_presets_commands(commands, _Parser)
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
        return fail(exc, as_json)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED


def run() -> NoReturn:
    sys.exit(main())


if __name__ == "__main__":
    run()
