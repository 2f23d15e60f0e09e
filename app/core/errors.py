"""One family of errors, each with a message written for the person at the keyboard,
and the one table of the exit codes `tandem-cli` ends with."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What `tandem-cli` exits with. Every command uses these; `--help` prints them."""

    OK = 0
    FAILED = 1
    USAGE = 2
    MODEL_FILE = 3
    PROVIDER = 4
    ENGINE = 5
    HISTORY = 6
    CONTEXT_TOO_LONG = 7
    DOWNLOAD = 8
    ENGINE_HUNG = 9
    MEMORY = 10
    DOCUMENT_REFUSED = 11
    OVER_BUDGET = 12
    SERVER = 13
    INTERRUPTED = 130


EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "done",
    ExitCode.FAILED: "failed otherwise, or not sent (declined at the prompt)",
    ExitCode.USAGE: "usage: a wrong option, argument, value or file",
    ExitCode.MODEL_FILE: "the model file is missing, unreadable or not a usable GGUF",
    ExitCode.PROVIDER: "a cloud provider failed, or private mode or the secrets check refused",
    ExitCode.ENGINE: "the local engine crashed or failed",
    ExitCode.HISTORY: "the history could not be read or written",
    ExitCode.CONTEXT_TOO_LONG: "the message is too long for the model's context "
    "(shorten it, or raise --ctx)",
    ExitCode.DOWNLOAD: "a model download failed",
    ExitCode.ENGINE_HUNG: "the local engine stopped responding and was stopped",
    ExitCode.MEMORY: "not enough memory to load the model with this context (lower --ctx)",
    ExitCode.DOCUMENT_REFUSED: "a document was refused (a scan without text, encrypted, "
    "too large, or of an unknown type); the others were added",
    ExitCode.OVER_BUDGET: "the answer would take the month over its budget "
    "(--over-budget sends it)",
    ExitCode.SERVER: "the local API server could not start (the port is in use, or the "
    "address cannot be bound)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl+C, or a download paused)",
}


def exit_codes_help() -> str:
    """The table as `tandem-cli --help` prints it."""
    rows = [f"  {int(code):>3}  {meaning}" for code, meaning in EXIT_CODES.items()]
    return "exit codes:\n" + "\n".join(rows)


class TandemError(Exception):
    """Base of every error Tandem shows to a person.

    `kind` is a stable machine-readable name (used in CLI JSON); the message says what
    happened and what to do about it.
    """

    kind = "error"
    exit_code: ExitCode = ExitCode.FAILED

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
    exit_code = ExitCode.USAGE


class ModelFileError(TandemError):
    """The model file is missing, unreadable, or not a usable GGUF."""

    kind = "model_file"
    exit_code = ExitCode.MODEL_FILE


class ProviderError(TandemError):
    """A cloud provider could not answer."""

    kind = "provider"
    exit_code = ExitCode.PROVIDER


class AuthError(ProviderError):
    kind = "auth"


class RateLimited(ProviderError):
    kind = "rate_limited"


class EngineCrashed(TandemError):
    """The local engine process died; a fresh one starts with the next message."""

    kind = "engine_crashed"
    exit_code = ExitCode.ENGINE


class EngineHung(EngineCrashed):
    """The engine process stopped responding (stopped, or stuck); it was killed, and a
    fresh one starts with the next message."""

    kind = "engine_hung"
    exit_code = ExitCode.ENGINE_HUNG


class EngineError(TandemError):
    """The local engine refused or failed a request but is still alive."""

    kind = "engine"
    exit_code = ExitCode.ENGINE


class NotEnoughMemory(TandemError):
    """The model, with the context asked for, does not fit in this computer's memory; the
    model file itself is fine."""

    kind = "out_of_memory"
    exit_code = ExitCode.MEMORY


class ContextTooLong(EngineError):
    """The message is longer than the model's context leaves room for; the engine is fine."""

    kind = "context_too_long"
    exit_code = ExitCode.CONTEXT_TOO_LONG


class PrivacyBlocked(TandemError):
    """Private mode refused a connection that would have left this device."""

    kind = "privacy_blocked"
    exit_code = ExitCode.PROVIDER


class OverBudget(TandemError):
    """A cloud answer would take this month's spending over the budget the person set."""

    kind = "over_budget"
    exit_code = ExitCode.OVER_BUDGET


class SensitiveContent(TandemError):
    """The text bound for a cloud host holds something a person would not want to leak."""

    kind = "sensitive_content"
    exit_code = ExitCode.PROVIDER


class ServerCannotStart(TandemError):
    """The local API server could not listen on the address asked for."""

    kind = "server"
    exit_code = ExitCode.SERVER


class DocumentRefused(TandemError):
    """A file that cannot be read as a document; the message names the file and why."""

    kind = "document_refused"
    exit_code = ExitCode.DOCUMENT_REFUSED

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason
