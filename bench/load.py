"""Model load time through Tandem's engine against llama-cpp-python called directly.

Same file, context, threads and GPU layers on both sides, alternating:

- warm: `LocalEngine.load` into the running engine process (after an unload), against
  `llama_cpp.Llama(...)` in this process. This is the figure with the target.
- cold: a fresh `LocalEngine` (spawn the process, import llama.cpp, load), against a
  fresh `python -c "import llama_cpp; Llama(...)"`; what a person waits for at the
  first message after starting the app.

    python bench/load.py [--model PATH] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
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

from app.backends.local.supervisor import LocalEngine
from app.core.messages import GenerationParams
from app.library.gguf_file import inspect_gguf

COLD_REFERENCE = """
import sys, time
started = time.perf_counter()
import llama_cpp
llama = llama_cpp.Llama(sys.argv[1], n_ctx=int(sys.argv[2]), n_threads=int(sys.argv[3]),
                        n_threads_batch=int(sys.argv[3]), n_gpu_layers=int(sys.argv[4]),
                        verbose=False)
print(time.perf_counter() - started)
"""


def direct_load(args: argparse.Namespace) -> float:
    import llama_cpp

    started = time.perf_counter()
    llama = llama_cpp.Llama(
        str(args.model),
        n_ctx=args.ctx,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_gpu_layers=args.gpu_layers,
        verbose=False,
    )
    elapsed = time.perf_counter() - started
    llama.close()
    return elapsed


def measure(args: argparse.Namespace) -> dict[str, Any]:
    params = GenerationParams(
        threads=args.threads, context_length=args.ctx, gpu_layers=args.gpu_layers
    )
    engine = LocalEngine(check_file=inspect_gguf)
    engine.load(args.model, params)
    direct_load(args)  # both warm: file in the page cache, libraries loaded
    warm: dict[str, list[float]] = {"tandem": [], "llama_cpp_python": []}
    engine_reported: list[float] = []

    def ours() -> None:
        engine.unload()
        time.sleep(0.5)  # the engine frees the old model now; the direct side's close is untimed
        started = time.perf_counter()
        loaded = engine.load(args.model, params)
        warm["tandem"].append(time.perf_counter() - started)
        engine_reported.append(loaded.load_s)

    def theirs() -> None:
        warm["llama_cpp_python"].append(direct_load(args))

    for n in range(args.rounds):
        for step in (ours, theirs) if n % 2 == 0 else (theirs, ours):
            step()
    engine.shutdown()

    cold: dict[str, list[float]] = {"tandem": [], "llama_cpp_python": []}
    command = [sys.executable, "-c", COLD_REFERENCE, str(args.model), str(args.ctx),
               str(args.threads), str(args.gpu_layers)]  # fmt: skip

    def ours_cold() -> None:
        fresh = LocalEngine(check_file=inspect_gguf)
        started = time.perf_counter()
        fresh.load(args.model, params)
        cold["tandem"].append(time.perf_counter() - started)
        fresh.shutdown()

    def theirs_cold() -> None:
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        cold["llama_cpp_python"].append(time.perf_counter() - started)

    for n in range(args.cold_rounds):
        for step in (ours_cold, theirs_cold) if n % 2 == 0 else (theirs_cold, ours_cold):
            step()

    return {
        "model": args.model.name,
        "threads": args.threads,
        "gpu_layers": args.gpu_layers,
        "ctx": args.ctx,
        "warm_s": warm,
        "warm_engine_reported_s": engine_reported,
        "warm_median_s": {k: statistics.median(v) for k, v in warm.items()},
        "warm_ratio": ratio_of_pairs(warm["tandem"], warm["llama_cpp_python"]),
        "cold_s": cold,
        "cold_median_s": {k: statistics.median(v) for k, v in cold.items()},
        "cold_ratio": ratio_of_pairs(cold["tandem"], cold["llama_cpp_python"]),
        "target": 1.1,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_args(parser)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cold-rounds", type=int, default=3)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args()
    resolve_model_args(args)
    result = measure(args)
    result["hardware"] = hardware()
    write_json(args.out, result)
    w, c = result["warm_median_s"], result["cold_median_s"]
    print(f"model {args.model.name}: load time, median of {args.rounds} alternating rounds")
    print(f"  warm: Tandem engine {w['tandem'] * 1000:7.0f} ms, direct "
          f"{w['llama_cpp_python'] * 1000:7.0f} ms, ratio {result['warm_ratio']:.3f} "
          "(target <= 1.1)")  # fmt: skip
    print(f"  cold (process start + import + load): Tandem {c['tandem'] * 1000:7.0f} ms, "
          f"fresh python {c['llama_cpp_python'] * 1000:7.0f} ms, "
          f"ratio {result['cold_ratio']:.3f}")  # fmt: skip
    print(f"written to {shown(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
