from __future__ import annotations

import logging

import jinja2.exceptions
import pytest

from app.backends.local.prompt import PromptBuilder

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
]


def test_model_without_template_falls_back_to_chatml_and_logs_it(caplog):
    with caplog.at_level(logging.WARNING):
        builder = PromptBuilder(None, "<s>", "</s>")
    prompt = builder.build(MESSAGES)
    assert prompt.template == "chatml"
    assert prompt.text.endswith("<|im_start|>assistant\n")
    assert "<|im_start|>system\nBe brief.<|im_end|>" in prompt.text
    assert "no chat template" in caplog.text


def test_gguf_template_is_rendered(default_model):
    import gguf

    reader = gguf.GGUFReader(default_model)
    template = reader.fields["tokenizer.chat_template"].contents()
    prompt = PromptBuilder(template, "<|im_start|>", "<|im_end|>").build(MESSAGES)
    assert prompt.template == "gguf"
    assert "Be brief." in prompt.text
    assert "Hi" in prompt.text


def test_template_reaching_for_python_internals_is_stopped():
    hostile = "{{ ''.__class__.__mro__[1].__subclasses__() }}{{ messages[0]['content'] }}"
    builder = PromptBuilder(hostile, "<s>", "</s>")
    with pytest.raises(jinja2.exceptions.SecurityError):
        builder.build(MESSAGES)
