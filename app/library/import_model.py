"""Bring a GGUF file the user already has into the models folder: a copy or a link.

The file is read and checked (header, metadata, completeness) before anything is copied,
so a bad file is refused with what is wrong, and the models folder only ever holds files
that passed.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from app.core import units
from app.core.errors import ModelFileError
from app.core.files import open_regular
from app.library.chat_template import TemplateReport, check_chat_template
from app.library.gguf_file import GGUFInfo, inspect_gguf

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 4 << 20
_DISK_MARGIN_BYTES = 50_000_000


class ImportMode(StrEnum):
    COPY = "copy"
    LINK = "link"  # a symbolic link: no space used, but the original must stay put


@dataclass(frozen=True, slots=True)
class ImportResult:
    path: Path
    info: GGUFInfo
    template: TemplateReport | None
    warnings: tuple[str, ...]
    already_there: bool = False


def model_warnings(info: GGUFInfo) -> tuple[TemplateReport | None, tuple[str, ...]]:
    """What a person should know about a file that is fine to load."""
    if not info.chat_template:
        return None, ("It has no chat template, so chats use the generic ChatML format.",)
    report = check_chat_template(info.chat_template)
    if report.ok:
        return report, ()
    text = report.summary()
    return report, (text[0].upper() + text[1:] + ".",)


def _target_name(source: Path) -> str:
    return source.name if source.suffix.lower() == ".gguf" else source.stem + ".gguf"


def _copy(source: Path, target: Path, on_progress: Callable[[int, int], None] | None) -> None:
    size = source.stat().st_size
    free = shutil.disk_usage(target.parent).free
    if size + _DISK_MARGIN_BYTES > free:
        raise ModelFileError(
            f"Not enough disk space to copy {source.name} ({units.size(size)}; "
            f"{units.size(free)} free in "
            f"{target.parent}). Free some space, or import it as a link instead."
        )
    temp = target.with_name(target.name + ".importing")
    done = 0
    try:
        with open_regular(source) as src, temp.open("wb") as dst:
            while chunk := src.read(_CHUNK_BYTES):
                dst.write(chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done, size)
        shutil.copystat(source, temp)
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ModelFileError(
            f"Could not copy {source.name} into {target.parent}: {exc.strerror or exc}."
        ) from exc
    except BaseException:  # cancelled from on_progress, or Ctrl+C: no partial copy stays
        temp.unlink(missing_ok=True)
        raise


def _link(source: Path, target: Path) -> None:
    try:
        os.symlink(source.resolve(), target)
    except OSError as exc:
        raise ModelFileError(
            f"Could not link {source.name} into the models folder ({exc.strerror or exc}); "
            "this system may not allow links. Import a copy instead."
        ) from exc


def import_gguf(
    source: Path,
    models_dir: Path,
    mode: ImportMode = ImportMode.COPY,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Check `source`, then copy or link it into `models_dir`.

    Raises ModelFileError, saying what is wrong, for a file that is not a complete GGUF
    model, or when a different model of the same name is already installed.
    """
    source = Path(source).expanduser()
    info = inspect_gguf(source)
    template, warnings = model_warnings(info)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / _target_name(source)
    if target.exists() or target.is_symlink():
        if target.exists() and os.path.samefile(target, source):
            return ImportResult(target, info, template, warnings, already_there=True)
        raise ModelFileError(
            f"A model called {target.name} is already installed. Remove it first, or "
            "rename the file you are importing."
        )
    if mode is ImportMode.LINK:
        _link(source, target)
    else:
        _copy(source, target, on_progress)
    try:
        # The source may have changed while it was copied (or the link made).
        final = inspect_gguf(target)
    except ModelFileError as exc:
        _discard(target)
        raise ModelFileError(
            f"{source.name} failed its check once imported, so nothing was kept in the "
            f"models folder: {exc.message}"
        ) from None
    except BaseException:
        _discard(target)
        raise
    logger.info("imported %s as %s (%s)", source, target, mode)
    return ImportResult(target, final, template, warnings)


def _discard(target: Path) -> None:
    """Remove a copy or link that failed its final check, so the folder keeps only
    files that passed."""
    try:
        target.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("could not remove the failed import %s: %s", target, exc)
    else:
        logger.info("removed %s: it failed its check after the import", target)
