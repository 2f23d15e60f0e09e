"""The KV cache type in the memory estimate, and the GPU layers a load uses on auto:
every layer when the model fits on the GPU, the fit estimate's count when it does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import NotEnoughMemory
from app.core.messages import GenerationParams, KVCacheType
from app.library.gguf_file import GGUFInfo
from app.library.hardware import (
    GPUInfo,
    check_memory_for_load,
    estimate_memory,
    gpu_layers_for_load,
)
from tests.library.test_hardware import GB, laptop

# An 8B model's shape (Llama 3.1 8B Q4_K_M): 32 layers, 8 KV heads of 128.
EIGHT_B = GGUFInfo(
    path=Path("llama-8b.gguf"),
    size_bytes=int(4.9 * GB),
    architecture="llama",
    name="8B",
    quantization="Q4_K_M",
    context_length=131072,
    parameters=8_000_000_000,
    has_chat_template=True,
    layers=32,
    kv_heads=8,
    key_length=128,
    value_length=128,
)
AUTO = GenerationParams(context_length=8192)


def test_a_quantized_kv_cache_is_estimated_smaller_by_its_block_size():
    per_token = EIGHT_B.kv_bytes_per_token
    assert per_token == 131072  # 32 × 8 × (128 + 128) × 2
    f16 = estimate_memory(EIGHT_B.size_bytes, 8192, per_token, kv_cache_type="f16")
    q8 = estimate_memory(EIGHT_B.size_bytes, 8192, per_token, kv_cache_type="q8_0")
    q4 = estimate_memory(EIGHT_B.size_bytes, 8192, per_token, kv_cache_type="q4_0")
    assert f16.kv_cache_bytes == 8192 * per_token
    assert q8.kv_cache_bytes == 8192 * per_token * 34 // 64
    assert q4.kv_cache_bytes == 8192 * per_token * 18 // 64
    assert f16.weights_bytes == q8.weights_bytes == q4.weights_bytes


def test_the_memory_check_counts_the_kv_type():
    nine_free = laptop(16, 9)
    with pytest.raises(NotEnoughMemory) as caught:
        check_memory_for_load(EIGHT_B, 32768, nine_free, limit_bytes=None)
    assert "about 9.8 GB (4.3 GB of it for the context)" in caught.value.message
    q4 = check_memory_for_load(EIGHT_B, 32768, nine_free, limit_bytes=None, kv_cache_type="q4_0")
    assert "about 6.7 GB" in q4  # the same with a cache of 18/64 the size


def test_auto_takes_every_layer_when_the_model_fits_on_the_gpu():
    roomy = laptop(16, 12, GPUInfo("CUDA", "RTX 4090", 24 * GB, 22 * GB), offload=True)
    assert gpu_layers_for_load(EIGHT_B, AUTO, roomy) == -1


def test_auto_offloads_part_of_a_model_too_big_for_the_gpu():
    small = laptop(16, 12, GPUInfo("CUDA", "laptop GPU", 4 * GB, 3 * GB), offload=True)
    layers = gpu_layers_for_load(EIGHT_B, AUTO, small)
    assert 0 < layers < 32
    # Each layer takes about (4.9 GB + 1.07 GB of cache) / 32 of the 2.6 GB usable.
    assert layers == 13
    # A smaller KV cache leaves room for more layers.
    q4 = gpu_layers_for_load(EIGHT_B, AUTO.with_(kv_cache_type=KVCacheType.Q4_0), small)
    assert q4 > layers


def test_auto_leaves_the_cpu_alone_when_the_gpu_helps_nothing():
    tiny = laptop(16, 12, GPUInfo("CUDA", "old GPU", 1 * GB, int(0.45 * GB)), offload=True)
    assert gpu_layers_for_load(EIGHT_B, AUTO, tiny) == 0


def test_a_layer_count_asked_for_is_used_as_it_is_and_auto_without_a_gpu_stays_auto():
    small = laptop(16, 12, GPUInfo("CUDA", "laptop GPU", 4 * GB, 3 * GB), offload=True)
    assert gpu_layers_for_load(EIGHT_B, AUTO.with_(gpu_layers=5), small) == 5
    assert gpu_layers_for_load(EIGHT_B, AUTO.with_(gpu_layers=0), small) == 0
    assert gpu_layers_for_load(EIGHT_B, AUTO, laptop(16, 12)) == -1
    unreadable = laptop(16, 12, GPUInfo("unknown", None, None, None), offload=True)
    assert gpu_layers_for_load(EIGHT_B, AUTO, unreadable) == -1
    metal = laptop(16, 12, GPUInfo("Metal", "Apple GPU", 16 * GB, None, True), offload=True)
    assert gpu_layers_for_load(EIGHT_B, AUTO, metal) == -1
