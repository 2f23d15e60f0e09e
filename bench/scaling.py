"""How time to first token and decode speed change as a conversation grows (1 to 40
turns) and as the prompt grows (fresh prompts of 64 to 2,048 tokens).

A regression shows as a bent line: Tandem's per-turn cost must stay flat as the
conversation grows (the engine reuses the cached prefix), and its prompt-size curve
must follow llama-cpp-python's, measured beside it in the same run.

The headline figure is time to first token at turn 20 over turn 1 of the same
conversation (target <= 1.3), median over --repeats conversations.

    python bench/scaling.py [--model PATH] [--turns N] [--repeats N] [--sizes 64,128,...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from common import RESULTS, add_model_args, hardware, resolve_model_args, shown, write_json
from decode import long_text, open_bare, prompt_tokens, tandem_answer

from app.backends.local.supervisor import LocalBackend, LocalEngine
from app.core.events import CancelToken, Finished
from app.core.messages import ChatMessage, GenerationParams, Role
from app.library.gguf_file import inspect_gguf
from app.services.chat import ChatService

# One token each (with the leading space) in the default model's vocabulary, and the
# turn number zero-padded: every question is the same number of tokens, so turn 20
# evaluates no more new tokens than turn 1 beyond the previous answer's end marker.
TOPICS = (  # noqa: SIM905 - the words read as prose, one token each
    "bees rain bread chess coffee honey winter rivers clocks gardens forests bridges deserts "
    "oceans music trains birds stars mountains islands volcanoes paper glass salt iron cheese "
    "tea wolves whales horses cats dogs apples maps books ships lamps bells"
).split()


READING_PAUSE_S = 0.5


def conversation(
    engine: LocalEngine, bare: Any, model: Path, params: GenerationParams, turns: int
) -> list[dict[str, Any]]:
    """One conversation of `turns` exchanges through Tandem; after each, the same prompt
    through llama-cpp-python directly (its own prefix cache, as many tokens), so that
    what the model itself costs at that depth is measured beside what Tandem adds."""
    service = ChatService(LocalBackend(engine, model, "bench"), params)
    rows = []
    for turn in range(1, turns + 1):
        topic = TOPICS[(turn - 1) % len(TOPICS)]
        question = f"Question {turn:02d}: tell me a fact about {topic}."
        stats = None
        for event in service.send(question, CancelToken()):
            if isinstance(event, Finished):
                stats = event.stats
        assert stats is not None
        # The person reads the answer: the engine evaluates the next turn's opening
        # meanwhile, and is idle again before the reference runs beside it.
        time.sleep(READING_PAUSE_S)
        new_tokens = stats.prompt_tokens - stats.prompt_tokens_cached
        sent = [m.to_dict() for m in service.conversation.context()[:-1]]
        first, speed = bare_first_and_decode(
            bare, prompt_tokens(bare, sent), max(2, stats.completion_tokens), reset=False
        )
        rows.append(
            {
                "turn": turn,
                "ttft_s": stats.time_to_first_token_s or 0.0,
                "decode_tok_s": stats.tokens_per_s,
                "prompt_tokens": stats.prompt_tokens,
                "cached_tokens": stats.prompt_tokens_cached,
                "completion_tokens": stats.completion_tokens,
                # request to first token inside the engine process
                "engine_prompt_s": new_tokens / stats.prompt_tokens_per_s
                if stats.prompt_tokens_per_s
                else 0.0,
                "direct_ttft_s": first,
                "direct_decode_tok_s": speed,
            }
        )
    return rows


def bare_first_and_decode(
    bare: Any, tokens: list[int], n_tokens: int, reset: bool = True
) -> tuple[float, float]:
    """llama-cpp-python (from an empty cache, or reusing its prefix): time to first
    token, then decode tok/s."""
    if reset:
        bare.reset()
    started = time.perf_counter()
    count = 0
    first = last = 0.0
    for _token in bare.generate(tokens, temp=0.0, reset=True):
        last = time.perf_counter()
        count += 1
        if count == 1:
            first = last
        if count >= n_tokens:
            break
    return first - started, (count - 1) / (last - first) if count > 1 else 0.0


def measure(args: argparse.Namespace) -> dict[str, Any]:
    params = GenerationParams(
        temperature=0.0,
        max_tokens=args.answer_tokens,
        threads=args.threads,
        context_length=args.ctx,
        gpu_layers=args.gpu_layers,
    )
    engine = LocalEngine(check_file=inspect_gguf)
    engine.load(args.model, params)
    bare = open_bare(args.model, args.threads, args.ctx, args.gpu_layers)
    hello = [ChatMessage(Role.USER, "Say hello.")]
    runs = []
    for _ in range(args.repeats):
        # Before each conversation both caches hold another exchange that shares only the
        # chat template's system prompt, as in a running app when a new chat starts.
        tandem_answer(engine, hello, params)
        bare_first_and_decode(bare, prompt_tokens(bare, [m.to_dict() for m in hello]), 8)
        runs.append(conversation(engine, bare, args.model, params, args.turns))
    by_turn = []
    for i in range(args.turns):
        rows = [run[i] for run in runs if i < len(run)]
        by_turn.append(
            {
                "turn": i + 1,
                "ttft_s": statistics.median(r["ttft_s"] for r in rows),
                "decode_tok_s": statistics.median(r["decode_tok_s"] for r in rows),
                "prompt_tokens": statistics.median(r["prompt_tokens"] for r in rows),
                "cached_tokens": statistics.median(r["cached_tokens"] for r in rows),
                "engine_prompt_s": statistics.median(r["engine_prompt_s"] for r in rows),
                "direct_ttft_s": statistics.median(r["direct_ttft_s"] for r in rows),
                "direct_decode_tok_s": statistics.median(r["direct_decode_tok_s"] for r in rows),
            }
        )
    at = min(20, args.turns) - 1
    # Turn 20 over turn 1 of the same conversation, median over conversations.
    ttft_ratio = statistics.median(run[at]["ttft_s"] / run[0]["ttft_s"] for run in runs)
    direct_ratio = statistics.median(
        run[at]["direct_ttft_s"] / run[0]["direct_ttft_s"] for run in runs
    )

    filler = long_text(bare, max(args.sizes) + 64)
    filler_tokens = bare.tokenize(filler.encode(), add_bos=False)
    by_size = []
    for n, size in enumerate(args.sizes):
        text = bare.detokenize(filler_tokens[:size]).decode(errors="ignore")
        messages = [
            ChatMessage(Role.SYSTEM, f"Session {n * 7919 + 104729}. Answer briefly."),
            ChatMessage(Role.USER, text + "\nSummarise the ledger."),
        ]
        tokens = prompt_tokens(bare, [m.to_dict() for m in messages])
        size_params = GenerationParams(
            temperature=0.0,
            max_tokens=args.size_answer_tokens,
            threads=args.threads,
            context_length=args.ctx,
            gpu_layers=args.gpu_layers,
        )
        # Tandem first: its answer sets how many tokens both sides decode.
        s = tandem_answer(engine, messages, size_params)
        tandem = {"ttft_s": s.time_to_first_token_s or 0.0, "decode_tok_s": s.tokens_per_s}
        first, speed = bare_first_and_decode(bare, tokens, max(2, s.completion_tokens))
        reference = {"ttft_s": first, "decode_tok_s": speed}
        by_size.append(
            {"prompt_tokens": len(tokens), "tandem": tandem, "llama_cpp_python": reference}
        )
    bare.close()
    engine.shutdown()
    return {
        "model": args.model.name,
        "threads": args.threads,
        "gpu_layers": args.gpu_layers,
        "ctx": args.ctx,
        "turns": args.turns,
        "repeats": args.repeats,
        "answer_tokens": args.answer_tokens,
        "by_turn": by_turn,
        "runs": runs,
        "ttft_turn": at + 1,
        "ttft_ratio_turn_vs_1": ttft_ratio,
        "direct_ttft_ratio_turn_vs_1": direct_ratio,
        "ttft_target": 1.3,
        "by_prompt_size": by_size,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_args(parser)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--answer-tokens", type=int, default=48)
    parser.add_argument("--size-answer-tokens", type=int, default=64)
    parser.add_argument("--sizes", default="64,128,256,512,1024,2048")
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--out", type=Path, default=RESULTS / "scaling.json")
    args = parser.parse_args()
    resolve_model_args(args)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    result = measure(args)
    result["hardware"] = hardware()
    write_json(args.out, result)
    turns = result["by_turn"]
    print(f"model {args.model.name}, {args.threads} threads")
    for row in turns[:1] + turns[4::5]:
        print(
            f"  turn {row['turn']:>2}: first token {row['ttft_s'] * 1000:7.1f} ms, "
            f"{row['decode_tok_s']:6.1f} tok/s, prompt {row['prompt_tokens']:5.0f} tokens "
            f"({row['cached_tokens']:.0f} cached); direct: first token "
            f"{row['direct_ttft_s'] * 1000:7.1f} ms, {row['direct_decode_tok_s']:6.1f} tok/s"
        )
    print(
        f"  time to first token, turn {result['ttft_turn']} / turn 1: "
        f"{result['ttft_ratio_turn_vs_1']:.3f}   (target <= 1.3); llama-cpp-python direct: "
        f"{result['direct_ttft_ratio_turn_vs_1']:.3f}"
    )
    for row in result["by_prompt_size"]:
        t, r = row["tandem"], row["llama_cpp_python"]
        print(
            f"  prompt {row['prompt_tokens']:5d} tokens: "
            f"first token {t['ttft_s'] * 1000:7.1f} ms (direct {r['ttft_s'] * 1000:7.1f}), "
            f"{t['decode_tok_s']:6.1f} tok/s (direct {r['decode_tok_s']:6.1f})"
        )
    print(f"written to {shown(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
