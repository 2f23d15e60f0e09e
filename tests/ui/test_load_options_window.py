"""The load options in the parameters panel: the KV cache type, flash attention and
prompt lookup reach the engine, and a combination that cannot load is said at once."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.core.messages import FlashAttention, GenerationParams, KVCacheType
from app.ui.widgets.params_panel import ParamsPanel
from tests.ui.conftest import wait_until_done


def test_the_panel_keeps_the_load_options_and_says_when_a_cache_cannot_load(qtbot):
    base = GenerationParams(flash_attention=FlashAttention.ON, speculative=True)
    panel = ParamsPanel(base)
    qtbot.addWidget(panel)
    panel.temperature.setValue(0.3)  # another field: the load options stay as they were
    params = panel.params()
    assert (params.flash_attention, params.speculative) == (FlashAttention.ON, True)
    panel.kv_cache.setCurrentIndex(panel.kv_cache.findData(KVCacheType.Q8_0))
    assert panel.params().kv_cache_type is KVCacheType.Q8_0
    assert panel.load_problem.isHidden()

    panel.flash_attention.setCurrentIndex(panel.flash_attention.findData(FlashAttention.OFF))
    assert not panel.load_problem.isHidden()
    assert "flash attention" in panel.load_problem.text()

    panel.set_params(GenerationParams(speculative=False))
    assert panel.params().kv_cache_type is KVCacheType.F16
    assert panel.params().speculative is False
    assert panel.prompt_lookup.currentText() == "off"


def test_a_q8_0_cache_chosen_in_the_window_is_what_the_engine_loads(qtbot, window):
    panel = window.params_panel
    panel.max_tokens.setValue(8)
    panel.kv_cache.setCurrentIndex(panel.kv_cache.findData(KVCacheType.Q8_0))
    window.composer.set_text("Say hi")
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, window)
    answer = window.service.conversation.messages[-1]
    assert answer.content
    assert answer.run_info is not None
    assert answer.run_info["kv_cache_type"] == "q8_0"
    assert answer.run_info["flash_attention"] == "on"  # a quantized cache needs it
