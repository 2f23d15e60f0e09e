"""llama.cpp's own `llama-bench` and `llama-server`, built from the sources
llama-cpp-python vendors.

The installed llama-cpp-python is built from an sdist whose sources are gone after
install, so `--build` fetches the same sdist (pip download), and builds only the
`llama-bench` and `llama-server` targets with the flags the Makefile gives
llama-cpp-python (no AMX on x86_64: some VMs advertise it and SIGILL). The binaries
land in build/llama-bench/, which git ignores. Without them the suite skips these
references with a note.

    python bench/llama_bench.py --build
    python bench/llama_bench.py [--model PATH] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "build" / "llama-bench"
NOAMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"


def llama_cpp_python_version() -> str:
    from importlib.metadata import version

    return version("llama_cpp_python")


TARGETS = ("llama-bench", "llama-server")


def binary(name: str = "llama-bench") -> Path | None:
    """A built llama.cpp tool for the installed llama-cpp-python version, if any."""
    path = CACHE / f"build-{llama_cpp_python_version()}" / "bin" / name
    return path if path.is_file() and os.access(path, os.X_OK) else None


def build(gpu_cmake_args: str = "") -> Path:
    """Fetch the sdist of the installed version and build llama-bench and llama-server
    (minutes on 2 cores; the second shares the first's libraries)."""
    built = binary()
    if built is not None and binary("llama-server") is not None:
        return built
    version = llama_cpp_python_version()
    CACHE.mkdir(parents=True, exist_ok=True)
    sdist = CACHE / f"llama_cpp_python-{version}.tar.gz"
    if not sdist.is_file():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
             f"llama-cpp-python=={version}", "-d", str(CACHE)],
            check=True,
        )  # fmt: skip
    source = CACHE / f"llama_cpp_python-{version}"
    if not (source / "vendor" / "llama.cpp" / "CMakeLists.txt").is_file():
        with tarfile.open(sdist) as tar:
            tar.extractall(CACHE, filter="data")
    flags = NOAMX if platform.machine() in ("x86_64", "AMD64") else ""
    out = CACHE / f"build-{version}"
    configure = [
        "cmake", "-S", str(source / "vendor" / "llama.cpp"), "-B", str(out),
        "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON",
        f"-DCMAKE_C_FLAGS={flags}", f"-DCMAKE_CXX_FLAGS={flags}",
        *gpu_cmake_args.split(),
    ]  # fmt: skip
    subprocess.run(configure, check=True)
    jobs = str(os.cpu_count() or 2)
    subprocess.run(["cmake", "--build", str(out), "--target", *TARGETS, "-j", jobs], check=True)
    missing = [name for name in TARGETS if binary(name) is None]
    if missing:
        raise SystemExit(f"{', '.join(missing)} not produced under {out}")
    path = binary()
    assert path is not None
    return path


def run(
    model: Path,
    threads: int,
    n_prompt: int,
    n_gen: int,
    gpu_layers: int = 0,
    reps: int = 3,
    flash_attention: str = "auto",
) -> dict[str, float] | None:
    """Prompt processing and decode tokens/s from llama-bench, or None when not built."""
    path = binary()
    if path is None:
        return None
    command = [
        str(path), "-m", str(model), "-t", str(threads), "-p", str(n_prompt),
        "-n", str(n_gen), "-ngl", str(gpu_layers), "-r", str(reps), "-o", "json",
        # Flash attention as the engine runs (auto comes only on a GPU: on there).
        "-fa", "0" if flash_attention == "off" else "1",
        # llama-cpp-python's default batch sizes (llama-bench's own: 2048 / 512).
        "-b", "512", "-ub", "512",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        print(f"llama-bench failed ({done.returncode}): {done.stderr.strip()[-300:]}")
        return None
    rows = json.loads(done.stdout)
    result: dict[str, float] = {}
    for row in rows:
        if row.get("n_prompt", 0) > 0 and row.get("n_gen", 0) == 0:
            result["prompt_tok_s"] = float(row["avg_ts"])
        elif row.get("n_gen", 0) > 0 and row.get("n_prompt", 0) == 0:
            result["decode_tok_s"] = float(row["avg_ts"])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", action="store_true", help="build llama-bench and exit")
    parser.add_argument("--cmake-args", default="", help="extra cmake flags, e.g. -DGGML_CUDA=on")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--prompt", type=int, default=512)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--gpu-layers", type=int, default=0)
    args = parser.parse_args()
    if args.build:
        if shutil.which("cmake") is None:
            raise SystemExit("cmake is needed to build llama-bench")
        print(build(args.cmake_args))
        return 0
    sys.path.insert(0, str(REPO))
    from app.library.catalog import load_catalog
    from app.store.paths import app_paths

    model = args.model or app_paths().models_dir / load_catalog().default.file
    result = run(model, args.threads, args.prompt, args.tokens, args.gpu_layers)
    if result is None:
        print("llama-bench is not built; run `python bench/llama_bench.py --build`")
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
