"""Decode and prompt-processing speed through Tandem's engine process, against
llama-cpp-python called directly and llama.cpp's own `llama-bench`.

All sides run the same model, threads, greedy sampling and token counts. Each round
measures every side back to back, in an order that rotates from round to round, so
that a noisy machine hurts all alike; the figure is the median of per-round ratios.

- decode: tokens/s from first to last token. Tandem: the engine's own stats.
  llama-cpp-python: `Llama.generate` on the same prompt tokens, for as many tokens.
- prompt processing: tokens/s on a fresh (uncached) prompt of --prompt-tokens.
  Tandem: `stats.prompt_tokens_per_s` (request to first token, in the engine
  process). llama-cpp-python: `Llama.eval` of the same tokens after a reset.
- llama-bench (tg --tokens, pp --prompt-tokens), when built (bench/llama_bench.py).

    python bench/decode.py [--model PATH] [--threads N] [--gpu-layers N] [--rounds N]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llama_bench
from common import (
    RESULTS,
    add_model_args,
    hardware,
    ratio_of_pairs,
    resolve_model_args,
    shown,
    write_json,
)

from app.backends.local.supervisor import LocalEngine
from app.core.events import CancelToken, Finished
from app.core.messages import ChatMessage, FlashAttention, GenerationParams, Role
from app.library.gguf_file import inspect_gguf

PROMPT = "Write a long story about a lighthouse keeper and a storm."
FILLER = (
    "The harbour master kept a ledger of every ship, its cargo, its crew of {n} and the "
    "weather on the day it sailed; page {n} notes a calm sea, a west wind and fog by noon. "
)


def open_bare(
    model: Path, threads: int, ctx: int, gpu_layers: int, flash_attention: str = "auto"
) -> Any:
    """llama-cpp-python's own `Llama`, flash attention as the engine's (llama-cpp-python
    offers only on or off; "auto" comes only on a GPU, where llama.cpp turns it on)."""
    import llama_cpp

    return llama_cpp.Llama(
        str(model),
        n_ctx=ctx,
        n_threads=threads,
        n_threads_batch=threads,
        n_gpu_layers=gpu_layers,
        flash_attn=flash_attention != "off",
        verbose=False,
    )


def prompt_tokens(bare: Any, messages: list[dict[str, str]]) -> list[int]:
    """The tokens the engine builds for `messages`: the model's template, then tokenize."""
    from app.backends.local.prompt import PromptBuilder

    model = bare._model
    builder = PromptBuilder(
        bare.metadata.get("tokenizer.chat_template"),
        model.token_get_text(bare.token_bos()),
        model.token_get_text(bare.token_eos()),
    )
    built = builder.build(messages)
    return list(bare.tokenize(built.text.encode(), add_bos=not built.added_special, special=True))


def long_text(bare: Any, n_tokens: int) -> str:
    """English-like text of about `n_tokens` tokens."""
    text = ""
    for n in itertools.count(1):
        text += FILLER.format(n=n)
        if len(bare.tokenize(text.encode(), add_bos=False)) >= n_tokens:
            return text
    raise AssertionError("unreachable: the loop above never ends")


def tandem_answer(engine: LocalEngine, messages: list[ChatMessage], params: GenerationParams):
    events = list(engine.generate("bench", messages, params, CancelToken()))
    final = events[-1]
    assert isinstance(final, Finished), final
    return final.stats


def bare_decode(bare: Any, tokens: list[int], n_tokens: int) -> float:
    """llama-cpp-python's own generate loop, greedy, timed first to last token."""
    count = 0
    first = last = 0.0
    for _token in bare.generate(tokens, temp=0.0, reset=True):
        now = time.perf_counter()
        count += 1
        if count == 1:
            first = now
        last = now
        if count >= n_tokens:
            break
    return (count - 1) / (last - first)


def bare_prompt(bare: Any, tokens: list[int]) -> float:
    """Prompt tokens/s of `Llama.eval` from an empty cache."""
    bare.reset()  # eval then drops the whole KV cache
    started = time.perf_counter()
    bare.eval(tokens)
    return len(tokens) / (time.perf_counter() - started)


def rotated(steps: list[Callable[[], None]], round_no: int) -> None:
    shift = round_no % len(steps)
    for step in steps[shift:] + steps[:shift]:
        step()


