"""A provider that echoes the API key: the key is never shown, stored, exported or logged."""

from __future__ import annotations

import json
import secrets

import pytest

from tests.cli.test_cli import cli


@pytest.fixture
def key():
    """A fake key with no well-known shape, so only the exact-key rule can catch it."""
    return f"tandem-test-{secrets.token_hex(8)}/{secrets.token_hex(8)}"


def _add(url, key, name="echo"):
    added = cli("providers", "add", name, "--preset", "openai", "--base-url", url,
                "--model", "ok", "--key-stdin", stdin=key + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr


def _everything_written(home):
    """The bytes of every file Tandem wrote: history (with its WAL), ledger, logs."""
    return b"".join(path.read_bytes() for path in sorted(home.rglob("*"))
                    if path.is_file() and path.name != "test-keychain.json")  # fmt: skip


def _forms(key):
    return [key, key.replace("/", "\\/"), key.replace("/", "%2F")]


def _assert_nowhere(key, home, *texts):
    for form in _forms(key):
        for text in texts:
            assert form not in text
        assert form.encode() not in _everything_written(home)


@pytest.mark.parametrize("model", ["echo-400", "echo-401", "echo-500", "echo-sse"])
def test_an_echoed_key_reaches_neither_the_terminal_nor_any_file(
    fault_server, tandem_home, key, model
):
    _add(fault_server.url, key)
    result = cli("chat", "--provider", "echo", "--model", model, "--no-private", "Hello")
    assert result.returncode == 4
    assert fault_server.authorizations[-1] == f"Bearer {key}"  # the key was really sent
    assert "[redacted]" in result.stderr or model == "echo-401"
    assert len(result.stderr.strip().splitlines()) <= 4  # retries, then one line
    as_json = cli("chat", "--provider", "echo", "--model", model, "--no-private", "--json", "Hi")
    assert as_json.returncode == 4
    assert json.loads(as_json.stdout)["error"]["kind"] in ("provider", "auth")

    conversations = json.loads(cli("history", "list", "--json").stdout)
    assert len(conversations) == 2
    exports = []
    for conversation in conversations:
        for fmt in ("md", "json"):
            exported = cli("history", "export", str(conversation["id"]), "--format", fmt)
            assert exported.returncode == 0, exported.stderr
            exports.append(exported.stdout)
    stored = json.loads(exports[1])["messages"][-1]
    assert stored["status"] in ("error", "incomplete")
    assert stored["error"]
    assert (tandem_home / "logs" / "tandem.log").is_file()
    _assert_nowhere(key, tandem_home, result.stdout, result.stderr, as_json.stdout,
                    as_json.stderr, *exports)  # fmt: skip


def test_an_sse_error_says_what_the_provider_said_and_keeps_the_partial_answer(fault_server, key):
    _add(fault_server.url, key)
    result = cli("chat", "--provider", "echo", "--model", "echo-sse", "--no-private", "--json",
                 "Hello")  # fmt: skip
    data = json.loads(result.stdout)
    assert data["text"] == "Hello from the"
    assert "is revoked" in data["error"]["message"]
    assert key not in result.stdout + result.stderr


def test_a_key_inside_the_answer_is_removed_even_split_across_chunks(
    fault_server, tandem_home, key
):
    _add(fault_server.url, key)
    result = cli("chat", "--provider", "echo", "--model", "echo-answer", "--no-private", "Hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Your key is [redacted] and [redacted].\n"
    shown = cli("history", "show", "1")
    assert "Your key is [redacted] and [redacted]." in shown.stdout
    _assert_nowhere(key, tandem_home, result.stdout, result.stderr, shown.stdout)


def test_a_model_listing_that_echoes_the_key_shows_and_logs_none_of_it(
    fault_server, tandem_home, key
):
    _add(fault_server.url + "/echo", key)
    result = cli("providers", "models", "echo", "--no-private", "--json")
    assert result.returncode == 4
    assert "[redacted]" in json.loads(result.stdout)["error"]["message"] or "401" in result.stderr
    _assert_nowhere(key, tandem_home, result.stdout, result.stderr)
