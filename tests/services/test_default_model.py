"""The model a new conversation starts with, as the window and the CLI both choose it."""

from __future__ import annotations

from app.library.catalog import load_catalog
from app.services.models import default_model_spec
from app.store.settings import Settings


def test_the_setting_wins(tmp_path):
    (tmp_path / load_catalog().default.file).write_bytes(b"GGUF")
    settings = Settings(default_model="openai:gpt-4o-mini")
    assert default_model_spec(settings, tmp_path) == "openai:gpt-4o-mini"


def test_else_the_catalog_default_when_installed(tmp_path):
    (tmp_path / "aaa-first-by-name.gguf").write_bytes(b"GGUF")
    default = tmp_path / load_catalog().default.file
    default.write_bytes(b"GGUF")
    assert default_model_spec(Settings(), tmp_path) == f"local:{default}"


def test_else_the_first_installed_file(tmp_path):
    other = tmp_path / "my-model.gguf"
    other.write_bytes(b"GGUF")
    assert default_model_spec(Settings(), tmp_path) == f"local:{other}"


def test_nothing_installed_means_no_default(tmp_path):
    assert default_model_spec(Settings(), tmp_path) is None
