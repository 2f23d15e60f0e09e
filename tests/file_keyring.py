"""A keychain for tests only: a JSON file inside the test's TANDEM_HOME.

Tests and the CLI processes they start use it (PYTHON_KEYRING_BACKEND), so no test
ever touches the real keychain.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend


class TestKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @staticmethod
    def _file() -> Path:
        return Path(os.environ["TANDEM_HOME"]) / "test-keychain.json"

    def _load(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._file().read_text()))
        except (OSError, ValueError):
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._file().parent.mkdir(parents=True, exist_ok=True)
        self._file().write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        data.pop(f"{service}/{username}", None)
        self._file().write_text(json.dumps(data))
