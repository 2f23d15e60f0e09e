"""`tandem-cli arena …`: a blind round over a pool, the vote and its reveal, the board,
and the stored rounds (list, export, delete)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from app.cli.options import number_in, ranged, utf8
from app.cli.output import err, open_workspace, print_json, say, to_json, write
from app.core.errors import ExitCode, UsageError
from app.core.units import usd


def _arena(args: argparse.Namespace) -> tuple[Any, Any]:
    from app.services.arena import open_arena

    workspace = open_workspace()
    private = getattr(args, "private", None)
    workspace.set_private_mode(workspace.settings.private_mode if private is None else private)
    params = workspace.settings.generation
    changes = {
        "max_tokens": getattr(args, "max_tokens", None),
        "temperature": getattr(args, "temperature", None),
        "seed": getattr(args, "seed", None),
    }
    params = params.with_(**{k: v for k, v in changes.items() if v is not None})
    return workspace, open_arena(workspace, params)


def _prompt(text: str) -> str:
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise UsageError("The prompt is empty. Give it as an argument, or `-` to read stdin.")
    return text


def cmd_run(args: argparse.Namespace) -> int:
    from app.core.events import CancelToken
    from app.services.arena import privacy_notice

    prompt = _prompt(args.prompt)
    workspace, arena = _arena(args)
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        pool = arena.pool(args.pool.split(","))
        notice = privacy_notice(pool)
        err(f"tandem: {notice}")
        blind = arena.run(
            prompt,
            pool,
            cancel,
            over_budget=args.over_budget,
            on_progress=lambda n: err(f"tandem: {n} of 2 answers finished"),
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        workspace.shutdown()
    if args.json:
        print_json({**blind.to_json(), "privacy": notice})
        return ExitCode.OK
    for name, text, failed in (
        ("Left", blind.left_text, blind.left_failed),
        ("Right", blind.right_text, blind.right_failed),
    ):
        say(f"── {name}")
        say(text if not failed else "(this answer failed; why is shown after the vote)")
        say()
    say(f"Round {blind.id}. Vote: tandem-cli arena vote {blind.id} left|right|tie|bad")
    return ExitCode.OK


def cmd_vote(args: argparse.Namespace) -> int:
    workspace, arena = _arena(args)
    try:
        reveal = arena.vote(args.id, args.vote)
    finally:
        workspace.shutdown()
    if args.json:
        print_json(reveal.to_json())
    else:
        say("\n".join(reveal.lines()))
    return ExitCode.OK


def _money(value: float | None) -> str:
    return "price unknown" if value is None else usd(value)


def cmd_board(args: argparse.Namespace) -> int:
    workspace, arena = _arena(args)
    try:
        board = arena.board()
    finally:
        workspace.shutdown()
    if args.json:
        print_json(board.to_json())
        return ExitCode.OK
    say(board.sentence)
    if not board.rows:
        return ExitCode.OK
    say()
    say(f"{'model':<36} {'rating':>14} {'rounds':>6} {'win':>5} {'ttft':>7} {'tok/s':>6} "
        f"{'per round':>10} {'per win':>10} {'on device':>9}")  # fmt: skip
    for r in board.rows:
        ttft = (
            "" if r.mean_time_to_first_token_s is None else f"{r.mean_time_to_first_token_s:.2f}s"
        )
        tps = "" if r.mean_tokens_per_s is None else f"{r.mean_tokens_per_s:.0f}"
        rating = f"{r.rating:.0f} ({r.low:.0f}–{r.high:.0f})"
        say(f"{r.model[:36]:<36} {rating:>14} {r.rounds:>6} {r.win_rate:>5.0%} {ttft:>7} "
            f"{tps:>6} {_money(r.cost_per_round_usd):>10} {_money(r.cost_per_win_usd):>10} "
            f"{r.share_on_device:>9.0%}")  # fmt: skip
    return ExitCode.OK


def cmd_list(args: argparse.Namespace) -> int:
    workspace, arena = _arena(args)
    try:
        rounds = arena.rounds.rounds()
    finally:
        workspace.shutdown()
    if args.json:
        print_json([r.to_json() for r in rounds])
        return ExitCode.OK
    if not rounds:
        say("No arena rounds yet.")
    for r in rounds:
        prompt = " ".join(r.prompt.split())[:60]
        say(f"{r.id:>6}  {r.vote or 'no vote':<8} {prompt}")
    return ExitCode.OK


def cmd_export(args: argparse.Namespace) -> int:
    workspace, arena = _arena(args)
    try:
        text = to_json(arena.rounds.export()) + "\n"
    finally:
        workspace.shutdown()
    if args.output in (None, "-"):
        write(text)
        return ExitCode.OK
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Could not write {args.output}: {exc.strerror or exc}.") from exc
    err(f"tandem: wrote the arena rounds to {args.output}")
    return ExitCode.OK


def cmd_delete(args: argparse.Namespace) -> int:
    if args.id is None and not args.all:
        raise UsageError("Say which round to delete (its id), or --all.")
    workspace, arena = _arena(args)
    try:
        if args.all:
            count = arena.rounds.delete_all()
            say(f"Deleted {count} arena round(s).")
        else:
            arena.rounds.delete(args.id)
            say(f"Deleted arena round {args.id}.")
    finally:
        workspace.shutdown()
    return ExitCode.OK


ROUND_ID = number_in(1, 2**63 - 1, whole=True)


def add_arena_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    arena = commands.add_parser("arena", help="blind rounds between two models, and the board")
    sub = arena.add_subparsers(dest="arena_command", required=True, parser_class=parser_class)
    run = sub.add_parser("run", help="one prompt to two models drawn from the pool, unnamed")
    run.add_argument("--pool", required=True, type=utf8,
                     help="MODEL,MODEL,…: local:ID, a model id, or PROVIDER:MODEL")  # fmt: skip
    run.add_argument("--max-tokens", type=ranged("max_tokens", True))
    run.add_argument("--temperature", type=ranged("temperature", False))
    run.add_argument("--seed", type=ranged("seed", True))
    run.add_argument("--over-budget", action="store_true",
                     help="send even if the round may take the month over budget")  # fmt: skip
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--private", dest="private", action="store_true", default=None,
                      help="keep the pool to models on this device")  # fmt: skip
    mode.add_argument("--no-private", dest="private", action="store_false",
                      help="allow cloud models for this round")  # fmt: skip
    run.add_argument("--json", action="store_true")
    run.add_argument("prompt", type=utf8, help="the message, or - to read standard input")
    run.set_defaults(func=cmd_run)
    vote = sub.add_parser("vote", help="vote on a round, then see who was who")
    vote.add_argument("id", type=ROUND_ID)
    vote.add_argument("vote", choices=["left", "right", "tie", "bad"])
    vote.add_argument("--json", action="store_true")
    vote.set_defaults(func=cmd_vote)
    board = sub.add_parser("board", help="ratings, win rates, speed and cost per model")
    board.add_argument("--json", action="store_true")
    board.set_defaults(func=cmd_board)
    listing = sub.add_parser("list", help="the stored rounds")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    export = sub.add_parser("export", help="every round as JSON (unvoted ones stay blind)")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.set_defaults(func=cmd_export)
    delete = sub.add_parser("delete", help="delete a round, or --all")
    delete.add_argument("id", type=ROUND_ID, nargs="?")
    delete.add_argument("--all", action="store_true")
    delete.set_defaults(func=cmd_delete)
