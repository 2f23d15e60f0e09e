"""What every benchmark shares: the model it runs, the machine it ran on, and ratios.

Timings on a shared machine are noisy, so each figure is a ratio against a reference
measured in the same run; a ratio of paired rounds (A then B, B then A, alternating)
lets a burst of noise hurt both sides of a pair alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def default_model() -> Path:
    from app.library.catalog import load_catalog
    from app.store.paths import app_paths

    return app_paths().models_dir / load_catalog().default.file


def default_threads() -> int:
    from app.backends.local.engine import default_threads as engine_default

    return engine_default()


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """--model, --threads, --gpu-layers: the same for every benchmark."""
    parser.add_argument("--model", type=Path, help="a .gguf file (default: the catalog default)")
    parser.add_argument("--threads", type=int, default=0, help="0: the engine's default")
    parser.add_argument("--gpu-layers", type=int, default=0, help="-1: all layers on the GPU")
    parser.add_argument(
        "--flash-attention",
        choices=["auto", "on", "off"],
        default="auto",
        help="for Tandem and every reference alike; auto is resolved as the engine does "
        "(off on the CPU, llama.cpp's choice on a GPU) and the result passed to all sides",
    )


def resolve_model_args(args: argparse.Namespace) -> None:
    args.model = Path(args.model) if args.model else default_model()
    if not args.model.is_file():
        raise SystemExit(f"no model at {args.model}; run `tandem-cli models fetch-default`")
    args.threads = args.threads or default_threads()
    if hasattr(args, "flash_attention"):
        from app.core.messages import flash_attention_for_load

        on_gpu = args.gpu_layers != 0
        args.flash_attention = str(
            flash_attention_for_load(args.flash_attention, "f16", False, on_gpu)
        )


def ratio_of_pairs(ours: Sequence[float], reference: Sequence[float]) -> float:
    """Median of per-round ratios (noise in one round hurts both sides of it)."""
    return statistics.median(a / b for a, b in zip(ours, reference, strict=True) if b > 0)


def write_json(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        done = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return platform.processor() or platform.machine()


def _gpus() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    done = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def hardware() -> dict[str, Any]:
    """The machine the figures came from, for the JSON."""
    import psutil

    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cpus": psutil.cpu_count(logical=True),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gpus": _gpus(),
    }
    try:
        from importlib.metadata import version

        import llama_cpp.llama_cpp as lc

        info["llama_cpp_python"] = version("llama_cpp_python")
        info["gpu_offload_supported"] = bool(lc.llama_supports_gpu_offload())
        info["llama_system_info"] = lc.llama_print_system_info().decode(errors="replace")
    except Exception as exc:  # noqa: BLE001 - best effort
        info["llama_cpp_python"] = f"unavailable: {exc}"
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info
