"""Tandem's engine against llama.cpp's own `llama-server`, the engine Jan ships: decode
(greedy, and sampled at temperature 0.7 / top-p 0.95 / top-k 40), prompt processing,
and time to first token at turns 1, 10 and 20 of one conversation (the server with
`cache_prompt`, Tandem with its own prefix reuse).

Both sides run the same model, threads, batch sizes, context and sampling, on this
machine, in rounds that alternate which goes first; each figure is the median of
per-round ratios. Speeds are each side's own clock: Tandem's engine stats, the server's
`timings` (first to last token, prompt tokens over prompt time). Time to first token is
what a client sees: Tandem from the request to the service to the first text, the server
from the HTTP request to the first streamed content.

    python bench/server.py [--model PATH] [--threads N] [--rounds N] [--turns N]

The server is built by `python bench/llama_bench.py --build` (`make bench` does it);
without it this bench reports "not built".
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
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
from decode import PROMPT, long_text, open_bare, prompt_tokens, rotated, tandem_answer
from scaling import TOPICS

from app.backends.local.supervisor import LocalBackend, LocalEngine
from app.core.events import CancelToken, Delta
from app.core.messages import ChatMessage, FlashAttention, GenerationParams, Role
from app.library.gguf_file import inspect_gguf
from app.services.chat import ChatService

SAMPLED = {"temperature": 0.7, "top_p": 0.95, "top_k": 40, "min_p": 0.05}
TURNS_SHOWN = (1, 10, 20)
READING_PAUSE_S = 0.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(
    model: Path, threads: int, ctx: int, gpu_layers: int, flash_attention: str = "auto"
) -> Iterator[str]:
    """Start llama-server on loopback with the engine's settings; yield its base URL."""
    path = llama_bench.binary("llama-server")
    if path is None:
        raise FileNotFoundError("llama-server is not built")
    port = _free_port()
    command = [
        str(path), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
        "-t", str(threads), "-tb", str(threads), "-c", str(ctx), "-ngl", str(gpu_layers),
        "-b", "512", "-ub", "512", "-fa", flash_attention, "--parallel", "1", "--no-webui",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"llama-server exited: {error[-800:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("llama-server did not become ready in 120 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=600) as reply:
        return dict(json.loads(reply.read()))


def server_completion(
    base: str, tokens: list[int], n_predict: int, sampling: dict[str, float], seed: int
) -> dict[str, Any]:
    """One /completion of exactly `n_predict` tokens from the given prompt tokens."""
    body = {
        "prompt": tokens,
        "n_predict": n_predict,
        "cache_prompt": False,
        "ignore_eos": True,
        "seed": seed,
        "repeat_penalty": 1.0,
        **sampling,
    }
    return dict(_post(f"{base}/completion", body)["timings"])


def server_greedy_text(base: str, tokens: list[int], n_predict: int) -> str:
    """The server's greedy answer to the prompt tokens, ending where the model ends it."""
    body = {
        "prompt": tokens,
        "n_predict": n_predict,
        "cache_prompt": False,
        "temperature": 0.0,
        "repeat_penalty": 1.0,
    }
    return str(_post(f"{base}/completion", body)["content"])


def greedy_match(
    model: Path, base: str, story: list[int], params: GenerationParams
) -> dict[str, Any]:
    """Whether Tandem's greedy answer is the server's, for the story prompt, both from an
    empty cache (the server with cache_prompt off; Tandem in a fresh engine: a prompt
    evaluated in two batches, cached prefix then the rest, can differ in the last bits
    without flash attention, and a near-tie then goes the other way)."""
    engine = LocalEngine(check_file=inspect_gguf)
    messages = [ChatMessage(Role.USER, PROMPT)]
    try:
        engine.load(model, params)
        events = list(engine.generate("bench", messages, params, CancelToken()))
    finally:
        engine.shutdown()
    ours = "".join(e.text for e in events if isinstance(e, Delta))
    theirs = server_greedy_text(base, story, params.max_tokens).lstrip()
    same = ours == theirs
    where = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), None)
    if not same:
        where = min(len(ours), len(theirs)) if where is None else where
        print(f"greedy answers differ at character {where}: {ours[where:where + 40]!r} "
              f"vs {theirs[where:where + 40]!r}")  # fmt: skip
    return {"same": same, "characters": len(ours), "first_difference": where}