def measure(args: argparse.Namespace) -> dict[str, Any]:
    params = GenerationParams(
        temperature=0.0,
        max_tokens=args.tokens,
        threads=args.threads,
        context_length=args.ctx,
        gpu_layers=args.gpu_layers,
        flash_attention=FlashAttention(args.flash_attention),
    )
    engine = LocalEngine(check_file=inspect_gguf)
    engine.load(args.model, params)
    bare = open_bare(args.model, args.threads, args.ctx, args.gpu_layers, args.flash_attention)
    story = prompt_tokens(bare, [{"role": "user", "content": PROMPT}])
    filler = long_text(bare, args.prompt_tokens)
    have_llama_bench = llama_bench.binary() is not None
    if not have_llama_bench:
        print("note: llama-bench is not built, so that reference is skipped "
              "(build it with `python bench/llama_bench.py --build`)")  # fmt: skip

    speeds: dict[str, list[float]] = {"tandem": [], "llama_cpp_python": [], "llama_bench": []}
    pp: dict[str, list[float]] = {"tandem": [], "llama_cpp_python": [], "llama_bench": []}
    pp_tokens: list[int] = []
    produced = [args.tokens]
    pp_params = params.with_(max_tokens=1)

    def tandem_decode() -> None:
        stats = tandem_answer(engine, [ChatMessage(Role.USER, PROMPT)], params)
        speeds["tandem"].append(stats.tokens_per_s)
        produced[0] = stats.completion_tokens

    def bare_decode_step() -> None:
        speeds["llama_cpp_python"].append(bare_decode(bare, story, produced[0]))

    def fresh_prompt(round_no: int) -> list[ChatMessage]:
        # A nonce first makes each prompt fresh: nothing of it is in the cache.
        system = f"Session {round_no * 7919 + 104729}. Answer briefly."
        return [ChatMessage(Role.SYSTEM, system), ChatMessage(Role.USER, filler)]

    # llama-bench processes a prompt of the same length, in batches of the same size.
    pp_length = len(prompt_tokens(bare, [m.to_dict() for m in fresh_prompt(0)]))

    def llama_bench_step() -> None:
        got = llama_bench.run(
            args.model,
            args.threads,
            pp_length,
            args.tokens,
            args.gpu_layers,
            reps=1,
            flash_attention=args.flash_attention,
        )
        if got:
            speeds["llama_bench"].append(got["decode_tok_s"])
            pp["llama_bench"].append(got["prompt_tok_s"])

    tandem_answer(engine, [ChatMessage(Role.USER, PROMPT)], params)  # warm-up, both sides
    bare_decode(bare, story, 16)
    for round_no in range(args.rounds):
        steps = [tandem_decode, bare_decode_step]
        if have_llama_bench:
            steps.append(llama_bench_step)
        rotated(steps, round_no)
        messages = fresh_prompt(round_no)
        tokens = prompt_tokens(bare, [m.to_dict() for m in messages])
        pp_tokens.append(len(tokens))

        def tandem_pp(messages: list[ChatMessage] = messages) -> None:
            pp["tandem"].append(tandem_answer(engine, messages, pp_params).prompt_tokens_per_s)

        def bare_pp(tokens: list[int] = tokens) -> None:
            pp["llama_cpp_python"].append(bare_prompt(bare, tokens))

        rotated([tandem_pp, bare_pp], round_no)
    bare.close()
    engine.shutdown()

    def summary(table: dict[str, list[float]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tok_s": table,
            "median_tok_s": {k: statistics.median(v) for k, v in table.items() if v},
            "ratio_vs_llama_cpp_python": ratio_of_pairs(table["tandem"], table["llama_cpp_python"]),
            # Interference only ever slows a run down: best over best is a second view.
            "best_ratio_vs_llama_cpp_python": max(table["tandem"]) / max(table["llama_cpp_python"]),
        }
        if table["llama_bench"]:
            out["ratio_vs_llama_bench"] = ratio_of_pairs(table["tandem"], table["llama_bench"])
            out["best_ratio_vs_llama_bench"] = max(table["tandem"]) / max(table["llama_bench"])
            out["llama_cpp_python_vs_llama_bench"] = ratio_of_pairs(
                table["llama_cpp_python"], table["llama_bench"]
            )
        return out

    return {
        "model": args.model.name,
        "model_path": str(args.model),
        "threads": args.threads,
        "gpu_layers": args.gpu_layers,
        "flash_attention": args.flash_attention,
        "ctx": args.ctx,
        "rounds": args.rounds,
        "decode_tokens": args.tokens,
        "prompt_tokens": pp_tokens,
        "llama_bench": "built" if have_llama_bench else "not built",
        "decode": {**summary(speeds), "target": 0.97},
        "prompt_processing": {**summary(pp), "target": 0.95},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_args(parser)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--out", type=Path, default=RESULTS / "decode.json")
    args = parser.parse_args()
    resolve_model_args(args)
    result = measure(args)
    result["hardware"] = hardware()
    write_json(args.out, result)
    dec, pp = result["decode"], result["prompt_processing"]
    print(f"model {args.model.name}, {args.threads} threads, median of {args.rounds} rounds")
    for name, part in (("decode", dec), ("prompt", pp)):
        for side, value in part["median_tok_s"].items():
            print(f"  {name} tok/s {side:<20}{value:10.1f}")
        print(f"  {name} ratio vs llama-cpp-python {part['ratio_vs_llama_cpp_python']:8.3f}"
              f"   (target >= {part['target']})")  # fmt: skip
        if "ratio_vs_llama_bench" in part:
            print(f"  {name} ratio vs llama-bench      {part['ratio_vs_llama_bench']:8.3f}")
    print(f"written to {shown(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
