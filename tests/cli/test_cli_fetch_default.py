"""fetch-default follows private mode once a data folder is set up, and says how to go on."""

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


def test_asking_for_private_mode_refuses_even_on_a_first_set_up(tmp_path):
    result = _fetch(tmp_path / "fresh", "--private")
    assert result.returncode == 4, result.stderr
    assert "privacy_blocked" in result.stdout
