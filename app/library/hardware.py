"""What this computer has, what a model needs, and whether the two fit.

The memory a model needs while it answers, in bytes:

    need     = weights + kv_cache + overhead
    weights  = the GGUF file's size (llama.cpp maps all of it)
    kv_cache = context_length × layers × kv_heads × (key_width + value_width) × 2   (f16 cache)
               × 34/64 for a q8_0 cache, × 18/64 for q4_0 (bytes per block of 32 values)
    overhead = 80 MB (interpreter, llama.cpp and the compute buffers of a small model)
               + 10 % of the weights (compute buffers grow with the model's width)

Measured with the default model (SmolLM2 135M Q4_1, 98 MB) in the engine process, the
overhead was a flat ~74 MB at contexts 512 to 8192 while the KV cache grew exactly as the
formula says; the test in tests/library/test_hardware.py checks it against the real RSS.

Labels: *fits* when the RAM the model needs is at most 85 % of the RAM available now;
*tight* when it is more, but at most 90 % of all RAM (close other programs first, or it
swaps); *too big* otherwise. With a GPU that llama.cpp can offload to and whose free memory
can be read, as many layers as fit go there and only the rest counts against RAM; when
GPU layers are left on auto, that count is what the engine loads with
(`gpu_layers_for_load`), so a model too big for the GPU is offloaded in part.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from app.core import units
from app.core.errors import NotEnoughMemory
from app.core.messages import AUTO_GPU_LAYERS, GenerationParams
from app.library.catalog import CatalogModel
from app.library.gguf_file import GGUFInfo

logger = logging.getLogger(__name__)

MB = 1_000_000
OVERHEAD_BASE_BYTES = 80 * MB
OVERHEAD_WEIGHT_FRACTION = 0.10
FITS_SHARE_OF_AVAILABLE = 0.85
TIGHT_SHARE_OF_TOTAL = 0.90
VRAM_RESERVE_BYTES = 400 * MB  # the GPU backend's own context and scratch buffers
# When a model's attention shape is unknown: a cautious KV cache per token per parameter
# (the multi-head models of the catalog sit near this; grouped-query ones far below it).
_FALLBACK_KV_PER_PARAMETER = 1e-4
DEFAULT_CONTEXT = GenerationParams().context_length
# A KV cache type's bytes per value against f16's two (ggml's block sizes: 32 values in
# 34 bytes for q8_0, in 18 bytes for q4_0).
KV_CACHE_FACTOR = {"f16": 1.0, "q8_0": 34 / 64, "q4_0": 18 / 64}


class FitLabel(StrEnum):
    FITS = "fits"
    TIGHT = "tight"
    TOO_BIG = "too big"


@dataclass(frozen=True, slots=True)
class GPUInfo:
    backend: str  # "CUDA", "Metal", or "unknown"
    name: str | None
    total_bytes: int | None
    free_bytes: int | None  # None where it cannot be read (Metal shares RAM; Vulkan)
    unified_memory: bool = False


@dataclass(frozen=True, slots=True)
class Hardware:
    ram_total_bytes: int
    ram_available_bytes: int
    cpu_threads: int
    cpu_cores: int
    gpu_offload_supported: bool | None  # what llama.cpp was built with; None: not known yet
    gpu: GPUInfo | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line for a person: RAM, CPU threads, and where llama.cpp can run."""
        gpu = self.gpu
        if self.gpu_offload_supported is False:
            gpu_text = "llama.cpp runs on the CPU only"
        elif gpu is None:
            gpu_text = "no GPU found"
        else:
            free = f", {units.size(gpu.free_bytes)} free" if gpu.free_bytes is not None else ""
            gpu_text = f"{gpu.backend} GPU {gpu.name or ''}{free}".replace("  ", " ")
        return (
            f"{units.size(self.ram_total_bytes)} RAM "
            f"({units.size(self.ram_available_bytes)} free) · "
            f"{self.cpu_threads} CPU threads · {gpu_text}"
        )


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    context_length: int
    layers: int | None
    approximate: bool  # the attention shape was unknown, so the KV cache is a guess

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "total_bytes": self.total_bytes}


