"""Memory estimates, fit labels and GPU layers; the formula against the real engine's RSS."""

from __future__ import annotations

import pytest

from app.library.catalog import load_catalog
from app.library.gguf_file import inspect_gguf
from app.library.hardware import (
    FitLabel,
    GPUInfo,
    Hardware,
    _parse_nvidia_smi,
    assess_fit,
    detect_hardware,
    estimate_for_catalog,
    estimate_for_file,
    estimate_memory,
)

GB = 1_000_000_000


def laptop(total_gb, free_gb, gpu=None, offload=False):
    return Hardware(int(total_gb * GB), int(free_gb * GB), 8, 4, offload, gpu)


def _entry(model_id):
    entry = load_catalog().by_id(model_id)
    assert entry is not None
    return entry


@pytest.mark.model
def test_estimate_matches_the_default_models_measured_rss(shared_engine, default_model):
    measured = shared_engine.rss_bytes()
    ctx = shared_engine.loaded.context_length
    estimate = estimate_for_file(inspect_gguf(default_model), ctx)
    print(
        f"ctx {ctx}: estimated {estimate.total_bytes / 1e6:.0f} MB "
        f"(weights {estimate.weights_bytes / 1e6:.0f}, KV {estimate.kv_cache_bytes / 1e6:.0f}, "
        f"overhead {estimate.overhead_bytes / 1e6:.0f}), measured RSS {measured / 1e6:.0f} MB"
    )
    assert not estimate.approximate
    # Cautious but close: never much below what the engine really holds, never far above.
    assert 0.95 * measured <= estimate.total_bytes <= 1.25 * measured


def test_kv_cache_follows_the_models_attention_shape(default_model):
    info = inspect_gguf(default_model)
    assert (info.layers, info.kv_heads, info.key_length, info.value_length) == (30, 3, 64, 64)
    catalog_entry = load_catalog().default
    assert catalog_entry.kv_bytes_per_token == info.kv_bytes_per_token == 23_040
    at_4k = estimate_for_file(info, 4096)
    at_8k = estimate_for_file(info, 8192)
    assert at_8k.kv_cache_bytes - at_4k.kv_cache_bytes == 4096 * 23_040
    # The context never exceeds what the model was trained for.
    assert estimate_for_file(info, 1_000_000).context_length == 8192


def test_labels_on_three_laptops():
    llama8b = estimate_for_catalog(_entry("llama-3.1-8b-instruct-q4_k_m"), 4096)
    assert 5.5 * GB < llama8b.total_bytes < 7 * GB
    assert assess_fit(llama8b, laptop(32, 20)).label is FitLabel.FITS
    tight = assess_fit(llama8b, laptop(8, 5))
    assert tight.label is FitLabel.TIGHT
    assert "Close other programs" in tight.reason
    too_big = assess_fit(llama8b, laptop(4, 3))
    assert too_big.label is FitLabel.TOO_BIG
    assert too_big.reason.startswith("Too big: needs about 6.")
    assert all(fit.gpu_layers == 0 for fit in (tight, too_big))


def test_a_gpu_with_room_takes_every_layer_and_a_small_one_takes_some():
    estimate = estimate_for_catalog(_entry("llama-3.1-8b-instruct-q4_k_m"), 4096)
    roomy = GPUInfo("CUDA", "RTX", 24 * GB, 22 * GB)
    fit = assess_fit(estimate, laptop(8, 5, roomy, offload=True))
    assert (fit.label, fit.gpu_layers) == (FitLabel.FITS, -1)
    assert fit.ram_needed_bytes == estimate.overhead_bytes
    small = GPUInfo("CUDA", "laptop GPU", 4 * GB, 3 * GB)
    partial = assess_fit(estimate, laptop(16, 12, small, offload=True))
    assert 0 < partial.gpu_layers < 32
    assert partial.vram_needed_bytes <= 3 * GB
    assert f"{partial.gpu_layers} of 32 layers on the GPU" in partial.reason
    # A GPU llama.cpp was not built for does not count.
    assert assess_fit(estimate, laptop(16, 12, roomy, offload=False)).gpu_layers == 0


def test_unknown_gpu_memory_suggests_the_cpu_and_metal_shares_ram():
    estimate = estimate_for_catalog(_entry("qwen2.5-3b-instruct-q4_k_m"), 4096)
    vulkan = assess_fit(estimate, laptop(16, 12, GPUInfo("unknown", None, None, None), True))
    assert vulkan.gpu_layers == 0
    assert "could not be read" in vulkan.reason
    metal = GPUInfo("Metal", "Apple GPU", 16 * GB, None, unified_memory=True)
    apple = assess_fit(estimate, laptop(16, 12, metal, True))
    assert apple.gpu_layers == -1
    assert apple.ram_needed_bytes == estimate.total_bytes


def test_unknown_attention_shape_gives_a_cautious_estimate():
    guessed = estimate_memory(4 * GB, 4096, None, parameters=7 * GB)
    assert guessed.approximate
    assert (
        guessed.kv_cache_bytes
        > estimate_for_catalog(_entry("mistral-7b-instruct-v0.3-q4_k_m"), 4096).kv_cache_bytes
    )


def test_nvidia_smi_output_is_read_and_summed():
    gpu = _parse_nvidia_smi(
        "NVIDIA H100 80GB HBM3, 81559, 80000\nNVIDIA H100 80GB HBM3, 81559, 1000\n"
    )
    assert gpu is not None
    assert gpu.backend == "CUDA"
    assert gpu.name == "2 × NVIDIA H100 80GB HBM3"
    assert gpu.free_bytes == 81000 * 1024 * 1024
    assert _parse_nvidia_smi("") is None
    assert _parse_nvidia_smi("No devices were found") is None


def test_this_computer_is_detected():
    hardware = detect_hardware(gpu_offload_supported=False)
    assert hardware.ram_total_bytes >= hardware.ram_available_bytes > 0
    assert hardware.cpu_threads >= hardware.cpu_cores >= 1
    assert hardware.gpu_offload_supported is False
    assert detect_hardware(None).gpu_offload_supported is None
    assert set(hardware.to_json()) >= {"ram_total_bytes", "cpu_threads", "gpu"}


def test_every_catalog_model_gets_an_estimate_and_a_label():
    hardware = laptop(16, 10)
    labels = {}
    for entry in load_catalog().models:
        estimate = estimate_for_catalog(entry)
        assert not estimate.approximate, entry.id
        assert estimate.total_bytes > entry.size_bytes
        labels[entry.id] = assess_fit(estimate, hardware).label
    assert labels["smollm2-135m-instruct-q4_1"] is FitLabel.FITS
    assert set(labels.values()) <= set(FitLabel)
