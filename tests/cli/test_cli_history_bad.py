"""`tandem-cli history` over a history holding a bad row, and imports of bad files:
every command finishes, a refusal is one line with the history's or the usage exit code."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app.core.errors import ExitCode
from tests.cli.test_cli import cli
from tests.store.test_history_bad_rows import write_bad_conversation
from tests.store.test_history_export import EXPORT


@pytest.fixture
def bad_row(tandem_home: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: year 9999 overflows here
    history = tandem_home / "data" / "history.sqlite3"
    history.parent.mkdir(parents=True)
    return write_bad_conversation(history, 253402300799.0)


def test_list_and_show_read_a_conversation_from_the_far_future(bad_row: int) -> None:
    listed = cli("history", "list")
    assert listed.returncode == 0, listed.stderr
    assert "3000-01-01" in listed.stdout
    assert "Bad times" in listed.stdout
    (row,) = json.loads(cli("history", "list", "--json").stdout)
    assert row["id"] == bad_row
    assert row["updated_at"].startswith("3000-01-01")
    shown = cli("history", "show", str(bad_row))
    assert shown.returncode == 0, shown.stderr
    assert "Hello from the far future" in shown.stdout


def test_delete_removes_a_conversation(bad_row: int) -> None:
    deleted = cli("history", "delete", str(bad_row), "--json")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout) == {"deleted": bad_row, "title": "Bad times"}
    assert json.loads(cli("history", "list", "--json").stdout) == []


def test_delete_of_an_unknown_id_is_one_line_and_the_history_exit_code(bad_row: int) -> None:
    missing = cli("history", "delete", "999")
    assert missing.returncode == ExitCode.HISTORY
    assert missing.stderr.count("\n") == 1
    assert "Conversation 999 is no longer in the history" in missing.stderr
    as_json = cli("history", "delete", "999", "--json")
    assert as_json.returncode == ExitCode.HISTORY
    assert json.loads(as_json.stdout)["error"]["kind"] == "store"
    said = cli("history", "delete", str(bad_row))
    assert said.returncode == 0
    assert said.stdout == f"Deleted conversation {bad_row}: Bad times\n"


@pytest.mark.parametrize(
    ("field", "value"),
    [("created_at", "9999-12-31T23:59:59-14:00"), ("updated_at", "-1e20"), ("pinned", "yes")],
)
def test_import_of_a_bad_field_is_refused_in_one_line(
    tmp_path: Path, field: str, value: str
) -> None:
    data = copy.deepcopy(EXPORT)
    data[field] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = cli("history", "import", str(path))
    assert result.returncode == ExitCode.HISTORY
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"'{field}'" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(cli("history", "list", "--json").stdout) == []
