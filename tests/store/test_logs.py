"""The log never holds a key or a bearer token."""

from __future__ import annotations

import logging

import pytest

from app.core.redact import redact
from app.store.logs import setup_logging

REAL_FORMATS = [
    "sk-proj-Ab3dEf6hIjK1mNoPqRsTuVwXyZ0123456789abcdEFGH",
    "sk-ant-api03-Ab3dEf6hIjK1mNoPqRsTuVwXyZ0123456789-abcdEFGH",
    "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef",
    "gsk_Ab3dEf6hIjK1mNoPqRsTuVwXyZ0123456789abcdEFGH",
    "AIzaSyAb3dEf6hIjK1mNoPqRsTuVwXyZ01234567",
    "hf_Ab3dEf6hIjK1mNoPqRsTuVwXyZ01234567",
]


@pytest.mark.parametrize("secret", REAL_FORMATS)
def test_key_formats_are_redacted(secret):
    assert secret not in redact(f"request failed with key {secret} at step 2")


def test_bearer_tokens_and_key_fields_are_redacted():
    text = 'Authorization: Bearer abc.def-ghi_jkl123456 {"api_key": "zyxwvutsrq987654"}'
    cleaned = redact(text)
    assert "abc.def-ghi_jkl123456" not in cleaned
    assert "zyxwvutsrq987654" not in cleaned


@pytest.fixture
def log_file(tmp_path):
    """The app's logging set up into a temporary file, and taken down afterwards."""
    path = tmp_path / "logs" / "tandem.log"
    root = logging.getLogger()
    before = list(root.handlers)
    setup_logging(path)
    yield path
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
            handler.close()


def _written(log_file):
    for handler in logging.getLogger().handlers:
        handler.flush()
    return log_file.read_text()


def test_the_log_file_never_holds_a_key(log_file):
    for secret in REAL_FORMATS:
        logging.getLogger("app.test").warning("provider said: bad key %s", secret)
    written = _written(log_file)
    assert "provider said" in written
    for secret in REAL_FORMATS:
        assert secret not in written


def test_a_traceback_in_the_log_is_redacted_too(log_file):
    for secret in REAL_FORMATS:
        try:
            raise RuntimeError(f"the server echoed {secret}")
        except RuntimeError:
            logging.getLogger("app.test").exception("request failed")
    written = _written(log_file)
    assert "RuntimeError: the server echoed" in written
    for secret in REAL_FORMATS:
        assert secret not in written