@dataclass(frozen=True, slots=True)
class Fit:
    label: FitLabel
    gpu_layers: int  # suggestion for llama.cpp: 0 = CPU only, -1 = every layer, else a count
    ram_needed_bytes: int
    vram_needed_bytes: int
    estimate: MemoryEstimate
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "label": str(self.label),
            "gpu_layers": self.gpu_layers,
            "ram_needed_bytes": self.ram_needed_bytes,
            "vram_needed_bytes": self.vram_needed_bytes,
            "estimate": self.estimate.to_json(),
            "reason": self.reason,
        }


# ----- the estimate


def estimate_memory(
    weights_bytes: int,
    context_length: int,
    kv_bytes_per_token: int | None,
    parameters: int | None = None,
    layers: int | None = None,
    kv_cache_type: str = "f16",
) -> MemoryEstimate:
    """The formula in this module's docstring."""
    approximate = kv_bytes_per_token is None
    if kv_bytes_per_token is None:
        kv_bytes_per_token = int((parameters or weights_bytes * 2) * _FALLBACK_KV_PER_PARAMETER)
    factor = KV_CACHE_FACTOR.get(str(kv_cache_type), 1.0)
    return MemoryEstimate(
        weights_bytes=weights_bytes,
        kv_cache_bytes=int(context_length * kv_bytes_per_token * factor),
        overhead_bytes=OVERHEAD_BASE_BYTES + int(weights_bytes * OVERHEAD_WEIGHT_FRACTION),
        context_length=context_length,
        layers=layers,
        approximate=approximate,
    )


def _context(chosen: int | None, trained: int | None) -> int:
    ctx = chosen or DEFAULT_CONTEXT
    return min(ctx, trained) if trained else ctx


def estimate_for_catalog(
    entry: CatalogModel, context_length: int | None = None, kv_cache_type: str = "f16"
) -> MemoryEstimate:
    return estimate_memory(
        entry.size_bytes,
        _context(context_length, entry.context_length),
        entry.kv_bytes_per_token,
        entry.parameters,
        entry.layers,
        kv_cache_type,
    )


def estimate_for_file(
    info: GGUFInfo, context_length: int | None = None, kv_cache_type: str = "f16"
) -> MemoryEstimate:
    return estimate_memory(
        info.size_bytes,
        _context(context_length, info.context_length),
        info.kv_bytes_per_token,
        info.parameters,
        info.layers,
        kv_cache_type,
    )


# ----- this computer


def _parse_nvidia_smi(text: str) -> GPUInfo | None:
    """`nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits`.

    llama.cpp spreads layers over every GPU, so memory is summed.
    """
    names, total, free = [], 0, 0
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3:
            continue
        try:
            total += int(float(parts[1]) * 1024 * 1024)
            free += int(float(parts[2]) * 1024 * 1024)
        except ValueError:
            continue
        names.append(parts[0])
    if not names:
        return None
    name = names[0] if len(names) == 1 else f"{len(names)} × {names[0]}"
    return GPUInfo("CUDA", name, total, free)


