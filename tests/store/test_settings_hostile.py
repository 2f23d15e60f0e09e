"""A settings file written to break Tandem: nested past what the JSON reader goes, or
with a section of the wrong type. It is set aside (or the section reset) with a notice;
no command fails because of it."""

from __future__ import annotations

import pytest

from app.store.paths import app_paths
from app.store.settings import Settings, load_settings

DEEP = {
    "lists": b"[" * 100_000,
    "objects": b'{"a": ' * 100_000,
    "lists closed": b"[" * 100_000 + b"]" * 100_000,
    "inside a section": b'{"generation": ' + b"[" * 100_000,
}


@pytest.mark.parametrize("content", DEEP.values(), ids=DEEP.keys())
def test_a_deeply_nested_file_is_moved_aside_with_a_notice(content: bytes) -> None:
    path = app_paths().settings_file
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    settings, notice = load_settings()
    assert settings == Settings()
    (moved,) = path.parent.glob("settings.json.broken-*")
    assert moved.read_bytes() == content  # kept, for the person to look at
    assert notice is not None
    assert str(moved) in notice
    assert "\n" not in notice
    assert load_settings() == (Settings(), None)


@pytest.mark.parametrize("section", ["5", '"fast"', "[1, 2]", "true"])
def test_a_section_of_the_wrong_type_is_reset_and_named(section: str) -> None:
    path = app_paths().settings_file
    path.parent.mkdir(parents=True)
    path.write_text(f'{{"generation": {section}, "theme": "dark"}}', encoding="utf-8")
    settings, notice = load_settings()
    assert settings.generation == Settings().generation
    assert str(settings.theme) == "dark"  # the rest of the file still counts
    assert notice is not None
    assert "generation" in notice
