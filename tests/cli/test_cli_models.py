"""`tandem-cli models …` as a person runs it: a real process, real files, our loopback Hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.library.catalog import load_catalog
from tests.library.fake_hub import FakeHub, hub_environment

CLOSED_PORT = "http://127.0.0.1:9"


def cli(*args, endpoint=CLOSED_PORT, home=None, offline=False):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(hub_environment(endpoint, home))
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "models", *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


@pytest.fixture
def hub(default_model):
    entry = load_catalog().default
    with FakeHub() as server:
        server.host(entry.repo, entry.file, default_model, entry.sha256)
        yield server


def test_catalog_json_lists_models_with_fit_and_ram_need(tmp_path):
    result = cli("catalog", "--json", home=tmp_path, offline=True)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) >= 12
    default = next(r for r in rows if r["default"])
    assert default["sha256"]
    assert default["repo"]
    assert default["fit"]["label"] in ("fits", "tight", "too big")
    assert default["fit"]["ram_needed_bytes"] > default["size_bytes"]
    human = cli("catalog", "--family", "Qwen2.5", home=tmp_path, offline=True)
    assert human.returncode == 0, human.stderr
    assert "qwen2.5-7b-instruct-q4_k_m" in human.stdout
    assert "llama" not in human.stdout


def test_download_json_lines_then_info_and_remove(hub, tmp_path, tandem_home):
    entry = load_catalog().default
    result = cli(
        "download", entry.id, "--no-private", "--json", endpoint=hub.endpoint, home=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["event"] == "fit"
    progress = [e for e in lines if e["event"] == "progress"]
    assert {"done_bytes", "total_bytes", "speed_bytes_per_s", "eta_s"} <= set(progress[-1])
    assert lines[-1]["event"] == "done"
    assert lines[-1]["state"] == "done"
    path = lines[-1]["path"]
    assert path == str(tandem_home / "data" / "models" / entry.file)
    ledger = (tandem_home / "data" / "privacy-ledger.jsonl").read_text().splitlines()
    (record,) = [json.loads(line) for line in ledger]
    assert (record["provider"], record["model"], record["outcome"]) == (
        "Hugging Face", entry.id, "ok")  # fmt: skip
    assert record["host"] == "127.0.0.1"
    assert record["bytes_received"] == os.path.getsize(path)

    info = cli("info", entry.id, "--json", home=tmp_path, offline=True)
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert (data["architecture"], data["quantization"], data["context_length"]) == (
        "llama", "Q4_1", 8192)  # fmt: skip
    assert data["complete"]
    assert data["has_chat_template"]
    assert data["chat_template_ok"]
    assert data["fit"]["gpu_layers"] == 0

    removed = cli("remove", entry.id, home=tmp_path, offline=True)
    assert removed.returncode == 0, removed.stderr
    assert "98 MB freed" in removed.stdout
    assert not os.path.exists(path)


def test_private_mode_refuses_a_download_before_any_connection(hub, tmp_path, tandem_home):
    entry = load_catalog().default
    result = cli("download", entry.id, "--json", endpoint=hub.endpoint, home=tmp_path)
    assert result.returncode == 4
    error = json.loads(result.stdout.splitlines()[-1])["error"]
    assert error["kind"] == "privacy_blocked"
    assert "--no-private" in error["message"]
    assert hub.requests == []
    assert not (tandem_home / "data" / "models" / entry.file).exists()


def test_a_wrong_hash_is_a_clear_failure(hub, tmp_path, tandem_home):
    hub.faults.corrupt = True
    entry = load_catalog().default
    result = cli("download", entry.id, "--no-private", endpoint=hub.endpoint, home=tmp_path)
    assert result.returncode == 3
    assert "does not match its checksum" in result.stderr
    assert "deleted" in result.stderr
    assert list((tandem_home / "data" / "models").iterdir()) == []


def test_import_then_info_of_a_bad_file(default_model, tmp_path):
    imported = cli("import", str(default_model), "--link", home=tmp_path, offline=True)
    assert imported.returncode == 0, imported.stderr
    listed = cli("list", "--json", home=tmp_path, offline=True)
    assert json.loads(listed.stdout)[0]["linked_to"] == str(default_model.resolve())
    info = cli("info", str(default_model), home=tmp_path, offline=True)
    assert "architecture:  llama" in info.stdout
    assert "complete" in info.stdout

    bad = tmp_path / "half.gguf"
    with default_model.open("rb") as src:
        bad.write_bytes(src.read(1 << 20))
    refused = cli("info", str(bad), "--json", home=tmp_path, offline=True)
    assert refused.returncode == 3
    assert json.loads(refused.stdout)["error"]["kind"] == "model_file"
    assert "incomplete" in refused.stderr


def test_progress_bar_shows_bytes_speed_and_eta():
    from app.cli.models import render_bar
    from app.library.downloads import DownloadProgress, DownloadState

    line = render_bar(
        DownloadProgress("m", DownloadState.DOWNLOADING, 44_000_000, 98_000_000, 12_300_000, 4.4)
    )
    assert line.startswith("[#############.................]  45%")
    assert "44 MB / 98 MB" in line
    assert "12.3 MB/s" in line
    assert "ETA 4 s" in line
