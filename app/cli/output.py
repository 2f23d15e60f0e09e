"""What every `tandem-cli` command prints the same way: text, JSON lines and failures.

Most of what the CLI prints was written by someone else (a model's answer, a provider's
error, a conversation title, a file name, a model file's metadata). On a terminal a
control character in it would act: clear the screen, set the window title, write the
clipboard (OSC 52), hide a link (OSC 8), overwrite a line (CR). `visible` is the one
function that makes them visible instead; `write`, `say` and `err` apply it whenever
the stream is a terminal, and `print_json` escapes the same characters as JSON does.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

from app.core.bounds import json_safe
from app.core.errors import TandemError

# C0 controls but newline and tab, DEL, C1 controls, and the bidirectional overrides and
# isolates (they reorder what a terminal shows).
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_UNSAFE}]")
# json.dumps(ensure_ascii=False) escapes only U+0000 to U+001F: the rest are escaped here,
# and U+2028/U+2029 too, which some JSON readers take as line ends.
_JSON_UNSAFE = re.compile(f"[{_UNSAFE}\u2028\u2029]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control pictures: ␛ ␍ ␇ …
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def visible(text: str) -> str:
    """`text` with every control character but newline and tab shown, never acting."""
    return _CONTROL.sub(_picture, text.replace("\r\n", "\n"))


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def write(text: str, stream: TextIO | None = None) -> None:
    """Write `text` as it is to a pipe or a file, made `visible` to a terminal."""
    stream = sys.stdout if stream is None else stream
    stream.write(visible(text) if _is_terminal(stream) else text)
    stream.flush()


def say(text: object = "") -> None:
    """One line on stdout, like print."""
    write(f"{text}\n")


def err(text: str, end: str = "\n") -> None:
    """One line on stderr."""
    write(text + end, sys.stderr)


def to_json(data: Any) -> str:
    """Strict JSON (a NaN or infinite figure becomes null), with every control character
    escaped."""
    text = json.dumps(json_safe(data), ensure_ascii=False, allow_nan=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(data: Any) -> None:
    sys.stdout.write(to_json(data) + "\n")
    sys.stdout.flush()


def fail(exc: TandemError, as_json: bool, extra: dict[str, Any] | None = None) -> int:
    """One line on stderr (and an error object with --json); the error's exit code."""
    err(f"tandem: {exc.message}")
    if as_json:
        print_json({"error": {"kind": exc.kind, "message": exc.message}, **(extra or {})})
    return exc.exit_code


def open_workspace() -> Any:
    """The services' workspace for one command; what it had to repair on the way (a
    damaged settings file set aside) is said on stderr, as every command says it."""
    from app.services.workspace import Workspace

    workspace = Workspace()
    if workspace.settings_notice:
        err(f"tandem: {workspace.settings_notice}")
    return workspace
