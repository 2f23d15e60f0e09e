"""`tandem --self-test` from the source tree: what a person runs to check an installation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.reports import assert_passed_or_warned_with_a_fix

REPO = Path(__file__).resolve().parents[2]
CHECKS = ["resources", "keyring", "model", "engine", "qt-platform", "window"]


def _self_test(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "app", "--self-test", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.model
def test_self_test_passes_with_the_default_model_and_reports_json(
    installed_default: Path, tandem_home: Path
) -> None:
    done = _self_test("--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == CHECKS
    checks = {c["name"]: c for c in report["checks"]}
    assert_passed_or_warned_with_a_fix(checks)
    engine = checks["engine"]["data"]
    assert engine["engine_pid"] != engine["app_pid"]
    assert engine["completion_tokens"] > 0
    assert engine["text"].strip()
    assert checks["model"]["data"]["source"] == "models folder"
    assert "offscreen" in checks["qt-platform"]["data"]["loaded"]
    assert checks["window"]["data"]["closed"] is True
    versions = report["versions"]
    assert versions["frozen"] is False
    assert versions["tandem"] == report["version"]
    assert versions["qt"]
    assert versions["llama_cpp_python"] != "not found"
    # the window opened on a temporary home: nothing was written to the user's folders
    assert sorted(p.name for p in tandem_home.iterdir()) == ["data"]


def test_without_a_model_the_self_test_fails_and_says_how_to_fetch_it(
    tandem_home: Path,
) -> None:
    done = _self_test()
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    model = next(line for line in lines if " model " in line)
    assert model.lstrip().startswith("FAIL")
    assert "tandem-cli models fetch-default" in model
    assert next(line for line in lines if " engine " in line).lstrip().startswith("SKIP")
    assert lines[-1].startswith("Not passed: model, engine")
