"""`tandem-cli presets …`: list, save and delete presets (a named system prompt,
generation parameters and model), the ones the window's composer offers."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from app.cli.options import ranged, utf8
from app.cli.output import err, open_workspace, print_json, say
from app.core.errors import ExitCode

_OPTIONS = {
    "system": "system_prompt", "temperature": "temperature", "top_p": "top_p",
    "max_tokens": "max_tokens", "ctx": "context_length", "threads": "threads",
    "gpu_layers": "gpu_layers", "seed": "seed",
}  # fmt: skip


def _as_json(preset: Any) -> dict[str, Any]:
    return {"name": preset.name, "model": preset.model,
            "generation": dataclasses.asdict(preset.generation)}  # fmt: skip


def cmd_list(args: argparse.Namespace) -> int:
    presets = open_workspace().presets.all()
    if args.json:
        print_json([_as_json(p) for p in presets])
        return ExitCode.OK
    if not presets:
        say("No presets yet. Save one with `tandem-cli presets save NAME --system TEXT`.")
    for p in presets:
        g = p.generation
        system = " ".join(g.system_prompt.split())
        system = system if len(system) <= 60 else system[:59] + "…"
        say(f"{p.name}\t{p.model or '(the default model)'}\ttemperature {g.temperature:g}, "
            f"max {g.max_tokens} tokens\t{system or '(no system prompt)'}")  # fmt: skip
    return ExitCode.OK


def cmd_save(args: argparse.Namespace) -> int:
    workspace = open_workspace()
    presets = workspace.presets
    known = {p.name: p for p in presets.all()}
    # An existing preset keeps what is not given; a new one starts from the defaults.
    base = known[args.name].generation if args.name in known else workspace.settings.generation
    changes = {field: getattr(args, option) for option, field in _OPTIONS.items()}
    params = base.with_(**{k: v for k, v in changes.items() if v is not None})
    model = (
        args.model
        if args.model is not None
        else (known[args.name].model if args.name in known else "")
    )
    saved = presets.save(args.name, params, model)
    err(f"tandem: saved the preset “{saved.name}”")
    if args.json:
        print_json(_as_json(saved))
    return ExitCode.OK


def cmd_delete(args: argparse.Namespace) -> int:
    gone = open_workspace().presets.delete(args.name)
    err(f"tandem: deleted the preset “{gone.name}”")
    return ExitCode.OK


def add_presets_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    presets = commands.add_parser("presets", help="named system prompts, parameters and models")
    sub = presets.add_subparsers(dest="presets_command", required=True, parser_class=parser_class)
    listing = sub.add_parser("list", help="the saved presets")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    save = sub.add_parser("save", help="save or change a preset")
    save.add_argument("name", type=utf8)
    save.add_argument(
        "--model", type=utf8, help="model id, a .gguf path, or PROVIDER:MODEL ('' for the default)"
    )
    save.add_argument("--system", type=utf8, help="system prompt")
    save.add_argument("--temperature", type=ranged("temperature", False))
    save.add_argument("--top-p", type=ranged("top_p", False))
    save.add_argument("--max-tokens", type=ranged("max_tokens", True))
    save.add_argument("--ctx", type=ranged("context_length", True), help="context length")
    save.add_argument("--threads", type=ranged("threads", True))
    save.add_argument("--gpu-layers", type=ranged("gpu_layers", True))
    save.add_argument("--seed", type=ranged("seed", True))
    save.add_argument("--json", action="store_true")
    save.set_defaults(func=cmd_save)
    delete = sub.add_parser("delete", help="delete a preset")
    delete.add_argument("name", type=utf8)
    delete.set_defaults(func=cmd_delete)
