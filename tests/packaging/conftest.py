from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Also listed in pyproject.toml; registered here so that --strict-markers never trips.
    config.addinivalue_line(
        "markers", "packaging: builds the frozen app and the .deb (minutes); -m 'not packaging'"
    )
