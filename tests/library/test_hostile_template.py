"""A GGUF whose chat template tries to reach Python internals: flagged before loading,
and stopped by the engine's sandbox when it renders, with a clear error and no escape."""

from __future__ import annotations

import pytest

from app.library.chat_template import check_chat_template
from app.library.gguf_file import inspect_gguf
from app.library.import_model import import_gguf
from tests.gguf_copy import copy_with_template

ESCAPE = (
    "{{ lipsum.__globals__['os'].popen('touch MARKER').read() }}"
    "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    "{% for m in messages %}{{ m['content'] }}{% endfor %}"
)


@pytest.fixture(scope="module")
def hostile(default_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    marker = folder / "escaped"
    path = folder / "hostile.gguf"
    copy_with_template(default_model, path, ESCAPE.replace("MARKER", str(marker)))
    return path, marker


def test_the_template_is_flagged_before_anything_loads(hostile, models_dir):
    path, _marker = hostile
    info = inspect_gguf(path)
    assert info.has_chat_template
    assert "__globals__" in (info.chat_template or "")
    report = check_chat_template(info.chat_template or "")
    assert not report.ok
    assert {"__globals__", "__subclasses__", "popen"} <= set(report.concerns)
    result = import_gguf(path, models_dir)
    assert any("reach Python internals" in w for w in result.warnings)


@pytest.mark.model
def test_the_engine_refuses_to_render_it_and_nothing_escapes(hostile, tmp_path):
    from app.backends.local.supervisor import LocalEngine
    from app.core.events import CancelToken, Failed
    from app.core.messages import ChatMessage, GenerationParams, Role

    path, marker = hostile
    engine = LocalEngine(log_file=tmp_path / "engine.log", check_file=inspect_gguf)
    try:
        params = GenerationParams(context_length=512, max_tokens=8)
        engine.load(path, params)
        events = list(
            engine.generate("hostile", [ChatMessage(Role.USER, "hi")], params, CancelToken())
        )
        failed = [e for e in events if isinstance(e, Failed)]
        assert len(failed) == 1
        message = failed[0].error.message
        assert "chat template failed" in message
        assert "SecurityError" in message
        assert engine.alive  # the engine survives and still answers requests
        assert not marker.exists()
    finally:
        engine.shutdown()
