"""`tandem-cli history …`: list, show, search, export, import and delete conversations."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.cli.options import number_in, utf8
from app.cli.output import err, print_json, say, write
from app.core.errors import ExitCode


def _store() -> Any:
    from app.store.history.store import HistoryStore
    from app.store.paths import app_paths

    store = HistoryStore(app_paths().ensure().history_db)
    if store.recovered_from is not None:
        err(
            f"tandem: the history file was damaged; it was moved to {store.recovered_from} "
            "and a new one started."
        )
    return store


def cmd_list(args: argparse.Namespace) -> int:
    with _store() as store:
        conversations = store.list_conversations()
    if args.json:
        print_json(
            [
                {"id": c.id, "title": c.title, "pinned": c.pinned,
                 "default_model": c.default_model, "created_at": c.created_at.isoformat(),
                 "updated_at": c.updated_at.isoformat()}
                for c in conversations
            ]
        )  # fmt: skip
        return ExitCode.OK
    if not conversations:
        say("No conversations yet.")
    for c in conversations:
        pin = "*" if c.pinned else " "
        say(f"{c.id:>6} {pin} {c.updated_at:%Y-%m-%d %H:%M}  {c.title or '(untitled)'}")
    return ExitCode.OK


def cmd_show(args: argparse.Namespace) -> int:
    with _store() as store:
        if args.json:
            print_json(store.export_json(args.id))
        else:
            write(store.export_markdown(args.id))
    return ExitCode.OK


def cmd_search(args: argparse.Namespace) -> int:
    with _store() as store:
        hits = store.search(args.text, limit=args.limit)
    if args.json:
        print_json(
            [
                {"conversation_id": h.conversation_id, "message_id": h.message_id,
                 "conversation_title": h.conversation_title, "role": str(h.role),
                 "snippet": h.snippet, "rank": h.rank}
                for h in hits
            ]
        )  # fmt: skip
        return ExitCode.OK
    if not hits:
        say("Nothing found.")
    for h in hits:
        say(f"{h.conversation_id:>6}/{h.message_id:<6} {h.conversation_title or ''}: {h.snippet}")
    return ExitCode.OK


def cmd_export(args: argparse.Namespace) -> int:
    with _store() as store:
        if args.output:
            store.export_file(args.id, Path(args.output), args.format)
        else:
            write(store.export_text(args.id, args.format))
    return ExitCode.OK


def cmd_import(args: argparse.Namespace) -> int:
    with _store() as store:
        new_id = store.import_file(Path(args.file))
    if args.json:
        print_json({"conversation_id": new_id})
    else:
        say(new_id)
    return ExitCode.OK


def cmd_delete(args: argparse.Namespace) -> int:
    with _store() as store:
        deleted = store.delete_conversation(args.id)
    title = deleted.conversation.info.display_title
    if args.json:
        print_json({"deleted": args.id, "title": title})
    else:
        say(f"Deleted conversation {args.id}: {title}")
    return ExitCode.OK


def add_history_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    history = commands.add_parser("history", help="saved conversations")
    sub = history.add_subparsers(dest="history_command", required=True, parser_class=parser_class)
    listing = sub.add_parser("list", help="conversations, pinned first, newest first")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="one conversation (Markdown, or JSON with --json)")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    search = sub.add_parser("search", help="full-text search over every message")
    search.add_argument("text", type=utf8)
    search.add_argument("--limit", type=number_in(1, 10_000, whole=True), default=50)
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=cmd_search)
    export = sub.add_parser("export", help="a conversation as Markdown or JSON")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=["md", "json"], default="md")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.set_defaults(func=cmd_export)
    imp = sub.add_parser("import", help="a conversation exported as JSON")
    imp.add_argument("file")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_import)
    delete = sub.add_parser("delete", help="delete a conversation and its messages")
    delete.add_argument("id", type=int)
    delete.add_argument("--json", action="store_true")
    delete.set_defaults(func=cmd_delete)
