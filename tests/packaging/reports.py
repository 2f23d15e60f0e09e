"""Reading `tandem --self-test --json` reports."""

from __future__ import annotations

from typing import Any


def assert_passed_or_warned_with_a_fix(checks: dict[str, Any]) -> None:
    """Every check passed, except that a desktop library this machine lacks may be a warning
    (offscreen was asked for) that names the command installing it."""
    for name, check in checks.items():
        if name == "qt-platform" and check["status"] == "warning":
            assert "apt-get install" in check["detail"] or "dnf" in check["detail"], check
        else:
            assert check["status"] == "passed", check
