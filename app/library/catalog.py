"""The curated model catalog in `models/catalog.toml`."""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: str
    name: str
    family: str
    file: str
    quantization: str
    size_bytes: int
    context_length: int
    license: str
    good_for: str
    sha256: str | None = None
    parameters: int | None = None
    pypi_package: str | None = None
    pypi_version: str | None = None
    pypi_member: str | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    models: tuple[CatalogModel, ...]
    default_id: str

    @property
    def default(self) -> CatalogModel:
        found = self.by_id(self.default_id)
        if found is None:
            raise LookupError(f"the catalog names {self.default_id!r} as default but lacks it")
        return found

    def by_id(self, model_id: str) -> CatalogModel | None:
        return next((m for m in self.models if m.id == model_id), None)

    def by_file(self, file_name: str) -> CatalogModel | None:
        return next((m for m in self.models if m.file == file_name), None)


def catalog_file() -> Path:
    """`models/catalog.toml` beside the package, or inside a frozen bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    candidates = [Path(bundle) / "models"] if bundle else []
    candidates.append(Path(__file__).resolve().parents[2] / "models")
    for folder in candidates:
        if (folder / "catalog.toml").is_file():
            return folder / "catalog.toml"
    raise FileNotFoundError("models/catalog.toml is missing from this installation")


def load_catalog(path: Path | None = None) -> Catalog:
    with (path or catalog_file()).open("rb") as fh:
        raw: dict[str, Any] = tomllib.load(fh)
    fields = set(CatalogModel.__dataclass_fields__)
    models = tuple(
        CatalogModel(**{k: v for k, v in entry.items() if k in fields})
        for entry in raw.get("model", [])
    )
    return Catalog(models=models, default_id=str(raw["default"]["id"]))
