"""What every `tandem-cli` command prints the same way: JSON lines and failures."""

from __future__ import annotations

import json
import sys
from typing import Any

from app.core.errors import TandemError


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def fail(exc: TandemError, as_json: bool, extra: dict[str, Any] | None = None) -> int:
    """One line on stderr (and an error object with --json); the error's exit code."""
    sys.stderr.write(f"tandem: {exc.message}\n")
    if as_json:
        print_json({"error": {"kind": exc.kind, "message": exc.message}, **(extra or {})})
    return exc.exit_code
