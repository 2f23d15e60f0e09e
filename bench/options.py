"""The engine's speed options on this machine: prompt-lookup drafting on and off (on a
rewrite, where the answer repeats its prompt, and on a free story, where it does not),
the KV cache types (f16, q8_0, q4_0) and flash attention on against the default.

Every figure is Tandem's own (the engine's stats) and a ratio against the engine's
default (f16 cache, flash attention auto, no drafting) measured in the same round; the
rounds alternate the order of the sides, and each ratio is the median of per-round ratios.
Under greedy sampling, drafting must not change the answer: each round checks it.

    python bench/options.py [--model PATH] [--threads N] [--rounds N] [--tokens N]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from common import (
    RESULTS,
    add_model_args,
    hardware,
    ratio_of_pairs,
    resolve_model_args,
    shown,
    write_json,
)
from decode import PROMPT, long_text, open_bare, rotated

from app.backends.local.supervisor import LocalEngine
from app.core.events import CancelToken, Delta, Finished
from app.core.messages import ChatMessage, FlashAttention, GenerationParams, KVCacheType, Role
from app.core.stats import AnswerStats
from app.library.gguf_file import inspect_gguf

CODE = """def summarise(orders, customers):
    totals = {}
    for order in orders:
        customer = customers.get(order.customer_id)
        if customer is None:
            continue
        if order.status != "paid":
            continue
        key = (customer.country, customer.segment)
        totals[key] = totals.get(key, 0) + order.amount
    report = []
    for (country, segment), amount in sorted(totals.items()):
        report.append(f"{country:<12} {segment:<10} {amount:>10.2f}")
    return "\\n".join(report)
