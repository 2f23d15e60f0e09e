"""CLI chats are history too; the history commands read it back."""

from __future__ import annotations

import json

from tests.cli.test_cli import cli


def _chat(*args):
    result = cli("chat", "--temperature", "0", "--max-tokens", "12", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_cli_chat_is_saved_and_continued_with_its_context(installed_default):
    first = _chat("My name is Ada. Remember it.")
    cid = first["conversation_id"]
    assert isinstance(cid, int)
    second = _chat("-c", "What is my name?")
    assert second["conversation_id"] == cid
    assert second["prompt_tokens"] > first["prompt_tokens"] + first["completion_tokens"]
    third = _chat("--continue", str(cid), "Thanks.")
    assert third["conversation_id"] == cid

    shown = json.loads(cli("history", "show", str(cid), "--json").stdout)
    texts = [m["content"] for m in shown["messages"]]
    assert texts[0] == "My name is Ada. Remember it."
    assert texts[2] == "What is my name?"
    assert len(texts) == 6
    answer = shown["messages"][1]
    assert answer["status"] == "complete"
    assert answer["stats"]["completion_tokens"] == first["completion_tokens"]
    assert answer["run_info"]["context_length"] > 0
    assert answer["run_info"]["sampling"]["temperature"] == 0.0
    # Recorded once the model had loaded, on the first answer of a fresh process too.
    assert answer["run_info"]["quantization"] == "Q4_1"
    assert answer["run_info"]["chat_template"] == "gguf"
    assert answer["run_info"]["threads"] > 0


def test_no_save_keeps_nothing(installed_default):
    data = _chat("--no-save", "Hello")
    assert data["conversation_id"] is None
    assert json.loads(cli("history", "list", "--json").stdout) == []


def test_list_search_export_and_import(installed_default, tmp_path):
    cid = _chat("Tell me about lighthouses on rocky coasts")["conversation_id"]
    (row,) = json.loads(cli("history", "list", "--json").stdout)
    assert row["id"] == cid
    assert row["title"].startswith("Tell me about lighthouses")

    hits = json.loads(cli("history", "search", "lighthouse", "--json").stdout)
    assert hits[0]["conversation_id"] == cid
    assert "«lighthouses»" in hits[0]["snippet"]

    markdown = cli("history", "export", str(cid), "--format", "md").stdout
    assert "Tell me about lighthouses on rocky coasts" in markdown
    exported = tmp_path / "c.json"
    assert (
        cli("history", "export", str(cid), "--format", "json", "-o", str(exported)).returncode == 0
    )
    imported = json.loads(cli("history", "import", str(exported), "--json").stdout)
    assert imported["conversation_id"] != cid
    assert len(json.loads(cli("history", "list", "--json").stdout)) == 2


def test_unknown_conversation_is_a_clear_error(installed_default):
    result = cli("history", "show", "999")
    assert result.returncode != 0
    assert "999" in result.stderr
