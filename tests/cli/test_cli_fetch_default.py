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
