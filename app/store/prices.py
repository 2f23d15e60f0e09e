"""The cloud price table: the shipped one, overridden entry by entry by the user's copy."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

from app.core.files import open_regular
from app.core.pricing import PriceTable
from app.core.shipped import shipped_dir

logger = logging.getLogger(__name__)


def shipped_prices_file() -> Path:
    return shipped_dir("resources") / "prices.toml"


def _read(path: Path) -> dict[str, Any]:
    try:
        with open_regular(path) as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except RecursionError:
        logger.warning("ignoring the price table %s: it nests too deep to read", path)
        return {}
    except (OSError, ValueError) as exc:  # not TOML, or not UTF-8
        logger.warning("ignoring the price table %s: %s", path, exc)
        return {}


def load_prices(user_file: Path | None = None) -> PriceTable:
    """The shipped table with the user's entries over it; an entry whose figures cannot
    be true is left out, with a warning naming it (also in the table's `problems`)."""
    files = [shipped_prices_file()]
    if user_file is not None:
        files.append(user_file)
    table = PriceTable.from_toml_data(*(_read(f) for f in files), sources=[str(f) for f in files])
    for problem in table.problems:
        logger.warning("%s", problem)
    return table
