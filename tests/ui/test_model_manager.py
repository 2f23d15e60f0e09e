"""The model manager as a person uses it: catalog filters and fit labels, a real download
from our loopback Hub with pause and resume, import, delete, show in folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.library.catalog import load_catalog
from app.library.downloads import DownloadState
from app.library.hardware import FitLabel, Hardware
from app.store.paths import app_paths
from tests.library.fake_hub import FakeHub, hub_environment, isolate_hub_library

GB = 1_000_000_000


@pytest.fixture(autouse=True)
def no_real_hub(tmp_path, monkeypatch):
    """Nothing here may reach huggingface.co: the endpoint is a closed loopback port."""
    for key, value in hub_environment("http://127.0.0.1:9", tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    isolate_hub_library(tmp_path, monkeypatch)


@pytest.fixture
def hub(default_model, monkeypatch):
    entry = load_catalog().default
    with FakeHub() as server:
        server.host(entry.repo, entry.file, default_model, entry.sha256)
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


@pytest.fixture
def manager(qtbot):
    from app.ui.model_manager.dialog import ModelManager

    announced: list[Path] = []
    dialog = ModelManager(app_paths().ensure(), on_installed=announced.append)
    dialog.announced = announced
    qtbot.addWidget(dialog)
    dialog.show()
    yield dialog
    dialog.shutdown()


def _column(manager, name):
    from app.ui.model_manager.dialog import CATALOG_COLUMNS

    column = CATALOG_COLUMNS.index(name)
    return [manager.table.item(r, column).text() for r in range(manager.table.rowCount())]


def test_catalog_lists_every_model_with_a_fit_label_and_filters(manager):
    assert manager.table.rowCount() == len(load_catalog().models) >= 12
    assert set(_column(manager, "Fit")) <= {"fits", "tight", "too big"}
    assert "This computer:" in manager.hardware_label.text()
    manager.search.setText("qwen")
    assert manager.table.rowCount() == 6
    manager.search.clear()
    manager.family.setCurrentIndex(manager.family.findData("Llama 3.2"))
    assert _column(manager, "Family") == ["Llama 3.2", "Llama 3.2"]
    manager.family.setCurrentIndex(0)
    manager.size_limit.setCurrentIndex(1)  # under 1 GB
    assert manager.table.rowCount() == 4
    manager.size_limit.setCurrentIndex(0)

    manager.set_hardware(Hardware(8 * GB, 4 * GB, 8, 4, False, None))
    manager.fits_only.setChecked(True)
    shown = _column(manager, "Fit")
    assert shown
    assert set(shown) == {"fits"}
    assert manager.table.rowCount() < len(load_catalog().models)


def test_fit_is_shown_before_a_download_and_too_big_asks_first(manager, dialogs, qtbot):
    manager.set_hardware(Hardware(2 * GB, 1 * GB, 4, 2, False, None))
    assert manager.select_catalog_model("llama-3.1-8b-instruct-q4_k_m")
    assert "Too big" in manager.detail.text()
    dialogs["shown"].clear()
    manager.download_button.click()
    assert dialogs["shown"]
    assert dialogs["shown"][0][0] == "Model too big"
    # The answer was Yes: it is queued, and fails against the closed loopback port.
    qtbot.waitUntil(lambda: "Could not reach Hugging Face" in manager.status.text(), timeout=10_000)


def test_private_mode_refuses_downloads(qtbot):
    from app.ui.model_manager.dialog import ModelManager

    dialog = ModelManager(app_paths().ensure(), is_private=lambda: True)
    qtbot.addWidget(dialog)
    assert dialog.select_catalog_model(load_catalog().default_id)
    dialog.download_button.click()
    assert "Private mode is on" in dialog.status.text()
    assert dialog.download_row(load_catalog().default_id) is None


def test_download_pause_resume_and_install(manager, hub, qtbot):
    entry = load_catalog().default
    hub.faults.rate = 40_000_000  # a few seconds of transfer, enough to pause in
    assert manager.select_catalog_model(entry.id)
    assert manager.fit_of(entry.id).label is FitLabel.FITS
    manager.download_button.click()
    qtbot.waitUntil(lambda: manager.download_row(entry.id) is not None, timeout=5000)
    row = manager.download_row(entry.id)
    # bytes done of total · speed · time left, while it runs
    qtbot.waitUntil(lambda: "MB/s" in row.detail.text(), timeout=10_000)
    assert row.state is DownloadState.DOWNLOADING
    assert row.bar.value() > 0
    assert " of 98 MB" in row.detail.text()
    assert "left" in row.detail.text()
    row.pause_button.click()
    qtbot.waitUntil(lambda: row.state is DownloadState.PAUSED, timeout=5000)
    assert row.pause_button.text() == "Resume"
    hub.faults.rate = None
    with qtbot.waitSignal(manager.installed, timeout=30_000) as blocker:
        row.pause_button.click()
    target = manager.models_dir / entry.file
    assert blocker.args == [target]
    assert manager.announced == [target]
    assert hub.ranges()[-1].startswith("bytes=")
    assert row.state is DownloadState.DONE
    assert manager.select_installed(entry.id)
    assert manager.download_button.text() == "Installed"


def test_import_show_in_folder_and_delete(manager, default_model, qtbot, dialogs, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(default_model), ""))
    manager.link_instead.setChecked(True)
    with qtbot.waitSignal(manager.installed, timeout=20_000):
        manager.import_button.click()
    link = manager.models_dir / default_model.name
    assert link.is_symlink()
    assert manager.select_installed("smollm2-135m-instruct-q4_1")
    assert "link" in manager.installed_table.item(0, 5).text()
    manager.show_button.click()
    assert dialogs["opened"] == [Path(manager.models_dir).as_uri()]
    with qtbot.waitSignal(manager.removed, timeout=5000):
        manager.delete_button.click()
    assert not link.exists()
    assert default_model.exists()
    assert manager.installed_table.rowCount() == 0


def test_a_bad_file_is_refused_with_the_reason(manager, qtbot, tmp_path):
    junk = tmp_path / "notes.gguf"
    junk.write_text("not a model\n" * 10)
    manager.import_path(junk)
    qtbot.waitUntil(lambda: "text file" in manager.status.text(), timeout=10_000)
    assert manager.installed_table.rowCount() == 0


def test_files_dropped_into_the_models_folder_appear(manager, default_model, qtbot):
    (manager.models_dir / "dropped.gguf").symlink_to(default_model)
    qtbot.waitUntil(lambda: manager.installed_table.rowCount() == 1, timeout=5000)
    assert manager.installed_table.item(0, 0).text() == "dropped"