def server_first_token_s(
    base: str, messages: list[dict[str, str]], max_tokens: int
) -> tuple[float, str]:
    """Time from the request to the first streamed content, and the whole answer."""
    body = {
        "messages": messages,
        "stream": True,
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "cache_prompt": True,
    }
    request = urllib.request.Request(
        f"{base}/v1/chat/completions", json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )  # fmt: skip
    started = time.perf_counter()
    first: float | None = None
    text = ""
    with urllib.request.urlopen(request, timeout=600) as reply:
        for raw in reply:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices", []):
                piece = (choice.get("delta") or {}).get("content") or ""
                if piece and first is None:
                    first = time.perf_counter() - started
                text += piece
    return (first if first is not None else time.perf_counter() - started), text


def measure(args: argparse.Namespace) -> dict[str, Any]:
    base_params = GenerationParams(
        temperature=0.0,
        max_tokens=args.tokens,
        threads=args.threads,
        context_length=args.ctx,
        gpu_layers=args.gpu_layers,
        seed=42,
        flash_attention=FlashAttention(args.flash_attention),
    )
    sampled_params = base_params.with_(temperature=0.7, top_p=0.95)
    engine = LocalEngine(check_file=inspect_gguf)
    engine.load(args.model, base_params)
    bare = open_bare(args.model, args.threads, args.ctx, args.gpu_layers, args.flash_attention)
    story = prompt_tokens(bare, [{"role": "user", "content": PROMPT}])
    filler = long_text(bare, args.prompt_tokens)

    decode: dict[str, dict[str, list[float]]] = {
        kind: {"tandem": [], "llama_server": []} for kind in ("greedy", "sampled")
    }
    prompt: dict[str, list[float]] = {"tandem": [], "llama_server": []}
    turns: dict[str, list[list[float]]] = {"tandem": [], "llama_server": []}

    with llama_server(
        args.model, args.threads, args.ctx, args.gpu_layers, args.flash_attention
    ) as base:
        tandem_answer(engine, [ChatMessage(Role.USER, PROMPT)], base_params)  # warm-up
        server_completion(base, story, 16, {"temperature": 0.0}, 1)
        match = greedy_match(args.model, base, story, base_params)
        for round_no in range(args.rounds):
            for kind, params, sampling in (
                ("greedy", base_params, {"temperature": 0.0}),
                ("sampled", sampled_params, SAMPLED),
            ):
                produced = [args.tokens]

                def ours(p: GenerationParams = params, k: str = kind, n: list[int] = produced):
                    stats = tandem_answer(engine, [ChatMessage(Role.USER, PROMPT)], p)
                    decode[k]["tandem"].append(stats.tokens_per_s)
                    n[0] = stats.completion_tokens

                def theirs(
                    s: dict[str, float] = sampling,
                    k: str = kind,
                    n: list[int] = produced,
                    seed: int = 42 + round_no,
                ) -> None:
                    timings = server_completion(base, story, n[0], s, seed)
                    decode[k]["llama_server"].append(float(timings["predicted_per_second"]))

                # Tandem first sets how many tokens the server then makes, so it goes first
                # on even rounds and the server (with the previous count) on odd ones.
                rotated([ours, theirs], round_no)
            system = f"Session {round_no * 7919 + 104729}. Answer briefly."
            messages = [ChatMessage(Role.SYSTEM, system), ChatMessage(Role.USER, filler)]
            tokens = prompt_tokens(bare, [m.to_dict() for m in messages])

            def ours_pp(m: list[ChatMessage] = messages) -> None:
                stats = tandem_answer(engine, m, base_params.with_(max_tokens=1))
                prompt["tandem"].append(stats.prompt_tokens_per_s)

            def theirs_pp(t: list[int] = tokens, r: int = round_no) -> None:
                timings = server_completion(base, t, 1, {"temperature": 0.0}, r)
                prompt["llama_server"].append(float(timings["prompt_per_second"]))

            rotated([ours_pp, theirs_pp], round_no)
        for repeat in range(args.repeats):
            order = [_tandem_conversation, _server_conversation]
            for run in order[repeat % 2 :] + order[: repeat % 2]:
                side, rows = run(engine, args, base)
                turns[side].append(rows)
    bare.close()
    engine.shutdown()

    def summary(table: dict[str, list[float]]) -> dict[str, Any]:
        return {
            "tok_s": table,
            "median_tok_s": {k: statistics.median(v) for k, v in table.items() if v},
            "ratio_vs_llama_server": ratio_of_pairs(table["tandem"], table["llama_server"]),
            "best_ratio_vs_llama_server": max(table["tandem"]) / max(table["llama_server"]),
        }

    by_turn: dict[str, dict[str, Any]] = {}
    for turn in TURNS_SHOWN:
        if turn > args.turns:
            continue
        ours_s = [rows[turn - 1] for rows in turns["tandem"]]
        theirs_s = [rows[turn - 1] for rows in turns["llama_server"]]
        by_turn[str(turn)] = {
            "tandem_s": statistics.median(ours_s),
            "llama_server_s": statistics.median(theirs_s),
            "ratio_vs_llama_server": ratio_of_pairs(ours_s, theirs_s),
        }
    return {
        "model": args.model.name,
        "threads": args.threads,
        "gpu_layers": args.gpu_layers,
        "ctx": args.ctx,
        "rounds": args.rounds,
        "decode_tokens": args.tokens,
        "flash_attention": args.flash_attention,
        "greedy_match": match,
        "decode_greedy": {**summary(decode["greedy"]), "target": 1.0},
        "decode_sampled": {**summary(decode["sampled"]), "target": 1.0},
        "prompt_processing": {**summary(prompt), "target": 1.0},
        "ttft_by_turn": by_turn,
        "ttft_turns": turns,
        "ttft_target": "turn 20 <= llama-server",
    }


