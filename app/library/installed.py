"""The GGUF files in the models folder, and finding or removing one by id or path."""

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
    linked_to: Path | None = None  # imported as a link: the file it points at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "architecture": self.info.architecture if self.info else None,
            "quantization": self.info.quantization if self.info else None,
            "context_length": self.info.context_length if self.info else None,
            "problem": self.problem,
            "linked_to": str(self.linked_to) if self.linked_to else None,
        }


@dataclass(frozen=True, slots=True)
class RemovedModel:
    path: Path
    freed_bytes: int  # 0 for a link: the file it pointed at is left alone
    was_link: bool


def model_id_for(path: Path) -> str:
    """The catalog id for a catalog file, else the file name without `.gguf`."""
    entry = load_catalog().by_file(path.name)
    return entry.id if entry else path.stem


def _describe(path: Path) -> InstalledModel:
    linked_to = Path(path.readlink()) if path.is_symlink() else None
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    try:
        info: GGUFInfo | None = inspect_gguf(path)
        problem = None
    except ModelFileError as exc:
        info, problem = None, exc.message
        if linked_to is not None and not path.exists():
            problem = (
                f"This link points at {linked_to}, which is gone. Remove it, or import "
                "the file again."
            )
    return InstalledModel(model_id_for(path), path, size, info, problem, linked_to)


def list_installed(models_dir: Path) -> list[InstalledModel]:
    if not models_dir.is_dir():
        return []
    paths = sorted(models_dir.glob("*.gguf"), key=lambda p: p.name.lower())
    return [_describe(path) for path in paths]


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


def remove_model(spec: str, models_dir: Path) -> RemovedModel:
    """Delete an installed model (only the link, for an imported link) and any partial
    download of it. `spec` is a model id, a file name, or a path inside `models_dir`."""
    from app.library.downloads import discard_partial

    name = Path(spec).name
    found = next(
        (m for m in list_installed(models_dir) if spec in (m.id, m.path.stem, m.path.name)
         or (name == m.path.name and Path(spec).expanduser().parent.resolve()
         == models_dir.resolve())),
        None,
    )  # fmt: skip
    if found is None:
        entry = load_catalog().by_id(spec)
        file_name = entry.file if entry else name
        if discard_partial(models_dir, file_name):
            return RemovedModel(models_dir / file_name, 0, False)
        names = ", ".join(m.id for m in list_installed(models_dir)) or "none"
        raise ModelFileError(
            f"No installed model is called {spec!r} (installed: {names}). Nothing was removed."
        )
    was_link = found.path.is_symlink()
    freed = 0 if was_link else found.size_bytes
    try:
        found.path.unlink()
    except OSError as exc:
        raise ModelFileError(
            f"Could not delete {found.path}: {exc.strerror or exc}. Check its permissions."
        ) from exc
    discard_partial(models_dir, found.path.name)
    logger.info("removed %s (%d bytes freed)", found.path, freed)
    return RemovedModel(found.path, freed, was_link)
