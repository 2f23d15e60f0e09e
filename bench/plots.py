"""The suite's plots (matplotlib, written without a display).

- scaling-turns: time to first token and decode speed against conversation length.
- scaling-prompt: the same against prompt size, Tandem beside llama-cpp-python.
- targets: every figure as a share of its target's budget (below 1 is within target).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_turns(scaling: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    rows = scaling["by_turn"]
    turns = [r["turn"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for run in scaling["runs"]:
        left.plot(
            [r["turn"] for r in run],
            [r["ttft_s"] * 1000 for r in run],
            color="tab:blue",
            alpha=0.25,
            linewidth=0.8,
        )
    left.plot(
        turns,
        [r["ttft_s"] * 1000 for r in rows],
        "o-",
        color="tab:blue",
        markersize=3,
        label="Tandem (median)",
    )
    if "direct_ttft_s" in rows[0]:
        left.plot(
            turns,
            [r["direct_ttft_s"] * 1000 for r in rows],
            "o-",
            color="tab:orange",
            markersize=3,
            label="llama-cpp-python direct",
        )
        left.plot(
            turns,
            [r["engine_prompt_s"] * 1000 for r in rows],
            color="tab:blue",
            linestyle=":",
            linewidth=1,
            label="Tandem, inside the engine process",
        )
    left.axhline(
        rows[0]["ttft_s"] * 1000 * 1.3,
        color="tab:red",
        linestyle="--",
        linewidth=0.8,
        label="1.3 x turn 1",
    )
    left.set_xlabel("turn of the conversation")
    left.set_ylabel("time to first token (ms)")
    left.set_ylim(bottom=0)
    left.legend(fontsize=8)
    right.plot(
        turns,
        [r["decode_tok_s"] for r in rows],
        "o-",
        color="tab:blue",
        markersize=3,
        label="Tandem",
    )
    if "direct_decode_tok_s" in rows[0]:
        right.plot(
            turns,
            [r["direct_decode_tok_s"] for r in rows],
            "o-",
            color="tab:orange",
            markersize=3,
            label="llama-cpp-python direct",
        )
    right.legend(fontsize=8, loc="lower left")
    right.set_xlabel("turn of the conversation")
    right.set_ylabel("decode tokens/s")
    right.set_ylim(bottom=0)
    twin = right.twinx()
    twin.plot(turns, [r["prompt_tokens"] for r in rows], color="grey", linewidth=0.8)
    twin.set_ylabel("prompt tokens (grey)")
    twin.set_ylim(bottom=0)
    last = scaling["by_turn"][-1]
    fig.suptitle(
        f"{scaling['model']}, {scaling['threads']} threads: a growing conversation "
        f"(about {last['prompt_tokens'] - last['cached_tokens']:.0f} new prompt tokens a turn)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_prompt(scaling: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    rows = scaling["by_prompt_size"]
    sizes = [r["prompt_tokens"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for side, colour, label in (
        ("tandem", "tab:blue", "Tandem engine"),
        ("llama_cpp_python", "tab:orange", "llama-cpp-python direct"),
    ):
        left.plot(sizes, [r[side]["ttft_s"] * 1000 for r in rows], "o-", color=colour, label=label)
        right.plot(sizes, [r[side]["decode_tok_s"] for r in rows], "o-", color=colour, label=label)
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("prompt tokens (fresh, uncached)")
        ax.legend(fontsize=8)
    left.set_yscale("log")
    left.set_ylabel("time to first token (ms)")
    right.set_ylabel("decode tokens/s after the prompt")
    right.set_ylim(bottom=0)
    fig.suptitle(f"{scaling['model']}, {scaling['threads']} threads: prompt size")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _budget_share(row: dict[str, Any]) -> float | None:
    """How much of the target's budget a figure uses: above 1.0 misses the target."""
    value, limit = row["value"], row["limit"]
    if value is None or limit is None or not value:
        return None
    return float(limit / value if row["at_least"] else value / limit)


def plot_targets(rows: list[dict[str, Any]], path: Path) -> None:
    plt = _pyplot()
    shown = [(r["figure"].strip(), s) for r in rows if (s := _budget_share(r)) is not None]
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(shown) + 1))
    names = [n for n, _ in shown][::-1]
    shares = [s for _, s in shown][::-1]
    colours = ["tab:green" if s <= 1 else "tab:red" for s in shares]
    ax.barh(names, shares, color=colours)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("share of the target's budget (right of the line: target missed)")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_all(results: dict[str, Any], folder: Path, prefix: str = "") -> list[Path]:
    from run_all import table

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if scaling := results.get("scaling"):
        for name, draw in (("scaling-turns", plot_turns), ("scaling-prompt", plot_prompt)):
            path = folder / f"{prefix}{name}.png"
            draw(scaling, path)
            written.append(path)
    rows = table(results)
    if rows:
        path = folder / f"{prefix}targets.png"
        plot_targets(rows, path)
        written.append(path)
    return written
