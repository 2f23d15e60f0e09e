"""The cloud price table: the shipped one, overridden entry by entry by the user's copy."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

from app.core.pricing import PriceTable
from app.core.shipped import shipped_dir

logger = logging.getLogger(__name__)


def shipped_prices_file() -> Path:
    return shipped_dir("resources") / "prices.toml"


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        logger.warning("ignoring the price table %s: %s", path, exc)
        return {}


def load_prices(user_file: Path | None = None) -> PriceTable:
    layers = [_read(shipped_prices_file())]
    if user_file is not None:
        layers.append(_read(user_file))
    return PriceTable.from_toml_data(*layers)
