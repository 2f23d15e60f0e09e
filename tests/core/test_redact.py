"""Secrets come out of text: the exact keys in use, and anything shaped like a key."""

from __future__ import annotations

import logging
import secrets

import pytest

from app.core.redact import SecretStream, redact, remember_secret, without_secrets
from app.store.logs import setup_logging

SHAPES = [
    ("the key is {}", "Zk4Qm9pL2xR7vT1nB8cW3yH6aD5s"),  # a bare key in prose
    ("key={} and more", "abcdefgh12345678"),
    ("password={}", "hunter2hunter2"),
    ("secret: {}", "s3cr3tvalue99"),
    ('{{"api_key": "{}"}}', "zyxwvutsrq987654"),
    ('{{\\"client_secret\\":\\"{}\\"}}', "abcd\\/efgh\\/1234"),  # JSON inside a JSON string
    ("token {} end", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
    ("pat {} end", "github_pat_11ABCDEFG0123456789_abcdefghij"),
    ("aws {} here", "AKIAIOSFODNN7EXAMPLE"),
    ("slack {}", "xoxb-1234567890-abcdefghij"),
    ("Authorization: Basic {}", "dXNlcjpwYXNzd29yZA=="),
]


@pytest.mark.parametrize(("template", "secret"), SHAPES)
def test_secret_shapes_are_redacted(template, secret):
    cleaned = redact(template.format(secret))
    assert secret not in cleaned
    assert "[redacted]" in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "loaded SmolLM2-135M-Instruct.Q4_1.gguf with 4 threads",
        "prompt_tokens: 123456789, basic settings understood",
        "conversation 42 saved to /home/someone/.local/share/Tandem/history.sqlite3",
    ],
)
def test_ordinary_log_lines_are_left_alone(text):
    assert redact(text) == text


def _fake_key():
    return f"plain-{secrets.token_hex(10)}"  # no known shape: only the exact rule finds it


def test_a_remembered_key_is_removed_in_every_form_it_is_echoed_in():
    key = f"{_fake_key()}/x+y"
    remember_secret(key)
    escaped = key.replace("/", "\\/")
    encoded = key.replace("/", "%2F").replace("+", "%2B")
    cleaned = without_secrets(f'raw {key}, json "{escaped}", url {encoded}')
    assert cleaned == 'raw [redacted], json "[redacted]", url [redacted]'


def test_a_key_split_across_pieces_is_held_back_then_removed():
    key = _fake_key()
    remember_secret(key)
    stream = SecretStream()
    pieces = ["Here: ", key[:5], key[5:12], key[12:] + " done, s", "o long"]
    shown = [stream.feed(piece) for piece in pieces]
    shown.append(stream.flush())
    assert "".join(shown) == "Here: [redacted] done, so long"
    assert all(key[:3] not in piece for piece in shown)


def test_short_strings_are_not_treated_as_secrets():
    remember_secret("abc")
    assert without_secrets("abc abc") == "abc abc"


def test_the_log_never_holds_a_key_in_use_whatever_its_shape(tmp_path):
    key = _fake_key()
    remember_secret(key)
    path = tmp_path / "logs" / "tandem.log"
    root = logging.getLogger()
    before = list(root.handlers)
    setup_logging(path)
    try:
        logging.getLogger("app.test").warning("provider said: %s is wrong", key)
        for handler in root.handlers:
            handler.flush()
        written = path.read_text()
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
    assert "provider said: [redacted] is wrong" in written
    assert key not in written
