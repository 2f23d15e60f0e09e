"""Where the engine process spends its time per token: py-spy on the engine while it
decodes, summed into buckets (llama.cpp's graph compute, the sampler, the Python loop,
the pipe), in microseconds per token.

    python bench/profile_engine.py [--model PATH] [--threads N] [--tokens N] [--answers N]
                                   [--speculative] [--out bench/results/profile.json]

Needs py-spy (`pip install -e '.[dev]'`) and permission to read another process's
memory (ptrace; root or `kernel.yama.ptrace_scope=0`). Sampling adds a little overhead
of its own, so the absolute tokens/s here is a few per cent under `bench/decode.py`'s.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import RESULTS, add_model_args, hardware, resolve_model_args, shown, write_json
from decode import PROMPT, tandem_answer

from app.backends.local.supervisor import LocalEngine
from app.core.messages import ChatMessage, GenerationParams, Role
from app.library.gguf_file import inspect_gguf

# The first frame (innermost first) that matches names the bucket of a sample.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("llama.cpp graph compute (matmuls, attention)", ("ggml_graph_compute", "ggml_compute_")),
    ("llama.cpp sampler", ("llama_sampler_",)),
    ("llama.cpp decode bookkeeping (batch split, KV slots, graph build)", ("llama_decode",)),
    ("token to text (llama_token_to_piece)", ("llama_token_to_piece",)),
    ("pipe sends to the supervisor", ("send (", "_send_bytes", "_send (")),
    (
        "llama-cpp-python's Python (Llama.generate, eval, batch fill)",
        ("llama_cpp/llama.py", "llama_cpp/_internals.py"),
    ),
    ("Python loop (decode step, stop-string check, UTF-8)", ("generate (", "_run (")),
]


def bucket(stack: str) -> str:
    frames = stack.split(";")[::-1]  # innermost first
    for frame in frames:
        for name, needles in BUCKETS:
            if any(needle in frame for needle in needles):
                return name
    return "other (idle threads, pipe waits, heartbeat)"


def summarise(raw: str, tokens: int) -> dict[str, Any]:
    """Samples of the engine's main thread only, by bucket; µs per token from their share."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit() or "engine_main" not in stack:
            continue
        counts[bucket(stack)] += int(n)
        total += int(n)
    return {"samples": total, "share": {k: v / total for k, v in counts.most_common()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_args(parser)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--answers", type=int, default=6)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--speculative", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "profile.json")
    args = parser.parse_args()
    resolve_model_args(args)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy is not installed: pip install -e '.[dev]'")
        return 1
    params = GenerationParams(
        temperature=0.0,
        max_tokens=args.tokens,
        threads=args.threads,
        gpu_layers=args.gpu_layers,
    )
    if args.speculative:
        params = params.with_(speculative=True)
    engine = LocalEngine(check_file=inspect_gguf)
    engine.load(args.model, params)
    messages = [ChatMessage(Role.USER, PROMPT)]
    tandem_answer(engine, messages, params)  # warm-up
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "engine.txt"
        spy_run = subprocess.Popen(
            [spy, "record", "--native", "--threads", "-r", str(args.rate), "-f", "raw",
             "-o", str(raw), "-p", str(engine.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(1.0)
        speeds, produced, decode_s = [], 0, 0.0
        for _ in range(args.answers):
            stats = tandem_answer(engine, messages, params)
            speeds.append(stats.tokens_per_s)
            produced += stats.completion_tokens
            if stats.tokens_per_s:
                decode_s += stats.completion_tokens / stats.tokens_per_s
        spy_run.send_signal(2)  # SIGINT: py-spy writes what it has
        _, err = spy_run.communicate(timeout=60)
        text = raw.read_text() if raw.exists() else ""
    engine.shutdown()
    if not text:
        print(f"py-spy wrote nothing: {err.decode(errors='replace')[-400:]}")
        return 1
    summary = summarise(text, produced)
    us_per_token = decode_s / produced * 1e6 if produced else 0.0
    result = {
        "model": args.model.name,
        "threads": args.threads,
        "tokens": produced,
        "speculative": args.speculative,
        "tok_s": speeds,
        "us_per_token": us_per_token,
        "buckets_us_per_token": {
            k: round(share * us_per_token, 1) for k, share in summary["share"].items()
        },
        "samples": summary["samples"],
        "hardware": hardware(),
    }
    write_json(args.out, result)
    print(f"{produced} tokens, {us_per_token:.0f} µs per token ({1e6 / us_per_token:.1f} tok/s)")
    for name, us in result["buckets_us_per_token"].items():
        print(f"  {us:8.1f} µs  {name}")
    print(f"written to {shown(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
