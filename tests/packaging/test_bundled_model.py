"""The frozen app's first start: the default model it carries appears in the models folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from app.library import bundled
from app.library.catalog import load_catalog


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A fake unpacked bundle holding a file of the default model's name and size."""
    entry = load_catalog().default
    folder = tmp_path / "bundle"
    (folder / "models").mkdir(parents=True)
    with (folder / "models" / entry.file).open("wb") as fh:
        fh.truncate(entry.size_bytes)  # sparse: the size is all that is checked here
    return folder


def test_from_a_source_tree_nothing_is_bundled_and_nothing_changes(tmp_path: Path) -> None:
    assert bundled.bundle_dir() is None
    assert bundled.bundled_default_model() is None
    assert bundled.install_bundled_default(tmp_path / "models") is None
    assert not (tmp_path / "models").exists()


def test_first_start_links_the_bundled_model_into_the_models_folder(
    bundle: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    installed = bundled.install_bundled_default(models, bundle)
    entry = load_catalog().default
    assert installed == models / entry.file
    assert installed.is_symlink()
    assert installed.resolve() == (bundle / "models" / entry.file).resolve()
    assert bundled.install_bundled_default(models, bundle) == installed  # idempotent


def test_a_link_left_by_a_removed_bundle_is_replaced(bundle: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    entry = load_catalog().default
    (models / entry.file).symlink_to(tmp_path / "gone" / entry.file)
    installed = bundled.install_bundled_default(models, bundle)
    assert installed is not None
    assert installed.exists()


def test_an_appimage_gets_a_copy_because_its_mount_point_changes_each_run(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPIMAGE", "/tmp/Tandem.AppImage")
    installed = bundled.install_bundled_default(tmp_path / "models", bundle)
    assert installed is not None
    assert installed.is_file()
    assert not installed.is_symlink()
    assert installed.stat().st_size == load_catalog().default.size_bytes


def test_a_good_copy_already_in_the_models_folder_is_kept(bundle: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    entry = load_catalog().default
    own = models / entry.file
    os.link(bundle / "models" / entry.file, own)
    assert bundled.install_bundled_default(models, bundle) == own
    assert not own.is_symlink()


def test_when_frozen_the_bundle_is_where_pyinstaller_unpacked(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert bundled.bundle_dir() == bundle
    assert bundled.bundled_default_model() == bundle / "models" / load_catalog().default.file
