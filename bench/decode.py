"""Decode speed through Tandem's engine process against llama-cpp-python called bare,
and time to first token at turn 1 and turn 20 of one conversation.

Both sides run the same model, threads, prompt, greedy sampling and token count,
alternating several rounds so that a noisy machine hurts both alike.

    python bench/decode.py [--model PATH] [--threads N] [--tokens N] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.backends.engine_process import default_threads  # noqa: E402
from app.backends.local import LocalBackend, LocalEngine  # noqa: E402
from app.chat import ChatService  # noqa: E402
from app.core.events import CancelToken, Finished  # noqa: E402
from app.core.messages import ChatMessage, GenerationParams, Role  # noqa: E402
from app.core.paths import app_paths  # noqa: E402
from app.library.catalog import load_catalog  # noqa: E402
from app.library.gguf_file import inspect_gguf  # noqa: E402

PROMPT = "Write a long story about a lighthouse keeper and a storm."


def tandem_decode(engine: LocalEngine, params: GenerationParams) -> tuple[float, int]:
    events = list(engine.generate("bench", [ChatMessage(Role.USER, PROMPT)], params, CancelToken()))
    final = events[-1]
    assert isinstance(final, Finished), final
    return final.stats.tokens_per_s, final.stats.completion_tokens


def bare_decode(llama: object, tokens: list[int], n_tokens: int) -> float:
    """llama-cpp-python's own generate loop, greedy, timed first to last token."""
    count = 0
    first = last = 0.0
    for _token in llama.generate(tokens, temp=0.0, reset=True):  # type: ignore[attr-defined]
        now = time.perf_counter()
        count += 1
        if count == 1:
            first = now
        last = now
        if count >= n_tokens:
            break
    return (count - 1) / (last - first)


def ttft_by_turn(
    engine: LocalEngine, model: Path, turns: int, threads: int, ctx: int
) -> list[float]:
    params = GenerationParams(temperature=0.0, max_tokens=32, threads=threads, context_length=ctx)
    service = ChatService(LocalBackend(engine, model, "bench"), params)
    times = []
    for turn in range(1, turns + 1):
        for event in service.send(f"Question {turn}: name a fruit and its colour.", CancelToken()):
            if isinstance(event, Finished):
                times.append(event.stats.time_to_first_token_s or 0.0)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--gpu-layers", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "decode.json")
    args = parser.parse_args()
    model = args.model or app_paths().models_dir / load_catalog().default.file

    import llama_cpp

    params = GenerationParams(
        temperature=0.0,
        max_tokens=args.tokens,
        threads=args.threads,
        context_length=args.ctx,
        gpu_layers=args.gpu_layers,
    )
    engine = LocalEngine(check_file=inspect_gguf)
    engine.load(model, params)
    bare = llama_cpp.Llama(
        str(model),
        n_ctx=args.ctx,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_gpu_layers=args.gpu_layers,
        verbose=False,
    )
    from app.backends.prompt import PromptBuilder

    model_obj = bare._model
    builder = PromptBuilder(
        bare.metadata.get("tokenizer.chat_template"),
        model_obj.token_get_text(bare.token_bos()),
        model_obj.token_get_text(bare.token_eos()),
    )
    built = builder.build([{"role": "user", "content": PROMPT}])
    tokens = bare.tokenize(built.text.encode(), add_bos=not built.added_special, special=True)

    tandem_speeds, bare_speeds = [], []
    tandem_decode(engine, params)  # warm-up, both sides
    bare_decode(bare, tokens, 16)
    for round_no in range(args.rounds):
        # Alternate who goes first; each round is a pair measured back to back.
        if round_no % 2:
            reference_first = bare_decode(bare, tokens, args.tokens)
        speed, produced = tandem_decode(engine, params)
        tandem_speeds.append(speed)
        bare_speeds.append(reference_first if round_no % 2 else bare_decode(bare, tokens, produced))
    bare.close()

    ttft = ttft_by_turn(engine, model, args.turns, args.threads, args.ctx)
    engine.shutdown()

    tandem = statistics.median(tandem_speeds)
    reference = statistics.median(bare_speeds)
    ratio = statistics.median(t / b for t, b in zip(tandem_speeds, bare_speeds, strict=True))
    result = {
        "model": model.name,
        "threads": args.threads,
        "tokens": args.tokens,
        "rounds": args.rounds,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "llama_cpp_python": llama_cpp.__version__,
        "decode_tok_s": {"tandem": tandem_speeds, "bare_generate": bare_speeds},
        "decode_ratio_median_of_pairs": ratio,
        "ttft_s_by_turn": ttft,
        "ttft_ratio_turn_last_vs_1": ttft[-1] / ttft[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(
        f"model {model.name}, {args.threads} threads, {args.tokens} tokens, median of {args.rounds}"
    )
    print(f"{'decode tok/s, Tandem engine process':<50}{tandem:10.1f}")
    print(f"{'decode tok/s, llama-cpp-python Llama.generate':<50}{reference:10.1f}")
    print(f"{'ratio, median of paired rounds (target >= 0.97)':<50}{ratio:10.3f}")
    print(f"{'time to first token, turn 1 (s)':<50}{ttft[0]:10.3f}")
    print(f"{f'time to first token, turn {len(ttft)} (s)':<50}{ttft[-1]:10.3f}")
    print(f"{'ratio (target <= 1.3)':<50}{ttft[-1] / ttft[0]:10.3f}")
    print(f"written to {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
