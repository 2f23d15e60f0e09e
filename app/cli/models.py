"""`tandem-cli models …`: the catalog, downloads, imports, file checks and removal."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from app.cli.options import ranged
from app.cli.output import err, open_workspace, print_json, say
from app.core import units
from app.core.errors import ExitCode, PrivacyBlocked, UsageError
from app.core.reach import MODEL_HUB_URL
from app.store.paths import app_paths


def _hardware() -> Any:
    from app.backends.local.supervisor import LocalEngine
    from app.library.hardware import detect_hardware

    engine = LocalEngine(log_file=app_paths().ensure().log_dir / "engine.log")
    try:  # llama.cpp says what it was built with; it is loaded only in its own process
        offload = engine.gpu_offload_supported()
    finally:
        engine.shutdown()
    return detect_hardware(gpu_offload_supported=offload)


def cmd_models_list(args: argparse.Namespace) -> int:
    from app.library.installed import list_installed

    models = list_installed(app_paths().ensure().models_dir)
    if args.json:
        print_json([m.to_json() for m in models])
        return ExitCode.OK
    if not models:
        say("No models installed. Run `tandem-cli models fetch-default`.")
    for m in models:
        data = m.to_json()
        detail = m.problem or (
            f"{data['architecture']} · {data['quantization']} · ctx {data['context_length']}"
        )
        say(f"{m.id:<32} {units.size(m.size_bytes):>8}  {detail}")
    return ExitCode.OK


def _workspace(private: bool | None) -> Any:
    workspace = open_workspace()
    workspace.private_mode = workspace.settings.private_mode if private is None else private
    return workspace


def cmd_models_fetch_default(args: argparse.Namespace) -> int:
    from app.library.default_model import fetch_default_model

    workspace = _workspace(args.private)
    paths = workspace.paths
    try:
        path = fetch_default_model(
            paths.models_dir,
            paths.cache_dir,
            workspace.network_policy(),
            on_request=workspace.ledger.append,
        )
    except PrivacyBlocked as exc:
        raise PrivacyBlocked(
            f"{exc.message} Add --no-private to fetch the default model this once, or turn "
            "private mode off with `tandem-cli privacy --mode off`."
        ) from None
    if args.json:
        print_json({"path": str(path)})
    else:
        say(path)
    return ExitCode.OK


def cmd_models_catalog(args: argparse.Namespace) -> int:
    from app.library.catalog import load_catalog
    from app.library.hardware import FitLabel, assess_fit, estimate_for_catalog

    catalog = load_catalog()
    hardware = _hardware()
    models_dir = app_paths().models_dir
    rows = []
    for entry in catalog.search(args.search or "", args.family):
        fit = assess_fit(estimate_for_catalog(entry, args.ctx), hardware)
        if args.fits and fit.label is not FitLabel.FITS:
            continue
        installed = (models_dir / entry.file).exists()
        rows.append((entry, fit, installed))
    if args.json:
        print_json(
            [
                {
                    **e.to_json(),
                    "installed": inst,
                    "default": e.id == catalog.default_id,
                    "fit": fit.to_json(),
                }
                for e, fit, inst in rows
            ]
        )
        return ExitCode.OK
    if not rows:
        say("No catalog model matches.")
    say(f"{'id':<38} {'size':>8} {'params':>6} {'ctx':>7} {'RAM':>8}  {'fit':<8} licence")
    for entry, fit, installed in rows:
        approx = "~" if entry.size_approximate else ""
        mark = " (installed)" if installed else ""
        say(
            f"{entry.id:<38} {approx + units.size(entry.size_bytes):>8} "
            f"{units.parameters(entry.parameters):>6} "
            f"{entry.context_length:>7} {units.size(fit.ram_needed_bytes):>8}  {fit.label:<8} "
            f"{entry.license}{mark}"
        )
    ram = units.size(hardware.ram_available_bytes)
    say(f"\nRAM need is for a {rows[0][1].estimate.context_length if rows else '?'}-token "
          f"context where the model allows it; {ram} of RAM is free now.")  # fmt: skip
    return ExitCode.OK


def render_bar(progress: Any, width: int = 30) -> str:
    """One terminal line: [#####.....]  45%  44 MB / 98 MB  12.3 MB/s  ETA 4 s."""
    fraction = progress.fraction or 0.0
    filled = int(width * fraction)
    bar = "#" * filled + "." * (width - filled)
    total = units.size(progress.total_bytes) if progress.total_bytes else "?"
    speed = f"{units.speed(progress.speed_bytes_per_s):>10}"
    eta = "" if progress.eta_s is None else f"  ETA {units.duration(progress.eta_s)}"
    return (
        f"[{bar}] {fraction * 100:3.0f}%  {units.size(progress.done_bytes)} / {total}  {speed}{eta}"
    )


def cmd_models_download(args: argparse.Namespace) -> int:
    from app.library.downloads import (
        DownloadControl,
        DownloadProgress,
        DownloadState,
        catalog_entry,
        download_model,
    )
    from app.library.hardware import FitLabel, assess_fit, estimate_for_catalog

    entry = catalog_entry(args.id)
    workspace = _workspace(args.private)
    paths = workspace.paths
    policy = workspace.network_policy()
    if not policy.may_reach(MODEL_HUB_URL).allowed:
        raise PrivacyBlocked(
            f"Private mode is on: downloading {entry.name} would connect to Hugging Face. "
            "Add --no-private to download it this once, or turn private mode off with "
            "`tandem-cli privacy --mode off`. Importing a file you have works offline."
        )
    models_dir = paths.models_dir
    fit = assess_fit(estimate_for_catalog(entry), _hardware())
    if args.json:
        print_json({"event": "fit", "model": entry.id, **fit.to_json()})
    else:
        err(f"{entry.name}: {fit.reason}")
    if fit.label is FitLabel.TOO_BIG and not args.force:
        raise UsageError(
            f"{entry.name} is too big for this computer ({fit.reason}) Add --force to "
            "download it anyway."
        )
    tty = sys.stderr.isatty()
    last_json = [0.0]

    def on_progress(p: DownloadProgress) -> None:
        if args.json:
            now = time.monotonic()
            if p.state is DownloadState.DOWNLOADING and now - last_json[0] < 0.25:
                return
            last_json[0] = now
            print_json({"event": "progress", **p.to_json()})
        elif tty and p.state is DownloadState.DOWNLOADING:
            sys.stderr.write("\r" + render_bar(p))  # our own CR: the bar redraws itself
            sys.stderr.flush()

    control = DownloadControl()
    previous = signal.signal(signal.SIGINT, lambda *_: control.pause())
    try:
        result = download_model(
            entry,
            models_dir,
            on_progress,
            control,
            on_request=workspace.ledger.append,
            policy=policy,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        if tty and not args.json:
            sys.stderr.write("\n")
    if result.state is DownloadState.PAUSED:
        message = (
            f"Paused after {result.done_bytes:,} bytes; run the same command to resume "
            "where it stopped."
        )
        if args.json:
            print_json({"event": "paused", **result.to_json(), "message": message})
        else:
            err(f"tandem: {message}")
        return ExitCode.INTERRUPTED
    if args.json:
        print_json({"event": "done", **result.to_json()})
    else:
        say(result.path)
    return ExitCode.OK


def cmd_models_import(args: argparse.Namespace) -> int:
    from app.library.import_model import ImportMode, import_gguf

    mode = ImportMode.LINK if args.link else ImportMode.COPY
    result = import_gguf(Path(args.path), app_paths().ensure().models_dir, mode)
    if args.json:
        print_json({"path": str(result.path), "mode": str(mode), "warnings": result.warnings,
                     "already_there": result.already_there})  # fmt: skip
        return ExitCode.OK
    for warning in result.warnings:
        err(f"tandem: warning: {warning}")
    say(result.path)
    return ExitCode.OK


def _info_json(path: Path, ctx: int | None) -> dict[str, Any]:
    from app.library.gguf_file import inspect_gguf
    from app.library.hardware import assess_fit, estimate_for_file
    from app.library.import_model import model_warnings

    info = inspect_gguf(path)
    template, warnings = model_warnings(info)
    fit = assess_fit(estimate_for_file(info, ctx), _hardware())
    return {
        "path": str(path),
        "complete": True,
        "size_bytes": info.size_bytes,
        "name": info.name,
        "architecture": info.architecture,
        "parameters": info.parameters,
        "quantization": info.quantization,
        "context_length": info.context_length,
        "license": info.license,
        "has_chat_template": info.has_chat_template,
        "chat_template_ok": template.ok if template else None,
        "warnings": list(warnings),
        "fit": fit.to_json(),
    }


def cmd_models_info(args: argparse.Namespace) -> int:
    from app.library.installed import resolve_model

    path = resolve_model(args.path, app_paths().models_dir)
    data = _info_json(path, args.ctx)
    if args.json:
        print_json(data)
        return ExitCode.OK
    fit = data["fit"]
    template = "yes" if data["has_chat_template"] else "no (ChatML is used)"
    lines = [
        ("file", data["path"]),
        ("size", f"{units.size(data['size_bytes'])} ({data['size_bytes']:,} bytes), complete"),
        ("name", data["name"] or "?"),
        ("architecture", data["architecture"]),
        ("parameters", f"{units.parameters(data['parameters'])} ({data['parameters']:,})"),
        ("quantization", data["quantization"] or "?"),
        ("context", f"{data['context_length'] or '?'} tokens"),
        ("licence", data["license"] or "not stated"),
        ("chat template", template),
        ("memory", fit["reason"]),
    ]
    for label, value in lines:
        say(f"{label + ':':<15}{value}")
    for warning in data["warnings"]:
        say(f"{'warning:':<15}{warning}")
    return ExitCode.OK


def cmd_models_remove(args: argparse.Namespace) -> int:
    from app.library.installed import remove_model

    removed = remove_model(args.id, app_paths().ensure().models_dir)
    if args.json:
        print_json({"removed": str(removed.path), "freed_bytes": removed.freed_bytes,
                     "was_link": removed.was_link})  # fmt: skip
    elif removed.was_link:
        say(f"removed the link {removed.path} (the file it pointed at is kept)")
    else:
        say(f"removed {removed.path} ({units.size(removed.freed_bytes)} freed)")
    return ExitCode.OK


def _private_options(
    parser: argparse.ArgumentParser, what: str, default: str = "the default follows the setting"
) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--private",
        dest="private",
        action="store_true",
        default=None,
        help=f"refuse, as private mode does ({default})",
    )
    mode.add_argument(
        "--no-private",
        dest="private",
        action="store_false",
        help=f"{what} even though private mode is on",
    )


def add_model_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    models = commands.add_parser("models", help="installed models, the catalog and downloads")
    model_cmds = models.add_subparsers(
        dest="models_command", required=True, parser_class=parser_class
    )
    listing = model_cmds.add_parser("list", help="list installed models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_models_list)
    fetch = model_cmds.add_parser("fetch-default", help="install the embedded default model")
    fetch.add_argument("--json", action="store_true")
    _private_options(
        fetch,
        "fetch it",
        "the first set-up of a data folder may fetch it; after that it follows the setting",
    )
    fetch.set_defaults(func=cmd_models_fetch_default)

    catalog = model_cmds.add_parser("catalog", help="curated models, with whether each fits")
    catalog.add_argument("--search", help="words to look for in name, family or purpose")
    catalog.add_argument("--family", help="only this family, e.g. Qwen2.5")
    catalog.add_argument("--fits", action="store_true", help="only models that fit this computer")
    catalog.add_argument("--ctx", type=ranged("context_length", True),
                         help="context length to size memory for")  # fmt: skip
    catalog.add_argument("--json", action="store_true")
    catalog.set_defaults(func=cmd_models_catalog)

    download = model_cmds.add_parser("download", help="download a catalog model (resumable)")
    download.add_argument("id", help="a catalog id (see `models catalog`)")
    download.add_argument("--force", action="store_true", help="even if it looks too big")
    download.add_argument("--json", action="store_true", help="JSON lines of progress")
    _private_options(download, "download it")
    download.set_defaults(func=cmd_models_download)

    imp = model_cmds.add_parser("import", help="check a GGUF file and add it to the models")
    imp.add_argument("path")
    imp.add_argument("--link", action="store_true", help="link to the file instead of copying")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_models_import)

    info = model_cmds.add_parser("info", help="read a GGUF file's metadata and check it")
    info.add_argument("path", help="a .gguf path or an installed model id")
    info.add_argument("--ctx", type=ranged("context_length", True),
                      help="context length to size memory for")  # fmt: skip
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_models_info)

    remove = model_cmds.add_parser("remove", help="delete an installed model")
    remove.add_argument("id", help="an installed model id or file name")
    remove.add_argument("--json", action="store_true")
    remove.set_defaults(func=cmd_models_remove)
