from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.library.fake_hub import FakeHub, hub_environment, isolate_hub_library


@pytest.fixture(autouse=True)
def no_real_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here may reach huggingface.co: the endpoint is a closed loopback port."""
    for key, value in hub_environment("http://127.0.0.1:9", tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    isolate_hub_library(tmp_path, monkeypatch)


@pytest.fixture
def fake_hub(default_model: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """Our loopback Hub, serving the real default model under its catalog repo."""
    from app.library.catalog import load_catalog

    entry = load_catalog().default
    with FakeHub() as hub:
        assert entry.repo is not None
        hub.host(entry.repo, entry.file, default_model, entry.sha256)
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield hub


@pytest.fixture
def models_dir(tandem_home: Path) -> Path:
    folder = tandem_home / "data" / "models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