def _detect_gpu(ram_total: int) -> GPUInfo | None:
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return GPUInfo("Metal", "Apple GPU", ram_total, None, unified_memory=True)
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            result = subprocess.run(
                [smi, "--query-gpu=name,memory.total,memory.free",
                 "--format=csv,noheader,nounits"],
                capture_output=True, text=True, timeout=5, check=False,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            logger.info("nvidia-smi failed: %s", exc)
            return None
        if result.returncode == 0:
            return _parse_nvidia_smi(result.stdout)
    return None


def detect_hardware(gpu_offload_supported: bool | None = None) -> Hardware:
    """RAM, CPU threads and the GPU, if any.

    `gpu_offload_supported` is whether llama.cpp was built with CUDA, Metal or Vulkan; the
    engine process knows it (`llama_supports_gpu_offload`), so the caller passes it in.
    """
    import psutil

    memory = psutil.virtual_memory()
    threads = os.cpu_count() or 1
    cores = psutil.cpu_count(logical=False) or threads
    gpu = _detect_gpu(int(memory.total))
    if gpu is None and gpu_offload_supported:
        gpu = GPUInfo("unknown", None, None, None)
    return Hardware(
        ram_total_bytes=int(memory.total),
        ram_available_bytes=int(memory.available),
        cpu_threads=threads,
        cpu_cores=cores,
        gpu_offload_supported=gpu_offload_supported,
        gpu=gpu,
    )


# ----- the verdict


def _gpu_split(estimate: MemoryEstimate, gpu: GPUInfo) -> tuple[int, int, int, str]:
    """(gpu_layers, bytes left in RAM, bytes on the GPU, how) for a GPU llama.cpp can use."""
    total = estimate.total_bytes
    if gpu.unified_memory:
        return -1, total, 0, f"every layer on the {gpu.backend} GPU, which shares RAM"
    offloadable = estimate.weights_bytes + estimate.kv_cache_bytes
    layers = estimate.layers
    if gpu.free_bytes is None or not layers:
        return 0, total, 0, "GPU memory could not be read, so this assumes the CPU only"
    usable = max(0, gpu.free_bytes - VRAM_RESERVE_BYTES)
    if usable >= offloadable:
        return (
            -1,
            total - offloadable,
            offloadable,
            f"every layer on the GPU ({units.size(usable)} free)",
        )
    per_layer = offloadable / layers
    count = int(usable // per_layer)
    on_gpu = int(count * per_layer)
    if count == 0:
        return 0, total, 0, f"too little GPU memory free ({units.size(gpu.free_bytes)}) to help"
    return count, total - on_gpu, on_gpu, f"{count} of {layers} layers on the GPU"


def assess_fit(estimate: MemoryEstimate, hardware: Hardware) -> Fit:
    """Label a model *fits*, *tight* or *too big* on `hardware`, with GPU layers to use."""
    gpu_layers, ram_needed, vram_needed, how = 0, estimate.total_bytes, 0, "on the CPU"
    if hardware.gpu_offload_supported and hardware.gpu is not None:
        gpu_layers, ram_needed, vram_needed, how = _gpu_split(estimate, hardware.gpu)
    available, total = hardware.ram_available_bytes, hardware.ram_total_bytes
    need = f"needs about {units.size(ram_needed)} of RAM"
    if ram_needed <= available * FITS_SHARE_OF_AVAILABLE:
        label, reason = FitLabel.FITS, f"Fits: {need}, {units.size(available)} is free ({how})."
    elif ram_needed <= total * TIGHT_SHARE_OF_TOTAL:
        label = FitLabel.TIGHT
        reason = (
            f"Tight: {need} and {units.size(available)} is free ({how}). Close other programs "
            "first, or choose a smaller context or model."
        )
    else:
        label = FitLabel.TOO_BIG
        reason = (
            f"Too big: {need} but this computer has {units.size(total)} in all ({how}). "
            "Choose a smaller model or quantization."
        )
    return Fit(label, gpu_layers, ram_needed, vram_needed, estimate, reason)


# ----- before a load


def gpu_layers_for_load(
    info: GGUFInfo, params: GenerationParams, hardware: Hardware | None = None
) -> int:
    """The GPU layers to load `info`'s model with: what `params` ask for, unless they
    leave it on auto (-1); then every layer where the whole model fits on the GPU (or
    where its free memory cannot be read, as llama.cpp itself would), else the fit
    estimate's count of the layers that fit, 0 when none does."""
    if params.gpu_layers != AUTO_GPU_LAYERS:
        return params.gpu_layers
    hardware = hardware or detect_hardware(gpu_offload_supported=True)
    gpu = hardware.gpu
    if gpu is None or gpu.unified_memory or gpu.free_bytes is None:
        return AUTO_GPU_LAYERS
    estimate = estimate_for_file(info, params.context_length, str(params.kv_cache_type))
    if not estimate.layers:
        return AUTO_GPU_LAYERS
    layers, _ram, _vram, _how = _gpu_split(estimate, gpu)
    return layers


def _free_for_model(hardware: Hardware) -> int:
    """All the memory a model could use now: free RAM, and free GPU memory where layers
    can go there (so a load that could fit is never refused)."""
    free = hardware.ram_available_bytes
    gpu = hardware.gpu
    if gpu is not None and gpu.free_bytes and not gpu.unified_memory:
        free += max(0, gpu.free_bytes - VRAM_RESERVE_BYTES)
    return free


def memory_limit_bytes() -> int | None:
    """The address-space limit on this process and the engine it starts (`ulimit -v`, a
    container's or a service's limit), or None when there is none."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY or soft <= 0 else int(soft)


def _largest_context(info: GGUFInfo, free_bytes: int, kv_cache_type: str = "f16") -> int:
    """The longest context (a multiple of 256 tokens) whose estimate fits in `free_bytes`."""
    one = estimate_memory(
        info.size_bytes, 256, info.kv_bytes_per_token, info.parameters, None, kv_cache_type
    )
    room = free_bytes - one.weights_bytes - one.overhead_bytes
    per_256 = max(1, one.kv_cache_bytes)
    return max(0, int(room // per_256) * 256)


def check_memory_for_load(
    info: GGUFInfo,
    context_length: int,
    hardware: Hardware | None = None,
    limit_bytes: int | None = None,
    kv_cache_type: str = "f16",
) -> str:
    """Refuse (NotEnoughMemory) to load `info`'s model with `context_length` tokens when
    the estimate is beyond all the memory free now; else say what the estimate is, for
    the message should the load run out of memory all the same.

    llama.cpp allocates the whole context it is asked for (past the model's trained
    context too), so the estimate here is for exactly `context_length`. A memory limit on
    the process (`memory_limit_bytes`, or `limit_bytes`) counts as all that is free.
    """
    hardware = hardware or detect_hardware()
    estimate = estimate_memory(
        info.size_bytes,
        context_length,
        info.kv_bytes_per_token,
        info.parameters,
        info.layers,
        kv_cache_type,
    )
    free = _free_for_model(hardware)
    limit = memory_limit_bytes() if limit_bytes is None else limit_bytes
    free_text = f"{units.size(free)} is free"
    if limit is not None and limit < free:
        free = limit  # the engine cannot use more, whatever is free
        free_text = f"a memory limit allows {units.size(free)}"
    # What to suggest is what the model manager calls "fits", leaving the rest room.
    largest = _largest_context(info, int(free * FITS_SHARE_OF_AVAILABLE), kv_cache_type)
    fits = (
        f"up to about {largest:,} tokens fit"
        if largest >= 256
        else "no context fits in the memory free now"
    )
    if largest >= 256 and info.context_length and largest > info.context_length:
        fits += f"; the model was trained on {info.context_length:,}"
    expected = (
        f"Tandem's estimate for a context of {context_length:,} tokens was about "
        f"{units.size(estimate.total_bytes)}, and {free_text}; {fits}."
    )
    if estimate.total_bytes > free and not estimate.approximate:
        raise NotEnoughMemory(
            f"Not enough memory to load {info.path.name} with a context of "
            f"{context_length:,} tokens: it needs about {units.size(estimate.total_bytes)} "
            f"({units.size(estimate.kv_cache_bytes)} of it for the context), and "
            f"{free_text}. Choose a smaller context ({fits}), or close other programs."
        )
    return f"{expected} Choose a smaller context, or close other programs."
