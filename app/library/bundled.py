"""What a frozen (PyInstaller) build carries inside itself: resources, icons, the default model.

From a source tree every function here answers "nothing bundled" and changes nothing, so
the first start of an installed app works offline while a developer's checkout behaves as
before.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

from app.core.shipped import shipped_dir
from app.library.catalog import load_catalog

logger = logging.getLogger(__name__)

ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def bundle_dir() -> Path | None:
    """The folder a frozen build unpacked its data into, or None when running from source."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle and getattr(sys, "frozen", False) else None


def resources_dir() -> Path:
    """The shipped `resources/` folder (the same locator in a checkout, a wheel, a bundle)."""
    return shipped_dir("resources")


def icon_file(size: int | None = None) -> Path:
    """The app icon: the SVG, or the PNG rendered at `size` pixels."""
    icons = resources_dir() / "icons"
    return icons / "tandem.svg" if size is None else icons / f"tandem-{size}.png"


def bundled_default_model(bundle: Path | None = None) -> Path | None:
    """The default model's file inside the bundle, when this build carries one."""
    bundle = bundle if bundle is not None else bundle_dir()
    if bundle is None:
        return None
    entry = load_catalog().default
    candidate = bundle / "models" / entry.file
    if candidate.is_file() and candidate.stat().st_size == entry.size_bytes:
        return candidate
    return None


def install_bundled_default(models_dir: Path, bundle: Path | None = None) -> Path | None:
    """Make the bundled default model appear in `models_dir`; return its path there.

    Called once at start-up. A no-op from a source tree, or when the models folder already
    has a good copy. The file is linked where the bundle lives at a fixed place (a .deb,
    a tarball) and copied where it does not (an AppImage mounts somewhere new each run) or
    where links are not allowed (Windows without developer mode). A link left dangling by
    an uninstalled or moved bundle is replaced.
    """
    source = bundled_default_model(bundle)
    if source is None:
        return None
    target = models_dir / source.name
    if target.is_symlink() and not target.exists():
        logger.info("replacing %s, which points to a bundle that is gone", target)
        target.unlink()
    if target.exists():
        if target.stat().st_size == source.stat().st_size:
            return target
        logger.warning("%s has the wrong size; leaving it and using the bundled copy", target)
        return None
    models_dir.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("APPIMAGE"):
        try:
            target.symlink_to(source)
            logger.info("linked the bundled default model into %s", models_dir)
            return target
        except OSError as exc:
            logger.info("could not link the bundled model (%s); copying it", exc)
    partial = target.with_name(target.name + ".part")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        logger.warning("could not copy the bundled default model into %s: %s", models_dir, exc)
        return None
    logger.info("copied the bundled default model into %s", models_dir)
    return target
