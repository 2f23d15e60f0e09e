"""Which model a new conversation starts with: the one choice the window and the CLI share."""

from __future__ import annotations

from pathlib import Path

from app.library.catalog import load_catalog
from app.library.installed import list_installed
from app.store.settings import Settings


def default_model_spec(settings: Settings, models_dir: Path) -> str | None:
    """The model spec to start with: the one the settings name, else the catalog's default
    if it is installed, else the first installed file; None when nothing is installed."""
    if settings.default_model:
        return settings.default_model
    catalog_default = models_dir / load_catalog().default.file
    if catalog_default.is_file():
        return f"local:{catalog_default}"
    installed = list_installed(models_dir)
    return f"local:{installed[0].path}" if installed else None
