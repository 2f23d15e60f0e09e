"""The sensitive-text scanner on adversarial text: seconds to scan 1 MB of each shape.

Each shape is built to make a backtracking pattern retry from every position (the
scanner must stay linear); the target is under 0.5 s per megabyte for every shape.

    python bench/sensitive_scan.py [--mb 1] [--out bench/results/sensitive.json]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import RESULTS, hardware, write_json

from app.core.sensitive import scan

TARGET_S = 0.5

SHAPES = {
    "a.a.a…": "a.",
    "sk-sk-…": "sk-",
    "a@a@…": "a@",
    "x@a.a.a…": None,  # one @, then a very long domain
    "scheme://user:pass…": "a://b:c",
    "BEGIN PRIVATE KEY without END": "-----BEGIN RSA PRIVATE KEY-----\n",
    "digits and dashes": "1-",
    "eyJ.eyJ…": "eyJaaaaaaaaaaaa.",
    "+1 2 3…": "+1 ",
    "many e-mail addresses": "ana@example.org ",
    "prose": "The quick brown fox jumps over the lazy dog. ",
}


def adversarial(shape: str, size: int) -> str:
    unit = SHAPES[shape]
    if unit is None:
        return "x@" + "a." * (size // 2)
    return (unit * (size // len(unit) + 1))[:size]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "sensitive.json")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    rows = {}
    print(f"{'shape':<32} {'seconds':>8}  findings  (target < {TARGET_S} s for 1 MB)")
    for shape in SHAPES:
        text = adversarial(shape, size)
        started = time.perf_counter()
        findings = scan(text)
        seconds = time.perf_counter() - started
        rows[shape] = {"seconds": round(seconds, 4), "findings": len(findings)}
        print(f"{shape:<32} {seconds:>8.3f}  {len(findings):>8}")
    worst = max(row["seconds"] for row in rows.values())
    verdict = "ok" if worst < TARGET_S * args.mb else "SLOW"
    print(f"worst: {worst:.3f} s for {args.mb:g} MB ({verdict})")
    write_json(args.out, {"hardware": hardware(), "mb": args.mb, "rows": rows, "worst_s": worst})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
