"""`tandem-cli usage`: what cloud answers cost and local ones saved, over time."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.cli.options import number_in
from app.cli.output import err, print_json, say
from app.core.errors import ExitCode
from app.core.units import energy, usd


def _set_budget(amount: float) -> None:
    import dataclasses

    from app.cli.output import open_workspace

    workspace = open_workspace()
    budget = amount if amount > 0 else None
    workspace.save(dataclasses.replace(workspace.settings, monthly_budget_usd=budget))
    err(f"tandem: monthly budget {'off' if budget is None else usd(budget)}")


def cmd_usage(args: argparse.Namespace) -> int:
    from app.services.usage import By, parse_since, usage, write_csv
    from app.store.paths import app_paths

    if args.set_budget is not None:
        _set_budget(args.set_budget)
    since = parse_since(args.since) if args.since else None
    report = usage(app_paths().ensure().history_db, By(args.by), since)
    if args.csv:
        write_csv(report, Path(args.csv))
        err(f"tandem: wrote the usage to {args.csv}")
    if args.json:
        print_json(report.to_json())
        return ExitCode.OK
    say(report.summary())
    if not report.buckets:
        return ExitCode.OK
    say()
    say(f"{args.by:<28} {'answers':>7} {'spent':>10} {'saved':>10} {'energy':>11} "
        f"{'tokens':>9} {'on device':>9}")  # fmt: skip
    for b in report.buckets:
        unpriced = f"+{b.unpriced}?" if b.unpriced else ""
        say(f"{b.key[:28]:<28} {b.answers:>7} {usd(b.spent_usd) + unpriced:>10} "
            f"{usd(b.saved_usd):>10} {energy(b.energy_wh):>11} "
            f"{b.prompt_tokens + b.completion_tokens:>9,} {b.share_on_device:>9.0%}")  # fmt: skip
    return ExitCode.OK


def add_usage_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    del parser_class  # one command, no subcommands
    usage = commands.add_parser("usage", help="spent on cloud models, saved by local answers")
    usage.add_argument("--since", metavar="DATE", help="from this day on (YYYY-MM-DD)")
    usage.add_argument("--by", choices=["day", "week", "month", "model", "provider"],
                       default="day")  # fmt: skip
    usage.add_argument("--json", action="store_true")
    usage.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    usage.add_argument("--set-budget", metavar="USD", type=number_in(0, 1e6, whole=False),
                       help="ask before the month goes over this; 0: off")  # fmt: skip
    usage.set_defaults(func=cmd_usage)
