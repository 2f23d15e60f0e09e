"""Load settings from the command line: a combination llama.cpp cannot load is refused
in words with the usage exit code, before any engine starts; a good one answers and
says what it drafted."""

from __future__ import annotations

import json

import pytest

from app.core.errors import ExitCode
from tests.cli.test_cli import cli

pytestmark = pytest.mark.model


def test_a_quantized_kv_cache_without_flash_attention_is_refused_in_words(installed_default):
    result = cli(
        "chat", "--no-save", "--kv-cache-type", "q4_0", "--flash-attention", "off", "Hello"
    )
    assert result.returncode == ExitCode.USAGE, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("tandem: A q4_0 KV cache needs flash attention")
    assert "null" not in line.lower()
    assert result.stdout == ""


def test_an_unknown_kv_cache_type_names_the_choices(installed_default):
    result = cli("chat", "--no-save", "--kv-cache-type", "q5<b>", "Hello")
    assert result.returncode == ExitCode.USAGE
    assert "'f16', 'q8_0', 'q4_0'" in result.stderr


def test_prompt_lookup_from_the_command_line_shows_its_drafts(installed_default):
    text = "the quick brown fox jumps over the lazy dog near the river bank"
    result = cli(
        "chat", "--no-save", "--json", "--speculative", "--kv-cache-type", "q8_0",
        "--temperature", "0", "--max-tokens", "40", f"Repeat exactly: {text}. {text}.",
    )  # fmt: skip
    assert result.returncode == ExitCode.OK, result.stderr
    stats = json.loads(result.stdout)
    assert stats["draft_tokens"] >= stats["draft_accepted"] > 0
