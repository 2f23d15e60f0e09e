"""Keys go to the keychain only; tests use an in-memory keyring, never the real one."""

from __future__ import annotations

import logging
import traceback

import keyring
import keyring.core
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from app.core.errors import TandemError
from app.store import secrets
from app.store.paths import app_paths
from app.store.secrets import NoKeyringError, SecretsError, SecretStore

KEY = "sk-proj-TESTKEY0123456789abcdefghijklmnop"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


class EchoingBrokenKeyring(MemoryKeyring):
    """A backend whose errors repeat what it was given, key included."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"D-Bus said no to {username}={password}")

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked(f"locked while holding {KEY}")


@pytest.fixture(autouse=True)
def _no_real_keychain(monkeypatch: pytest.MonkeyPatch) -> None:
    # Restored after each test; keyring never goes looking for the real keychain.
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


@pytest.fixture
def memory() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def test_a_key_goes_to_the_keychain_under_the_tandem_service(memory: MemoryKeyring) -> None:
    secrets.set_key("OpenAI", f"  {KEY}\n")
    assert memory.passwords == {("tandem", "OpenAI"): KEY}
    assert secrets.get_key("OpenAI") == KEY
    assert secrets.has_key("OpenAI")
    assert not secrets.has_key("Groq")
    assert secrets.get_key("Groq") is None
    secrets.delete_key("OpenAI")
    assert not secrets.has_key("OpenAI")
    secrets.delete_key("OpenAI")  # already gone: fine


def test_no_key_is_ever_written_to_the_data_folders(memory: MemoryKeyring) -> None:
    secrets.set_key("OpenAI", KEY)
    paths = app_paths()
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        if folder.exists():
            for file in folder.rglob("*"):
                assert not file.is_file() or KEY.encode() not in file.read_bytes()


def test_empty_names_and_keys_are_refused(memory: MemoryKeyring) -> None:
    with pytest.raises(SecretsError, match="empty"):
        secrets.set_key("OpenAI", "   \n")
    with pytest.raises(SecretsError, match="name"):
        secrets.set_key("  ", KEY)
    assert memory.passwords == {}


def test_without_a_keychain_the_user_is_offered_memory_only() -> None:
    keyring.set_keyring(fail.Keyring())
    assert not secrets.keychain_available()
    for call in (
        lambda: secrets.set_key("OpenAI", KEY),
        lambda: secrets.get_key("OpenAI"),
        lambda: secrets.has_key("OpenAI"),
        lambda: secrets.delete_key("OpenAI"),
    ):
        with pytest.raises(NoKeyringError) as caught:
            call()
        assert isinstance(caught.value, TandemError)
        assert str(caught.value) == (
            "No system keychain is available (for example a Linux without Secret Service). "
            "Tandem can keep the key in memory for this run only."
        )

    session = SecretStore(session_only=True)
    session.set_key("OpenAI", KEY)
    assert session.get_key("OpenAI") == KEY
    assert session.has_key("OpenAI")
    assert KEY not in repr(session)
    assert SecretStore(session_only=True).get_key("OpenAI") is None  # only that store
    session.delete_key("OpenAI")
    assert not session.has_key("OpenAI")


def test_a_keyring_whose_detection_fails_counts_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> KeyringBackend:
        raise keyring.errors.InitError("no backend")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    with pytest.raises(NoKeyringError):
        secrets.get_key("OpenAI")


def test_a_key_never_appears_in_an_error_or_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    keyring.set_keyring(EchoingBrokenKeyring())
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SecretsError) as refused:
        secrets.set_key("OpenAI", KEY)
    with pytest.raises(SecretsError, match="locked") as locked:
        secrets.get_key("OpenAI")
    for caught in (refused, locked):
        error = caught.value
        assert error.__context__ is None
        assert error.__cause__ is None
        shown = "".join(traceback.format_exception(error))
        assert "OpenAI" in shown
        assert KEY not in shown
        assert KEY not in repr(error)
    assert KEY not in caplog.text
    assert "OpenAI" in caplog.text
