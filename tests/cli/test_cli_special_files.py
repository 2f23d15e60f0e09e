"""A FIFO or a folder where the CLI expects a file (a model, a conversation, the settings
or the price table): every command ends within its timeout, with one line where it must
refuse, and exit code 0 where the file is only one of several."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.errors import ExitCode

TIMEOUT_S = 30


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI, failed by `subprocess.TimeoutExpired` if it waits on anything."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={**os.environ},
        check=False,
    )


@pytest.fixture
def models(tandem_home: Path) -> Path:
    folder = tandem_home / "data" / "models"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.gguf")
    (folder / "folder.gguf").mkdir()
    return folder


def test_models_list_shows_them_without_waiting(models: Path) -> None:
    result = run("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    problems = {Path(m["path"]).name: m["problem"] for m in json.loads(result.stdout)}
    assert "pipe (FIFO)" in problems["pipe.gguf"]
    assert "is a folder" in problems["folder.gguf"]


@pytest.mark.parametrize("name", ["pipe.gguf", "folder.gguf"])
@pytest.mark.parametrize("command", [("models", "info"), ("models", "import"),
                                     ("models", "import", "--link")])  # fmt: skip
def test_models_info_and_import_refuse_in_one_line(
    models: Path, tmp_path: Path, name: str, command: tuple[str, ...]
) -> None:
    result = run(*command, str(models / name))
    assert result.returncode == ExitCode.MODEL_FILE
    assert result.stderr.count("\n") == 1, result.stderr
    assert "not a model file" in result.stderr


@pytest.mark.parametrize("spec", ["pipe", "{models}/pipe.gguf", "{models}/folder.gguf"])
def test_chat_with_such_a_model_refuses_in_one_line(models: Path, spec: str) -> None:
    result = run("chat", "--model", spec.format(models=models), "--no-save", "Hello")
    assert result.returncode == ExitCode.MODEL_FILE, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "not a model file" in result.stderr


def test_history_import_of_a_fifo_refuses_in_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "conversation.json"
    os.mkfifo(fifo)
    result = run("history", "import", str(fifo))
    assert result.returncode == ExitCode.USAGE
    assert "pipe (FIFO)" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_fifo_for_the_settings_and_the_prices_stops_no_command(tandem_home: Path) -> None:
    config = tandem_home / "config"
    config.mkdir(parents=True)
    os.mkfifo(config / "settings.json")
    os.mkfifo(config / "prices.toml")
    result = run("privacy", "--json")
    assert result.returncode == 0, result.stderr
    assert "could not read its settings file" in result.stderr
    assert "pipe (FIFO)" in result.stderr
