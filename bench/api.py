"""The local API against the in-process engine and llama.cpp's own `llama-server`:
decode tokens/s through Tandem's server (as its client sees the stream), the same engine
called in-process, and llama-server, on one model, with the same threads, context and
greedy sampling, in rounds that alternate the order. Then time to first token at turn 1
and the last turn of a `tandem-cli chat -c` conversation, with and without a running
instance (which keeps the model loaded and the conversation's prefix cached).

    python bench/api.py [--model PATH] [--threads N] [--rounds N] [--tokens N] [--turns N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import llama_bench
from common import (
    REPO,
    RESULTS,
    add_model_args,
    hardware,
    ratio_of_pairs,
    resolve_model_args,
    shown,
    write_json,
)
from decode import PROMPT, open_bare, prompt_tokens, rotated, tandem_answer
from server import llama_server, server_completion

from app.core.messages import ChatMessage, GenerationParams, Role
from app.store.paths import AppPaths
from app.store.settings import Settings

KEY = "bench-key"
QUESTIONS = [
    "Name a colour.", "Name a fruit.", "Name a river.", "Name a city.", "Name a tree.",
    "Name a bird.", "Name a metal.", "Name a planet.", "Name a dance.", "Name a cheese.",
    "Name a tool.", "Name a game.",
]  # fmt: skip


def _home(root: Path, model: Path, params: GenerationParams) -> tuple[Path, AppPaths]:
    from app.store.settings import save_settings

    paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()
    link = paths.models_dir / model.name
    if not link.exists():
        link.symlink_to(model.resolve())
    save_settings(Settings(generation=params, private_mode=True), paths.settings_file)
    return root, paths


def streamed_tokens_per_s(base: str, n_tokens: int) -> tuple[float, float, int]:
    """Through the API as a client sees it: (completion tokens - 1) over the seconds from
    the first streamed text to the last; also the server's own figure, and the count."""
    body = {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": n_tokens,
            "temperature": 0.0, "seed": 42, "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    request = urllib.request.Request(
        f"{base}/chat/completions", json.dumps(body).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"},
    )  # fmt: skip
    first = last = 0.0
    usage: dict[str, int] = {}
    facts: dict[str, Any] = {}
    with urllib.request.urlopen(request, timeout=600) as reply:
        for raw in reply:
            line = raw.decode().strip()
            if not line.startswith("data:") or line.endswith("[DONE]"):
                continue
            chunk = json.loads(line[5:])
            for choice in chunk.get("choices", []):
                if (choice.get("delta") or {}).get("content"):
                    last = time.perf_counter()
                    first = first or last
            usage = chunk.get("usage") or usage
            facts = chunk.get("tandem") or facts
    count = int(usage.get("completion_tokens", 0))
    client = (count - 1) / (last - first) if count > 1 and last > first else 0.0
    return client, float(facts.get("tokens_per_s", 0.0)), count


def decode_round_trip(args: argparse.Namespace, params: GenerationParams) -> dict[str, Any]:
    from app.server import start_server
    from app.services.workspace import Workspace

    root = Path(tempfile.mkdtemp(prefix="tandem-bench-api-"))
    _, paths = _home(root, args.model, params)
    workspace = Workspace(paths)
    engine = workspace.engine()
    engine.load(args.model, params)
    server = start_server(workspace, port=0, key=KEY, write_instance=False)
    bare = open_bare(args.model, args.threads, args.ctx, args.gpu_layers)
    story = prompt_tokens(bare, [{"role": "user", "content": PROMPT}])
    del bare
    figures: dict[str, list[float]] = {"api_client": [], "api_server": [], "in_process": [],
                                       "llama_server": []}  # fmt: skip
    try:
        with llama_server(args.model, args.threads, args.ctx, args.gpu_layers) as base:
            streamed_tokens_per_s(server.base_url, 16)  # warm-up, both sides
            server_completion(base, story, 16, {"temperature": 0.0}, 1)
            for round_no in range(args.rounds):
                produced = [args.tokens]

                def api(n: list[int] = produced) -> None:
                    client, own, count = streamed_tokens_per_s(server.base_url, args.tokens)
                    figures["api_client"].append(client)
                    figures["api_server"].append(own)
                    n[0] = count

                def in_process() -> None:
                    messages = [ChatMessage(Role.USER, PROMPT)]
                    figures["in_process"].append(tandem_answer(engine, messages, params)
                                                 .tokens_per_s)  # fmt: skip

                def reference(n: list[int] = produced) -> None:
                    timings = server_completion(base, story, n[0], {"temperature": 0.0}, 42)
                    figures["llama_server"].append(float(timings["predicted_per_second"]))

                rotated([api, in_process, reference], round_no)
    finally:
        server.stop()
        workspace.shutdown()
    return {
        "tokens_per_s": {k: statistics.median(v) for k, v in figures.items()},
        "rounds": figures,
        "api_vs_in_process": ratio_of_pairs(figures["api_client"], figures["in_process"]),
        "api_vs_llama_server": ratio_of_pairs(figures["api_client"], figures["llama_server"]),
    }


