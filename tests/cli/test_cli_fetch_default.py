"""fetch-default follows private mode, on a fresh data folder too, and says how to go on."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _fetch(home, *args):
    env = {**os.environ, "TANDEM_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "models", "fetch-default", "--json", *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


def test_private_mode_refuses_to_fetch_once_the_folder_is_set_up(tmp_path):
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text(json.dumps({"private_mode": True}))
    result = _fetch(home)
    assert result.returncode == 4, result.stderr
    error = json.loads(result.stdout.splitlines()[-1])["error"]
    assert error["kind"] == "privacy_blocked"
    assert "pypi.org" in error["message"]
    assert "--no-private" in error["message"]
    assert not (home / "cache" / "wheels").exists()


def test_a_fresh_data_folder_is_in_private_mode_and_refuses_too(tmp_path):
    """Private mode is on at first start: nothing is fetched without --no-private."""
    for args in ((), ("--private",)):
        result = _fetch(tmp_path / f"fresh{len(args)}", *args)
        assert result.returncode == 4, result.stderr
        assert "privacy_blocked" in result.stdout
        assert not (tmp_path / f"fresh{len(args)}" / "cache" / "wheels").exists()


def test_a_fetch_is_recorded_in_the_privacy_ledger(tmp_path, monkeypatch):
    """Allowed with --no-private, pip's trip to the package index is a ledger line, even
    when it fails (here the index is a closed port and pip has nowhere else to look)."""
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    home = tmp_path / "home"
    result = _fetch(home, "--no-private")
    assert result.returncode != 0
    assert "Could not download the default model" in result.stdout + result.stderr
    env = {**os.environ, "TANDEM_HOME": str(home)}
    ledger = subprocess.run(
        [sys.executable, "-m", "app.cli", "privacy", "--json"],
        capture_output=True, text=True, timeout=60, env=env, check=True,
    )  # fmt: skip
    text = ledger.stdout
    assert "pypi.org" in text
    assert "Python package index (pip)" in text
    assert '"error"' in text
