"""Local decode speed while a cloud column streams beside it (compare mode).

The cloud column is an OpenAI-compatible stream from a server on loopback that sends
about 200 chunks a second for several seconds, as a fast cloud model would; the local
column is the real engine process. Solo and compare rounds alternate.

    python bench/compare.py [--model PATH] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.backends.cloud import CloudBackend  # noqa: E402
from app.backends.local import LocalBackend, LocalEngine  # noqa: E402
from app.chat import ChatService  # noqa: E402
from app.compare import CompareSession  # noqa: E402
from app.core.events import CancelToken, Finished  # noqa: E402
from app.core.messages import GenerationParams  # noqa: E402
from app.core.paths import app_paths  # noqa: E402
from app.core.pricing import PriceTable  # noqa: E402
from app.core.providers import ProviderConfig  # noqa: E402
from app.library.catalog import load_catalog  # noqa: E402
from app.library.gguf_file import inspect_gguf  # noqa: E402
from tests.fault_server import FaultServer  # noqa: E402

PROMPT = "Write a long story about a lighthouse keeper and a storm."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "compare.json")
    args = parser.parse_args()
    model = args.model or app_paths().models_dir / load_catalog().default.file
    params = GenerationParams(temperature=0.0, max_tokens=args.tokens)
    engine = LocalEngine(check_file=inspect_gguf)
    engine.load(model, params)
    local = LocalBackend(engine, model, "local")
    solo, paired = [], []
    with FaultServer() as server:
        cloud = CloudBackend(
            ProviderConfig("loopback", "custom", server.url), "long", None, PriceTable({})
        )
        for _ in range(args.rounds):
            service = ChatService(local, params)
            for event in service.send(PROMPT, CancelToken()):
                if isinstance(event, Finished):
                    solo.append(event.stats.tokens_per_s)
            session = CompareSession(ChatService(local, params), ChatService(cloud, params))
            for side, event in session.send(PROMPT, CancelToken()):
                if side == "a" and isinstance(event, Finished):
                    paired.append(event.stats.tokens_per_s)
    engine.shutdown()
    ratio = statistics.median(p / s for p, s in zip(paired, solo, strict=True))
    result = {"model": model.name, "solo_tok_s": solo, "compare_tok_s": paired,
              "ratio_median_of_pairs": ratio, "target": 0.9}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"local decode tok/s solo          {statistics.median(solo):8.1f}")
    print(f"local decode tok/s in compare    {statistics.median(paired):8.1f}")
    print(f"ratio, median of pairs           {ratio:8.3f}   (target >= 0.9)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