def _cli_conversation(root: Path, turns: int, tokens: int) -> list[dict[str, Any]]:
    env = {**os.environ, "TANDEM_HOME": str(root),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}  # fmt: skip
    rows = []
    for turn in range(turns):
        command = [sys.executable, "-m", "app.cli", "chat", "--json", "--max-tokens",
                   str(tokens), "--temperature", "0", *(["-c"] if turn else []),
                   QUESTIONS[turn % len(QUESTIONS)]]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO,
                              check=False, timeout=600)  # fmt: skip
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"tandem-cli chat failed: {done.stderr[-400:]}")
        data = json.loads(done.stdout)
        rows.append({"turn": turn + 1, "engine": data["engine"], "wall_s": wall,
                     "time_to_first_token_s": data["time_to_first_token_s"],
                     "prompt_tokens": data["prompt_tokens"],
                     "prompt_tokens_cached": data["prompt_tokens_cached"]})  # fmt: skip
    return rows


def cli_turns(args: argparse.Namespace, params: GenerationParams) -> dict[str, Any]:
    from app.server import start_server
    from app.services.workspace import Workspace

    own_root, _ = _home(Path(tempfile.mkdtemp(prefix="tandem-bench-own-")), args.model, params)
    own = _cli_conversation(own_root, args.turns, args.answer_tokens)
    shared_root, paths = _home(
        Path(tempfile.mkdtemp(prefix="tandem-bench-shared-")), args.model, params
    )
    workspace = Workspace(paths)
    workspace.engine().load(args.model, params)  # a running window has its model loaded
    server = start_server(workspace, port=0, key=KEY)
    try:
        shared = _cli_conversation(shared_root, args.turns, args.answer_tokens)
    finally:
        server.stop()
        workspace.shutdown()
    return {"own": own, "shared": shared}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_args(parser)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128, help="tokens per decode run")
    parser.add_argument("--turns", type=int, default=10, help="turns of the CLI conversation")
    parser.add_argument("--answer-tokens", type=int, default=24)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--out", type=Path, default=RESULTS / "api.json")
    args = parser.parse_args()
    resolve_model_args(args)
    params = GenerationParams(
        temperature=0.0, max_tokens=args.tokens, threads=args.threads,
        context_length=args.ctx, gpu_layers=args.gpu_layers, seed=42,
    )  # fmt: skip
    result: dict[str, Any] = {"hardware": hardware(), "model": args.model.name,
                              "threads": args.threads, "tokens": args.tokens}  # fmt: skip
    if llama_bench.binary("llama-server") is None:
        result["decode"] = "not built: run `python bench/llama_bench.py --build`"
    else:
        result["decode"] = decode_round_trip(args, params)
    result["cli"] = cli_turns(args, params)
    write_json(args.out, result)
    if isinstance(result["decode"], dict):
        d = result["decode"]
        speeds = ", ".join(f"{k} {v:.1f}" for k, v in d["tokens_per_s"].items())
        print(f"decode tok/s (median): {speeds}")
        print(f"API / in-process {d['api_vs_in_process']:.3f}×, "
              f"API / llama-server {d['api_vs_llama_server']:.3f}× (target ≥ 0.97×)")  # fmt: skip
    else:
        print(f"decode: {result['decode']}")
    for kind, rows in result["cli"].items():
        first, last = rows[0], rows[-1]
        print(f"tandem-cli chat -c, {kind} engine: turn 1 TTFT "
              f"{first['time_to_first_token_s']:.3f} s (whole call {first['wall_s']:.2f} s), "
              f"turn {last['turn']} TTFT {last['time_to_first_token_s']:.3f} s "
              f"(whole call {last['wall_s']:.2f} s, {last['prompt_tokens_cached']} of "
              f"{last['prompt_tokens']} prompt tokens cached)")  # fmt: skip
    print(f"results: {shown(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
