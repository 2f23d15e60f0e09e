"""Downloads from our loopback Hugging Face Hub: the real default GGUF, real HTTP, real
huggingface_hub; faults injected by the server."""

from __future__ import annotations

import dataclasses
import hashlib
import threading

import pytest

from app.library.catalog import load_catalog
from app.library.downloads import (
    ChecksumMismatch,
    DownloadControl,
    DownloadState,
    NotEnoughDisk,
    download_model,
    partial_downloads,
    partial_path,
)
from app.library.hub import DownloadError

MB = 1_000_000


@pytest.fixture
def entry():
    return load_catalog().default


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_reports_progress_checks_the_hash_and_installs(fake_hub, models_dir, entry):
    seen = []
    result = download_model(entry, models_dir, seen.append)

    assert result.state is DownloadState.DONE
    target = models_dir / entry.file
    assert result.path == target
    assert _sha256(target) == entry.sha256
    assert not partial_path(models_dir, entry.file).exists()
    assert list(models_dir.iterdir()) == [target]
    states = [p.state for p in seen]
    assert states[0] is DownloadState.STARTING
    assert DownloadState.DOWNLOADING in states
    assert states[-2:] == [DownloadState.VERIFYING, DownloadState.DONE]
    moving = [p for p in seen if p.state is DownloadState.DOWNLOADING]
    assert all(p.total_bytes == entry.size_bytes for p in moving)
    assert [p.done_bytes for p in moving] == sorted(p.done_bytes for p in moving)
    assert any(p.speed_bytes_per_s > 0 and p.eta_s is not None for p in moving)
    assert "Authorization" not in str(fake_hub.requests)


def test_dropped_connection_resumes_with_a_range_request(fake_hub, models_dir, entry):
    fake_hub.faults.drop_after = [30 * MB]
    result = download_model(entry, models_dir)
    assert result.state is DownloadState.DONE
    first, second = fake_hub.ranges()
    assert first == ""
    # It asks for the rest from where its file ended (httpx may hold back the last chunk).
    assert second.startswith("bytes=")
    assert 29 * MB < int(second[6:-1]) <= 30 * MB
    assert _sha256(models_dir / entry.file) == entry.sha256


def test_paused_download_resumes_after_the_app_was_closed(fake_hub, models_dir, entry):
    control = DownloadControl()

    def pause_at_20_mb(progress):
        if progress.done_bytes >= 20 * MB:
            control.pause()

    paused = download_model(entry, models_dir, pause_at_20_mb, control)
    assert paused.state is DownloadState.PAUSED
    part = partial_path(models_dir, entry.file)
    kept = part.stat().st_size
    assert 20 * MB <= kept < entry.size_bytes
    assert not (models_dir / entry.file).exists()
    [pending] = partial_downloads(models_dir)
    assert (pending.model_id, pending.done_bytes) == (entry.id, kept)

    # A new run of the app: nothing in memory but the files in the models folder.
    result = download_model(entry, models_dir)
    assert result.state is DownloadState.DONE
    assert fake_hub.ranges()[-1] == f"bytes={kept}-"
    assert _sha256(models_dir / entry.file) == entry.sha256
    assert partial_downloads(models_dir) == []


def test_pause_wakes_a_transfer_waiting_on_a_silent_server(fake_hub, models_dir, entry):
    fake_hub.faults.rate = 100_000  # after the first chunk, the server is quiet for seconds
    control = DownloadControl()
    started = threading.Event()
    results = []

    def on_progress(progress):
        if progress.done_bytes > 0:
            started.set()

    worker = threading.Thread(
        target=lambda: results.append(download_model(entry, models_dir, on_progress, control))
    )
    worker.start()
    assert started.wait(10)
    control.pause()
    worker.join(1.5)
    assert not worker.is_alive()
    assert results[0].state is DownloadState.PAUSED
    assert partial_path(models_dir, entry.file).stat().st_size > 0


def test_cancel_deletes_the_partial_file(fake_hub, models_dir, entry):
    control = DownloadControl()

    def cancel_at_10_mb(progress):
        if progress.done_bytes >= 10 * MB:
            control.cancel()

    result = download_model(entry, models_dir, cancel_at_10_mb, control)
    assert result.state is DownloadState.CANCELLED
    assert list(models_dir.iterdir()) == []


def test_wrong_bytes_fail_the_checksum_and_the_file_is_deleted(fake_hub, models_dir, entry):
    fake_hub.faults.corrupt = True
    with pytest.raises(ChecksumMismatch, match=r"does not match its checksum.*deleted"):
        download_model(entry, models_dir)
    assert list(models_dir.iterdir()) == []


def test_hash_from_the_hub_is_checked_when_the_catalog_has_none(
    fake_hub, models_dir, entry, default_model
):
    unchecked = dataclasses.replace(entry, id="copy", file="Copy.gguf", sha256=None)
    assert unchecked.repo is not None
    fake_hub.host(unchecked.repo, "Copy.gguf", default_model, sha256="ab" * 32)
    with pytest.raises(ChecksumMismatch, match=r"expected sha256 abababababab"):
        download_model(unchecked, models_dir)
    assert list(models_dir.iterdir()) == []


def test_a_hub_file_that_differs_from_the_catalog_is_not_downloaded(
    fake_hub, models_dir, entry, default_model
):
    assert entry.repo is not None
    fake_hub.host(entry.repo, entry.file, default_model, sha256="cd" * 32)
    with pytest.raises(DownloadError, match=r"not the one Tandem's catalog recorded"):
        download_model(entry, models_dir)
    assert fake_hub.ranges() == []


def test_too_little_disk_space_is_refused_before_any_byte(fake_hub, models_dir, entry, monkeypatch):
    monkeypatch.setattr("app.library.downloads.free_disk_bytes", lambda _folder: 20 * MB)
    with pytest.raises(NotEnoughDisk, match=r"needs 98 MB more but only 20 MB is free"):
        download_model(entry, models_dir)
    assert fake_hub.ranges() == []
    assert list(models_dir.iterdir()) == []


def test_gated_model_asks_for_hf_token_and_keeps_it_off_the_cdn(
    fake_hub, models_dir, entry, monkeypatch
):
    fake_hub.faults.token = "hf_secret"
    with pytest.raises(DownloadError, match=r"gated on Hugging Face.*set HF_TOKEN"):
        download_model(entry, models_dir)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert download_model(entry, models_dir).state is DownloadState.DONE
    cdn_headers = [h for server, _what, h in fake_hub.requests if server == "cdn"]
    assert cdn_headers
    assert all("authorization" not in h for h in cdn_headers)


def test_missing_file_on_the_hub_is_explained(fake_hub, models_dir, entry):
    gone = dataclasses.replace(entry, file="Nope.gguf", sha256=None)
    with pytest.raises(DownloadError, match=r"has no file Nope.gguf"):
        download_model(gone, models_dir)


def test_unreachable_hub_is_explained(models_dir, entry):
    with pytest.raises(DownloadError, match=r"Could not reach Hugging Face at http://127.0.0.1:9"):
        download_model(entry, models_dir)
