"""Which KV cache and flash attention combinations can load, and what "auto" asks for."""

from __future__ import annotations

from app.core.messages import (
    FlashAttention,
    KVCacheType,
    flash_attention_for_load,
    load_settings_problem,
)


def test_a_quantized_cache_without_flash_attention_is_a_problem_said_in_words():
    for kv in ("q8_0", "q4_0"):
        problem = load_settings_problem(kv, "off")
        assert problem is not None
        assert kv in problem
        assert "flash attention" in problem
        assert load_settings_problem(kv, "on") is None
        assert load_settings_problem(kv, "auto") is None
    assert load_settings_problem("f16", "off") is None


def test_unknown_values_are_named_with_the_choices():
    assert "f16, q8_0, q4_0" in (load_settings_problem("q5_1", "on") or "")
    assert "auto, on, off" in (load_settings_problem("f16", "<b>yes</b>") or "")
    assert load_settings_problem("", "") is not None


def test_auto_is_on_where_needed_llama_cpps_on_a_gpu_and_off_on_the_cpu():
    auto, f16 = FlashAttention.AUTO, KVCacheType.F16
    assert flash_attention_for_load(auto, f16, False, on_gpu=False) is FlashAttention.OFF
    assert flash_attention_for_load(auto, f16, False, on_gpu=True) is FlashAttention.AUTO
    assert flash_attention_for_load(auto, "q8_0", False, on_gpu=False) is FlashAttention.ON
    assert flash_attention_for_load(auto, f16, True, on_gpu=False) is FlashAttention.ON
    assert flash_attention_for_load("off", f16, True, on_gpu=True) is FlashAttention.OFF
    assert flash_attention_for_load("on", f16, False, on_gpu=False) is FlashAttention.ON
