"""A message too long for the model's context is its own failure, not an engine crash."""

from __future__ import annotations

import json

from tests.cli.test_cli import cli


def test_a_message_too_long_for_the_context_exits_7_and_says_how_to_fix_it(installed_default):
    prompt = "tell me about the weather " * 400  # about 2,000 tokens, in a 512-token context
    result = cli("chat", "--json", "--no-save", "--ctx", "512", "--max-tokens", "8", prompt)
    assert result.returncode == 7, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "context_too_long"
    assert "context" in error["message"]
    assert "Shorten it" in error["message"]


def test_the_exit_codes_are_in_the_help():
    result = cli("--help")
    assert result.returncode == 0
    assert "7  the message is too long for the model's context" in result.stdout
    assert "5  the local engine crashed or failed" in result.stdout
