"""The privacy ledger: one line for every request a backend made over HTTP."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict
from pathlib import Path

from app.core.privacy import RequestRecord, SentPassage

logger = logging.getLogger(__name__)


class Ledger:
    """Append-only JSON lines in the data folder; readable by the GUI and the CLI."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        line = json.dumps(asdict(record), ensure_ascii=False)
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
            except OSError as exc:
                logger.error("could not write the privacy ledger: %s", exc)

    def records(self) -> list[RequestRecord]:
        if not self.path.is_file():
            return []
        found = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                raw = json.loads(line)
                raw["passages"] = tuple(SentPassage(**p) for p in raw.get("passages", ()))
                found.append(RequestRecord(**raw))
            except (TypeError, ValueError):
                continue  # a line cut by a crash
        return found
