"""One family of errors, each with a message written for the person at the keyboard."""

from __future__ import annotations


class TandemError(Exception):
    """Base of every error Tandem shows to a person.

    `kind` is a stable machine-readable name (used in CLI JSON); the message says what
    happened and what to do about it.
    """

    kind = "error"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def with_message(self, message: str) -> TandemError:
        """A copy of this error (same kind and exit code) saying `message` instead."""
        copy = self.__class__.__new__(self.__class__)
        copy.__dict__.update(self.__dict__)
        Exception.__init__(copy, message)
        copy.message = message
        return copy


class UsageError(TandemError):
    kind = "usage"
    exit_code = 2


class ModelFileError(TandemError):
    """The model file is missing, unreadable, or not a usable GGUF."""

    kind = "model_file"
    exit_code = 3


class ProviderError(TandemError):
    """A cloud provider could not answer."""

    kind = "provider"
    exit_code = 4


class AuthError(ProviderError):
    kind = "auth"


class RateLimited(ProviderError):
    kind = "rate_limited"


class EngineCrashed(TandemError):
    """The local engine process died; a fresh one starts with the next message."""

    kind = "engine_crashed"
    exit_code = 5


class EngineError(TandemError):
    """The local engine refused or failed a request but is still alive."""

    kind = "engine"
    exit_code = 5


class PrivacyBlocked(TandemError):
    """Private mode refused a connection that would have left this device."""

    kind = "privacy_blocked"
    exit_code = 4


class SensitiveContent(TandemError):
    """The text bound for a cloud host holds something a person would not want to leak."""

    kind = "sensitive_content"
    exit_code = 4
