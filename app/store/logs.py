"""Logging to a rotating file, with anything that looks like a secret removed."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from app.core.redact import RedactingFilter


def setup_logging(log_file: Path, level: int = logging.INFO) -> None:
    """Rotating file log for the app; idempotent."""
    root = logging.getLogger()
    if any(getattr(h, "_tandem", False) for h in root.handlers):
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handler._tandem = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