def _questions(turns: int) -> Iterator[str]:
    for turn in range(1, turns + 1):
        yield f"Question {turn:02d}: tell me a fact about {TOPICS[(turn - 1) % len(TOPICS)]}."


def _tandem_conversation(
    engine: LocalEngine, args: argparse.Namespace, _base: str
) -> tuple[str, list[float]]:
    params = GenerationParams(
        temperature=0.0,
        max_tokens=args.answer_tokens,
        threads=args.threads,
        context_length=args.ctx,
        gpu_layers=args.gpu_layers,
        flash_attention=FlashAttention(args.flash_attention),
    )
    service = ChatService(LocalBackend(engine, args.model, "bench"), params)
    rows = []
    for question in _questions(args.turns):
        started = time.perf_counter()
        first: float | None = None
        for event in service.send(question, CancelToken()):
            if isinstance(event, Delta) and event.text and first is None:
                first = time.perf_counter() - started
        rows.append(first if first is not None else time.perf_counter() - started)
        time.sleep(READING_PAUSE_S)  # the person reads; both sides get the same pause
    return "tandem", rows


def _server_conversation(
    _engine: LocalEngine, args: argparse.Namespace, base: str
) -> tuple[str, list[float]]:
    messages: list[dict[str, str]] = []
    rows = []
    for question in _questions(args.turns):
        messages.append({"role": "user", "content": question})
        first, text = server_first_token_s(base, messages, args.answer_tokens)
        messages.append({"role": "assistant", "content": text})
        rows.append(first)
        time.sleep(READING_PAUSE_S)
    return "llama_server", rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_args(parser)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--answer-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--out", type=Path, default=RESULTS / "server.json")
    args = parser.parse_args()
    resolve_model_args(args)
    if llama_bench.binary("llama-server") is None:
        result: dict[str, Any] = {"llama_server": "not built"}
        print("llama-server is not built; run `python bench/llama_bench.py --build`")
    else:
        result = measure(args)
    result["hardware"] = hardware()
    write_json(args.out, result)
    if "decode_greedy" in result:
        print(f"model {args.model.name}, {args.threads} threads, median of {args.rounds} rounds")
        print(f"  greedy answer the same as llama-server's: {result['greedy_match']['same']}")
        for key in ("decode_greedy", "decode_sampled", "prompt_processing"):
            part = result[key]
            med = part["median_tok_s"]
            print(
                f"  {key:<18} tandem {med['tandem']:7.1f}  llama-server "
                f"{med['llama_server']:7.1f} tok/s  ratio {part['ratio_vs_llama_server']:.3f}"
            )
        for turn, row in result["ttft_by_turn"].items():
            print(
                f"  ttft turn {turn:>2}       tandem {row['tandem_s'] * 1000:7.0f}  "
                f"llama-server {row['llama_server_s'] * 1000:7.0f} ms    "
                f"ratio {row['ratio_vs_llama_server']:.3f}"
            )
    print(f"written to {shown(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
