"""Where the files that ship with Tandem are: one locator for a checkout, a wheel and the
frozen app."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Literal


def shipped_dir(folder: Literal["models", "resources"]) -> Path:
    """`models/` (the catalog) or `resources/` (icons, prices, desktop entry) of this copy.

    Both are packages of their own (`app.shipped.models`, `app.shipped.resources`):
    importlib.resources finds them beside the code an editable install points at, inside
    site-packages for a wheel, and in the folder PyInstaller unpacked.
    """
    root = importlib.resources.files(f"app.shipped.{folder}")
    if not isinstance(root, Path):  # a folder without its __init__.py: a broken install
        raise FileNotFoundError(f"{folder}/ is incomplete in this installation ({root})")
    return root
