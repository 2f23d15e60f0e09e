"""`tandem-cli chat --regenerate / --edit`, reasoning in `--json`, and the versions in
`history show --json`, against a reasoning model on a loopback server."""

from __future__ import annotations

import json

from tests.cli.test_cli import cli
from tests.fault_server import REASONING_TOKENS, THOUGHTS, WORDS

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"


def _chat(*args: str) -> dict:
    result = cli("chat", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _show(cid: int) -> dict:
    result = cli("history", "show", str(cid), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_regenerate_and_edit_make_versions_the_history_shows(fault_server) -> None:
    added = cli("providers", "add", "fake", "--preset", "openai", "--base-url", fault_server.url,
                "--model", "reasoning", "--key-stdin", stdin=KEY + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    first = _chat("--provider", "fake", "Hello")
    assert first["text"] == "".join(WORDS)
    assert first["reasoning"] == "".join(THOUGHTS)
    assert first["reasoning_tokens"] == REASONING_TOKENS
    cid = first["conversation_id"]

    again = _chat("--continue", str(cid), "--regenerate")
    assert again["model"] == "fake:reasoning"  # the same model as the answer it redoes
    other = _chat("--continue", str(cid), "--regenerate", "--provider", "fake", "--model", "ok")
    assert other["model"] == "fake:ok"
    assert other["reasoning"] == ""
    assert other["reasoning_tokens"] is None

    shown = _show(cid)
    answers = [m for m in shown["messages"] if m["role"] == "assistant"]
    assert [(m["version"], m["versions"]) for m in answers] == [(1, 3), (2, 3), (3, 3)]
    assert [m["model"] for m in answers] == ["fake:reasoning", "fake:reasoning", "fake:ok"]
    assert answers[0]["reasoning"] == "".join(THOUGHTS)
    question = shown["messages"][0]
    assert shown["current_path"] == [question["id"], other["message_id"]]

    edited = _chat("--provider", "fake", "-c", "--edit", str(question["id"]), "Goodbye")
    shown = _show(cid)
    by_id = {m["id"]: m for m in shown["messages"]}
    path = [by_id[i]["content"] for i in shown["current_path"]]
    assert path == ["Goodbye", edited["text"]]
    assert (by_id[shown["current_path"][0]]["version"], by_id[question["id"]]["versions"]) == (
        2,
        2,
    )
    assert question["id"] in by_id  # the old branch stays
    sent = json.loads(fault_server.bodies[-1])["messages"]
    assert [m["content"] for m in sent] == ["Goodbye"]

    markdown = cli("history", "show", str(cid)).stdout
    assert "## You · version 2 of 2\n\nGoodbye" in markdown
    assert "## You\n\nHello" not in markdown  # the path shown, for people


def test_the_options_must_fit_together(fault_server) -> None:
    cases = [
        (["--regenerate"], "--regenerate needs the conversation"),
        (["--edit", "1", "x"], "--edit needs the conversation"),
        (["-c", "--regenerate", "again"], "leave out the prompt"),
        (["-c"], "Give the message"),
    ]
    for args, message in cases:
        result = cli("chat", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr


def test_editing_an_answer_is_refused_with_a_reason(fault_server) -> None:
    cli("providers", "add", "fake", "--preset", "openai", "--base-url", fault_server.url,
        "--model", "ok", "--key-stdin", stdin=KEY + "\n")  # fmt: skip
    first = _chat("--provider", "fake", "Hello")
    result = cli(
        "chat", "--provider", "fake", "--continue", str(first["conversation_id"]),
        "--edit", str(first["message_id"]), "Changed",
    )  # fmt: skip
    assert result.returncode != 0
    assert "Only your messages can be edited" in result.stderr
    assert len(_show(first["conversation_id"])["messages"]) == 2
