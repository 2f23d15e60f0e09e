"""An import that fails on the way (its final check, a cancel) leaves nothing behind in
the models folder: neither the broken copy or link, nor a partial file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.errors import ModelFileError
from app.library.import_model import ImportMode, import_gguf
from app.library.installed import list_installed


def _truncate_midway(path: Path) -> object:
    def on_progress(done: int, total: int) -> None:
        if done < total:
            with path.open("r+b") as fh:
                fh.truncate(done)  # the file shrinks under the copy, as a download in flight

    return on_progress


def test_an_import_that_fails_its_final_check_leaves_nothing(
    default_model: Path, models_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "changing.gguf"
    source.write_bytes(default_model.read_bytes())
    with pytest.raises(ModelFileError, match="nothing was kept") as caught:
        import_gguf(source, models_dir, on_progress=_truncate_midway(source))  # type: ignore[arg-type]
    assert "incomplete" in caught.value.message
    assert "\n" not in caught.value.message
    assert list(models_dir.iterdir()) == []
    assert list_installed(models_dir) == []


def test_a_link_that_fails_its_final_check_is_removed(
    default_model: Path, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "replaced.gguf"
    source.write_bytes(default_model.read_bytes())
    real_link = os.symlink

    def link_then_replace(src: object, dst: object) -> None:
        real_link(src, dst)  # type: ignore[arg-type]
        source.write_bytes(b"GGUF" + b"\0" * 100)  # replaced by a broken file meanwhile

    monkeypatch.setattr(os, "symlink", link_then_replace)
    with pytest.raises(ModelFileError, match="nothing was kept"):
        import_gguf(source, models_dir, ImportMode.LINK)
    assert list(models_dir.iterdir()) == []


def test_a_cancelled_copy_leaves_no_partial_file(default_model: Path, models_dir: Path) -> None:
    class Cancelled(Exception):
        pass

    def cancel(done: int, total: int) -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        import_gguf(default_model, models_dir, on_progress=cancel)
    assert list(models_dir.iterdir()) == []
