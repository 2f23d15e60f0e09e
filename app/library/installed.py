"""The GGUF files in the models folder, and finding one by id or path."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import ModelFileError
from app.library.catalog import load_catalog
from app.library.gguf_file import GGUFInfo, inspect_gguf

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InstalledModel:
    id: str
    path: Path
    size_bytes: int
    info: GGUFInfo | None
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "architecture": self.info.architecture if self.info else None,
            "quantization": self.info.quantization if self.info else None,
            "context_length": self.info.context_length if self.info else None,
            "problem": self.problem,
        }


def model_id_for(path: Path) -> str:
    """The catalog id for a catalog file, else the file name without `.gguf`."""
    entry = load_catalog().by_file(path.name)
    return entry.id if entry else path.stem


def list_installed(models_dir: Path) -> list[InstalledModel]:
    if not models_dir.is_dir():
        return []
    found = []
    for path in sorted(models_dir.glob("*.gguf"), key=lambda p: p.name.lower()):
        try:
            info: GGUFInfo | None = inspect_gguf(path)
            problem = None
        except ModelFileError as exc:
            info, problem = None, exc.message
        found.append(InstalledModel(model_id_for(path), path, path.stat().st_size, info, problem))
    return found


def resolve_model(spec: str, models_dir: Path) -> Path:
    """A model id (catalog id or file stem) or a path to a GGUF file."""
    as_path = Path(spec).expanduser()
    if as_path.suffix.lower() == ".gguf" or "/" in spec or as_path.exists():
        if not as_path.exists():
            raise ModelFileError(f"The model file {as_path} does not exist.")
        return as_path.resolve()
    for model in list_installed(models_dir):
        if spec in (model.id, model.path.stem, model.path.name):
            return model.path
    entry = load_catalog().by_id(spec)
    if entry is not None and (models_dir / entry.file).is_file():
        return models_dir / entry.file
    names = ", ".join(m.id for m in list_installed(models_dir)) or "none"
    raise ModelFileError(
        f"No installed model is called {spec!r} (installed: {names}). "
        "Give a model id from `tandem-cli models list` or the path of a .gguf file."
    )
