"""A FIFO, a folder or a device named `*.gguf`: refused at once with what it is, never
waited on, and never copied into the models folder; the real model beside it still lists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.errors import ModelFileError
from app.library.gguf_file import inspect_gguf
from app.library.import_model import ImportMode, import_gguf
from app.library.installed import list_installed, resolve_model

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def specials(models_dir: Path) -> dict[str, Path]:
    models_dir.mkdir(parents=True, exist_ok=True)
    fifo = models_dir / "pipe.gguf"
    os.mkfifo(fifo)
    folder = models_dir / "folder.gguf"
    folder.mkdir()
    link = models_dir / "device.gguf"
    link.symlink_to("/dev/zero")
    return {"a pipe": fifo, "a folder": folder, "a device": link}


def test_inspect_refuses_each_at_once(specials: dict[str, Path]) -> None:
    for kind, path in specials.items():
        with pytest.raises(ModelFileError, match=kind.split()[1]):
            inspect_gguf(path)


def test_the_list_shows_each_with_its_problem_beside_the_real_model(
    specials: dict[str, Path], models_dir: Path, default_model: Path
) -> None:
    (models_dir / default_model.name).symlink_to(default_model)
    listed = {m.path.name: m for m in list_installed(models_dir)}
    assert listed[default_model.name].problem is None
    assert "pipe (FIFO)" in (listed["pipe.gguf"].problem or "")
    assert "is a folder" in (listed["folder.gguf"].problem or "")
    assert "a device" in (listed["device.gguf"].problem or "")
    assert resolve_model("pipe", models_dir) == specials["a pipe"]


@pytest.mark.parametrize("mode", list(ImportMode))
def test_import_refuses_each_and_copies_nothing(
    specials: dict[str, Path], tmp_path: Path, mode: ImportMode
) -> None:
    target = tmp_path / "other-models"
    for path in specials.values():
        with pytest.raises(ModelFileError):
            import_gguf(path, target, mode)
    assert not target.exists() or list(target.iterdir()) == []
