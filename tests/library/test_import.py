"""Importing GGUF files people already have: checked first, then copied or linked."""

from __future__ import annotations

import pytest

from app.core.errors import ModelFileError
from app.library.import_model import ImportMode, import_gguf
from app.library.installed import list_installed, remove_model, resolve_model
from app.library.watcher import FolderWatcher


def test_import_copies_a_good_file_and_lists_it(default_model, models_dir):
    seen = []
    result = import_gguf(default_model, models_dir, on_progress=lambda d, t: seen.append((d, t)))
    assert result.path == models_dir / default_model.name
    assert not result.path.is_symlink()
    assert result.path.stat().st_size == default_model.stat().st_size
    assert result.info.architecture == "llama"
    assert result.warnings == ()
    assert seen[-1] == (default_model.stat().st_size,) * 2
    [installed] = list_installed(models_dir)
    assert installed.id == "smollm2-135m-instruct-q4_1"
    assert installed.problem is None
    again = import_gguf(result.path, models_dir)
    assert again.already_there


def test_import_as_link_and_remove_leaves_the_original(default_model, models_dir):
    result = import_gguf(default_model, models_dir, ImportMode.LINK)
    assert result.path.is_symlink()
    [installed] = list_installed(models_dir)
    assert installed.linked_to == default_model.resolve()
    removed = remove_model(installed.id, models_dir)
    assert removed.was_link
    assert removed.freed_bytes == 0
    assert not result.path.exists()
    assert default_model.is_file()


def test_a_cut_short_file_is_refused_and_nothing_is_copied(default_model, models_dir, tmp_path):
    cut = tmp_path / "half.gguf"
    with default_model.open("rb") as src:
        cut.write_bytes(src.read(default_model.stat().st_size // 2))
    with pytest.raises(ModelFileError, match=r"incomplete.*download it again"):
        import_gguf(cut, models_dir)
    assert list(models_dir.iterdir()) == []


def test_a_different_file_of_the_same_name_is_not_overwritten(default_model, models_dir, tmp_path):
    (models_dir / default_model.name).write_bytes(b"mine")
    with pytest.raises(ModelFileError, match=r"already installed"):
        import_gguf(default_model, models_dir)
    assert (models_dir / default_model.name).read_bytes() == b"mine"


def test_a_dangling_link_is_listed_as_a_problem_and_can_be_removed(tmp_path, models_dir):
    (models_dir / "gone.gguf").symlink_to(tmp_path / "moved-away.gguf")
    [broken] = list_installed(models_dir)
    assert broken.problem
    assert "which is gone" in broken.problem
    remove_model("gone", models_dir)
    assert list_installed(models_dir) == []


def test_removing_an_unknown_model_says_so(models_dir):
    with pytest.raises(ModelFileError, match=r"No installed model is called 'nope'"):
        remove_model("nope", models_dir)


def test_remove_deletes_the_file_and_frees_its_size(default_model, models_dir):
    copy = import_gguf(default_model, models_dir).path
    removed = remove_model(copy.name, models_dir)
    assert removed.freed_bytes == default_model.stat().st_size
    assert not copy.exists()
    with pytest.raises(ModelFileError):
        resolve_model("smollm2-135m-instruct-q4_1", models_dir)


def test_the_watcher_sees_files_arrive_grow_and_leave(models_dir):
    watcher = FolderWatcher(models_dir)
    assert not watcher.poll()
    arriving = models_dir / "new.gguf"
    arriving.write_bytes(b"GGUF")
    (models_dir / "notes.txt").write_text("ignored")
    assert watcher.poll().added == (arriving,)
    with arriving.open("ab") as fh:
        fh.write(b"more")
    assert watcher.poll().changed == (arriving,)
    arriving.unlink()
    changes = watcher.poll()
    assert changes.removed == (arriving,)
    assert not changes.added
