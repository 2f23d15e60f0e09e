"""API keys, kept only in the system keychain (through `keyring`), or in memory for one run.

A key never goes to a file, a log line or an exception message. Where no keychain
exists, `NoKeyringError` says so and the caller may offer `SecretStore(session_only=True)`;
there is no silent fallback to a plaintext file.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from app.core.errors import TandemError

logger = logging.getLogger(__name__)

SERVICE = "tandem"

T = TypeVar("T")


class SecretsError(TandemError):
    """The keychain exists but refused (locked, denied, broken)."""

    kind = "secrets"


class NoKeyringError(SecretsError):
    kind = "no_keyring"

    def __init__(self) -> None:
        super().__init__(
            "No system keychain is available (for example a Linux without Secret Service). "
            "Tandem can keep the key in memory for this run only."
        )


def _keychain() -> KeyringBackend:
    """The system keychain, or NoKeyringError when there is none worth the name."""
    try:
        backend = keyring.get_keyring()
    except keyring.errors.KeyringError:
        backend = None
    if backend is None or isinstance(backend, fail.Keyring | null.Keyring):
        raise NoKeyringError()
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        raise NoKeyringError()
    return backend


def keychain_available() -> bool:
    try:
        _keychain()
    except NoKeyringError:
        return False
    return True


def _clean_provider(provider: str) -> str:
    name = provider.strip()
    if not name:
        raise SecretsError("A provider needs a name before its key can be saved.")
    return name


class SecretStore:
    """Keys by provider name: in the system keychain, or in memory when `session_only`."""

    def __init__(self, *, session_only: bool = False) -> None:
        self.session_only = session_only
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = "memory" if self.session_only else "keychain"
        return f"<SecretStore {where}>"

    def set_key(self, provider: str, key: str) -> None:
        provider = _clean_provider(provider)
        key = key.strip()  # a pasted key often brings a newline along
        if not key:
            raise SecretsError("The key is empty. Paste the whole key and try again.")
        if self.session_only:
            with self._lock:
                self._memory[provider] = key
            logger.info("secrets: holding the key for %s in memory for this run", provider)
            return
        self._call("save the key for", provider, lambda kc: kc.set_password(SERVICE, provider, key))
        logger.info("secrets: saved the key for %s in the system keychain", provider)

    def get_key(self, provider: str) -> str | None:
        provider = _clean_provider(provider)
        if self.session_only:
            with self._lock:
                return self._memory.get(provider)
        found = self._call(
            "read the key for", provider, lambda kc: kc.get_password(SERVICE, provider)
        )
        return found or None

    def has_key(self, provider: str) -> bool:
        return self.get_key(provider) is not None

    def delete_key(self, provider: str) -> None:
        """Forget the key; deleting a key that is not there is not an error."""
        provider = _clean_provider(provider)
        if self.session_only:
            with self._lock:
                self._memory.pop(provider, None)
            return

        def delete(kc: KeyringBackend) -> None:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):  # already gone
                kc.delete_password(SERVICE, provider)

        self._call("delete the key for", provider, delete)
        logger.info("secrets: deleted the key for %s", provider)

    @staticmethod
    def _call(doing: str, provider: str, action: Callable[[KeyringBackend], T]) -> T:
        """Run `action(keychain)`; any failure becomes an error that cannot carry the key.

        The error is raised outside the `except` block so that the backend's exception
        (whose text might echo what it was given) is not even kept as __context__.
        """
        keychain = _keychain()
        failure: str | None = None
        try:
            return action(keychain)
        except keyring.errors.NoKeyringError:
            failure = "none"
        except keyring.errors.KeyringLocked:
            failure = "locked"
        except Exception as exc:  # noqa: BLE001 - a backend may raise anything (D-Bus, Windows, macOS)
            failure = type(exc).__name__
        if failure == "none":
            raise NoKeyringError()
        logger.warning("secrets: could not %s %s (%s)", doing, provider, failure)
        if failure == "locked":
            raise SecretsError(
                f"Could not {doing} {provider}: the system keychain is locked. "
                "Unlock it and try again."
            )
        raise SecretsError(
            f"Could not {doing} {provider}: the system keychain refused ({failure}). "
            "Check that it is unlocked and working, or keep the key for this run only."
        )


def set_key(provider: str, key: str) -> None:
    SecretStore().set_key(provider, key)


def get_key(provider: str) -> str | None:
    return SecretStore().get_key(provider)


def has_key(provider: str) -> bool:
    return SecretStore().has_key(provider)


def delete_key(provider: str) -> None:
    SecretStore().delete_key(provider)
