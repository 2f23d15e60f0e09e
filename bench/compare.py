"""Local decode speed while a cloud column streams beside it (compare mode), against
the same local answer alone.

The cloud column is an OpenAI-compatible stream from a server on loopback that sends
about 200 chunks a second for several seconds, as a fast cloud model would; the local
column is the real engine process. Each round runs solo and compare back to back, in
alternating order; the figure is the median of per-round ratios.

    python bench/compare.py [--model PATH] [--threads N] [--rounds N]
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

from app.backends.cloud.client import CloudBackend
from app.backends.local.supervisor import LocalBackend, LocalEngine
from app.core.events import CancelToken, Finished
from app.core.messages import GenerationParams
from app.core.pricing import PriceTable
from app.core.providers import ProviderConfig
from app.library.gguf_file import inspect_gguf
from app.services.chat import ChatService
from app.services.compare import CompareSession
from tests.fault_server import FaultServer

PROMPT = "Write a long story about a lighthouse keeper and a storm."


def measure(args: argparse.Namespace) -> dict[str, Any]:
    params = GenerationParams(
        temperature=0.0,
        max_tokens=args.tokens,
        threads=args.threads,
        gpu_layers=args.gpu_layers,
    )
    engine = LocalEngine(check_file=inspect_gguf)
    engine.load(args.model, params)
    local = LocalBackend(engine, args.model, "local")
    solo: list[float] = []
    paired: list[float] = []
    cloud_chunks: list[int] = []
    with FaultServer() as server:
        cloud = CloudBackend(
            ProviderConfig("loopback", "custom", server.url), "long", None, PriceTable({})
        )

        def alone() -> None:
            for event in ChatService(local, params).send(PROMPT, CancelToken()):
                if isinstance(event, Finished):
                    solo.append(event.stats.tokens_per_s)

        def beside_cloud() -> None:
            session = CompareSession(ChatService(local, params), ChatService(cloud, params))
            chunks = 0
            for side, event in session.send(PROMPT, CancelToken()):
                if side == "a" and isinstance(event, Finished):
                    paired.append(event.stats.tokens_per_s)
                elif side == "b":
                    chunks += 1
            cloud_chunks.append(chunks)

        alone()  # warm-up
        solo.clear()
        for n in range(args.rounds):
            for step in (alone, beside_cloud) if n % 2 == 0 else (beside_cloud, alone):
                step()
    engine.shutdown()
    return {
        "model": args.model.name,
        "threads": args.threads,
        "rounds": args.rounds,
        "solo_tok_s": solo,
        "compare_tok_s": paired,
        "cloud_events_per_answer": cloud_chunks,
        "median_tok_s": {"solo": statistics.median(solo), "compare": statistics.median(paired)},
        "ratio_median_of_pairs": ratio_of_pairs(paired, solo),
        "target": 0.9,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_args(parser)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS / "compare.json")
    args = parser.parse_args()
    resolve_model_args(args)
    result = measure(args)
    result["hardware"] = hardware()
    write_json(args.out, result)
    m = result["median_tok_s"]
    print(f"local decode tok/s solo          {m['solo']:8.1f}")
    print(f"local decode tok/s in compare    {m['compare']:8.1f}")
    print(f"ratio, median of pairs           {result['ratio_median_of_pairs']:8.3f}"
          "   (target >= 0.9)")  # fmt: skip
    print(f"written to {shown(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
