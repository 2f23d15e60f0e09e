"""Files written to break the CLI (nested past the JSON reader, not UTF-8, of the wrong
type): each command ends with one line on stderr and its exit code, never a traceback,
and nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.errors import ExitCode
from tests.cli.test_cli import cli
from tests.store.test_settings_hostile import DEEP

NOT_READABLE: dict[str, bytes] = {
    **{f"nested {name}": content for name, content in DEEP.items()},
    "not UTF-8": b'{"format": "tandem.conversation", "title": "\xff\xfe"}',
    "UTF-16": '{"format": "tandem.conversation"}'.encode("utf-16"),
    "not JSON": b"<html>",
    "empty": b"",
}
WRONGLY_TYPED: dict[str, object] = {
    "a number": 42,
    "null": None,
    "a list": [{"format": "tandem.conversation"}],
    "messages as an object": {"format": "tandem.conversation", "format_version": 1,
                              "messages": {"role": "user"}},
    "content as an object": {"format": "tandem.conversation", "format_version": 1,
                             "messages": [{"role": "user", "content": {"text": "hi"}}]},
    "a deep content": {"format": "tandem.conversation", "format_version": 1,
                       "messages": [{"role": "user", "content": [[[[[[["hi"]]]]]]]}]},
    "a role nested just inside the reader's limit": {
        "format": "tandem.conversation", "format_version": 1,
        "messages": [{"role": json.loads("[" * 900 + "]" * 900), "content": "hi"}]},
    "version as text": {"format": "tandem.conversation", "format_version": "1",
                        "messages": []},
}  # fmt: skip


def _one_line_failure(result: object, code: int) -> None:
    assert result.returncode == code, result.stderr  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("tandem: ")


@pytest.mark.parametrize("content", NOT_READABLE.values(), ids=NOT_READABLE.keys())
def test_import_of_an_unreadable_file_is_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    result = cli("history", "import", str(path))
    _one_line_failure(result, ExitCode.USAGE)
    assert "Could not read hostile.json as a conversation" in result.stderr
    as_json = cli("history", "import", str(path), "--json")
    assert json.loads(as_json.stdout)["error"]["kind"] == "conversation_file"
    assert json.loads(cli("history", "list", "--json").stdout) == []


@pytest.mark.parametrize("data", WRONGLY_TYPED.values(), ids=WRONGLY_TYPED.keys())
def test_import_of_wrongly_typed_data_is_one_line(tmp_path: Path, data: object) -> None:
    path = tmp_path / "typed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = cli("history", "import", str(path))
    _one_line_failure(result, ExitCode.HISTORY)
    assert "not a Tandem conversation export Tandem can read" in result.stderr
    assert json.loads(cli("history", "list", "--json").stdout) == []


def test_a_deeply_nested_settings_file_is_set_aside_and_the_command_runs(
    tandem_home: Path,
) -> None:
    settings = tandem_home / "config" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_bytes(DEEP["lists"])
    result = cli("privacy", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["private_mode"] is True
    assert result.stderr.count("\n") == 1
    assert "settings.json.broken-" in result.stderr
    (moved,) = settings.parent.glob("settings.json.broken-*")
    assert moved.read_bytes() == DEEP["lists"]
    again = cli("privacy", "--json")
    assert again.returncode == 0
    assert again.stderr == ""
