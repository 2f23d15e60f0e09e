"""Read and check a GGUF file before llama.cpp ever touches it.

A file that is truncated, random, text renamed to `.gguf`, or of another format is
refused here with a message a person understands.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import ModelFileError

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
_HEADER_BYTES = 24  # magic, version, tensor count, metadata count


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    path: Path
    size_bytes: int
    architecture: str
    name: str | None
    quantization: str | None
    context_length: int | None
    parameters: int
    has_chat_template: bool


def _describe_foreign(head: bytes) -> str:
    stripped = head.lstrip()
    if stripped[:1] == b"<" and b"html" in stripped[:200].lower():
        return (
            "is a web page (HTML), not a model; the download probably saved an error "
            "page. Download the model again"
        )
    if head[:4] in (b"lmgg", b"ggml", b"ggjt", b"ggmf", b"tjgg", b"fmgg", b"lmgg"):
        return "is an old GGML model; Tandem needs a GGUF file. Get the GGUF version"
    if head[:2] == b"PK":
        return "is a ZIP archive, not a GGUF model. Unpack it, or get the .gguf file"
    if (
        len(head) >= 8
        and struct.unpack("<Q", head[:8])[0] < len(head) * 1_000_000
        and head[8:9] == b"{"
    ):
        return "is a safetensors file, not GGUF. Convert it with llama.cpp or get the GGUF"
    try:
        if b"\x00" in head:
            raise UnicodeDecodeError("utf-8", head, 0, 1, "binary")
        head.decode("utf-8")
    except UnicodeDecodeError:
        return (
            "does not start with the GGUF signature, so it is not a GGUF model "
            "(or it is damaged). Download it again"
        )
    return "is a text file, not a GGUF model. Choose the .gguf model file itself"


def _read_head(path: Path) -> tuple[bytes, int]:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            return fh.read(512), size
    except FileNotFoundError:
        raise ModelFileError(
            f"The model file {path} does not exist. Choose another model or download it again."
        ) from None
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a folder, not a model file.") from None
    except PermissionError:
        raise ModelFileError(
            f"Tandem may not read the model file {path}. Check its permissions."
        ) from None
    except OSError as exc:
        raise ModelFileError(f"Could not read the model file {path}: {exc.strerror}.") from exc


def _field_value(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return None
    try:
        return field.contents()
    except Exception:  # noqa: BLE001 - a broken field is reported as absent
        return None


def _quantization_name(file_type: int | None) -> str | None:
    if file_type is None:
        return None
    import gguf

    try:
        return str(gguf.LlamaFileType(int(file_type)).name).removeprefix("MOSTLY_")
    except ValueError:
        return f"type {file_type}"


class _Incomplete(Exception):
    def __init__(self, needed_bytes: int) -> None:
        super().__init__(needed_bytes)
        self.needed_bytes = needed_bytes


def _reader(path: Path, size: int) -> Any:
    """gguf's reader, checking first that every tensor's data lies inside the file."""
    import gguf
    import numpy as np

    class CheckedReader(gguf.GGUFReader):  # type: ignore[misc]
        def _build_tensors(self, start_offs: int, fields: list[Any]) -> None:
            needed = 0
            for field in fields:
                _name_len, _name, _n_dims, dims, raw_dtype, offset_tensor = field.parts
                block_size, type_size = gguf.GGML_QUANT_SIZES[
                    gguf.GGMLQuantizationType(int(raw_dtype[0]))
                ]
                n_bytes = int(np.prod(dims)) * type_size // block_size
                needed = max(needed, int(start_offs + offset_tensor[0]) + n_bytes)
            if needed > size:
                raise _Incomplete(needed)
            super()._build_tensors(start_offs, fields)

    return CheckedReader(path, "r")


def inspect_gguf(path: Path) -> GGUFInfo:
    """Check that `path` is a complete GGUF model and read its metadata.

    Raises ModelFileError with a human message when it is not.
    """
    path = Path(path)
    head, size = _read_head(path)
    if size == 0:
        raise ModelFileError(f"The model file {path.name} is empty. Download it again.")
    if head[:4] != GGUF_MAGIC:
        raise ModelFileError(f"The model file {path.name} {_describe_foreign(head)}.")
    if size < _HEADER_BYTES:
        raise ModelFileError(
            f"The model file {path.name} is cut short ({size} bytes). Download it again."
        )
    version = struct.unpack("<I", head[4:8])[0]
    if version not in SUPPORTED_VERSIONS:
        raise ModelFileError(
            f"The model file {path.name} is GGUF version {version}, which this version "
            "of Tandem cannot read. Update Tandem or get a current GGUF of the model."
        )

    try:
        reader = _reader(path, size)
    except _Incomplete as exc:
        raise ModelFileError(
            f"The model file {path.name} is incomplete: it should be at least "
            f"{exc.needed_bytes:,} bytes but is {size:,}. The download was probably cut "
            "short; download it again."
        ) from None
    except Exception as exc:  # noqa: BLE001 - any parse failure means a damaged file
        logger.info("GGUF parse of %s failed: %r", path, exc)
        raise ModelFileError(
            f"The model file {path.name} is damaged or incomplete: its header cannot be "
            "read to the end. Download it again."
        ) from exc

    needed = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    if not reader.tensors:
        raise ModelFileError(f"The model file {path.name} holds no tensors; it is not a model.")
    if needed > size:
        raise ModelFileError(
            f"The model file {path.name} is incomplete: it should be at least {needed:,} "
            f"bytes but is {size:,}. The download was probably cut short; download it again."
        )

    arch = _field_value(reader, "general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelFileError(
            f"The model file {path.name} does not say which architecture it is, so it "
            "cannot be loaded."
        )
    ctx = _field_value(reader, f"{arch}.context_length")
    name = _field_value(reader, "general.name")
    return GGUFInfo(
        path=path,
        size_bytes=size,
        architecture=arch,
        name=name if isinstance(name, str) else None,
        quantization=_quantization_name(_field_value(reader, "general.file_type")),
        context_length=int(ctx) if isinstance(ctx, int) else None,
        parameters=sum(int(t.n_elements) for t in reader.tensors),
        has_chat_template="tokenizer.chat_template" in reader.fields,
    )
