"""Text from models, providers and files never acts on the terminal it is printed to."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import tty

import pytest

from app.cli.output import to_json, visible
from tests.cli.test_cli import cli
from tests.fault_server import ESCAPES

# What would act on a terminal: ESC, BEL, CR, the C1 CSI (U+009B), a bidi override.
ACTING = [b"\x1b", b"\x07", b"\r", "\x9b".encode(), "\u202e".encode()]


def in_terminal(*args: str) -> tuple[int, bytes]:
    """Run `tandem-cli` with stdout and stderr on a pseudo-terminal; all it wrote there."""
    leader, follower = os.openpty()
    tty.setraw(follower)  # no newline translation: every byte is the program's own
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env={**os.environ},
    )  # fmt: skip
    os.close(follower)
    written = bytearray()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the program exited
                break
            if not chunk:
                break
            written += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=10), bytes(written)


def _assert_inert(written: bytes):
    for sequence in ACTING:
        assert sequence not in written, (sequence, written)


@pytest.fixture
def provider(fault_server):
    added = cli("providers", "add", "fake", "--preset", "openai", "--base-url", fault_server.url,
                "--model", "escape", "--key-stdin", stdin="not-a-key-1234\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    return fault_server


def test_an_answer_full_of_escapes_is_shown_not_obeyed(provider):
    code, written = in_terminal("chat", "--provider", "fake", "--no-private", "Hi")
    assert code == 0, written
    _assert_inert(written)
    shown = written.decode()
    assert "Clipboard␛]52;c;ZWNobyBwd25lZA==␇" in shown
    assert "safe␍EVIL" in shown
    assert "c1<U+009B>2J" in shown
    assert "split␛[31mred" in shown  # a sequence split across chunks is caught too


def test_piped_output_keeps_the_answer_exactly(provider):
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "chat", "--provider", "fake", "--no-private", "Hi"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("".join(ESCAPES) + "\n").encode()


def test_json_on_a_terminal_escapes_every_control_character(provider):
    code, written = in_terminal("chat", "--provider", "fake", "--no-private", "--json", "Hi")
    assert code == 0, written
    _assert_inert(written)
    data = json.loads(written.decode().splitlines()[-1])
    assert data["text"] == "".join(ESCAPES)


def test_a_provider_error_with_escapes_is_shown_not_obeyed(provider):
    code, written = in_terminal(
        "chat", "--provider", "fake", "--model", "escape-400", "--no-private", "Hi"
    )
    assert code == 4
    _assert_inert(written)
    assert "Bad model ␛]0;pwned␇␛[2J<U+009B>31m" in written.decode()


def test_model_names_from_a_provider_are_shown_not_obeyed(fault_server):
    added = cli("providers", "add", "fake", "--preset", "openai", "--base-url",
                fault_server.url + "/escape", "--key-stdin", stdin="not-a-key-1234\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    code, written = in_terminal("providers", "models", "fake", "--no-private")
    assert code == 0, written
    _assert_inert(written)
    assert "ok␛]0;pwned␇" in written.decode()


def test_compare_output_is_shown_not_obeyed(provider):
    code, written = in_terminal("compare", "--a", "fake:escape", "--b", "fake:escape-400",
                                "--no-private", "Hi")  # fmt: skip
    assert code == 4
    _assert_inert(written)
    assert written.decode().count("Clipboard␛]52;") == 1


def test_history_list_show_and_search_are_shown_not_obeyed(provider):
    title = "Hello \x1b]0;pwned\x07\x1b[2J there"
    assert cli("chat", "--provider", "fake", "--no-private", title).returncode == 0
    for args in (("list",), ("show", "1"), ("search", "Clipboard"), ("search", "Hello")):
        code, written = in_terminal("history", *args)
        assert code == 0, written
        _assert_inert(written)
    code, written = in_terminal("history", "list")
    assert "Hello ␛]0;pwned␇␛[2J there" in written.decode()


def test_visible_leaves_newlines_tabs_and_ordinary_text_alone():
    text = "line one\n\tindented · naïve 日本語 🙂\n"
    assert visible(text) == text
    assert visible("a\r\nb") == "a\nb"
    assert visible("\x1b[2J\x00\x7f\x85") == "␛[2J␀␡<U+0085>"


def test_strict_json_escapes_c1_and_line_separators():
    encoded = to_json({"t": "\x9b\u2028\u202e\x1b"})
    assert encoded == '{"t": "\\u009b\\u2028\\u202e\\u001b"}'
    assert json.loads(encoded) == {"t": "\x9b\u2028\u202e\x1b"}


def test_a_local_answer_and_its_history_are_shown_not_obeyed(installed_default):
    """The real model through llama.cpp, asked to repeat escapes; whatever it writes, and
    the escapes in the stored prompt, reach the terminal inert."""
    prompt = "Repeat exactly: \x1b]0;pwned\x07\x1b[2J\x9b31m done"
    code, written = in_terminal("chat", "--max-tokens", "24", "--seed", "1", prompt)
    assert code == 0, written
    _assert_inert(written)
    code, written = in_terminal("history", "show", "1")
    assert code == 0, written
    _assert_inert(written)
    assert "Repeat exactly: ␛]0;pwned␇␛[2J<U+009B>31m done" in written.decode()