"""
REWRITE = (
    "Rewrite this Python function exactly as it is, but rename the variable `totals` to "
    f"`sums`. Reply with the code only.\n\n{CODE}"
)
# (label, KV cache type, flash attention); the first, the engine's default, is the
# reference of the others. Auto turns flash attention on for a quantized cache, and
# leaves it off for f16 on the CPU.
LOADS = [
    ("f16, auto", KVCacheType.F16, FlashAttention.AUTO),
    ("KV q8_0", KVCacheType.Q8_0, FlashAttention.AUTO),
    ("KV q4_0", KVCacheType.Q4_0, FlashAttention.AUTO),
    ("flash attention on", KVCacheType.F16, FlashAttention.ON),
]


def answer(
    engine: LocalEngine, messages: list[ChatMessage], params: GenerationParams
) -> tuple[str, AnswerStats]:
    events = list(engine.generate("bench", messages, params, CancelToken()))
    final = events[-1]
    assert isinstance(final, Finished), final
    return "".join(e.text for e in events if isinstance(e, Delta)), final.stats


def measure(args: argparse.Namespace) -> dict[str, Any]:
    base = GenerationParams(
        temperature=0.0,
        max_tokens=args.tokens,
        threads=args.threads,
        context_length=args.ctx,
        gpu_layers=args.gpu_layers,
    )
    engines = []
    for _label, kv, flash in LOADS:
        engine = LocalEngine(check_file=inspect_gguf)
        engine.load(args.model, base.with_(kv_cache_type=kv, flash_attention=flash))
        engines.append(engine)
    # Drafting is a per-model choice made at load (it turns "auto" flash attention on):
    # both sides of its comparison run in this engine, so only the drafting differs.
    drafter = LocalEngine(check_file=inspect_gguf)
    drafter.load(args.model, base.with_(speculative=True))
    bare = open_bare(args.model, args.threads, args.ctx, args.gpu_layers)
    filler = long_text(bare, args.prompt_tokens)
    bare.close()
    story = [ChatMessage(Role.USER, PROMPT)]
    rewrite = [ChatMessage(Role.USER, REWRITE)]

    decode: dict[str, list[float]] = {label: [] for label, _kv, _fa in LOADS}
    prompt: dict[str, list[float]] = {label: [] for label, _kv, _fa in LOADS}
    drafting: dict[str, dict[str, list[float]]] = {
        task: {"on": [], "off": [], "drafted": [], "accepted": []} for task in ("rewrite", "story")
    }
    differ: list[str] = []
    for engine, (_label, kv, flash) in zip(engines, LOADS, strict=True):
        answer(engine, story, base.with_(kv_cache_type=kv, flash_attention=flash, max_tokens=16))
    for round_no in range(args.rounds):
        steps = []
        for engine, (label, kv, flash) in zip(engines, LOADS, strict=True):
            params = base.with_(kv_cache_type=kv, flash_attention=flash)

            def one(e: LocalEngine = engine, p: GenerationParams = params, k: str = label) -> None:
                decode[k].append(answer(e, story, p)[1].tokens_per_s)
                # A nonce first makes each prompt fresh: nothing of it is in the cache.
                system = f"Session {len(prompt[k]) * 7919 + 104729}. Answer briefly."
                fresh = [ChatMessage(Role.SYSTEM, system), ChatMessage(Role.USER, filler)]
                prompt[k].append(answer(e, fresh, p.with_(max_tokens=1))[1].prompt_tokens_per_s)

            steps.append(one)
        rotated(steps, round_no)
        reference = drafter
        for task, messages in (("rewrite", rewrite), ("story", story)):
            texts: dict[bool, str] = {}

            def side(
                on: bool,
                t: str = task,
                m: list[ChatMessage] = messages,
                e: LocalEngine = reference,
                seen: dict[bool, str] = texts,
            ) -> None:
                # The same cache state for both sides: the prompt evaluated after the
                # template's opening, in one batch (a prompt split otherwise between a
                # cached part and the rest can tip a near-tie, drafting or not).
                answer(e, [ChatMessage(Role.USER, "Hi.")], base.with_(max_tokens=1))
                text, stats = answer(e, m, base.with_(speculative=on))
                seen[on] = text
                drafting[t]["on" if on else "off"].append(stats.tokens_per_s)
                if on:
                    drafting[t]["drafted"].append(stats.draft_tokens)
                    drafting[t]["accepted"].append(stats.draft_accepted)

            rotated([lambda: side(True), lambda: side(False)], round_no)
            if texts[True] != texts[False]:
                differ.append(f"round {round_no}, {task}")
    for engine in [*engines, drafter]:
        engine.shutdown()
    reference_label = LOADS[0][0]
    loads = {
        label: {
            "decode_tok_s": statistics.median(decode[label]),
            "prompt_tok_s": statistics.median(prompt[label]),
            "decode_ratio": ratio_of_pairs(decode[label], decode[reference_label]),
            "prompt_ratio": ratio_of_pairs(prompt[label], prompt[reference_label]),
        }
        for label, _kv, _fa in LOADS
    }
    speculative = {
        task: {
            "on_tok_s": statistics.median(rows["on"]),
            "off_tok_s": statistics.median(rows["off"]),
            "ratio_on_vs_off": ratio_of_pairs(rows["on"], rows["off"]),
            "drafted": statistics.median(rows["drafted"]),
            "accepted": statistics.median(rows["accepted"]),
        }
        for task, rows in drafting.items()
    }
    return {
        "model": args.model.name,
        "threads": args.threads,
        "gpu_layers": args.gpu_layers,
        "rounds": args.rounds,
        "decode_tokens": args.tokens,
        "reference_load": reference_label,
        "loads": loads,
        "speculative": speculative,
        "speculative_same_answer": not differ,
        "speculative_differences": differ,
        "raw": {"decode": decode, "prompt": prompt, "drafting": drafting},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_args(parser)
    parser.add_argument("--tokens", type=int, default=192)
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--out", type=Path, default=RESULTS / "options.json")
    args = parser.parse_args()
    resolve_model_args(args)
    result = measure(args)
    result["hardware"] = hardware()
    write_json(args.out, result)
    print(f"model {args.model.name}, {args.threads} threads, median of {args.rounds} rounds")
    for label, row in result["loads"].items():
        print(
            f"  {label:<28} decode {row['decode_tok_s']:7.1f} tok/s ({row['decode_ratio']:.3f} x)"
            f"  prompt {row['prompt_tok_s']:7.1f} tok/s ({row['prompt_ratio']:.3f} x)"
        )
    for task, row in result["speculative"].items():
        print(
            f"  prompt lookup, {task:<8} on {row['on_tok_s']:7.1f}  off {row['off_tok_s']:7.1f} "
            f"tok/s ({row['ratio_on_vs_off']:.3f} x), accepted {row['accepted']:.0f} of "
            f"{row['drafted']:.0f} drafted"
        )
    print(f"  the same greedy answer with drafting: {result['speculative_same_answer']}")
    print(f"written to {shown(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
