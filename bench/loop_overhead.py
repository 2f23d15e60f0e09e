"""The microseconds per token that a decode loop spends outside `llama_decode`: the
engine's loop (`llama_adapter.Decoder`: our batch, a llama.cpp sampler chain, cached
token pieces) against llama-cpp-python's `Llama.generate`, in one process, on the same
prompt, greedy, alternating rounds.

Every `llama_decode` call is timed from Python; what is left of each token's time is
the loop's own cost: sampling, token bookkeeping, Python. On a busy machine the
descheduled time lands mostly inside `llama_decode` (where the threads wait), so the
outside figure stays readable when the absolute tok/s does not.

    python bench/loop_overhead.py [--model PATH] [--threads N] [--tokens N] [--rounds N]
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import time
from pathlib import Path
from typing import Any

from common import RESULTS, add_model_args, hardware, resolve_model_args, shown, write_json
from decode import PROMPT, open_bare, prompt_tokens


class DecodeClock:
    """Wraps llama-cpp-python's `llama_decode` (both loops call it through the module)."""

    def __init__(self) -> None:
        import llama_cpp.llama_cpp as lc

        self.lc = lc
        self.original = lc.llama_decode
        self.seconds = 0.0
        self.calls = 0
        original = self.original
        clock = time.perf_counter

        def timed(ctx: Any, batch: Any) -> int:
            started = clock()
            rc = original(ctx, batch)
            self.seconds += clock() - started
            self.calls += 1
            return int(rc)

        lc.llama_decode = timed
        import llama_cpp

        llama_cpp.llama_decode = timed  # _internals calls llama_cpp.llama_decode

    def reset(self) -> None:
        self.seconds, self.calls = 0.0, 0


def generate_loop(bare: Any, tokens: list[int], n: int) -> int:
    count = 0
    for _token in bare.generate(tokens, temp=0.0, reset=True):
        count += 1
        if count >= n:
            break
    return count


def engine_loop(decoder: Any, vocab: Any, tokens: list[int], n: int) -> int:
    """The engine's hot loop without the text and the pipe: decode, sample, piece."""
    from app.backends.local import llama_adapter as api

    buffer = ctypes.create_string_buffer(256)
    pieces: dict[int, bytes] = {}
    # As Llama.generate does: the prompt cached by the round before, but its last token.
    decoder.keep(min(decoder.n_past, len(tokens) - 1))
    decoder.prompt(tokens[decoder.n_past :])
    sampler = decoder.sampler(
        temperature=0.0, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0, seed=None
    )
    step, sample, is_eog = decoder.stepper(), sampler.sample, api.end_of_generation_check()
    stepped: list[int] = []
    count = 0
    token = sample()
    while True:
        count += 1
        is_eog(vocab, token)
        if token not in pieces:
            pieces[token] = api.token_piece(vocab, token, buffer)
        if count >= n:
            break
        step(token)
        stepped.append(token)
        token = sample()
    decoder.record(stepped)
    sampler.close()
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_args(parser)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--out", type=Path, default=RESULTS / "loop_overhead.json")
    args = parser.parse_args()
    resolve_model_args(args)
    clock = DecodeClock()
    from app.backends.local import llama_adapter as api

    bare = open_bare(args.model, args.threads, 4096, args.gpu_layers, args.flash_attention)
    other = open_bare(args.model, args.threads, 4096, args.gpu_layers, args.flash_attention)
    decoder = api.Decoder(other)
    tokens = prompt_tokens(bare, [{"role": "user", "content": PROMPT}])
    rows: dict[str, dict[str, list[float]]] = {
        side: {"us_per_token": [], "outside_us_per_token": []}
        for side in ("engine_loop", "llama_generate")
    }
    sides = {
        "engine_loop": lambda: engine_loop(decoder, decoder.vocab, tokens, args.tokens),
        "llama_generate": lambda: generate_loop(bare, tokens, args.tokens),
    }
    for side in sides.values():
        side()  # warm-up
    for round_no in range(args.rounds):
        order = list(sides) if round_no % 2 == 0 else list(sides)[::-1]
        for name in order:
            clock.reset()
            started = time.perf_counter()
            count = sides[name]()
            total = time.perf_counter() - started
            steps = max(1, count - 1)
            rows[name]["us_per_token"].append(total / steps * 1e6)
            rows[name]["outside_us_per_token"].append((total - clock.seconds) / steps * 1e6)
    decoder.close()
    bare.close()
    other.close()
    result = {
        "model": args.model.name,
        "threads": args.threads,
        "flash_attention": args.flash_attention,
        "tokens": args.tokens,
        "rounds": args.rounds,
        "median": {
            side: {k: statistics.median(v) for k, v in table.items()}
            for side, table in rows.items()
        },
        "rows": rows,
        "hardware": hardware(),
    }
    write_json(args.out, result)
    print(f"model {args.model.name}, {args.threads} threads, median of {args.rounds} rounds")
    for side, med in result["median"].items():
        print(
            f"  {side:<16} {med['us_per_token']:8.0f} µs a token, "
            f"{med['outside_us_per_token']:6.1f} µs of it outside llama_decode"
        )
    print(f"written to {shown(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
