"""The whole benchmark suite: runs every bench, writes bench/results/latest.json and
the PNG plots, and prints the table of figures against their targets.

Every timing is a ratio against a reference measured in the same run, on the same
model and threads, because shared machines are noisy; absolute figures are printed
too. Each bench is its own process (the GUI ones start the window in yet another).

    python bench/run_all.py [--model PATH] [--threads N] [--gpu-layers N] [--quick]
                            [--flash-attention auto|on|off] [--wait-quiet] [--docs]
                            [--only decode,server,options,gui,...]

`make bench` runs it; `make bench BENCH_ARGS="--quick --only decode,server,options"` runs
a subset. The load average before and after is printed with the table, and a busy
machine is called out: its figures are not to be quoted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import REPO, RESULTS, hardware, shown, write_json

BENCHES = [
    "decode",
    "server",
    "options",
    "api",
    "load",
    "scaling",
    "compare",
    "gui",
    "history",
    "sensitive",
]
SCRIPTS = {"history": "history_open.py", "sensitive": "sensitive_scan.py"}
QUICK = {
    "decode": ["--rounds", "3", "--tokens", "100"],
    "server": ["--rounds", "3", "--tokens", "100", "--turns", "10", "--repeats", "1"],
    "api": ["--rounds", "2", "--tokens", "64", "--turns", "10"],
    "options": ["--rounds", "2", "--tokens", "96", "--prompt-tokens", "256"],
    "load": ["--rounds", "3", "--cold-rounds", "1"],
    "scaling": ["--turns", "20", "--repeats", "1", "--sizes", "64,256,1024"],
    "compare": ["--rounds", "2", "--tokens", "100"],
    "gui": ["--answers", "1", "--answer-tokens", "200", "--long-tokens", "400", "--cold-runs", "2"],
    "history": ["--runs", "2"],
    "sensitive": [],
}
MODEL_ARGS = {"decode", "server", "options", "api", "load", "scaling", "compare", "gui"}
# A 1-minute load average per CPU above this: the run's figures are not to be quoted.
BUSY_LOAD_PER_CPU = 0.75


def wait_until_quiet(threshold: float, most_s: float) -> list[float]:
    """Sleep while the 1-minute load is above `threshold`, at most `most_s` in all."""
    waited = 0.0
    while os.getloadavg()[0] > threshold and waited < most_s:
        print(
            f"load {os.getloadavg()[0]:.2f} > {threshold}: waiting 60 s "
            f"({waited / 60:.0f} of {most_s / 60:.0f} min)",
            flush=True,
        )
        time.sleep(60)
        waited += 60
    return [round(x, 2) for x in os.getloadavg()]


def run_bench(name: str, args: argparse.Namespace) -> dict[str, Any] | None:
    out = RESULTS / f"{name}.json"
    command = [
        sys.executable,
        str(REPO / "bench" / SCRIPTS.get(name, f"{name}.py")),
        "--out",
        str(out),
    ]
    if name in MODEL_ARGS:
        if args.model:
            command += ["--model", str(args.model)]
        command += ["--threads", str(args.threads), "--gpu-layers", str(args.gpu_layers)]
        command += ["--flash-attention", args.flash_attention]
    if args.quick:
        command += QUICK[name]
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    print(f"\n== {name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    if out.exists():
        out.unlink()
    done = subprocess.run(command, env=env, check=False)
    print(f"== {name} took {time.perf_counter() - started:.0f} s", flush=True)
    if done.returncode != 0 or not out.exists():
        print(f"== {name} FAILED (exit {done.returncode})", flush=True)
        return None
    return dict(json.loads(out.read_text()))


# ----- the table


def _row(
    figure: str,
    ours: str,
    reference: str,
    value: float | None,
    limit: float | None,
    at_least: bool,
    unit: str,
) -> dict[str, Any]:
    """One line of the table; `limit` None: a figure shown for information."""
    met = (
        None if value is None or limit is None else (value >= limit if at_least else value <= limit)
    )
    target = "(info)" if limit is None else f"{'>=' if at_least else '<='} {limit:g} {unit}"
    return {
        "figure": figure,
        "tandem": ours,
        "reference": reference,
        "value": value,
        "unit": unit,
        "target": target.strip(),
        "limit": limit,
        "at_least": at_least,
        "met": met,
    }


def table(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    if d := r.get("decode"):
        for key, label, target in (
            ("decode", "decode tok/s", 0.97),
            ("prompt_processing", "prompt-processing tok/s", 0.95),
        ):
            part = d[key]
            med = part["median_tok_s"]
            ratio = part["ratio_vs_llama_cpp_python"]
            rows.append(
                _row(
                    f"{label} vs llama-cpp-python",
                    f"{med['tandem']:.1f}",
                    f"{med['llama_cpp_python']:.1f} (best/best "
                    f"{part.get('best_ratio_vs_llama_cpp_python', 0):.2f})",
                    ratio,
                    target,
                    True,
                    "x",
                )
            )
            if "ratio_vs_llama_bench" in part:
                ratio = part["ratio_vs_llama_bench"]
                rows.append(
                    _row(
                        f"{label} vs llama-bench",
                        f"{med['tandem']:.1f}",
                        f"{med['llama_bench']:.1f} (best/best "
                        f"{part.get('best_ratio_vs_llama_bench', 0):.2f})",
                        ratio,
                        target,
                        True,
                        "x",
                    )
                )
            else:
                rows.append(
                    _row(
                        f"{label} vs llama-bench",
                        f"{med['tandem']:.1f}",
                        "not built",
                        None,
                        target,
                        True,
                        "x",
                    )
                )
    if sv := r.get("server"):
        rows.extend(server_rows(sv))
    if op := r.get("options"):
        rows.extend(option_rows(op))
    if s := r.get("scaling"):
        turns = s["by_turn"]
        at = s["ttft_turn"]
        ratio = s["ttft_ratio_turn_vs_1"]
        rows.append(
            _row(
                f"time to first token, turn {at} vs turn 1",
                f"{turns[at - 1]['ttft_s'] * 1000:.0f} ms",
                f"turn 1: {turns[0]['ttft_s'] * 1000:.0f} ms; direct: "
                f"{s.get('direct_ttft_ratio_turn_vs_1', 0):.2f} x",
                ratio,
                1.3,
                False,
                "x",
            )
        )
    if c := r.get("compare"):
        ratio = c["ratio_median_of_pairs"]
        rows.append(
            _row(
                "local decode tok/s beside a streaming cloud column",
                f"{c['median_tok_s']['compare']:.1f}",
                f"{c['median_tok_s']['solo']:.1f} (solo)",
                ratio,
                0.9,
                True,
                "x",
            )
        )
    if g := r.get("gui"):
        rows.append(
            _row(
                "longest GUI event-loop stall while streaming",
                f"{g['stream_max_gap_ms']:.1f} ms",
                f"{g['idle_max_gap_ms']:.1f} ms (idle window)",
                g["stream_max_gap_ms"],
                50,
                False,
                "ms",
            )
        )
        rows.append(
            _row(
                f"GUI process CPU while streaming ({g['answers'][0]['max_tokens']}-token answers)",
                f"{g['gui_cpu_fraction'] * 100:.1f} %",
                f"GUI thread {g['gui_thread_cpu_fraction'] * 100:.1f} %",
                g["gui_cpu_fraction"] * 100,
                15,
                False,
                "%",
            )
        )
        if long := g.get("long_answer"):
            rows.append(
                _row(
                    f"  the same, one {long['max_tokens']}-token answer",
                    f"{long['cpu_fraction_of_one_core'] * 100:.1f} %",
                    f"{long['tok_s']:.0f} tok/s (vs {g['answers'][0]['tok_s']:.0f})",
                    long["cpu_fraction_of_one_core"] * 100,
                    15,
                    False,
                    "%",
                )
            )
        lost = g["refs_lost_per_answer"]
        rows.append(
            _row(
                "  Qt binding: references to None lost per answer",
                f"{lost['None']:.0f}",
                f"True: {lost['True']:.0f}",
                lost["None"],
                None,
                False,
                "",
            )
        )
        cold = g["cold_start"]
        rows.append(
            _row(
                "cold start to a usable window (no model)",
                f"{cold['median_s'] * 1000:.0f} ms",
                "-",
                cold["median_s"],
                1.0,
                False,
                "s",
            )
        )
        rows.append(
            _row(
                "GUI process RSS, idle, model loaded",
                f"{g['rss_idle_mb']:.0f} MB",
                f"engine {g['engine_rss_mb']:.0f} MB",
                g["rss_idle_mb"],
                150,
                False,
                "MB",
            )
        )
    if h := r.get("history"):
        rows.append(
            _row(
                f"open a {h['messages']:,}-message conversation to first paint",
                f"{h['median_ms']:.0f} ms",
                "-",
                h["median_ms"],
                300,
                False,
                "ms",
            )
        )
    if sc := r.get("sensitive"):
        slowest = max(sc["rows"], key=lambda shape: sc["rows"][shape]["seconds"])
        rows.append(
            _row(
                f"scan {sc['mb']:g} MB of adversarial text for secrets (slowest shape)",
                f"{sc['worst_s'] * 1000:.0f} ms",
                slowest,
                sc["worst_s"],
                0.5 * sc["mb"],
                False,
                "s",
            )
        )
    if lo := r.get("load"):
        w = lo["warm_median_s"]
        rows.append(
            _row(
                "model load time vs llama-cpp-python",
                f"{w['tandem'] * 1000:.0f} ms",
                f"{w['llama_cpp_python'] * 1000:.0f} ms",
                lo["warm_ratio"],
                1.1,
                False,
                "x",
            )
        )
        c = lo["cold_median_s"]
        rows.append(
            _row(
                "  incl. engine process start (vs fresh python)",
                f"{c['tandem'] * 1000:.0f} ms",
                f"{c['llama_cpp_python'] * 1000:.0f} ms",
                lo["cold_ratio"],
                None,
                False,
                "x",
            )
        )
    return rows


def option_rows(op: dict[str, Any]) -> list[dict[str, Any]]:
    """Prompt lookup on and off; the KV cache types and flash attention against f16/auto."""
    rows = []
    for task, helps in (("rewrite", True), ("story", False)):
        row = op["speculative"][task]
        rows.append(
            _row(
                f"prompt lookup on vs off, {task} ({'repeats its prompt' if helps else 'free'})",
                f"{row['on_tok_s']:.1f}",
                f"{row['off_tok_s']:.1f} (accepted {row['accepted']:.0f}/{row['drafted']:.0f})",
                row["ratio_on_vs_off"],
                1.0 if helps else 0.9,
                True,
                "x",
            )
        )
    rows.append(
        _row(
            "  greedy answer unchanged by prompt lookup",
            "yes" if op["speculative_same_answer"] else "NO",
            "every round",
            1.0 if op["speculative_same_answer"] else 0.0,
            1.0,
            True,
            "",
        )
    )
    reference = op["reference_load"]
    for label, row in op["loads"].items():
        if label == reference:
            continue
        for what in ("decode", "prompt"):
            rows.append(
                _row(
                    f"{what} tok/s, {label} vs {reference}",
                    f"{row[f'{what}_tok_s']:.1f}",
                    f"{op['loads'][reference][f'{what}_tok_s']:.1f}",
                    row[f"{what}_ratio"],
                    None,
                    True,
                    "x",
                )
            )
    return rows


def server_rows(sv: dict[str, Any]) -> list[dict[str, Any]]:
    """Against llama.cpp's llama-server: decode (greedy, sampled), prompt, first token."""
    if "decode_greedy" not in sv:
        return [
            _row("decode tok/s vs llama-server", "-", "not built", None, 1.0, True, "x"),
        ]
    rows = []
    if match := sv.get("greedy_match"):
        rows.append(
            _row(
                "greedy answer the same as llama-server's",
                "yes" if match["same"] else f"NO (at char {match['first_difference']})",
                f"{match['characters']} characters",
                1.0 if match["same"] else 0.0,
                1.0,
                True,
                "",
            )
        )
    for key, label in (
        ("decode_greedy", "decode tok/s vs llama-server, greedy"),
        ("decode_sampled", "decode tok/s vs llama-server, t 0.7 / p 0.95 / k 40"),
        ("prompt_processing", "prompt-processing tok/s vs llama-server"),
    ):
        part = sv[key]
        med = part["median_tok_s"]
        rows.append(
            _row(
                label,
                f"{med['tandem']:.1f}",
                f"{med['llama_server']:.1f} (best/best {part['best_ratio_vs_llama_server']:.2f})",
                part["ratio_vs_llama_server"],
                part["target"],
                True,
                "x",
            )
        )
    last = max(sv["ttft_by_turn"], key=int, default=None)
    for turn, row in sv["ttft_by_turn"].items():
        rows.append(
            _row(
                f"time to first token, turn {turn}, vs llama-server (cache_prompt)",
                f"{row['tandem_s'] * 1000:.0f} ms",
                f"{row['llama_server_s'] * 1000:.0f} ms",
                row["ratio_vs_llama_server"],
                1.0 if turn == last else None,
                False,
                "x",
            )
        )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'figure':<56}{'Tandem':>12}{'reference':>30}{'value':>9}  {'target':<10} met")
    for row in rows:
        value = "-" if row["value"] is None else f"{row['value']:.3g}"
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        print(
            f"{row['figure']:<56}{row['tandem']:>12}{row['reference']:>30}{value:>9}  "
            f"{row['target']:<10} {met}"
        )


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| figure | Tandem | reference | value | target | met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        value = "-" if row["value"] is None else f"{row['value']:.3g} {row['unit']}".strip()
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        lines.append(
            f"| {row['figure'].strip()} | {row['tandem']} | {row['reference']} | "
            f"{value} | {row['target']} | {met} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--gpu-layers", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--flash-attention", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--only", default=",".join(BENCHES))
    parser.add_argument(
        "--wait-quiet",
        action="store_true",
        help="first wait (at most 15 min) for the 1-minute load to drop below 1.5",
    )
    parser.add_argument("--docs", action="store_true", help="also write the plots to docs/")
    args = parser.parse_args()
    from common import default_threads

    args.threads = args.threads or default_threads()
    load_before = (
        wait_until_quiet(1.5, 15 * 60)
        if args.wait_quiet
        else [round(x, 2) for x in os.getloadavg()]
    )
    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {}
    for name in args.only.split(","):
        got = run_bench(name.strip(), args)
        if got is not None:
            results[name.strip()] = got
    rows = table(results)
    machine = hardware()
    machine["load_average_before"] = load_before
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    latest = {
        "started": started.isoformat(timespec="seconds"),
        "took_s": round((dt.datetime.now(dt.UTC) - started).total_seconds()),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "threads": args.threads,
        "gpu_layers": args.gpu_layers,
        "hardware": machine,
        "table": rows,
        "results": results,
    }
    out = RESULTS / "latest.json"
    write_json(out, latest)
    (RESULTS / "latest.md").write_text(markdown_table(rows) + "\n")
    from plots import plot_all

    pngs = plot_all(results, RESULTS)
    if args.docs:
        pngs += plot_all(results, REPO / "docs", prefix="performance-")
    print_table(rows)
    print(
        f"\nload average before {load_before}, after {machine['load_average_after']}; "
        f"{machine['cpu']}, {machine['logical_cpus']} CPUs"
    )
    cpus = max(1, int(machine.get("logical_cpus") or os.cpu_count() or 1))
    busiest = max(load_before[0], machine["load_average_after"][0])
    if busiest > BUSY_LOAD_PER_CPU * cpus:
        print(
            f"WARNING: the machine was busy (1-minute load {busiest:.2f} on {cpus} CPUs): "
            "these figures are not to be quoted; run again on a quiet machine."
        )
    latest["busy"] = busiest > BUSY_LOAD_PER_CPU * cpus
    write_json(out, latest)
    print(
        f"written to {shown(out)}, {shown(RESULTS / 'latest.md')} and "
        f"{', '.join(shown(p) for p in pngs)}"
    )
    return 0 if len(results) == len(args.only.split(",")) else 1


if __name__ == "__main__":
    raise SystemExit(main())
