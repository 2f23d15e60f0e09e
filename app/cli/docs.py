"""`tandem-cli docs …`: collections of your own files (add, list, remove, reindex, search),
and what `chat --attach` / `--collection` needs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli.options import number_in, utf8
from app.cli.output import err, open_workspace, print_json, say
from app.core.errors import ExitCode


def _workspace(args: argparse.Namespace) -> Any:
    workspace = open_workspace()
    private = workspace.settings.private_mode if args.private is None else args.private
    workspace.set_private_mode(private)
    return workspace


def _progress(args: argparse.Namespace) -> Any:
    """Progress on stderr, one line per file (rewritten in place at a terminal)."""
    at_terminal = sys.stderr.isatty() and not args.json

    def show(progress: Any) -> None:
        if progress.finished or not progress.total:
            if at_terminal:
                err("")
            return
        line = f"indexing {progress.done}/{progress.total}: {Path(progress.current).name}"
        if at_terminal:
            err("\r" + line[:100].ljust(100), end="")
        elif not args.json:
            err(line)

    return show


def _report(args: argparse.Namespace, report: Any) -> int:
    for refused in report.refused:
        err(f"tandem: refused {refused.message}")
    if report.keywords_only:
        err(f"tandem: {report.note}")
    if args.json:
        print_json(
            {
                "collection": report.collection,
                "indexed": report.indexed,
                "unchanged": report.unchanged,
                "removed": report.removed,
                "passages": report.chunks,
                "refused": [{"file": r.file, "reason": r.reason} for r in report.refused],
                "keywords_only": report.keywords_only,
            }
        )
    else:
        say(
            f"{report.collection}: {report.indexed} indexed, {report.unchanged} unchanged, "
            f"{report.removed} removed, {len(report.refused)} refused"
        )
    return ExitCode.DOCUMENT_REFUSED if report.refused else ExitCode.OK


def cmd_add(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    try:
        paths = [Path(p) for p in args.paths]
        report = workspace.documents.add(args.collection, paths, _progress(args))
        return _report(args, report)
    finally:
        workspace.shutdown()


def cmd_reindex(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    try:
        return _report(args, workspace.documents.sync(args.collection, _progress(args)))
    finally:
        workspace.shutdown()


def cmd_list(args: argparse.Namespace) -> int:
    workspace = open_workspace()
    try:
        rows = workspace.documents.collections()
        if args.json:
            print_json(
                [
                    {"name": r.name, "paths": list(r.roots), "files": r.files,
                     "indexed": r.indexed, "refused": r.refused, "passages": r.chunks,
                     "with_vectors": r.with_vectors}
                    for r in rows
                ]
            )  # fmt: skip
            return ExitCode.OK
        if not rows:
            say("No collections yet. Add one with `tandem-cli docs add PATH --collection NAME`.")
        for r in rows:
            search = "hybrid" if r.chunks and r.with_vectors == r.chunks else "keywords only"
            say(
                f"{r.name}: {r.indexed}/{r.files} files indexed, {r.refused} refused, "
                f"{r.chunks} passages ({search})"
            )
            for root in r.roots:
                say(f"  {root}")
        return ExitCode.OK
    finally:
        workspace.shutdown()


def cmd_remove(args: argparse.Namespace) -> int:
    workspace = open_workspace()
    try:
        workspace.documents.remove(args.collection)
        say(f"Removed the collection {args.collection} (your files are untouched).")
        return ExitCode.OK
    finally:
        workspace.shutdown()


def cmd_search(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    try:
        result = workspace.documents.search(
            args.query, args.collection, limit=int(args.limit), mode=args.mode
        )
        if result.note:
            err(f"tandem: {result.note}")
        if args.json:
            print_json(
                {
                    "mode": result.mode,
                    "passages": [{**p.to_json(), "heading": p.heading} for p in result.passages],
                }
            )
            return ExitCode.OK
        if not result.passages:
            say("Nothing found.")
        for number, p in enumerate(result.passages, start=1):
            page = f" p.{p.page}" if p.page else ""
            say(f"[{number}] {p.file}{page} (score {p.score:.4f})")
            say(f"    {p.excerpt}")
        return ExitCode.OK
    finally:
        workspace.shutdown()


def _private_options(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--private", dest="private", action="store_true", default=None,
                      help="fetch nothing (without an embedding model: keywords only)")  # fmt: skip
    mode.add_argument("--no-private", dest="private", action="store_false",
                      help="allow fetching the built-in embedding model")  # fmt: skip


def add_docs_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    docs = commands.add_parser("docs", help="collections of your own files, searched locally")
    sub = docs.add_subparsers(dest="docs_command", required=True, parser_class=parser_class)

    add = sub.add_parser("add", help="add files and folders to a collection and index them")
    add.add_argument("paths", nargs="+", type=utf8, metavar="PATH")
    add.add_argument("--collection", required=True, type=utf8, metavar="NAME")
    add.add_argument("--json", action="store_true")
    _private_options(add)
    add.set_defaults(func=cmd_add)

    listing = sub.add_parser("list", help="collections and how far they are indexed")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)

    remove = sub.add_parser("remove", help="forget a collection (the files stay)")
    remove.add_argument("collection", type=utf8, metavar="NAME")
    remove.set_defaults(func=cmd_remove)

    reindex = sub.add_parser(
        "reindex", help="index what changed, was added or removed (resumes a stopped run)"
    )
    reindex.add_argument("collection", type=utf8, metavar="NAME")
    reindex.add_argument("--json", action="store_true")
    _private_options(reindex)
    reindex.set_defaults(func=cmd_reindex)

    search = sub.add_parser("search", help="the passages that best match a question")
    search.add_argument("query", type=utf8)
    search.add_argument("--collection", required=True, type=utf8, metavar="NAME")
    search.add_argument("--limit", type=number_in(1, 100, True), default=5)
    search.add_argument("--mode", choices=["hybrid", "keywords", "vectors"], default="hybrid")
    search.add_argument("--json", action="store_true")
    _private_options(search)
    search.set_defaults(func=cmd_search)


# ----- chat --attach / --collection


def add_chat_options(chat: argparse.ArgumentParser) -> None:
    chat.add_argument("--attach", action="append", type=utf8, metavar="PATH", default=[],
                      help="a file (or folder) to ask about; repeat for more")  # fmt: skip
    chat.add_argument("--collection", type=utf8, metavar="NAME",
                      help="answer from this document collection")  # fmt: skip


def prepare_documents(args: argparse.Namespace, workspace: Any, service: Any, prompt: str) -> Any:
    """The documents for this message (None without --attach or --collection)."""
    if not args.attach and not args.collection:
        return None
    history = sum(len(m.content) for m in service.conversation.context())
    documents = workspace.documents.prepare(
        prompt,
        attachments=[Path(p) for p in args.attach],
        collection=args.collection,
        context_tokens=service.params.context_length,
        answer_tokens=service.params.max_tokens,
        history_chars=history,
        backend=service.backend,
    )
    for refused in documents.refused:
        err(f"tandem: refused {refused.message}")
    if documents.note:
        err(f"tandem: {documents.note}")
    return documents


def print_sources(documents: Any) -> None:
    """The answer's sources under it, on stderr (the answer alone is on stdout)."""
    if documents is None or not documents.passages:
        return
    how = "whole" if documents.whole else "retrieved"
    err(f"sources ({how}):")
    for number, p in enumerate(documents.passages, start=1):
        page = f" p.{p.page}" if p.page else ""
        err(f"  [{number}] {p.file_name}{page}: {p.excerpt[:120]}")
